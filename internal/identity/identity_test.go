package identity

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/result"
)

type board struct {
	dtSerial, cpuinfo, machineID, hostname string
}

func (b board) probes(t *testing.T) Probes {
	dir := t.TempDir()
	p := Probes{
		DeviceTreeSerial: filepath.Join(dir, "serial-number"),
		CPUInfo:          filepath.Join(dir, "cpuinfo"),
		MachineID:        filepath.Join(dir, "machine-id"),
		Hostname:         func() (string, error) { return b.hostname, nil },
	}
	for path, content := range map[string]string{p.DeviceTreeSerial: b.dtSerial, p.CPUInfo: b.cpuinfo, p.MachineID: b.machineID} {
		if content != "" {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

const cpuinfoPi = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\nHardware\t: BCM2835\nRevision\t: a02082\nSerial\t\t: 00000000c0ffee42\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n"

func TestDerivation(t *testing.T) {
	tests := []struct {
		name       string
		board      board
		configured string
		wantID     string
		wantSource string
		warns      bool
	}{
		{"configured wins", board{dtSerial: "10000000abcdef12\x00", hostname: "pi"}, "dock-3", "dock-3", SourceConfig, false},
		{"device tree serial (NUL-terminated)", board{dtSerial: "10000000abcdef12\x00", cpuinfo: cpuinfoPi, machineID: "0123456789abcdef0123456789abcdef\n", hostname: "raspberrypi"}, "", "pi-10000000abcdef12", SourceSerial, false},
		{"cpuinfo serial, leading zeros dropped", board{cpuinfo: cpuinfoPi, machineID: "0123456789abcdef0123456789abcdef\n", hostname: "raspberrypi"}, "", "pi-c0ffee42", SourceSerial, false},
		{"all-zero serial is no serial", board{dtSerial: "0000000000000000\x00", machineID: "0123456789abcdef0123456789abcdef\n", hostname: "raspberrypi"}, "", "m-0123456789ab", SourceMachineID, true},
		{"machine-id, cloned with the card", board{cpuinfo: "processor\t: 0\n", machineID: "fedcba9876543210fedcba9876543210\n", hostname: "raspberrypi"}, "", "m-fedcba987654", SourceMachineID, true},
		{"hostname last", board{hostname: "Dock_7.local"}, "", "dock_7local", SourceHostname, true},
		{"nothing at all", board{}, "", "weighin", SourceHostname, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			got, err := ResolveWith(state, tt.configured, tt.board.probes(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.wantID || got.Source != tt.wantSource || (got.Warning != "") != tt.warns {
				t.Errorf("ResolveWith = %+v, want id %q source %q warning %v", got, tt.wantID, tt.wantSource, tt.warns)
			}
			if tt.wantSource == SourceMachineID && !strings.Contains(got.Warning, "copied with the SD card") {
				t.Errorf("machine-id warning %q does not say it is cloned with the card", got.Warning)
			}
			data, err := os.ReadFile(filepath.Join(state, File))
			if tt.configured != "" {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("configured id persisted (%q, %v)", data, err)
				}
				return
			}
			if err != nil || string(data) != tt.wantID+"\n" {
				t.Errorf("persisted %q (%v), want %q", data, err, tt.wantID+"\n")
			}
		})
	}
}

// TestDerivedOnce: the persisted id holds even when the board says otherwise
// later (a card moved to another Pi keeps its station).
func TestDerivedOnce(t *testing.T) {
	state := t.TempDir()
	first, err := ResolveWith(state, "", board{dtSerial: "aaaa1111\x00", hostname: "x"}.probes(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := ResolveWith(state, "", board{dtSerial: "bbbb2222\x00", hostname: "x"}.probes(t))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != "pi-aaaa1111" || second.ID != first.ID || second.Source != SourcePersisted {
		t.Errorf("first %+v, second %+v: want the first id, persisted", first, second)
	}
	if err := os.WriteFile(filepath.Join(state, File), []byte("Bad Id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveWith(state, "", Probes{}); !errors.Is(err, ErrBadID) || !strings.Contains(err.Error(), "station_id") {
		t.Errorf("bad persisted id: err = %v, want ErrBadID naming the file", err)
	}
	peekState := t.TempDir()
	if got, err := Peek(peekState, ""); err != nil || got.ID == "" {
		t.Errorf("Peek = %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(peekState, File)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Peek wrote %s (%v)", File, err)
	}
	if _, err := ResolveWith(state, "No!", Probes{}); !errors.Is(err, ErrBadID) {
		t.Errorf("bad configured id: err = %v, want ErrBadID", err)
	}
}

// TestUpgradeKeepsChainID: a state directory of an earlier version, whose
// bundles were sealed under the hostname, keeps that id although the board
// has a serial; and one with a key but no bundle keeps the hostname.
func TestUpgradeKeepsChainID(t *testing.T) {
	state := t.TempDir()
	st, err := evidence.Open(state, slog.New(slog.DiscardHandler), evidence.Options{StationID: "old-host"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ss, err := st.Begin(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), true, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Seal(result.Result{StationID: "old-host", StopReason: result.StopButton}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	got, err := ResolveWith(state, "", board{dtSerial: "10000000abcdef12\x00", hostname: "renamed"}.probes(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "old-host" || got.Source != SourceChain {
		t.Errorf("upgraded station: %+v, want the chain's id old-host", got)
	}

	keyOnly := t.TempDir()
	st2, err := evidence.Open(keyOnly, slog.New(slog.DiscardHandler), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st2.Close()
	got, err = ResolveWith(keyOnly, "", board{dtSerial: "10000000abcdef12\x00", hostname: "Old-Host"}.probes(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "old-host" || got.Source != SourceUpgrade {
		t.Errorf("state dir with a key, no bundle: %+v, want the hostname old-host", got)
	}
}
