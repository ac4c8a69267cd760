package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blackjack/webcam"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/publish"
	"weighin/internal/timestamp"
	"weighin/internal/web"
)

const doctorUsage = `usage: weighctl doctor [--json]

Checks GPIO, the HX711, the camera, the MQTT broker, free space, the clock,
the calibration and the station key, one line each with a fix. While weighd
runs, the scale's and camera's health come from its status.

Exit status: 0 no FAIL; 1 at least one FAIL; 2 usage error.
`

// check is one line of the doctor's report.
type check struct {
	Status string `json:"status"` // ok, WARN, FAIL
	Name   string `json:"check"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorProbes are the doctor's contacts with the machine; tests replace
// them.
type doctorProbes struct {
	// scale opens the HX711 and reads one conversion.
	scale func(ctx context.Context, sc config.Scale) (raw int32, gpio string, err error)
	// camera lists the camera's formats.
	camera func(c config.Camera) (string, bool, error)
	// broker tries one connection to the broker.
	broker func(ctx context.Context, m config.MQTT, clientID string) error
	free   func(path string) (int64, error)
	clock  func() bool
}

var probes = doctorProbes{scale: probeScale, camera: probeCamera, broker: publish.Check, free: evidence.FreeBytes, clock: clockSynced}

// runDoctor is `weighctl doctor`.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("doctor", doctorUsage, stderr)
	jsonOut := c.Bool("json", false, "print the checks as a JSON array")
	// A bad configuration is the first finding, not the end of the checks.
	pos, err := parseInterleaved(c.FlagSet, args)
	if err != nil {
		return yesNoInt(errors.Is(err, flag.ErrHelp), exitOK, exitUsage)
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	cfg, cfgErr := config.LoadOrDefault(c.config)
	checks := []check{{"ok", "config", c.config, ""}}
	switch _, serr := os.Stat(c.config); {
	case cfgErr != nil:
		checks[0] = check{"FAIL", "config", cfgErr.Error(), "fix the file named, or weighd will not start"}
		cfg = config.Default()
	case errors.Is(serr, fs.ErrNotExist):
		checks[0].Detail += " absent: the defaults"
	}
	if c.socket != "" {
		cfg.API.Socket = c.socket
	}
	if c.stateDir != "" {
		cfg.StateDir = c.stateDir
	}
	checks = append(checks, doctorChecks(ctx, cfg, probes)...)
	failed := false
	for _, c := range checks {
		failed = failed || c.Status == "FAIL"
	}
	if *jsonOut {
		writeJSON(stdout, checks)
	} else {
		for _, c := range checks {
			line := fmt.Sprintf("%-4s  %-12s %s", c.Status, c.Name, c.Detail)
			if c.Fix != "" {
				line += "  → " + c.Fix
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if failed {
		return exitProblem
	}
	return exitOK
}

// doctorChecks runs every check after the configuration's.
func doctorChecks(ctx context.Context, cfg config.Config, p doctorProbes) []check {
	var out []check
	add := func(status, name, detail, fix string) {
		out = append(out, check{status, name, detail, fix})
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	var st api.Status
	err := api.NewClient(cfg.API.Socket).Status(sctx, &st)
	cancel()
	running := err == nil
	alive := running || !errors.Is(err, api.ErrUnreachable)
	switch {
	case running:
		mode := ""
		if st.Sim {
			mode = ", simulated hardware"
		}
		add("ok", "weighd", fmt.Sprintf("running (%s%s), session %s", st.Version, mode, st.SessionState), "")
	case errors.Is(err, api.ErrUnreachable):
		add("WARN", "weighd", "not running ("+cfg.API.Socket+")", "systemctl start weighd")
	default:
		add("FAIL", "weighd", "answers with an error: "+err.Error(), "journalctl -u weighd")
	}

	if running {
		sc := st.Scale
		switch {
		case sc.Reads == 0:
			add("FAIL", "hx711", "weighd has read nothing from the scale"+suffix(": ", sc.LastErr), "check the HX711's wiring (VCC, GND, "+cfg.Scale.SCKPin+", "+cfg.Scale.DOUTPin+")")
		case st.OverCapacity:
			add("WARN", "hx711", "over capacity: the load on the platform is beyond the cell's range", "take the load off; heavier parcels need a larger load cell")
		case sc.LastErr != "":
			add("WARN", "hx711", fmt.Sprintf("%d reads, %d glitches, %d timeouts, last error: %s", sc.Reads, sc.Glitches, sc.Timeouts, sc.LastErr), "check the wiring and the supply")
		case sc.Glitches*20 > sc.Reads:
			add("WARN", "hx711", fmt.Sprintf("%d reads, %d glitches (over 5 %%)", sc.Reads, sc.Glitches), "a busy CPU stretches the clock pulses: check the load on the Pi")
		default:
			add("ok", "hx711", fmt.Sprintf("answering via weighd: %d reads at %d SPS, %d glitches, %d timeouts", sc.Reads, sc.Rate, sc.Glitches, sc.Timeouts), "")
		}
		cam := st.Camera
		if cam.Connected {
			add("ok", "camera", fmt.Sprintf("%s via weighd: %dx%d at %.1f fps, %d frames", cam.Device, cam.Width, cam.Height, cam.FPS, cam.Frames), "")
		} else {
			add("FAIL", "camera", cam.Device+" not connected"+suffix(": ", cam.LastErr), "plug the camera in; check camera.device (ls /dev/v4l/by-id/)")
		}
		if st.Calibrated {
			add("ok", "calibration", fmt.Sprintf("offset %.0f, %.2f counts/g", sc.Offset, sc.Scale), "")
		} else {
			add("FAIL", "calibration", "weighd has no calibration", "weighctl calibrate")
		}
	} else if alive {
		// Something answers on the socket: weighd may hold the pins and
		// the camera, so they are not opened.
		add("FAIL", "hx711", "not checked: weighd answers but its status failed", "journalctl -u weighd")
		add("FAIL", "camera", "not checked: weighd answers but its status failed", "journalctl -u weighd")
	} else {
		raw, gpioDetail, err := p.scale(ctx, cfg.Scale)
		switch {
		case err != nil && gpioDetail == "":
			add("FAIL", "gpio", err.Error(), "run on the Pi as a member of group gpio (ls -l /dev/gpiochip*)")
			add("FAIL", "hx711", "not tried: no GPIO", "")
		case err != nil:
			add("ok", "gpio", gpioDetail, "")
			add("FAIL", "hx711", err.Error(), "check the HX711's wiring (VCC, GND, "+cfg.Scale.SCKPin+"→PD_SCK, "+cfg.Scale.DOUTPin+"←DOUT) and scale.rate")
		default:
			add("ok", "gpio", gpioDetail, "")
			add("ok", "hx711", fmt.Sprintf("answering: raw %d", raw), "")
		}
		detail, mjpeg, err := p.camera(cfg.Camera)
		switch {
		case err != nil:
			add("FAIL", "camera", err.Error(), "plug the camera in; check camera.device (ls /dev/v4l/by-id/)")
		case !mjpeg:
			add("WARN", "camera", detail, "no MJPEG: frames are encoded on the Pi at camera.fallback_* size")
		default:
			add("ok", "camera", detail, "")
		}
		calPath := calib.Path(cfg.StateDir, cfg.Scale.CalibrationFile)
		c, err := calib.Load(calPath)
		switch {
		case errors.Is(err, calib.ErrNotCalibrated):
			add("FAIL", "calibration", "none at "+calPath, "weighctl calibrate (with weighd running)")
		case err != nil:
			add("FAIL", "calibration", err.Error(), "weighctl calibrate again")
		default:
			if err := c.Check(cfg.Scale.Gain); err != nil {
				add("FAIL", "calibration", err.Error(), "weighctl calibrate again at scale.gain")
			} else {
				add("ok", "calibration", fmt.Sprintf("%s: offset %.0f, %.2f counts/g", calPath, c.Offset, c.Scale), "")
			}
		}
	}

	out = append(out, brokerCheck(ctx, cfg, alive, st, p))

	free, err := p.free(cfg.StateDir)
	min := cfg.Retention.MinFreeBytes
	switch {
	case err != nil:
		add("FAIL", "free space", err.Error(), "create "+cfg.StateDir+" (install.sh does) or fix state_dir")
	case free < min:
		add("FAIL", "free space", fmt.Sprintf("%s free in %s, below retention.min_free_bytes (%s)", humanBytes(free), cfg.StateDir, humanBytes(min)), "free space or use a larger card; closed bundles become tombstones")
	case free < 2*min:
		add("WARN", "free space", fmt.Sprintf("%s free in %s", humanBytes(free), cfg.StateDir), "less than twice retention.min_free_bytes: free space soon")
	default:
		add("ok", "free space", fmt.Sprintf("%s free in %s", humanBytes(free), cfg.StateDir), "")
	}

	if p.clock() {
		add("ok", "clock", "synchronised", "")
	} else {
		add("WARN", "clock", "not synchronised: bundles are named unsynced and their times are not trusted", "enable NTP: timedatectl set-ntp true")
	}
	var tsq *timestamp.Status
	if running {
		tsq = st.Timestamps
	}
	if status, detail, fix := timestamp.Doctor(cfg.Trust.TSAURLs, cfg.Trust.TSACAFile, cfg.StateDir, tsq); status != "" {
		add(status, "timestamps", detail, fix)
	}
	if _, err := export.FindTools(cfg.Export.FFmpeg, cfg.Export.FFprobe); err != nil {
		add("WARN", "ffmpeg", err.Error(), "sudo apt install ffmpeg (weighctl export needs it)")
	}

	keyPath := filepath.Join(cfg.StateDir, evidence.KeyFile)
	info, err := os.Stat(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if bs, _ := evidence.ListBundles(filepath.Join(cfg.StateDir, evidence.SessionsDir)); len(bs) > 0 {
			add("FAIL", "station key", keyPath+" is missing but bundles exist", "restore the key from your backup: a new key breaks the evidence chain")
		} else {
			add("WARN", "station key", keyPath+" not created yet", "weighd creates it on its first start; back it up then")
		}
	case err != nil:
		add("FAIL", "station key", err.Error(), "check the permissions of "+cfg.StateDir)
	case info.Mode().Perm()&0o077 != 0:
		add("FAIL", "station key", fmt.Sprintf("%s has mode %04o", keyPath, info.Mode().Perm()), "chmod 600 "+keyPath)
	default:
		fp := ""
		if running {
			fp = ", fingerprint " + st.KeyFingerprint
		}
		add("ok", "station key", keyPath+fp, "")
	}
	add(web.Doctor(cfg.Web, cfg.StateDir, running, st.Web))
	return out
}

// brokerCheck tries one connection to the broker: the configured one, or
// the embedded one while weighd runs it.
func brokerCheck(ctx context.Context, cfg config.Config, running bool, st api.Status, p doctorProbes) check {
	m := cfg.MQTT
	if m.Broker == "" {
		if !running {
			return check{"WARN", "broker", "embedded broker on " + m.EmbeddedListen + " runs inside weighd, which is not running", "systemctl start weighd"}
		}
		m.Broker = "tcp://" + m.EmbeddedListen
	}
	if err := p.broker(ctx, m, fmt.Sprintf("weighctl-doctor-%d", os.Getpid())); err != nil {
		return check{"FAIL", "broker", err.Error(), "check mqtt.broker, credentials and TLS files; is the broker up?"}
	}
	if running && !st.MQTT.Connected {
		return check{"WARN", "broker", m.Broker + " reachable, but weighd reports it is not connected", "journalctl -u weighd; results wait in the outbox"}
	}
	return check{"ok", "broker", m.Broker + " reachable" + yesNo(running && st.MQTT.Connected, ", weighd connected", ""), ""}
}

// probeScale opens the HX711 on the real pins and reads once. gpio is
// empty when the pins could not be had.
func probeScale(ctx context.Context, sc config.Scale) (int32, string, error) {
	dev, err := openScale(sc, io.Discard)
	if err != nil {
		return 0, "", err
	}
	defer dev.Halt()
	gpioDetail := fmt.Sprintf("%s and %s usable", sc.SCKPin, sc.DOUTPin)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	raw, err := dev.Read(ctx)
	if err != nil {
		return 0, gpioDetail, fmt.Errorf("%s: %w", dev, err)
	}
	return raw, gpioDetail, nil
}

// probeCamera opens the camera and lists its MJPEG and YUYV sizes.
func probeCamera(c config.Camera) (string, bool, error) {
	cam, err := webcam.Open(c.Device)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", c.Device, err)
	}
	defer cam.Close()
	want := camera.Want{Format: c.Format, Width: c.Width, Height: c.Height, FPS: c.FPS,
		FallbackWidth: c.FallbackWidth, FallbackHeight: c.FallbackHeight, FallbackFPS: c.FallbackFPS}
	caps := camera.ListCaps(cam, want)
	var parts []string
	for _, f := range []webcam.PixelFormat{camera.FormatMJPEG, camera.FormatYUYV} {
		sizes, ok := caps.Sizes[f]
		if !ok {
			continue
		}
		var ss []string
		for i, s := range sizes {
			if i == 4 {
				ss = append(ss, "…")
				break
			}
			ss = append(ss, s.GetString())
		}
		parts = append(parts, camera.FourCC(f)+" "+strings.Join(ss, " "))
	}
	if len(parts) == 0 {
		return "", false, fmt.Errorf("%s offers neither MJPEG nor YUYV", c.Device)
	}
	m, err := camera.Choose(want, caps)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s: %w", c.Device, strings.Join(parts, "; "), err)
	}
	_, mjpeg := caps.Sizes[camera.FormatMJPEG]
	return fmt.Sprintf("%s: %s; would use %s", c.Device, strings.Join(parts, "; "), m), mjpeg, nil
}
