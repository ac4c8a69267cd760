package broker_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/broker"
	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
)

// station is an embedded broker with weighd's publisher on it: the
// commands it was handed and the broker's refusals.
type station struct {
	b          *broker.Broker
	p          *publish.Publisher
	host, port string
	mu         sync.Mutex
	cmds       []publish.Command
	refusals   []string
}

func startStation(t *testing.T, cfg config.MQTT, opts ...publish.Option) *station {
	t.Helper()
	cfg.EmbeddedListen = "127.0.0.1:0"
	s := &station{b: start(t, cfg)}
	s.b.OnRefused(func(what, reason string) { // as weighd wires it
		s.mu.Lock()
		s.refusals = append(s.refusals, what+": "+reason)
		s.mu.Unlock()
		if what == "connect" {
			s.p.NoteProblem(reason)
		}
	})
	s.host, s.port = hostPort(t, s.b)
	p, err := publish.New(s.b.Station(cfg), "emb1", t.TempDir(), publish.HandlerFunc(func(_ context.Context, c publish.Command) error {
		s.mu.Lock()
		s.cmds = append(s.cmds, c)
		s.mu.Unlock()
		return nil
	}), quiet(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Close()
	})
	s.until(t, "publisher connected", func() bool { return p.Connected() })
	return s
}

func (s *station) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%s: not within 20 s (commands %v, refusals %q, problem %q)", what, s.cmds, s.refusals, s.p.Problem())
		}
	}
}

func (s *station) got(name publish.CommandName) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cmds {
		if c.Name == name {
			return true
		}
	}
	return false
}

func (s *station) refused(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refusals {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}

func (s *station) pub(t *testing.T, args ...string) {
	t.Helper()
	if err := mqtttest.Publish(append([]string{"-h", s.host, "-p", s.port}, args...)...); err != nil {
		t.Fatal(err)
	}
}

const outcome = `{"session_id":"000001-20260101T000000Z-emb","status":"escalated"}`

// TestACLUnauthenticatedPublishRefused: a local user without credentials
// cannot write a signed outcome through the loopback broker, nor retain a
// forged result on the station's topics; commands that write no record
// still reach weighd.
func TestACLUnauthenticatedPublishRefused(t *testing.T) {
	s := startStation(t, config.Default().MQTT)
	s.pub(t, "-t", "weighin/emb1/cmd/outcome", "-m", outcome)
	s.until(t, "outcome refused", func() bool { return s.refused("outcome: refused: outcome writes a signed record") })
	s.pub(t, "-r", "-t", "weighin/emb1/result", "-m", `{"verdict":"forged"}`)
	s.until(t, "forged result refused", func() bool { return s.refused("only weighd publishes on weighin/emb1/result") })
	s.pub(t, "-q", "1", "-t", "weighin/emb1/cmd/tare", "-m", "PRESS")
	s.until(t, "tare handled", func() bool { return s.got(publish.CmdTare) })
	if s.got(publish.CmdOutcome) {
		t.Error("an unauthenticated outcome reached weighd")
	}
	out, _ := exec.Command("mosquitto_sub", "-h", s.host, "-p", s.port, "-t", "weighin/emb1/result", "-W", "1").CombinedOutput()
	if strings.Contains(string(out), "forged") {
		t.Errorf("the forged result is retained: %s", out)
	}
}

// TestACLConfiguredUserWritesRecords: with mqtt.username/password the
// user's outcome reaches weighd, still not its publish on <base>/result.
func TestACLConfiguredUserWritesRecords(t *testing.T) {
	cfg := config.Default().MQTT
	cfg.Username, cfg.Password = "ha", "s3cret-pass"
	s := startStation(t, cfg)
	s.pub(t, "-u", "ha", "-P", "s3cret-pass", "-q", "1", "-t", "weighin/emb1/cmd/outcome", "-m", outcome)
	s.until(t, "outcome handled", func() bool { return s.got(publish.CmdOutcome) })
	s.pub(t, "-u", "ha", "-P", "s3cret-pass", "-t", "weighin/emb1/state", "-m", "{}")
	s.until(t, "state refused", func() bool { return s.refused("only weighd publishes on weighin/emb1/state") })
}

// TestClientIDTakeover: a second client connecting with the station's
// client id is refused and reported as a station-id collision; weighd
// keeps hearing its commands.
func TestClientIDTakeover(t *testing.T) {
	s := startStation(t, config.Default().MQTT)
	out, err := exec.Command("mosquitto_sub", "-h", s.host, "-p", s.port, "-i", "weighin-emb1", "-t", "x", "-W", "2").CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 27 {
		t.Errorf("a client with the station's id was let in: %s", out)
	}
	s.until(t, "collision reported", func() bool { return s.refused("station-id collision") })
	if !strings.Contains(s.p.Problem(), "station-id collision") {
		t.Errorf("problem %q does not name the collision", s.p.Problem())
	}
	s.pub(t, "-q", "1", "-t", "weighin/emb1/cmd/tare", "-m", "PRESS")
	s.until(t, "tare handled after the takeover attempt", func() bool { return s.got(publish.CmdTare) && s.p.Connected() })
}

// TestConnectTimeout: a connection that never sends CONNECT is closed.
func TestConnectTimeout(t *testing.T) {
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	b, err := broker.Start(cfg, broker.Options{StationID: "emb1", ConnectTimeout: 300 * time.Millisecond}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("a silent connection was not closed by the broker: %v", err)
	}
	// The broker's side of the close is done before it is stopped (mochi's
	// Close races with a connection's goroutine still running).
	deadline := time.Now().Add(10 * time.Second)
	for b.ClosedConnections() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the broker did not count the closed connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
