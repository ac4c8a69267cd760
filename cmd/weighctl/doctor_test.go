package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/evidence"
)

// doctorState makes a state directory (with the station key when key is
// set) and a configuration naming it and sock.
func doctorState(t *testing.T, sock string, key bool) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	if key {
		if _, err := evidence.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath = filepath.Join(dir, "weighd.yaml")
	if err := os.WriteFile(cfgPath, []byte("state_dir: "+dir+"\napi:\n  socket: "+sock+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath
}

// fakeProbes answer as a healthy machine; hardware probes fail the test
// when touched unless allowed.
func fakeProbes(t *testing.T, hardware bool) doctorProbes {
	return doctorProbes{
		scale: func(context.Context, config.Scale) (int32, string, error) {
			if !hardware {
				t.Error("the doctor opened the HX711 while weighd owns it")
			}
			return 428000, "GPIO6 and GPIO5 usable", nil
		},
		camera: func(config.Camera) (string, bool, error) {
			if !hardware {
				t.Error("the doctor opened the camera while weighd owns it")
			}
			return "/dev/video0: MJPG 1280x720", true, nil
		},
		broker: func(context.Context, config.MQTT, string) error { return nil },
		free:   func(string) (int64, error) { return 10 << 30, nil },
		clock:  func() bool { return true },
	}
}

func doctor(t *testing.T, p doctorProbes, args ...string) (int, map[string]check) {
	t.Helper()
	old := probes
	probes = p
	defer func() { probes = old }()
	code, out, errs := runCtl(t, append([]string{"doctor", "--json"}, args...)...)
	var list []check
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("doctor --json: %v: %s %s", err, out, errs)
	}
	m := map[string]check{}
	for _, c := range list {
		m[c.Name] = c
	}
	return code, m
}

func wantChecks(t *testing.T, got map[string]check, want map[string]string) {
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
		if c.Status != "ok" && c.Fix == "" && name != "hx711" {
			t.Errorf("check %s is %s without a fix", name, c.Status)
		}
	}
}

func TestDoctorWeighdRunning(t *testing.T) {
	f, sock := startFake(t)
	_, cfgPath := doctorState(t, sock, true)
	code, got := doctor(t, fakeProbes(t, false), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"config": "ok", "weighd": "ok", "hx711": "ok", "camera": "ok", "broker": "ok",
		"calibration": "ok", "free space": "ok", "clock": "ok", "station key": "ok"})
	if code != exitOK {
		t.Errorf("healthy station: exit %d", code)
	}

	// Unhealthy as weighd reports it.
	f.mu.Lock()
	f.status.Scale.Reads = 0
	f.status.Camera.Connected = false
	f.status.MQTT.Connected = false
	f.status.Calibrated = false
	f.mu.Unlock()
	code, got = doctor(t, fakeProbes(t, false), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"hx711": "FAIL", "camera": "FAIL", "broker": "WARN", "calibration": "FAIL"})
	if code != exitProblem {
		t.Errorf("failing station: exit %d, want %d", code, exitProblem)
	}
}

// TestDoctorWeighdBroken: weighd answers but its status fails; the
// hardware it may hold is not opened.
func TestDoctorWeighdBroken(t *testing.T) {
	f, sock := startFake(t)
	f.statusErr = errors.New("status: internal error")
	_, cfgPath := doctorState(t, sock, true)
	code, got := doctor(t, fakeProbes(t, false), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"weighd": "FAIL", "hx711": "FAIL", "camera": "FAIL"})
	if code != exitProblem || !strings.Contains(got["weighd"].Detail, "internal error") {
		t.Errorf("exit %d, weighd check %+v", code, got["weighd"])
	}
}

func TestDoctorOffline(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	dir, cfgPath := doctorState(t, sock, true)
	if err := calib.Save(calib.Path(dir, "calibration.json"), calib.Calibration{Version: calib.Version, Offset: 8000, Scale: 420,
		Gain: 128, SpanMassG: 1000, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	code, got := doctor(t, fakeProbes(t, true), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"weighd": "WARN", "gpio": "ok", "hx711": "ok", "camera": "ok", "broker": "WARN",
		"calibration": "ok", "free space": "ok", "clock": "ok", "station key": "ok"})
	if code != exitOK {
		t.Errorf("no FAIL: exit %d", code)
	}

	p := fakeProbes(t, true)
	p.scale = func(context.Context, config.Scale) (int32, string, error) {
		return 0, "GPIO6 and GPIO5 usable", errors.New("hx711: read: timeout")
	}
	p.camera = func(config.Camera) (string, bool, error) { return "/dev/video0: YUYV 640x480", false, nil }
	p.free = func(string) (int64, error) { return 100 << 20, nil }
	p.clock = func() bool { return false }
	if err := os.Chmod(filepath.Join(dir, evidence.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calibration.json"), []byte(`{"version":1,"offset":8000,"scale":420,"gain":64,"span_mass_g":1000,"at":"2026-11-01T00:00:00Z","clock_synced":false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, got = doctor(t, p, "--config", cfgPath)
	wantChecks(t, got, map[string]string{"gpio": "ok", "hx711": "FAIL", "camera": "WARN", "calibration": "FAIL",
		"free space": "FAIL", "clock": "WARN", "station key": "FAIL"})
	if code != exitProblem {
		t.Errorf("with FAILs: exit %d", code)
	}
	if !strings.Contains(got["station key"].Fix, "chmod 600") {
		t.Errorf("key fix = %q", got["station key"].Fix)
	}

	// No GPIO at all, and an external broker that refuses.
	p.scale = func(context.Context, config.Scale) (int32, string, error) {
		return 0, "", errors.New(`scale.sck_pin "GPIO6": no such GPIO on this machine`)
	}
	p.broker = func(context.Context, config.MQTT, string) error { return errors.New("connection refused") }
	if err := os.WriteFile(cfgPath, []byte("state_dir: "+dir+"\nmqtt:\n  broker: tcp://127.0.0.1:1\napi:\n  socket: "+sock+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, got = doctor(t, p, "--config", cfgPath)
	wantChecks(t, got, map[string]string{"gpio": "FAIL", "hx711": "FAIL", "broker": "FAIL"})
}

func TestDoctorKeyMissing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	dir, cfgPath := doctorState(t, sock, false)
	_, got := doctor(t, fakeProbes(t, true), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"station key": "WARN"})
	// Bundles without their key: the chain cannot go on.
	if err := os.MkdirAll(filepath.Join(dir, evidence.SessionsDir, "000001-unsynced"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, got := doctor(t, fakeProbes(t, true), "--config", cfgPath)
	wantChecks(t, got, map[string]string{"station key": "FAIL"})
	if code != exitProblem {
		t.Errorf("exit %d", code)
	}
	// A bad configuration is a FAIL naming the file.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("scale:\n  rate: 20\n"), 0o644)
	code, got = doctor(t, fakeProbes(t, true), "--config", bad, "--socket", sock)
	if code != exitProblem || got["config"].Status != "FAIL" || !strings.Contains(got["config"].Detail, "scale.rate") {
		t.Errorf("bad config: exit %d, %+v", code, got["config"])
	}
}
