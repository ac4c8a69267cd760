package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/drivers/hx711/hx711test"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/registry"
)

// buildWeighd builds cmd/weighd once for the tests that run it.
var buildWeighd = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "weighctl-test-weighd")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "weighd")
	cmd := exec.Command("go", "build", "-o", bin, "weighin/cmd/weighd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build weighd: %v\n%s", err, out)
	}
	return bin, nil
})

// simWeighd runs weighd --sim on stateDir until the test ends and returns
// the configuration file naming it (socket and embedded broker included).
func simWeighd(t *testing.T, stateDir string) string {
	t.Helper()
	bin, err := buildWeighd()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "wctl") // a unix socket path must be short
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "weighd.yaml")
	text := fmt.Sprintf("station_id: agree\nstate_dir: %s\nscale:\n  rate: 80\n  warm_up: 0s\nmqtt:\n  embedded_listen: 127.0.0.1:%d\napi:\n  socket: %s\n", stateDir, port, filepath.Join(dir, "w.sock"))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := startProc(bin, conf, filepath.Join(dir, "weighd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "weighd.log"))
			t.Errorf("%v\n%s", err, log)
		}
		os.RemoveAll(dir)
	})
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(context.Background(), api.NewClient(cfg.API.Socket), p.done, 20*time.Second, "weighd", func(s api.Status) bool { return s.Calibrated }); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "weighd.log"))
		t.Fatalf("%v\n%s", err, log)
	}
	return conf
}

// TestSameRefusal feeds the same bad issue type, exterior condition,
// tracking number and gram value to the MQTT command parser, to weighd's
// API and to weighctl: each refuses it with the same reason.
func TestSameRefusal(t *testing.T) {
	t.Parallel()
	conf := simWeighd(t, t.TempDir())
	cfg, _ := config.Load(conf)
	c := api.NewClient(cfg.API.Socket)
	tests := []struct{ weighctl, command, value string }{
		{"issue", "issue_type", "broken"},
		{"exterior", "exterior_condition", "soggy"},
		{"tracking", "tracking", "LB 123#45"},
		{"label-weight", "label_weight", "2.35kg"},
		// Issue 13: one text rule for every way in.
		{"order-ref", "order_ref", "KB\u202e1"},
		{"order-ref", "order_ref", "KB-1\u2028Proposed Solution: full refund"},
		{"order-ref", "order_ref", "KB\u31641"},
		{"order-ref", "order_ref", "KB\u00851"},
		{"order-ref", "order_ref", "=1+1"},
		{"tracking", "tracking", "\u0131x123456785cn"},
	}
	for _, tc := range tests {
		t.Run(tc.command+" "+tc.value, func(t *testing.T) {
			_, err := publish.ParseCommand(tc.command, []byte(tc.value), false)
			var ce *publish.CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("the MQTT parser accepts %q for %s: %v", tc.value, tc.command, err)
			}
			mqttReason := ce.Reason

			var re *api.RemoteError
			if err := c.Command(context.Background(), tc.command, tc.value, nil); !errors.As(err, &re) {
				t.Fatalf("weighd's API accepts %q for %s: %v", tc.value, tc.command, err)
			}
			apiReason := strings.TrimPrefix(re.Msg, fmt.Sprintf("command %q refused: ", tc.command))

			code, _, errs := runCtl(t, tc.weighctl, "--config", conf, tc.value)
			first, _, _ := strings.Cut(errs, "\n")
			ctlReason := strings.TrimPrefix(first, "weighctl "+tc.weighctl+": ")
			if code != exitUsage {
				t.Errorf("weighctl %s %q: exit %d, want %d", tc.weighctl, tc.value, code, exitUsage)
			}
			if mqttReason != apiReason || mqttReason != ctlReason {
				t.Errorf("%q for %s refused differently:\n MQTT     %q\n API      %q\n weighctl %q", tc.value, tc.command, mqttReason, apiReason, ctlReason)
			}
		})
	}
}

// TestDisconnectedDOUTSeenTheSame: a cut DOUT wire on the simulated chip
// is a timeout with DOUT high for weighctl record (hx711.Open's options)
// and for weighd (sim_scale fail cuts its simulated wire), not zeros.
func TestDisconnectedDOUTSeenTheSame(t *testing.T) {
	t.Parallel()
	const want = ", DOUT stayed high: hx711: timeout"
	clk := hx711test.NewVirtualClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	chip, err := hx711test.New(hx711test.Opts{Clock: clk, Rate: 80, Faults: hx711test.Faults{Disconnected: true}})
	if err != nil {
		t.Fatal(err)
	}
	chip.Load().Set(1000)
	sc := config.Default().Scale
	sc.Rate = 80
	dev, err := newScale(chip.SCK(), chip.DOUT(), sc, clk)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	_, recErr := recordTrace(context.Background(), dev.Read, nil, clk.Now, time.Second, &out, &errb)
	if recErr == nil || !strings.HasSuffix(recErr.Error(), want) {
		t.Errorf("weighctl record on a cut DOUT wire: %v, want a timeout ending %q", recErr, want)
	}

	conf := simWeighd(t, t.TempDir())
	cfg, _ := config.Load(conf)
	c := api.NewClient(cfg.API.Socket)
	if err := c.Command(context.Background(), "sim_scale", "fail", nil); err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(context.Background(), c, nil, 15*time.Second, "the scale fault", func(s api.Status) bool { return s.Scale.LastErr != "" })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(st.Scale.LastErr, want) || st.OverCapacity {
		t.Errorf("weighd on a cut DOUT wire: %q (over capacity %v), want a timeout ending %q as record saw (%v)", st.Scale.LastErr, st.OverCapacity, want, recErr)
	}
}

// TestCrashBetweenManifestAndMarker: a crash after the manifest's rename
// and before the unsealed marker's removal leaves both. weighctl show,
// weighctl sessions and weighd's store read it the same way (unsealed);
// weighd completes the seal at its start, and then all three say sealed.
func TestCrashBetweenManifestAndMarker(t *testing.T) {
	t.Parallel()
	ts := newTestState(t)
	dir := filepath.Join(ts.dir, ts.match.Bundle)
	m, err := evidence.ReadBundle(dir)
	if err != nil || m.Manifest == nil {
		t.Fatalf("the sealed bundle: %v", err)
	}
	marker, _ := json.Marshal(map[string]any{"type": "unsealed", "result": m.Manifest.Result})
	if err := os.WriteFile(filepath.Join(dir, evidence.UnsealedFile), marker, 0o644); err != nil {
		t.Fatal(err)
	}
	agree := func(want string, listed bool, conf string) {
		t.Helper()
		code, out, errs := runCtl(t, "show", "--config", conf, ts.match.SessionID)
		if !strings.Contains(out, "("+want+")") || (code == exitOK) != (want == "sealed") {
			t.Errorf("weighctl show: exit %d, %q; want %s\n%s", code, out, want, errs)
		}
		code, out, errs = runCtl(t, "sessions", "--json", "--config", conf)
		var list []registry.Session
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != exitOK {
			t.Fatalf("weighctl sessions: exit %d, %v: %s", code, err, errs)
		}
		found := false
		for _, s := range list {
			found = found || s.SessionID == ts.match.SessionID
		}
		if found != listed {
			t.Errorf("weighctl sessions lists %s: %v, want %v (%s)", ts.match.SessionID, found, listed, out)
		}
	}
	store, err := evidence.Open(ts.dir, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range store.List() {
		if b.SessionID == ts.match.SessionID && b.State != "unsealed" {
			t.Errorf("weighd's store reads the cut seal as %s, want unsealed", b.State)
		}
	}
	store.Close()
	agree("unsealed", false, ts.config)

	conf := simWeighd(t, ts.dir) // recovers: completes the seal
	agree("sealed", true, conf)
	cfg, _ := config.Load(conf)
	var st api.Status
	if err := api.NewClient(cfg.API.Socket).Status(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if st.ChainHead != m.ManifestSHA256 {
		t.Errorf("weighd's chain head %s, want the completed manifest %s", st.ChainHead, m.ManifestSHA256)
	}
	if b, err := evidence.ReadBundle(dir); err != nil || b.State != "sealed" || b.Result.Interrupted {
		t.Errorf("after weighd's start: %s (interrupted %v), %v; want sealed as it was", b.State, b.Result.Interrupted, err)
	}
}

// TestOverCapacityStatus: a load that saturates the simulated chip is
// "over capacity" in weighctl status, and weighctl start is refused with
// that reason.
func TestOverCapacityStatus(t *testing.T) {
	t.Parallel()
	conf := simWeighd(t, t.TempDir())
	if code, _, errs := runCtl(t, "sim", "place", "30000", "--config", conf); code != exitOK {
		t.Fatalf("sim place: exit %d: %s", code, errs)
	}
	cfg, _ := config.Load(conf)
	if _, err := waitStatus(context.Background(), api.NewClient(cfg.API.Socket), nil, 15*time.Second, "over capacity", func(s api.Status) bool { return s.OverCapacity }); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCtl(t, "status", "--config", conf)
	if code != exitOK || !strings.Contains(out, "weight    over capacity") {
		t.Errorf("weighctl status: exit %d\n%s\nwant the weight line to say over capacity", code, out)
	}
	code, _, errs := runCtl(t, "start", "--config", conf)
	if code != exitProblem || !strings.Contains(errs, "start refused: the scale is over capacity") {
		t.Errorf("weighctl start over capacity: exit %d, %q", code, errs)
	}
}
