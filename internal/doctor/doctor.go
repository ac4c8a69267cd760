// Package doctor checks a weigh-in station: the configuration, weighd, the
// HX711 and its GPIO, the camera, the MQTT broker, free space, the clock,
// the timestamp authorities, ffmpeg, the off-site copies, the station key
// and the web app. Each check is one line with a fix; weighctl doctor prints
// them and the web app's station page shows them.
//
// While weighd runs, the scale's and camera's health come from its status
// (weighd owns the pins and the camera, so they are not opened); otherwise
// the hardware is probed. Every contact with the machine goes through Deps,
// so the rules here are pure apart from reading the state directory.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/timestamp"
)

// Statuses of a check.
const (
	OK   = "ok"
	Warn = "WARN"
	Fail = "FAIL"
)

// Check is one line of the doctor's report.
type Check struct {
	Status string `json:"status"` // OK, Warn or Fail
	Name   string `json:"check"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// String is the check as weighctl doctor prints it: status, name, detail
// and "→ fix".
func (c Check) String() string {
	line := fmt.Sprintf("%-4s  %-12s %s", c.Status, c.Name, c.Detail)
	if c.Fix != "" {
		line += "  → " + c.Fix
	}
	return line
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Deps are the doctor's contacts with the machine. Scale and Camera are
// called only while weighd does not answer.
type Deps struct {
	// Status asks weighd for its status; an error wrapping
	// api.ErrUnreachable means weighd is not running.
	Status func(ctx context.Context) (api.Status, error)
	// Scale opens the HX711 and reads one conversion; gpio is empty when
	// the pins could not be had (ProbeScale).
	Scale func(ctx context.Context, sc config.Scale) (raw int32, gpio string, err error)
	// Camera lists the camera's formats; mjpeg says whether it offers
	// MJPEG (ProbeCamera).
	Camera func(c config.Camera) (detail string, mjpeg bool, err error)
	// Broker tries one connection to the broker.
	Broker func(ctx context.Context, m config.MQTT) error
	// Free is the free space of the file system holding path.
	Free func(path string) (int64, error)
	// Clock reports whether the system clock is synchronised.
	Clock func() bool
	// Tools finds ffmpeg and ffprobe at the configured paths
	// (export.FindTools).
	Tools func(ffmpeg, ffprobe string) error
	// Web is the web app's check (web.Doctor); running says whether
	// weighd answered, st is its status's web part then.
	Web func(c config.Web, stateDir string, running bool, st api.WebStatus) (status, name, detail, fix string)
}

// statusTimeout bounds the question to weighd.
const statusTimeout = 3 * time.Second

// LoadConfig loads the configuration at path and checks it: a bad file is
// a FAIL naming it (and the defaults are returned, so that the other
// checks still run), a missing one means the defaults.
func LoadConfig(path string) (config.Config, Check) {
	cfg, err := config.LoadOrDefault(path)
	if err != nil {
		return config.Default(), Check{Fail, "config", err.Error(), "fix the file named, or weighd will not start"}
	}
	c := Check{OK, "config", path, ""}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.Detail += " absent: the defaults"
	}
	return cfg, c
}

// report collects the checks.
type report []Check

func (r *report) add(status, name, detail, fix string) {
	*r = append(*r, Check{status, name, detail, fix})
}

// Run runs every check after the configuration's, in the order printed.
func Run(ctx context.Context, cfg config.Config, d Deps) []Check {
	var r report
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	st, err := d.Status(sctx)
	cancel()
	running := err == nil
	alive := running || !errors.Is(err, api.ErrUnreachable)
	r.weighd(cfg, st, err)
	switch {
	case running:
		r.hardwareViaWeighd(cfg, st)
	case alive:
		// Something answers on the socket: weighd may hold the pins and
		// the camera, so they are not opened.
		r.add(Fail, "hx711", "not checked: weighd answers but its status failed", "journalctl -u weighd")
		r.add(Fail, "camera", "not checked: weighd answers but its status failed", "journalctl -u weighd")
	default:
		r.hardware(ctx, cfg, d)
		r.calibration(cfg)
	}
	r = append(r, brokerCheck(ctx, cfg, alive, st, d.Broker))
	r.freeSpace(cfg, d.Free)
	if d.Clock() {
		r.add(OK, "clock", "synchronised", "")
	} else {
		r.add(Warn, "clock", "not synchronised: bundles are named unsynced and their times are not trusted", "enable NTP: timedatectl set-ntp true")
	}
	var tsq *timestamp.Status
	if running {
		tsq = st.Timestamps
	}
	if status, detail, fix := timestamp.Doctor(cfg.Trust.TSAURLs, cfg.Trust.TSACAFile, cfg.StateDir, tsq); status != "" {
		r.add(status, "timestamps", detail, fix)
	}
	if err := d.Tools(cfg.Export.FFmpeg, cfg.Export.FFprobe); err != nil {
		r.add(Warn, "ffmpeg", err.Error(), "sudo apt install ffmpeg (weighctl export needs it)")
	} else if running && st.Exports.State == "off" {
		r.add(Warn, "exports", "weighd's export queue is off: "+st.Exports.Reason, "install ffmpeg and restart weighd")
	}
	r = append(r, offsiteCheck(cfg, running, st))
	r.stationKey(cfg, running, st)
	r.add(d.Web(cfg.Web, cfg.StateDir, running, st.Web))
	return r
}

// weighd reports whether weighd answers, and how.
func (r *report) weighd(cfg config.Config, st api.Status, err error) {
	switch {
	case err == nil:
		mode := ""
		if st.Sim {
			mode = ", simulated hardware"
		}
		r.add(OK, "weighd", fmt.Sprintf("running (%s%s), session %s", st.Version, mode, st.SessionState), "")
	case errors.Is(err, api.ErrUnreachable):
		r.add(Warn, "weighd", "not running ("+cfg.API.Socket+")", "systemctl start weighd")
	default:
		r.add(Fail, "weighd", "answers with an error: "+err.Error(), "journalctl -u weighd")
	}
}

// hardwareViaWeighd reports the scale, the camera and the calibration as
// the running weighd sees them.
func (r *report) hardwareViaWeighd(cfg config.Config, st api.Status) {
	sc := st.Scale
	switch {
	case sc.Reads == 0:
		r.add(Fail, "hx711", "weighd has read nothing from the scale"+suffix(": ", sc.LastErr), "check the HX711's wiring (VCC, GND, "+cfg.Scale.SCKPin+", "+cfg.Scale.DOUTPin+")")
	case st.OverCapacity:
		r.add(Warn, "hx711", "over capacity: the load on the platform is beyond the cell's range", "take the load off; heavier parcels need a larger load cell")
	case sc.LastErr != "":
		r.add(Warn, "hx711", fmt.Sprintf("%d reads, %d glitches, %d timeouts, last error: %s", sc.Reads, sc.Glitches, sc.Timeouts, sc.LastErr), "check the wiring and the supply")
	case sc.Glitches*20 > sc.Reads:
		r.add(Warn, "hx711", fmt.Sprintf("%d reads, %d glitches (over 5 %%)", sc.Reads, sc.Glitches), "a busy CPU stretches the clock pulses: check the load on the Pi")
	default:
		r.add(OK, "hx711", fmt.Sprintf("answering via weighd: %d reads at %d SPS, %d glitches, %d timeouts", sc.Reads, sc.Rate, sc.Glitches, sc.Timeouts), "")
	}
	cam := st.Camera
	if cam.Connected {
		r.add(OK, "camera", fmt.Sprintf("%s via weighd: %dx%d at %.1f fps, %d frames", cam.Device, cam.Width, cam.Height, cam.FPS, cam.Frames), "")
	} else {
		r.add(Fail, "camera", cam.Device+" not connected"+suffix(": ", cam.LastErr), "plug the camera in; check camera.device (ls /dev/v4l/by-id/)")
	}
	if st.Calibrated {
		r.add(OK, "calibration", fmt.Sprintf("offset %.0f, %.2f counts/g", sc.Offset, sc.Scale), "")
	} else {
		r.add(Fail, "calibration", "weighd has no calibration", "weighctl calibrate")
	}
}

// hardware probes the GPIO, the HX711 and the camera while weighd does not
// run.
func (r *report) hardware(ctx context.Context, cfg config.Config, d Deps) {
	raw, gpioDetail, err := d.Scale(ctx, cfg.Scale)
	switch {
	case err != nil && gpioDetail == "":
		r.add(Fail, "gpio", err.Error(), "run on the Pi as a member of group gpio (ls -l /dev/gpiochip*)")
		r.add(Fail, "hx711", "not tried: no GPIO", "")
	case err != nil:
		r.add(OK, "gpio", gpioDetail, "")
		r.add(Fail, "hx711", err.Error(), "check the HX711's wiring (VCC, GND, "+cfg.Scale.SCKPin+"→PD_SCK, "+cfg.Scale.DOUTPin+"←DOUT) and scale.rate")
	default:
		r.add(OK, "gpio", gpioDetail, "")
		r.add(OK, "hx711", fmt.Sprintf("answering: raw %d", raw), "")
	}
	detail, mjpeg, err := d.Camera(cfg.Camera)
	switch {
	case err != nil:
		r.add(Fail, "camera", err.Error(), "plug the camera in; check camera.device (ls /dev/v4l/by-id/)")
	case !mjpeg:
		r.add(Warn, "camera", detail, "no MJPEG: frames are encoded on the Pi at camera.fallback_* size")
	default:
		r.add(OK, "camera", detail, "")
	}
}

// calibration checks the saved calibration file while weighd does not run.
func (r *report) calibration(cfg config.Config) {
	calPath := calib.Path(cfg.StateDir, cfg.Scale.CalibrationFile)
	c, err := calib.Load(calPath)
	switch {
	case errors.Is(err, calib.ErrNotCalibrated):
		r.add(Fail, "calibration", "none at "+calPath, "weighctl calibrate (with weighd running)")
	case err != nil:
		r.add(Fail, "calibration", err.Error(), "weighctl calibrate again")
	default:
		if err := c.Check(cfg.Scale.Gain); err != nil {
			r.add(Fail, "calibration", err.Error(), "weighctl calibrate again at scale.gain")
		} else {
			r.add(OK, "calibration", fmt.Sprintf("%s: offset %.0f, %.2f counts/g", calPath, c.Offset, c.Scale), "")
		}
	}
}

// brokerCheck tries one connection to the broker: the configured one, or
// the embedded one while weighd runs it.
func brokerCheck(ctx context.Context, cfg config.Config, running bool, st api.Status, try func(context.Context, config.MQTT) error) Check {
	m := cfg.MQTT
	if m.Broker == "" {
		if !running {
			return Check{Warn, "broker", "embedded broker on " + m.EmbeddedListen + " runs inside weighd, which is not running", "systemctl start weighd"}
		}
		m.Broker = "tcp://" + m.EmbeddedListen
	}
	if err := try(ctx, m); err != nil {
		return Check{Fail, "broker", err.Error(), "check mqtt.broker, credentials and TLS files; is the broker up?"}
	}
	switch {
	case running && !st.MQTT.Connected:
		return Check{Warn, "broker", m.Broker + " reachable, but weighd reports it is not connected", "journalctl -u weighd; results wait in the outbox"}
	case running:
		return Check{OK, "broker", m.Broker + " reachable, weighd connected", ""}
	}
	return Check{OK, "broker", m.Broker + " reachable", ""}
}

// freeSpace holds the free space of the state directory against
// retention.min_free_bytes.
func (r *report) freeSpace(cfg config.Config, free func(string) (int64, error)) {
	n, err := free(cfg.StateDir)
	min := cfg.Retention.MinFreeBytes
	switch {
	case err != nil:
		r.add(Fail, "free space", err.Error(), "create "+cfg.StateDir+" (install.sh does) or fix state_dir")
	case n < min:
		r.add(Fail, "free space", fmt.Sprintf("%s free in %s, below retention.min_free_bytes (%s)", HumanBytes(n), cfg.StateDir, HumanBytes(min)), "free space or use a larger card; closed bundles become tombstones")
	case n < 2*min:
		r.add(Warn, "free space", fmt.Sprintf("%s free in %s", HumanBytes(n), cfg.StateDir), "less than twice retention.min_free_bytes: free space soon")
	default:
		r.add(OK, "free space", fmt.Sprintf("%s free in %s", HumanBytes(n), cfg.StateDir), "")
	}
}

// offsiteCheck reports the off-site copies: off, or weighd's replicator's
// backlog and problems.
func offsiteCheck(cfg config.Config, running bool, st api.Status) Check {
	const name = "offsite"
	if !cfg.Offsite.Enabled() {
		return Check{OK, name, "off (offsite.endpoint is empty): bundles live only on this card", ""}
	}
	where := cfg.Offsite.Endpoint + " bucket " + cfg.Offsite.Bucket
	o := st.Offsite
	switch {
	case !running:
		return Check{OK, name, "on, to " + where + " (weighd not running)", ""}
	case o == nil:
		return Check{Warn, name, "configured for " + where + " but weighd does not replicate", "restart weighd"}
	case o.LastError != "" && o.ConsecutiveFailures > 0:
		return Check{Warn, name, fmt.Sprintf("%s: %d object(s) not verified yet; last error: %s", where, o.BacklogObjects, o.LastError), "check the store, the bucket and offsite.credentials_file"}
	case len(o.Problems) > 0:
		return Check{Warn, name, fmt.Sprintf("%s: %d object(s) failed or in conflict (the store holds other content)", where, len(o.Problems)), "weighctl status --json lists them under offsite.problems"}
	}
	return Check{OK, name, fmt.Sprintf("%s: %d object(s) verified, backlog %d", where, o.Objects["verified"], o.BacklogObjects), ""}
}

// stationKey checks the signing key: present, private, and not missing
// while bundles signed by it exist.
func (r *report) stationKey(cfg config.Config, running bool, st api.Status) {
	keyPath := filepath.Join(cfg.StateDir, evidence.KeyFile)
	info, err := os.Stat(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if bs, _ := evidence.ListBundles(filepath.Join(cfg.StateDir, evidence.SessionsDir)); len(bs) > 0 {
			r.add(Fail, "station key", keyPath+" is missing but bundles exist", "restore the key from your backup: a new key breaks the evidence chain")
		} else {
			r.add(Warn, "station key", keyPath+" not created yet", "weighd creates it on its first start; back it up then")
		}
	case err != nil:
		r.add(Fail, "station key", err.Error(), "check the permissions of "+cfg.StateDir)
	case info.Mode().Perm()&0o077 != 0:
		r.add(Fail, "station key", fmt.Sprintf("%s has mode %04o", keyPath, info.Mode().Perm()), "chmod 600 "+keyPath)
	case running:
		r.add(OK, "station key", keyPath+", fingerprint "+st.KeyFingerprint, "")
	default:
		r.add(OK, "station key", keyPath, "")
	}
}

func suffix(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// HumanBytes is a byte count as the doctor and weighctl print it: B, KiB,
// MiB or GiB with one decimal; "unknown" for a negative count.
func HumanBytes(n int64) string {
	switch {
	case n < 0:
		return "unknown"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
