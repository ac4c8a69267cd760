package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/evidence"
)

// station makes a state directory (with the station key when key is set)
// and a configuration naming it.
func station(t *testing.T, key bool) (string, config.Config) {
	t.Helper()
	dir := t.TempDir()
	if key {
		if _, err := evidence.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.StateDir = dir
	return dir, cfg
}

// healthy is a running weighd's status on a healthy station.
func healthy() api.Status {
	return api.Status{Version: "test", Sim: true, SessionState: "stable", Calibrated: true, KeyFingerprint: "SHA256:abc",
		Scale:  api.ScaleStatus{Rate: 80, Reads: 1000, Offset: 8000, Scale: 420},
		Camera: api.CameraStatus{Device: "/dev/video0", Connected: true, Frames: 300, Width: 1280, Height: 720, FPS: 30},
		MQTT:   api.MQTTStatus{Broker: "tcp://127.0.0.1:1883", Embedded: true, Connected: true},
	}
}

// fakeDeps answer as a healthy machine whose weighd answers status (an
// error: as that error); hardware probes fail the test when touched while
// weighd owns the hardware.
func fakeDeps(t *testing.T, st api.Status, statusErr error) Deps {
	hardware := statusErr != nil && errors.Is(statusErr, api.ErrUnreachable)
	return Deps{
		Status: func(context.Context) (api.Status, error) {
			if statusErr != nil {
				return api.Status{}, statusErr
			}
			return st, nil
		},
		Scale: func(context.Context, config.Scale) (int32, string, error) {
			if !hardware {
				t.Error("the doctor opened the HX711 while weighd owns it")
			}
			return 428000, "GPIO6 and GPIO5 usable", nil
		},
		Camera: func(config.Camera) (string, bool, error) {
			if !hardware {
				t.Error("the doctor opened the camera while weighd owns it")
			}
			return "/dev/video0: MJPG 1280x720", true, nil
		},
		Broker: func(context.Context, config.MQTT) error { return nil },
		Free:   func(string) (int64, error) { return 10 << 30, nil },
		Clock:  func() bool { return true },
		Tools:  func(string, string) error { return nil },
		Web: func(config.Web, string, bool, api.WebStatus) (string, string, string, string) {
			return OK, "web", "off", ""
		},
	}
}

var errOffline = fmt.Errorf("status: %w", api.ErrUnreachable)

func run(cfg config.Config, d Deps) map[string]Check {
	m := map[string]Check{}
	for _, c := range Run(context.Background(), cfg, d) {
		m[c.Name] = c
	}
	return m
}

func wantChecks(t *testing.T, got map[string]Check, want map[string]string) {
	t.Helper()
	for name, status := range want {
		c, ok := got[name]
		if !ok {
			t.Errorf("no %q check in %v", name, got)
			continue
		}
		if c.Status != status {
			t.Errorf("check %s = %s (%s → %s), want %s", name, c.Status, c.Detail, c.Fix, status)
		}
		if c.Status != OK && c.Fix == "" && name != "hx711" {
			t.Errorf("check %s is %s without a fix", name, c.Status)
		}
	}
}

func TestWeighdRunning(t *testing.T) {
	_, cfg := station(t, true)
	st := healthy()
	got := run(cfg, fakeDeps(t, st, nil))
	wantChecks(t, got, map[string]string{"weighd": OK, "hx711": OK, "camera": OK, "broker": OK,
		"calibration": OK, "free space": OK, "clock": OK, "station key": OK, "offsite": OK, "web": OK})
	if d := got["station key"].Detail; !strings.Contains(d, "SHA256:abc") {
		t.Errorf("station key detail %q lacks weighd's fingerprint", d)
	}

	// Unhealthy as weighd reports it.
	st.Scale.Reads = 0
	st.Camera.Connected = false
	st.MQTT.Connected = false
	st.Calibrated = false
	got = run(cfg, fakeDeps(t, st, nil))
	wantChecks(t, got, map[string]string{"hx711": Fail, "camera": Fail, "broker": Warn, "calibration": Fail})

	st = healthy()
	st.OverCapacity = true
	got = run(cfg, fakeDeps(t, st, nil))
	wantChecks(t, got, map[string]string{"hx711": Warn})
	if !strings.Contains(got["hx711"].Detail, "over capacity") {
		t.Errorf("over capacity: %+v", got["hx711"])
	}
}

// TestWeighdBroken: weighd answers but its status fails; the hardware it
// may hold is not opened.
func TestWeighdBroken(t *testing.T) {
	_, cfg := station(t, true)
	checks := Run(context.Background(), cfg, fakeDeps(t, api.Status{}, errors.New("status: internal error")))
	got := map[string]Check{}
	for _, c := range checks {
		got[c.Name] = c
	}
	wantChecks(t, got, map[string]string{"weighd": Fail, "hx711": Fail, "camera": Fail})
	if !Failed(checks) || !strings.Contains(got["weighd"].Detail, "internal error") {
		t.Errorf("weighd check %+v", got["weighd"])
	}
}

func TestOffline(t *testing.T) {
	dir, cfg := station(t, true)
	if err := calib.Save(calib.Path(dir, "calibration.json"), calib.Calibration{Version: calib.Version, Offset: 8000, Scale: 420,
		Gain: 128, SpanMassG: 1000, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	got := run(cfg, fakeDeps(t, api.Status{}, errOffline))
	wantChecks(t, got, map[string]string{"weighd": Warn, "gpio": OK, "hx711": OK, "camera": OK, "broker": Warn,
		"calibration": OK, "free space": OK, "clock": OK, "station key": OK})

	d := fakeDeps(t, api.Status{}, errOffline)
	d.Scale = func(context.Context, config.Scale) (int32, string, error) {
		return 0, "GPIO6 and GPIO5 usable", errors.New("hx711: read: timeout")
	}
	d.Camera = func(config.Camera) (string, bool, error) { return "/dev/video0: YUYV 640x480", false, nil }
	d.Free = func(string) (int64, error) { return 100 << 20, nil }
	d.Clock = func() bool { return false }
	if err := os.Chmod(filepath.Join(dir, evidence.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calibration.json"), []byte(`{"version":1,"offset":8000,"scale":420,"gain":64,"span_mass_g":1000,"at":"2026-11-01T00:00:00Z","clock_synced":false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got = run(cfg, d)
	wantChecks(t, got, map[string]string{"gpio": OK, "hx711": Fail, "camera": Warn, "calibration": Fail,
		"free space": Fail, "clock": Warn, "station key": Fail})
	if !strings.Contains(got["station key"].Fix, "chmod 600") {
		t.Errorf("key fix = %q", got["station key"].Fix)
	}

	// No GPIO at all, and an external broker that refuses.
	d.Scale = func(context.Context, config.Scale) (int32, string, error) {
		return 0, "", errors.New(`scale.sck_pin "GPIO6": no such GPIO on this machine`)
	}
	d.Broker = func(context.Context, config.MQTT) error { return errors.New("connection refused") }
	cfg.MQTT.Broker = "tcp://127.0.0.1:1"
	wantChecks(t, run(cfg, d), map[string]string{"gpio": Fail, "hx711": Fail, "broker": Fail})
}

func TestKeyMissing(t *testing.T) {
	dir, cfg := station(t, false)
	wantChecks(t, run(cfg, fakeDeps(t, api.Status{}, errOffline)), map[string]string{"station key": Warn})
	// Bundles without their key: the chain cannot go on.
	if err := os.MkdirAll(filepath.Join(dir, evidence.SessionsDir, "000001-unsynced"), 0o755); err != nil {
		t.Fatal(err)
	}
	wantChecks(t, run(cfg, fakeDeps(t, api.Status{}, errOffline)), map[string]string{"station key": Fail})
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.yaml")
	if _, c := LoadConfig(missing); c.Status != OK || !strings.Contains(c.Detail, "absent: the defaults") {
		t.Errorf("missing file: %+v", c)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("scale:\n  rate: 20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, c := LoadConfig(bad)
	if c.Status != Fail || !strings.Contains(c.Detail, "scale.rate") || c.Fix == "" {
		t.Errorf("bad config: %+v", c)
	}
	if cfg.StateDir != config.Default().StateDir {
		t.Errorf("a bad file must give the defaults, got state_dir %q", cfg.StateDir)
	}
}

func TestString(t *testing.T) {
	got := Check{Fail, "clock", "not synchronised", "enable NTP"}.String()
	if want := "FAIL  clock        not synchronised  → enable NTP"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
