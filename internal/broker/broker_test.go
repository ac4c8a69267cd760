package broker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"weighin/internal/broker"
	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, cfg config.MQTT) *broker.Broker {
	t.Helper()
	b, err := broker.Start(cfg, broker.Options{StationID: "emb1"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func hostPort(t *testing.T, b *broker.Broker) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestEmbeddedWithPublisherAndMosquittoSub: the station publishes to the
// embedded broker and mosquitto_sub, pointed straight at it, sees the
// retained discovery and "online", and a result from the outbox.
func TestEmbeddedWithPublisherAndMosquittoSub(t *testing.T) {
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	b := start(t, cfg)
	if b.Auth() != "anonymous-loopback" {
		t.Errorf("auth %q on loopback without credentials", b.Auth())
	}
	p, err := publish.New(b.Station(cfg), "emb1", t.TempDir(), publish.HandlerFunc(func(context.Context, publish.Command) error { return nil }), quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	host, port := hostPort(t, b)
	live, err := mqtttest.Subscribe("-h", host, "-p", port, "-q", "1", "-t", "weighin/emb1/availability", "-t", "homeassistant/device/emb1/config")
	if err != nil {
		t.Fatalf("broker: %v", err)
	}
	defer live.Close()
	for seen := map[string]bool{}; len(seen) < 2; {
		m, err := live.Wait(15*time.Second, func(m mqtttest.Msg) bool {
			return m.Payload == "online" || m.Topic == "homeassistant/device/emb1/config"
		})
		if err != nil {
			t.Fatalf("online and discovery on the embedded broker: %v", err)
		}
		seen[m.Topic] = true
	}
	// A subscriber arriving now gets both retained.
	sub, err := mqtttest.Subscribe("-h", host, "-p", port, "-q", "1", "-t", "weighin/emb1/availability", "-t", "homeassistant/device/emb1/config")
	if err != nil {
		t.Fatalf("broker: %v", err)
	}
	defer sub.Close()
	got := map[string]mqtttest.Msg{}
	for len(got) < 2 {
		m, err := sub.Wait(10*time.Second, func(mqtttest.Msg) bool { return true })
		if err != nil {
			t.Fatalf("retained messages from the embedded broker: %v (have %d)", err, len(got))
		}
		got[m.Topic] = m
	}
	if a := got["weighin/emb1/availability"]; !a.Retained || a.Payload != "online" {
		t.Errorf("availability retained=%v %q, want retained online", a.Retained, a.Payload)
	}
	d := got["homeassistant/device/emb1/config"]
	if !d.Retained || !strings.Contains(d.Payload, `"cmps"`) {
		t.Errorf("discovery retained=%v %.100s", d.Retained, d.Payload)
	}
	// A result goes through the outbox to the embedded broker.
	res, err := mqtttest.Subscribe("-h", host, "-p", port, "-q", "1", "-t", "weighin/emb1/results")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	time.Sleep(200 * time.Millisecond)
	r := sampleResult()
	if err := p.PublishResult(r); err != nil {
		t.Fatal(err)
	}
	if _, err := res.Wait(10*time.Second, func(m mqtttest.Msg) bool { return strings.Contains(m.Payload, r.SessionID) }); err != nil {
		t.Fatalf("result via the embedded broker: %v", err)
	}
}

func TestEmbeddedCredentials(t *testing.T) {
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	cfg.Username, cfg.Password = "station", "s3cret-pass"
	b := start(t, cfg)
	if b.Auth() != "user" {
		t.Fatalf("auth %q with credentials, want the ledger", b.Auth())
	}
	host, port := hostPort(t, b)
	sub := func(args ...string) error {
		all := append([]string{"-h", host, "-p", port, "-t", "x", "-W", "1"}, args...)
		out, err := exec.Command("mosquitto_sub", all...).CombinedOutput()
		var ee *exec.ExitError
		// -W timeout with no message exits 27 after a successful connect.
		if errors.As(err, &ee) && ee.ExitCode() == 27 {
			return nil
		}
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := sub(); err == nil {
		t.Error("anonymous client accepted by a broker with credentials")
	}
	if err := sub("-u", "station", "-P", "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
	if err := sub("-u", "station", "-P", "s3cret-pass"); err != nil {
		t.Errorf("right password refused: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.Broker = b.URL()
	if err := publish.Check(ctx, cfg, "cred-check"); err != nil {
		t.Errorf("publisher credentials refused: %v", err)
	}
	bad := cfg
	bad.Password = "nope"
	if err := publish.Check(ctx, bad, "cred-check-bad"); err == nil {
		t.Error("publisher with a wrong password accepted")
	}
}

func TestEmbeddedRefusesOpenListenWithoutCredentials(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:1883"} {
		cfg := config.Default().MQTT
		cfg.EmbeddedListen = addr
		b, err := broker.Start(cfg, broker.Options{StationID: "emb1"}, quiet())
		if err == nil {
			b.Close()
			t.Errorf("Start(%s) without credentials succeeded", addr)
			continue
		}
		if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), "username") {
			t.Errorf("Start(%s): %v", addr, err)
		}
	}
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	cfg.Username = "only-user"
	if _, err := broker.Start(cfg, broker.Options{StationID: "emb1"}, quiet()); !errors.Is(err, broker.ErrConfig) {
		t.Errorf("username without password: %v", err)
	}
}
