package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/broker"
	"weighin/internal/config"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/sim"
	"weighin/internal/station"
)

// haStation is weighd --sim run in-process for the ha clear tests.
type haStation struct {
	cfgPath string
	socket  string
	stop    func()
}

// haConfig writes a configuration for station "hatest" in dir: the given
// external broker URL, or the embedded broker on embeddedPort.
func haConfig(t *testing.T, dir, broker string, embeddedPort int) string {
	t.Helper()
	body := fmt.Sprintf(`station_id: hatest
state_dir: %[1]s/state
log_level: warn
scale:
  rate: 80
  warm_up: 0s
recorder:
  pre_roll: 1s
mqtt:
  broker: %[2]q
  embedded_listen: 127.0.0.1:%[3]d
  state_interval: 500ms
api:
  socket: %[1]s/w.sock
`, dir, broker, embeddedPort)
	p := filepath.Join(dir, "weighd.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startHAStation runs the station of cfgPath until the returned stop.
func startHAStation(t *testing.T, cfgPath string) *haStation {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hw, err := sim.Open(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- station.Run(ctx, station.Options{Config: cfg, Hardware: hw, Log: log, Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("station: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("station not ready after 30 s")
	}
	s := &haStation{cfgPath: cfgPath, socket: cfg.API.Socket}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("station: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

// retainedOn lists the retained topics of station hatest on the broker at
// 127.0.0.1:port: under its base topic and every discovery topic.
func retainedOn(t *testing.T, port int) []string {
	t.Helper()
	out, err := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-t", "weighin/hatest/#", "-t", "homeassistant/#", "--retained-only", "-W", "1", "-F", "%t").Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 27) {
		t.Fatalf("mosquitto_sub: %v", err)
	}
	return strings.Fields(string(out))
}

// waitRetained waits until every topic in want is retained on the broker.
func waitRetained(t *testing.T, port int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := retainedOn(t, port)
		missing := ""
		for _, w := range want {
			if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not retained after 20 s (retained: %v)", missing, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func retain(t *testing.T, port int, topic string) {
	t.Helper()
	if err := mqtttest.Publish("-h", "127.0.0.1", "-p", strconv.Itoa(port), "-q", "1", "-r", "-t", topic, "-m", "left-over"); err != nil {
		t.Fatal(err)
	}
}

func haClear(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCtl(t, append([]string{"ha", "clear"}, args...)...)
}

var haBaseTopics = []string{"homeassistant/device/hatest/config", "weighin/hatest/availability", "weighin/hatest/state"}

// TestHAClearMosquitto: against Debian's Mosquitto, through the API while
// weighd runs (nothing comes back while it keeps running or when it stops),
// then with weighd stopped over weighctl's own connection (the offline path
// against a real weighd's leftovers is publish's TestClearStation).
func TestHAClearMosquitto(t *testing.T) {
	dir, err := os.MkdirTemp("", "wha")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := mqtttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mqtttest.Start(dir, port, mqtttest.Config(port, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	cfgPath := haConfig(t, dir, m.URL(), 0)

	st := startHAStation(t, cfgPath)
	waitRetained(t, port, haBaseTopics...)
	// A topic the station's fixed list does not name goes too.
	retain(t, port, "weighin/hatest/entries")
	retain(t, port, "homeassistant/sensor/hatest/extra/config")
	code, out, errs := haClear(t, "--config", cfgPath, "--timeout", "10s")
	if code != exitOK || !strings.Contains(out, "through weighd") {
		t.Fatalf("ha clear with weighd running: exit %d\n%s%s", code, out, errs)
	}
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained right after ha clear: %v", got)
	}
	// weighd keeps running: a new weight would publish state; nothing
	// retained may come back, nor the last will when it stops.
	c := api.NewClient(st.socket)
	if err := c.Command(context.Background(), api.CmdSimPlace, "1200", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	st.stop()
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained after weighd went on and stopped: %v", got)
	}

	// What a weighd stopped without a clear leaves ("offline" and the
	// rest, retained): weighctl clears it over its own connection.
	for _, topic := range append(haBaseTopics, "weighin/hatest/result", "weighin/hatest/label") {
		retain(t, port, topic)
	}
	waitRetained(t, port, haBaseTopics...)
	code, out, errs = haClear(t, "--config", cfgPath, "--timeout", "10s")
	if code != exitOK || !strings.Contains(out, "weighd is not running") {
		t.Fatalf("ha clear with weighd stopped: exit %d\n%s%s", code, out, errs)
	}
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained after ha clear with weighd stopped: %v", got)
	}
}

// TestHAClearEmbedded: against the embedded broker while weighd runs;
// with weighd stopped, weighctl deletes the station's retained messages
// from the broker's store.
func TestHAClearEmbedded(t *testing.T) {
	dir, err := os.MkdirTemp("", "wha")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := mqtttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := haConfig(t, dir, "", port)
	st := startHAStation(t, cfgPath)
	waitRetained(t, port, haBaseTopics...)
	// The broker's ACL lets no one but weighd publish under
	// weighin/hatest/ (outside cmd/): a stray retained message elsewhere
	// in the station's discovery topics.
	const stray = "homeassistant/sensor/hatest/left-over"
	retain(t, port, stray)
	code, out, errs := haClear(t, "--config", cfgPath, "--timeout", "10s")
	if code != exitOK || !strings.Contains(out, "through weighd, on its embedded broker") {
		t.Fatalf("ha clear: exit %d\n%s%s", code, out, errs)
	}
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained on the embedded broker after ha clear: %v", got)
	}
	// A second clear, weighd already off the broker, sweeps again.
	retain(t, port, stray)
	if code, out, errs := haClear(t, "--config", cfgPath, "--timeout", "10s"); code != exitOK {
		t.Errorf("second ha clear: exit %d\n%s%s", code, out, errs)
	}
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained after the second ha clear: %v", got)
	}
	st.stop()
	code, out, errs = haClear(t, "--config", cfgPath, "--timeout", "5s")
	if code != exitOK || !strings.Contains(out, "none are left to clear") {
		t.Errorf("ha clear with weighd stopped: exit %d\n%s%s", code, out, errs)
	}

	// The broker keeps retained messages in broker.db (issue 14): a weighd
	// stopped without a clear leaves its own and a stray one there, and
	// weighctl deletes them from the store; another client's retained
	// message elsewhere stays.
	st = startHAStation(t, cfgPath)
	waitRetained(t, port, haBaseTopics...)
	retain(t, port, stray)
	retain(t, port, "elsewhere/keep")
	st.stop()
	code, out, errs = haClear(t, "--config", cfgPath, "--timeout", "5s")
	if code != exitOK || !strings.Contains(out, "from the embedded broker's store") {
		t.Fatalf("ha clear with weighd stopped after a run: exit %d\n%s%s", code, out, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(cfg.MQTT, broker.Options{StationID: "hatest", Dir: cfg.StateDir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := retainedOn(t, port); len(got) != 0 {
		t.Errorf("retained on the embedded broker restarted on the cleared store: %v", got)
	}
	out2, err := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "elsewhere/#", "--retained-only", "-W", "1", "-F", "%t").Output()
	if strings.TrimSpace(string(out2)) != "elsewhere/keep" {
		t.Errorf("another client's retained message after the clear: %q (%v), want elsewhere/keep", out2, err)
	}
}

// TestHAClearTimeout: a broker that accepts and never answers (a network
// that swallows packets behaves alike) ends the clear at --timeout.
func TestHAClearTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dir := t.TempDir()
	cfgPath := haConfig(t, dir, "tcp://"+ln.Addr().String(), 0)
	start := time.Now()
	code, out, errs := haClear(t, "--config", cfgPath, "--timeout", "1s")
	took := time.Since(start)
	if code != exitProblem || !strings.Contains(errs, "timed out after 1s") {
		t.Errorf("exit %d\n%s%s, want 1 and a timeout", code, out, errs)
	}
	if took > 4*time.Second {
		t.Errorf("took %v with --timeout 1s", took)
	}
}

func TestHAUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ha"}, exitUsage, "usage: weighctl ha clear"},
		{[]string{"ha", "wipe"}, exitUsage, `unknown subcommand "wipe"`},
		{[]string{"ha", "clear", "extra"}, exitUsage, `takes no arguments, got "extra"`},
		{[]string{"ha", "clear", "--timeout", "0s"}, exitUsage, "--timeout must be positive"},
		{[]string{"ha", "clear", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"ha", "--help"}, exitOK, "Decommissioning"},
	} {
		code, out, errs := runCtl(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("weighctl %v: exit %d, %q; want %d and %q", tc.args, code, out+errs, tc.code, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("mqtt:\n  brokr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCtl(t, "ha", "clear", "--config", bad)
	if code != exitUsage || !strings.Contains(errs, "brokr") {
		t.Errorf("bad config: exit %d, %q", code, errs)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, _ := runCtl(t, "version")
	if code != exitOK || out != "weighctl "+version+"\n" {
		t.Errorf("version: exit %d, %q", code, out)
	}
}
