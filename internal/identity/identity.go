// Package identity decides a station's effective id once and keeps it: the
// id names the station's MQTT topics, its Home Assistant device, its bundles'
// results and its prefix in the off-site store, so two stations must never
// share one and one station must never change it.
//
// Resolve, in this order:
//
//  1. station_id from the configuration, when set: used as it is and not
//     persisted (the configuration stays the authority).
//  2. <state>/station_id, written by an earlier Resolve: the id stays what it
//     was, whatever the hardware says now.
//  3. An existing chain: the station_id in the newest readable manifest under
//     <state>/sessions. A station upgraded from a version that used the
//     hostname keeps that id, so its MQTT topics and Home Assistant entity
//     ids stay.
//  4. A state directory already in use (the station key exists) but no
//     bundle yet: the hostname, the id the earlier version used.
//  5. The board: the Raspberry Pi's serial number, from
//     /proc/device-tree/serial-number or the "Serial" line of /proc/cpuinfo,
//     as "pi-<serial without leading zeros>". Unique per board and not
//     copied with the SD card.
//  6. /etc/machine-id, as "m-<first 12 hex digits>". It is copied with the
//     card: stations made from one cloned image share it, which is why the
//     result says so in Warning (give each station its own station_id, or
//     recreate the id with `rm /etc/machine-id && systemd-machine-id-setup`).
//  7. The hostname, else "weighin", with a warning.
//
// Steps 3 to 7 persist the id in <state>/station_id (temporary file, fsync,
// rename, directory fsync) so that it is derived once. Resolve must run
// before the evidence store is opened for the first time (step 4 looks for
// the station key).
//
// The probe paths are fields of Probes so that tests can point them at files
// of their own; the zero Probes means the real ones.
package identity

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/fsync"
)

// File is the name of the persisted id in the state directory.
const File = "station_id"

// Sources of an id, the Source field of Identity.
const (
	SourceConfig    = "config"
	SourcePersisted = "persisted"
	SourceChain     = "chain"
	SourceUpgrade   = "hostname-before-upgrade"
	SourceSerial    = "pi-serial"
	SourceMachineID = "machine-id"
	SourceHostname  = "hostname"
)

// Identity is the effective station id and where it came from.
type Identity struct {
	ID string
	// Source is one of the Source* constants.
	Source string
	// Warning, when not empty, is for the log: the id may not be unique.
	Warning string
}

// Probes are where Resolve looks. Empty fields mean the real paths and
// os.Hostname.
type Probes struct {
	DeviceTreeSerial string // /proc/device-tree/serial-number
	CPUInfo          string // /proc/cpuinfo
	MachineID        string // /etc/machine-id
	Hostname         func() (string, error)
}

func (p Probes) withDefaults() Probes {
	if p.DeviceTreeSerial == "" {
		p.DeviceTreeSerial = "/proc/device-tree/serial-number"
	}
	if p.CPUInfo == "" {
		p.CPUInfo = "/proc/cpuinfo"
	}
	if p.MachineID == "" {
		p.MachineID = "/etc/machine-id"
	}
	if p.Hostname == nil {
		p.Hostname = os.Hostname
	}
	return p
}

// ErrBadID: the persisted id is not a valid station id.
var ErrBadID = errors.New("identity: bad station id")

// Resolve is ResolveWith on the real probes.
func Resolve(stateDir, configured string) (Identity, error) {
	return ResolveWith(stateDir, configured, Probes{})
}

// ResolveWith returns the effective station id (see the package doc) and
// persists a derived one in stateDir, which must exist.
func ResolveWith(stateDir, configured string, p Probes) (Identity, error) {
	return resolve(stateDir, configured, p, true)
}

// Peek is Resolve without writing anything: for tools such as weighctl
// that must name the station weighd runs as without changing its state
// directory. It returns what Resolve would return (weighd, having started
// once, has persisted it).
func Peek(stateDir, configured string) (Identity, error) {
	return resolve(stateDir, configured, Probes{}, false)
}

func resolve(stateDir, configured string, p Probes, persist bool) (Identity, error) {
	if configured != "" {
		if config.SanitizeStationID(configured) != configured {
			return Identity{}, fmt.Errorf("%w: station_id %q has characters outside [a-z0-9_-]", ErrBadID, configured)
		}
		return Identity{ID: configured, Source: SourceConfig}, nil
	}
	path := filepath.Join(stateDir, File)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(data))
		if id == "" || config.SanitizeStationID(id) != id {
			return Identity{}, fmt.Errorf("%w: %s holds %q, not an id of [a-z0-9_-]; fix or remove it", ErrBadID, path, id)
		}
		return Identity{ID: id, Source: SourcePersisted}, nil
	case !errors.Is(err, os.ErrNotExist):
		return Identity{}, fmt.Errorf("identity: %w", err)
	}
	got := derive(stateDir, p.withDefaults())
	if !persist {
		return got, nil
	}
	if err := fsync.WriteFile(stateDir, File, []byte(got.ID+"\n"), 0o644); err != nil {
		return Identity{}, err
	}
	return got, nil
}

func derive(stateDir string, p Probes) Identity {
	if id := chainID(filepath.Join(stateDir, evidence.SessionsDir)); id != "" {
		return Identity{ID: id, Source: SourceChain}
	}
	host := hostID(p.Hostname)
	if _, err := os.Stat(filepath.Join(stateDir, evidence.KeyFile)); err == nil && host != "" {
		return Identity{ID: host, Source: SourceUpgrade}
	}
	if s := deviceTreeSerial(p.DeviceTreeSerial); s != "" {
		return Identity{ID: "pi-" + s, Source: SourceSerial}
	}
	if s := cpuinfoSerial(p.CPUInfo); s != "" {
		return Identity{ID: "pi-" + s, Source: SourceSerial}
	}
	if m := machineID(p.MachineID); m != "" {
		return Identity{ID: "m-" + m, Source: SourceMachineID,
			Warning: p.MachineID + " is copied with the SD card: stations made from one cloned image get the same id; set station_id, or recreate the machine id (rm " + p.MachineID + " && systemd-machine-id-setup)"}
	}
	if host != "" {
		return Identity{ID: host, Source: SourceHostname,
			Warning: "no board serial and no machine id: the hostname is used, and cloned images share hostnames; set station_id"}
	}
	return Identity{ID: "weighin", Source: SourceHostname,
		Warning: "no board serial, machine id or hostname: the id is \"weighin\"; set station_id"}
}

// chainID is the station id of the newest bundle whose manifest reads.
func chainID(sessions string) string {
	des, err := os.ReadDir(sessions)
	if err != nil {
		return ""
	}
	type b struct {
		seq  int64
		name string
	}
	var bs []b
	for _, de := range des {
		if seq, ok := evidence.ParseSessionDirName(de.Name()); ok && de.IsDir() {
			bs = append(bs, b{seq, de.Name()})
		}
	}
	slices.SortFunc(bs, func(x, y b) int { return cmp.Compare(y.seq, x.seq) })
	for _, e := range bs {
		data, err := os.ReadFile(filepath.Join(sessions, e.name, evidence.ManifestFile))
		if err != nil {
			continue
		}
		m, _, err := evidence.ParseManifest(data)
		if err != nil {
			continue
		}
		if id := m.Result.StationID; id != "" && config.SanitizeStationID(id) == id {
			return id
		}
	}
	return ""
}

func hostID(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil {
		return ""
	}
	return config.SanitizeStationID(h)
}

// serial normalises a board serial: lower-case hex without leading zeros;
// "" when s is not hex or is all zeros (some boards report 0000000000000000).
func serial(s string) string {
	s = strings.ToLower(strings.TrimSpace(strings.TrimRight(s, "\x00")))
	if s == "" {
		return ""
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return ""
		}
	}
	return strings.TrimLeft(s, "0")
}

func deviceTreeSerial(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return serial(string(data))
}

func cpuinfoSerial(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "Serial" {
			return serial(v)
		}
	}
	return ""
}

func machineID(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	m := strings.ToLower(strings.TrimSpace(string(data)))
	if len(m) < 12 || serial(m) == "" {
		return ""
	}
	return m[:12]
}
