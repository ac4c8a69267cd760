package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"weighin/internal/api"
	"weighin/internal/offsite"
	"weighin/internal/registry"
	"weighin/internal/result"
)

// fakeStation is an api.Handler that records every command it receives.
type fakeStation struct {
	mu       sync.Mutex
	reqs     []string
	status   api.Status
	errs     map[string]error
	sessions []registry.Session
	// statusErr, when set, is Status's answer.
	statusErr error
}

var fakeKnown = []string{"tare", "start", "stop", "mark", "label_weight", "order_ref", "tracking", "exterior_condition", "confirm_tracking",
	"issue_type", api.CmdCalibrateZero, api.CmdCalibrateSpan, api.CmdSimPlace, api.CmdSimRemove, api.CmdSimPress, api.CmdSimHand, api.CmdCalibrateRegion, "outcome"}

func (f *fakeStation) Status(ctx context.Context) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return f.status, nil
}

func (f *fakeStation) Command(ctx context.Context, name, value string, q map[string]string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == api.CmdSessions {
		keys := make([]string, 0, len(q))
		for k, v := range q {
			keys = append(keys, k+":"+v)
		}
		slices.Sort(keys)
		f.reqs = append(f.reqs, "sessions?"+strings.Join(keys, ","))
		return f.sessions, nil
	}
	f.reqs = append(f.reqs, name+"="+value)
	if err := f.errs[name]; err != nil {
		return nil, err
	}
	if !slices.Contains(fakeKnown, name) {
		return nil, fmt.Errorf("%w: %q", api.ErrUnknownCommand, name)
	}
	return nil, nil
}

func (f *fakeStation) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// startFake serves a fakeStation on a unix socket in a short temporary
// directory and returns it with the socket's path.
func startFake(t *testing.T) (*fakeStation, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "wctl")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "w.sock")
	ln, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	label := 2350.0
	f := &fakeStation{errs: map[string]error{}, status: api.Status{
		StationID: "bench", Version: "test", Sim: true, UptimeS: 65, SessionState: "stable",
		WeightG: 1840.04, WeightState: "stable", Stable: true, SpreadG: 0.4, Calibrated: true,
		Entries:          api.Entries{LabelG: &label, OrderRef: "KB-1"},
		FreeStorageBytes: 3 << 30, StateDir: "/var/lib/weighin", KeyFingerprint: "SHA256:abc",
		Scale:  api.ScaleStatus{Rate: 80, Reads: 1000, Offset: 8000, Scale: 420},
		Camera: api.CameraStatus{Device: "/dev/video0", Connected: true, Frames: 300, Width: 1280, Height: 720, FPS: 30},
		MQTT:   api.MQTTStatus{Broker: "tcp://127.0.0.1:1883", Embedded: true, Connected: true},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, ln, f) }()
	t.Cleanup(func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	})
	return f, sock
}

func runCtl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// noConfig is a configuration path that does not exist: the defaults.
const noConfig = "/nonexistent/weighd.yaml"

// TestLiveCommands is the specification of the one-call commands: the
// arguments, the request weighd receives, the output and the exit status.
func TestLiveCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		refuse  map[string]error
		wantReq []string
		code    int
		stdout  string // substring
		stderr  string // substring
	}{
		{name: "tare", args: []string{"tare"}, wantReq: []string{"tare=PRESS"}, stdout: "tared"},
		{name: "start", args: []string{"start"}, wantReq: []string{"start=PRESS"}, stdout: "started"},
		{name: "start FORCE", args: []string{"start", "FORCE"}, wantReq: []string{"start=FORCE"}, stdout: "started"},
		{name: "start anything else", args: []string{"start", "NOW"}, code: exitUsage},
		{name: "confirm the offered code", args: []string{"confirm-tracking"}, wantReq: []string{"confirm_tracking=PRESS"}, stdout: "confirmed"},
		{name: "confirm a given code", args: []string{"confirm-tracking", "ZX-4471"}, wantReq: []string{"confirm_tracking=ZX-4471"}, stdout: "confirmed"},
		{name: "stop", args: []string{"stop"}, wantReq: []string{"stop=PRESS"}, stdout: "stopped"},
		{name: "mark without label", args: []string{"mark"}, wantReq: []string{"mark="}, stdout: "marked"},
		{name: "mark with label", args: []string{"mark", "damage here"}, wantReq: []string{"mark=damage here"}},
		{name: "label weight", args: []string{"label-weight", "2350"}, wantReq: []string{"label_weight=2350"}, stdout: "label weight set to 2350 g"},
		{name: "label weight decimal", args: []string{"label-weight", "2350.50"}, wantReq: []string{"label_weight=2350.50"}},
		{name: "label weight not a number", args: []string{"label-weight", "heavy"}, code: exitUsage, stderr: "is not a plain decimal number"},
		{name: "label weight zero", args: []string{"label-weight", "0"}, code: exitUsage, stderr: "must be between 1 and 100000 g"},
		{name: "label weight exponent", args: []string{"label-weight", "2e3"}, code: exitUsage},
		{name: "label weight missing", args: []string{"label-weight"}, code: exitUsage, stderr: "want exactly one GRAMS"},
		{name: "order ref", args: []string{"order-ref", "KB-2026-1"}, wantReq: []string{"order_ref=KB-2026-1"}},
		{name: "order ref with space", args: []string{"order-ref", " KB"}, code: exitUsage},
		{name: "tracking", args: []string{"tracking", "LB123456789CN"}, wantReq: []string{"tracking=LB123456789CN"}},
		{name: "tracking bad character", args: []string{"tracking", "LB 1"}, code: exitUsage, stderr: "only letters, digits"},
		{name: "exterior", args: []string{"exterior", "crushed"}, wantReq: []string{"exterior_condition=crushed"}},
		{name: "exterior not guessed", args: []string{"exterior", "Crushed"}, code: exitUsage, stderr: "not one of intact"},
		{name: "exterior unknown", args: []string{"exterior", "bent"}, code: exitUsage, stderr: "not one of intact"},
		{name: "issue schema form", args: []string{"issue", "missing_item"}, wantReq: []string{"issue_type=missing_item"}},
		{name: "issue damaged", args: []string{"issue", "damaged"}, wantReq: []string{"issue_type=damaged"}},
		{name: "issue cosmetic", args: []string{"issue", "damaged_cosmetic"}, wantReq: []string{"issue_type=damaged_cosmetic"}},
		{name: "issue mqtt form", args: []string{"issue", "wrong item"}, wantReq: []string{"issue_type=wrong item"}},
		{name: "issue unknown", args: []string{"issue", "lost"}, code: exitUsage},
		{name: "flags after argument", args: []string{"order-ref", "KB-2", "--config", noConfig}, wantReq: []string{"order_ref=KB-2"}},
		{name: "extra argument", args: []string{"tare", "now"}, code: exitUsage, stderr: "takes no arguments"},
		{name: "refused", args: []string{"start"}, refuse: map[string]error{"start": errors.New("nothing on the scale")},
			wantReq: []string{"start=PRESS"}, code: exitProblem, stderr: "weighd refused: nothing on the scale"},
		{name: "unknown to weighd", args: []string{"tare"}, refuse: map[string]error{"tare": api.ErrUnknownCommand},
			wantReq: []string{"tare=PRESS"}, code: exitUsage, stderr: "does not know"},
		{name: "sim place", args: []string{"sim", "place", "1840"}, wantReq: []string{"sim_place=1840"}, stdout: "placed 1840 g"},
		{name: "sim remove", args: []string{"sim", "remove"}, wantReq: []string{"sim_remove="}},
		{name: "sim press", args: []string{"sim", "press"}, wantReq: []string{"sim_press=short"}},
		{name: "sim long press", args: []string{"sim", "press", "--long"}, wantReq: []string{"sim_press=long"}, stdout: "long"},
		{name: "sim double press", args: []string{"sim", "press", "--double"}, wantReq: []string{"sim_press=double"}, stdout: "double"},
		{name: "sim long and double", args: []string{"sim", "press", "--long", "--double"}, code: exitUsage},
		{name: "sim hand", args: []string{"sim", "hand", "150"}, wantReq: []string{"sim_hand=150"}, stdout: "150 g"},
		{name: "sim hand off", args: []string{"sim", "hand", "0"}, wantReq: []string{"sim_hand=0"}, stdout: "took the hand away"},
		{name: "sim hand negative", args: []string{"sim", "hand", "-1"}, code: exitUsage},
		{name: "sim long with place", args: []string{"sim", "place", "5", "--long"}, code: exitUsage},
		{name: "sim place negative", args: []string{"sim", "place", "-5"}, code: exitUsage},
		{name: "sim unknown action", args: []string{"sim", "jump"}, code: exitUsage, stderr: "unknown action"},
		{name: "sim refused", args: []string{"sim", "remove"}, refuse: map[string]error{"sim_remove": errors.New("sim_remove: not running with --sim")},
			wantReq: []string{"sim_remove="}, code: exitProblem, stderr: "not running with --sim"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, sock := startFake(t)
			maps := tc.refuse
			for k, v := range maps {
				f.errs[k] = v
			}
			args := append(slices.Clone(tc.args), "--socket", sock, "--config", noConfig)
			code, out, errs := runCtl(t, args...)
			if code != tc.code {
				t.Errorf("weighctl %q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errs)
			}
			if got := f.requests(); !slices.Equal(got, tc.wantReq) {
				t.Errorf("weighctl %q: weighd received %q, want %q", tc.args, got, tc.wantReq)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("weighctl %q: stdout %q, want it to contain %q", tc.args, out, tc.stdout)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("weighctl %q: stderr %q, want it to contain %q", tc.args, errs, tc.stderr)
			}
		})
	}
}

// TestUnreachable: every live command exits 3 when no weighd answers.
func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"status"}, {"tare"}, {"start"}, {"stop"}, {"mark"}, {"label-weight", "100"},
		{"order-ref", "A"}, {"tracking", "A1"}, {"exterior", "wet"}, {"issue", "wrong"}, {"sim", "remove"}, {"calibrate", "--mass", "100"}} {
		code, _, errs := runCtl(t, append(args, "--socket", sock, "--config", noConfig)...)
		if code != exitNoDaemon || !strings.Contains(errs, "is weighd running?") {
			t.Errorf("weighctl %q without weighd: exit %d, stderr %q; want %d and a hint", args, code, errs, exitNoDaemon)
		}
	}
}

// TestHelp: --help prints the usage and exits 0 for every command of this
// file's set.
func TestHelp(t *testing.T) {
	for _, name := range []string{"status", "tare", "calibrate", "start", "stop", "mark", "label-weight", "order-ref", "tracking",
		"exterior", "issue", "sessions", "show", "dispute", "outcome", "record", "doctor", "sim", "demo"} {
		if _, ok := commands[name]; !ok {
			t.Errorf("weighctl %s is not in the command table", name)
			continue
		}
		code, _, errs := runCtl(t, name, "--help")
		if code != exitOK {
			t.Errorf("weighctl %s --help: exit %d, want 0", name, code)
		}
		if !strings.Contains(errs, "usage: weighctl "+name) && !strings.Contains(errs, "usage:") {
			t.Errorf("weighctl %s --help: no usage on stderr: %q", name, errs)
		}
	}
}

func TestStatus(t *testing.T) {
	f, sock := startFake(t)
	f.status.LastResult = &result.Result{SessionID: "000007-20261126T051000Z", Verdict: "underweight", Tier: 3, Bundle: "sessions/000007-20261126T051000Z"}
	f.status.Exports = api.ExportStatus{State: "paused", Session: "000006-x", Preset: "chat", Percent: 41.6, Done: 2}
	f.status.Offsite = &offsite.Status{Enabled: true, Bucket: "evidence", StationID: "bench", Objects: map[string]int{"verified": 9}, BacklogObjects: 2, BacklogBytes: 2048}
	code, out, errs := runCtl(t, "status", "--socket", sock, "--config", noConfig)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"station   bench (simulated hardware), weighd test, up 1m5s",
		"weight    1840.0 g stable (spread 0.40 g)",
		"entries   label 2350 g, order KB-1",
		"scale     80 SPS, 1000 reads, 0 glitches, 0 timeouts",
		"camera    /dev/video0 connected, 1280x720 at 30.0 fps",
		"mqtt      tcp://127.0.0.1:1883 (embedded) connected",
		"storage   3.0 GiB free",
		"clock     NOT synchronised",
		"last      000007-20261126T051000Z: underweight, tier 3",
		"exports   paused 000006-x chat 42 %, 2 done, 0 failed",
		"offsite   bucket evidence as bench: 9 object(s) verified, backlog 2 (2.0 KiB), 0 problem(s)",
	} {
		if !strings.Contains(out, want+"") {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCtl(t, "status", "--json", "--socket", sock, "--config", noConfig)
	var st api.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitOK {
		t.Fatalf("status --json: exit %d, %v: %s", code, err, out)
	}
	if st.WeightG != 1840.04 || st.Entries.OrderRef != "KB-1" || st.LastResult.Tier != 3 {
		t.Errorf("status --json = %+v", st)
	}
}

func TestCalibrate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		input   string
		wantReq []string
		code    int
		stdout  string
	}{
		{name: "mass asked", input: "\n1000\n\n", wantReq: []string{"calibrate_zero=", "calibrate_span=1000"}, stdout: "calibration saved (1000 g)"},
		{name: "bad mass asked again", input: "\nabc\n-3\n500.5\n\n", wantReq: []string{"calibrate_zero=", "calibrate_span=500.5"}, stdout: `"abc" is not a mass`},
		{name: "mass flag", args: []string{"--mass", "2000"}, input: "\n\n", wantReq: []string{"calibrate_zero=", "calibrate_span=2000"}, stdout: "Place the known mass of 2000 g"},
		{name: "no input", input: "", code: exitUsage},
		{name: "input ends after zero", args: []string{"--mass", "2000"}, input: "\n", wantReq: []string{"calibrate_zero="}, code: exitUsage},
		{name: "bad mass flag", args: []string{"--mass", "0"}, code: exitUsage},
		{name: "region", args: []string{"--region", "0.1,0.2,0.5,0.6"}, wantReq: []string{"calibrate_region=0.1,0.2,0.5,0.6"}, stdout: "platform region"},
		{name: "region outside the frame", args: []string{"--region", "0.6,0,0.5,0.5"}, code: exitUsage},
		{name: "region and mass", args: []string{"--region", "0.1,0.2,0.5,0.6", "--mass", "100"}, code: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, sock := startFake(t)
			stdin = strings.NewReader(tc.input)
			t.Cleanup(func() { stdin = os.Stdin })
			code, out, errs := runCtl(t, append([]string{"calibrate", "--socket", sock, "--config", noConfig}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if got := f.requests(); !slices.Equal(got, tc.wantReq) {
				t.Errorf("weighd received %q, want %q", got, tc.wantReq)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q lacks %q", out, tc.stdout)
			}
		})
	}
	t.Run("span refused", func(t *testing.T) {
		f, sock := startFake(t)
		f.errs[api.CmdCalibrateSpan] = errors.New("calibrate_span: weight not stable")
		stdin = strings.NewReader("\n\n")
		t.Cleanup(func() { stdin = os.Stdin })
		code, _, errs := runCtl(t, "calibrate", "--mass", "1000", "--socket", sock, "--config", noConfig)
		if code != exitProblem || !strings.Contains(errs, "weight not stable") {
			t.Errorf("exit %d, stderr %q; want 1 and weighd's reason", code, errs)
		}
	})
}
