package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/evidence"
)

// The checks themselves are internal/doctor's tests; these are the
// command's: weighd's status over the socket, the printing, the exit
// status and the configuration's check.

// doctorState makes a state directory with the station key and a
// configuration naming it and sock.
func doctorState(t *testing.T, sock string) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	if _, err := evidence.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{}); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "weighd.yaml")
	if err := os.WriteFile(cfgPath, []byte("state_dir: "+dir+"\napi:\n  socket: "+sock+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath
}

// runDoctorWith runs weighctl doctor with this machine's contacts but for
// the hardware, broker, space and clock, which answer as a healthy
// machine's; weighd's status comes over the socket.
func runDoctorWith(t *testing.T, args ...string) (int, string) {
	t.Helper()
	old := doctorDeps
	doctorDeps = func(cfg config.Config) doctor.Deps {
		d := old(cfg)
		d.Scale = func(context.Context, config.Scale) (int32, string, error) {
			return 428000, "GPIO6 and GPIO5 usable", nil
		}
		d.Camera = func(config.Camera) (string, bool, error) { return "/dev/video0: MJPG 1280x720", true, nil }
		d.Broker = func(context.Context, config.MQTT) error { return nil }
		d.Free = func(string) (int64, error) { return 10 << 30, nil }
		d.Clock = func() bool { return true }
		return d
	}
	defer func() { doctorDeps = old }()
	code, out, errs := runCtl(t, append([]string{"doctor"}, args...)...)
	if errs != "" {
		t.Errorf("doctor wrote to stderr: %s", errs)
	}
	return code, out
}

func doctorJSON(t *testing.T, args ...string) (int, map[string]doctor.Check) {
	t.Helper()
	code, out := runDoctorWith(t, append([]string{"--json"}, args...)...)
	var list []doctor.Check
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("doctor --json: %v: %s", err, out)
	}
	m := map[string]doctor.Check{}
	for _, c := range list {
		m[c.Name] = c
	}
	return code, m
}

func TestDoctorWeighdRunning(t *testing.T) {
	f, sock := startFake(t)
	_, cfgPath := doctorState(t, sock)
	code, got := doctorJSON(t, "--config", cfgPath)
	for _, name := range []string{"config", "weighd", "hx711", "camera", "broker", "calibration", "free space", "clock", "station key"} {
		if got[name].Status != doctor.OK {
			t.Errorf("check %s = %+v, want ok", name, got[name])
		}
	}
	if code != exitOK || !strings.Contains(got["weighd"].Detail, "simulated hardware") {
		t.Errorf("healthy station: exit %d, weighd %+v", code, got["weighd"])
	}

	// Unhealthy as weighd reports it: a FAIL line with its fix, exit 1.
	f.mu.Lock()
	f.status.Calibrated = false
	f.mu.Unlock()
	code, out := runDoctorWith(t, "--config", cfgPath)
	if code != exitProblem || !strings.Contains(out, "FAIL  calibration  weighd has no calibration  → weighctl calibrate\n") {
		t.Errorf("failing station: exit %d, want %d:\n%s", code, exitProblem, out)
	}
}

func TestDoctorConfig(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	dir, cfgPath := doctorState(t, sock)
	// A bad configuration is a FAIL naming the file; the other checks
	// still run, with --state-dir and --socket applied.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("scale:\n  rate: 20\n"), 0o644)
	code, got := doctorJSON(t, "--config", bad, "--socket", sock, "--state-dir", dir)
	if code != exitProblem || got["config"].Status != doctor.Fail || !strings.Contains(got["config"].Detail, "scale.rate") {
		t.Errorf("bad config: exit %d, %+v", code, got["config"])
	}
	if got["weighd"].Status != doctor.Warn || !strings.Contains(got["station key"].Detail, dir) {
		t.Errorf("--socket/--state-dir not applied: %+v %+v", got["weighd"], got["station key"])
	}
	if code, _, _ := runCtl(t, "doctor", "--config", cfgPath, "extra"); code != exitUsage {
		t.Errorf("an argument: exit %d, want %d", code, exitUsage)
	}
}
