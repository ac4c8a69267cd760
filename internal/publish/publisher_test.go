package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

// TestStateRateLimitedThroughBroker feeds 100 states a second for 3 s; the
// broker sees at most ~2 a second, the last weight is not lost, and noise
// inside the deadband sends nothing.
func TestStateRateLimitedThroughBroker(t *testing.T) {
	m := startMosquitto(t, "")
	cfg := config.Default().MQTT
	cfg.Broker = m.URL()
	live := subscribe(t, m, "-q", "0", "-t", availTopic, "-t", "weighin/st1/state")
	p, _ := runPublisher(t, cfg, newRecorder(), testLogger(t))
	wait(t, live, "online", 15*time.Second, isMsg(availTopic, "online"))

	start := time.Now()
	w := 0.0
	for i := 0; i < 300; i++ {
		w = float64(i) * 5
		p.PublishState(publish.State{WeightG: w, Stable: i >= 150, SessionState: "idle"})
		time.Sleep(10 * time.Millisecond)
	}
	feed := time.Since(start)
	var got []publish.State
	for {
		msg, err := live.Wait(1500*time.Millisecond, isMsg("weighin/st1/state", ""))
		if err != nil {
			break
		}
		var s publish.State
		if err := json.Unmarshal([]byte(msg.Payload), &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
		if s.WeightG == w {
			break
		}
	}
	limit := int(feed/(500*time.Millisecond)) + 2
	if len(got) > limit || len(got) < 3 {
		t.Errorf("%d state messages for a %v feed at 100 Hz, want between 3 and %d", len(got), feed, limit)
	}
	if len(got) == 0 || got[len(got)-1].WeightG != w || !got[len(got)-1].Stable {
		t.Fatalf("last state %+v, want weight %v stable", got, w)
	}
	// Noise within the deadband (1 g) sends nothing.
	for i := 0; i < 50; i++ {
		p.PublishState(publish.State{WeightG: w + 0.3*float64(i%2), Stable: true, SessionState: "idle"})
		time.Sleep(10 * time.Millisecond)
	}
	if msg, err := live.Wait(1200*time.Millisecond, isMsg("weighin/st1/state", "")); err == nil {
		t.Errorf("state sent for noise within the deadband: %s", msg.Payload)
	}
	// A discrete change alone goes out promptly (within the interval).
	p.PublishState(publish.State{WeightG: w, Stable: true, Recording: true, SessionState: "recording"})
	msg := wait(t, live, "recording state", 5*time.Second, isMsg("weighin/st1/state", ""))
	if !strings.Contains(msg.Payload, `"recording":true`) {
		t.Errorf("state %s", msg.Payload)
	}
}

// TestReplayAfterReconnect: results produced while the broker is down are
// delivered in order once it is back, by the same running publisher.
func TestReplayAfterReconnect(t *testing.T) {
	m := startMosquitto(t, "")
	cfg := config.Default().MQTT
	cfg.Broker = m.URL()
	obsArgs := []string{"-q", "1", "-c", "-i", "reconnect-observer", "-t", "weighin/st1/results"}
	obs := subscribe(t, m, append(obsArgs, "-t", availTopic)...)
	rec := newRecorder()
	p, _ := runPublisher(t, cfg, rec, testLogger(t))
	wait(t, obs, "online", 15*time.Second, isMsg(availTopic, "online"))
	mk := func(i int) result.Result {
		return result.Result{Schema: 1, SessionID: fmt.Sprintf("%06d-reconnect", i), Seq: int64(i), StationID: "st1", Verdict: result.VerdictMatch}
	}
	for i := 1; i <= 3; i++ {
		if err := p.PublishResult(mk(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		wait(t, obs, fmt.Sprintf("result %d", i), 10*time.Second, func(m mqtttest.Msg) bool {
			return strings.Contains(m.Payload, fmt.Sprintf("%06d-reconnect", i))
		})
	}
	obs.Close()
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= 10; i++ {
		if err := p.PublishResult(mk(i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	obs = subscribe(t, m, obsArgs...)
	next := 4
	deadline := time.Now().Add(30 * time.Second)
	for next <= 10 {
		msg, err := obs.Wait(time.Until(deadline), isMsg("weighin/st1/results", ""))
		if err != nil {
			t.Fatalf("waiting for result %d: %v", next, err)
		}
		var r result.Result
		if err := json.Unmarshal([]byte(msg.Payload), &r); err != nil {
			t.Fatal(err)
		}
		switch {
		case int(r.Seq) == next:
			next++
		case int(r.Seq) < next:
			// an exact repeat of one already seen: allowed
		default:
			t.Fatalf("result %d arrived before %d", r.Seq, next)
		}
	}
	// The command subscription was renewed on the new connection.
	if err := mqtttest.Publish("-h", "127.0.0.1", "-p", fmt.Sprint(m.Port), "-q", "1", "-t", "weighin/st1/cmd/tare", "-m", "PRESS"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-rec.got:
		if c.Name != publish.CmdTare {
			t.Errorf("after reconnect the handler got %v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no command handled after the reconnect")
	}
}

// slowHandler blocks on each command until released, recording the order.
type slowHandler struct {
	release chan struct{}
	mu      sync.Mutex
	got     []string
}

func (h *slowHandler) Command(ctx context.Context, c publish.Command) error {
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	h.got = append(h.got, c.Text)
	h.mu.Unlock()
	return nil
}

// TestCommandsInOrderAndBusy: commands reach a slow handler one at a time in
// the order sent; beyond the queue they are refused as busy, not dropped
// silently.
func TestCommandsInOrderAndBusy(t *testing.T) {
	m := startMosquitto(t, "")
	cfg := config.Default().MQTT
	cfg.Broker = m.URL()
	h := &slowHandler{release: make(chan struct{})}
	live := subscribe(t, m, "-q", "1", "-t", availTopic, "-t", "weighin/st1/error")
	runPublisher(t, cfg, h, testLogger(t))
	wait(t, live, "online", 15*time.Second, isMsg(availTopic, "online"))
	const n = 60
	// One mosquitto_pub connection sends them all, in order (-l: a line
	// per message).
	var lines strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&lines, "#%03d\n", i)
	}
	cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", fmt.Sprint(m.Port), "-q", "1", "-t", "weighin/st1/cmd/order_ref", "-l")
	cmd.Stdin = strings.NewReader(lines.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub -l: %v %s", err, out)
	}
	busy := 0
	for {
		msg, err := live.Wait(2*time.Second, isMsg("weighin/st1/error", ""))
		if err != nil {
			break
		}
		if strings.Contains(msg.Payload, `"reason":""`) {
			continue // the cleared error weighd publishes on connect (issue 14)
		}
		if !strings.Contains(msg.Payload, "busy") {
			t.Errorf("unexpected refusal %s", msg.Payload)
		}
		busy++
	}
	close(h.release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		handled := len(h.got)
		h.mu.Unlock()
		if handled+busy >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got)+busy != n {
		t.Errorf("handled %d + busy %d != %d sent", len(h.got), busy, n)
	}
	if busy == 0 {
		t.Errorf("a blocked handler with %d commands sent: none refused as busy", n)
	}
	for i := 1; i < len(h.got); i++ {
		if h.got[i] <= h.got[i-1] {
			t.Fatalf("commands out of order: %v", h.got)
		}
	}
	if len(h.got) == 0 || h.got[0] != "#000" {
		t.Errorf("first command handled %v, want #000", h.got)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLogged: the password appears in no log line and no
// error, at debug level, through connect, commands and shutdown.
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "hunter2-very-secret"
	m := startMosquitto(t, "")
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default().MQTT
	cfg.Broker = m.URL()
	cfg.Username, cfg.Password = "station", secret
	live := subscribe(t, m, "-q", "1", "-t", availTopic, "-t", "weighin/st1/error")
	_, stop := runPublisher(t, cfg, newRecorder(), log)
	wait(t, live, "online", 15*time.Second, isMsg(availTopic, "online"))
	if err := mqtttest.Publish("-h", "127.0.0.1", "-p", fmt.Sprint(m.Port), "-t", "weighin/st1/cmd/label_weight", "-m", "NaN"); err != nil {
		t.Fatal(err)
	}
	wait(t, live, "error", 10*time.Second, isMsg("weighin/st1/error", ""))
	stop()
	out := buf.String()
	if !strings.Contains(out, `"username":"station"`) || !strings.Contains(out, `"password_set":true`) {
		t.Errorf("log does not say who connects:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("password in the log:\n%s", out)
	}
	// Credentials in the URL are refused without echoing them.
	bad := cfg
	bad.Broker = "tcp://station:" + secret + "@127.0.0.1:1"
	_, err := publish.New(bad, "st1", t.TempDir(), newRecorder(), log)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("URL with credentials: %v", err)
	}
	ctx, cancelCheck := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelCheck()
	bad.Broker = "tcp://127.0.0.1:1"
	if err := publish.Check(ctx, bad, "x"); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Check to a closed port: %v", err)
	}
}
