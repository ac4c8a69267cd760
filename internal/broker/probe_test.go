package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
)

// TestDeafSubscriptionNoticed: the broker loses weighd's command
// subscription while the connection stays up (what a session takeover
// leaves behind); the probe notices, weighd is not reported connected
// until it subscribed again, and commands reach it again.
func TestDeafSubscriptionNoticed(t *testing.T) {
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	b, err := Start(cfg, Options{StationID: "emb1"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var tares atomic.Int32
	p, err := publish.New(b.Station(cfg), "emb1", t.TempDir(), publish.HandlerFunc(func(_ context.Context, c publish.Command) error {
		if c.Name == publish.CmdTare {
			tares.Add(1)
		}
		return nil
	}), log, publish.WithProbe(200*time.Millisecond, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done; p.Close() }()
	until := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within 20 s (problem %q)", what, p.Problem())
			}
		}
	}
	until("connected", p.Connected)
	cl, ok := b.srv.Clients.Get("weighin-emb1")
	if !ok {
		t.Fatal("weighd's client is not on the broker")
	}
	filter := p.Topics().CmdFilter
	b.srv.Topics.Unsubscribe(filter, cl.ID)
	cl.State.Subscriptions.Delete(filter)
	until("the deaf subscription noticed", func() bool { return strings.Contains(logs.String(), "did not answer its probe") })
	until("connected again", func() bool { return p.Connected() && p.Problem() == "" })
	h, port := b.tcp()
	if err := mqtttest.Publish("-h", h, "-p", port, "-q", "1", "-t", "weighin/emb1/cmd/tare", "-m", "PRESS"); err != nil {
		t.Fatal(err)
	}
	until("tare heard", func() bool { return tares.Load() > 0 })
}

// TestPersistentSessionSurvivesRestart: a persistent subscriber's
// subscription and a QoS 1 message queued for it while away survive two
// broker restarts on the same store.
func TestPersistentSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	run := func() (*Broker, string, string) {
		b, err := Start(cfg, Options{StationID: "emb1", Dir: dir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		h, p := b.tcp()
		return b, h, p
	}
	b, h, p := run()
	// Subscribe with a persistent session, then leave.
	out, err := exec.Command("mosquitto_sub", "-h", h, "-p", p, "-c", "-i", "ha-sub", "-q", "1", "-t", "ha/results", "-W", "1").CombinedOutput()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 27 {
		t.Fatalf("subscribe: %v %s", err, out)
	}
	b.Close()
	b, h, p = run()
	if err := mqtttest.Publish("-h", h, "-p", p, "-q", "1", "-t", "ha/results", "-m", "result-1"); err != nil {
		t.Fatal(err)
	}
	// The message is queued for the session once the publisher's PUBACK
	// came and the broker fanned it out.
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if cl, ok := b.srv.Clients.Get("ha-sub"); ok && cl.State.Inflight.Len() == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the message was not queued for the persistent session")
		}
	}
	b.Close()
	b, h, p = run()
	defer b.Close()
	out, err = exec.Command("mosquitto_sub", "-h", h, "-p", p, "-c", "-i", "ha-sub", "-q", "1", "-t", "ha/results", "-C", "1", "-W", "10").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "result-1" {
		t.Fatalf("queued message after two restarts: %v %q", err, out)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
