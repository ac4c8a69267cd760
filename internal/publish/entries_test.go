package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

// retainedOn reads the retained message of topic as a subscriber that
// connects now sees it ("" when there is none within 3 s).
func retainedOn(t *testing.T, m *mqtttest.Mosquitto, topic string) string {
	t.Helper()
	out, err := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "-t", topic, "-C", "1", "-W", "3", "--retained-only").Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("mosquitto_sub %s: %v", topic, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// startOn runs a publisher of station st1 with the state directory dir.
func startOn(t *testing.T, cfg config.MQTT, dir string, h publish.Handler) (*publish.Publisher, func()) {
	t.Helper()
	p, err := publish.New(cfg, "st1", dir, h, testLogger(t), publish.WithReconnect(200*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10 s of cancel")
			}
			p.Close()
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// TestErrorRetainedAndCleared (issue 14): a refused start stays on
// <base>/error for a dashboard that looks later; the next accepted command
// clears it with an empty reason.
func TestErrorRetainedAndCleared(t *testing.T) {
	m := startMosquitto(t, "")
	cfg := config.Default().MQTT
	cfg.Broker = m.URL()
	h := publish.HandlerFunc(func(_ context.Context, c publish.Command) error {
		if c.Name == publish.CmdStart {
			return errors.New("start refused: the scale is empty: put the parcel on it first")
		}
		return nil
	})
	live := subscribe(t, m, "-q", "1", "-t", availTopic)
	startOn(t, cfg, t.TempDir(), h)
	wait(t, live, "online", 15*time.Second, isMsg(availTopic, "online"))
	send := func(cmd, payload string) {
		t.Helper()
		if err := mqtttest.Publish("-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "-q", "1", "-t", "weighin/st1/cmd/"+cmd, "-m", payload); err != nil {
			t.Fatal(err)
		}
	}
	type errMsg struct{ Command, Reason, At string }
	read := func(want func(errMsg) bool) errMsg {
		t.Helper()
		var e errMsg
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			raw := retainedOn(t, m, "weighin/st1/error")
			if raw != "" {
				if err := json.Unmarshal([]byte(raw), &e); err != nil {
					t.Fatalf("error payload %q: %v", raw, err)
				}
				if want(e) {
					return e
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("retained <base>/error never matched; last %+v", e)
		return e
	}
	send("start", "PRESS")
	e := read(func(e errMsg) bool { return e.Reason != "" })
	if e.Command != "start" || !strings.Contains(e.Reason, "the scale is empty") {
		t.Errorf("retained refusal %+v", e)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.At); err != nil {
		t.Errorf("at %q: %v", e.At, err)
	}
	send("label_weight", "1840")
	e = read(func(e errMsg) bool { return e.Reason == "" })
	if e.Command != "label_weight" {
		t.Errorf("clearing message %+v, want command label_weight", e)
	}
}

// TestEntriesAndResultKeptAcrossRestart (issue 14): <base>/entries is
// retained; the last result and label come back, retained, from a
// publisher restarted on the same state directory against a broker that
// never saw them (a broker that lost its retained messages).
func TestEntriesAndResultKeptAcrossRestart(t *testing.T) {
	m1 := startMosquitto(t, "")
	cfg := config.Default().MQTT
	cfg.Broker = m1.URL()
	dir := t.TempDir()
	p, stop := startOn(t, cfg, dir, publish.HandlerFunc(func(context.Context, publish.Command) error { return nil }))
	g := 2350.0
	if err := p.PublishEntries(publish.Entries{LabelG: &g, OrderRef: "#1", IssueType: "wrong item", Solution: "default", Tier: "auto", Damage: "torn sleeve", DamageLang: "en"}); err != nil {
		t.Fatal(err)
	}
	r := result.Result{Schema: result.Schema, SessionID: "000001-20261202T060000Z", Verdict: result.VerdictMatch, Marks: []result.Mark{}}
	if err := p.PublishResult(r); err != nil {
		t.Fatal(err)
	}
	jpeg := []byte("\xff\xd8\xff\xe0label\xff\xd9")
	if err := p.PublishLabel(jpeg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(retainedOn(t, m1, "weighin/st1/result"), r.SessionID) {
		if time.Now().After(deadline) {
			t.Fatal("retained result never came")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var e publish.Entries
	if err := json.Unmarshal([]byte(retainedOn(t, m1, "weighin/st1/entries")), &e); err != nil || e.LabelG == nil || *e.LabelG != 2350 || e.Damage != "torn sleeve" || e.IssueType != "wrong item" {
		t.Errorf("retained entries %+v: %v", e, err)
	}
	stop()

	m2 := startMosquitto(t, "")
	cfg.Broker = m2.URL()
	startOn(t, cfg, dir, publish.HandlerFunc(func(context.Context, publish.Command) error { return nil }))
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(retainedOn(t, m2, "weighin/st1/result"), r.SessionID) {
		if time.Now().After(deadline) {
			t.Fatal("the restarted publisher did not republish the last result")
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", strconv.Itoa(m2.Port), "-t", "weighin/st1/label", "-C", "1", "-W", "5", "-N").Output()
	if err != nil || string(out) != string(jpeg) {
		t.Errorf("label after restart %q (%v), want %q", out, err, jpeg)
	}
}

// TestParseEntryCommands (issue 14): damage, clear_entries, an emptied
// text entry, and issue type none.
func TestParseEntryCommands(t *testing.T) {
	for _, tt := range []struct {
		name, payload, text string
	}{
		{"damage", "the sleeve is torn", "the sleeve is torn"},
		{"damage", "袖子破了", "袖子破了"},
		{"damage", "", ""},
		{"order_ref", "", ""},
		{"tracking", "", ""},
		{"clear_entries", "PRESS", ""},
		{"issue_type", "none", "none"},
	} {
		c, err := publish.ParseCommand(tt.name, []byte(tt.payload), false)
		if err != nil || string(c.Name) != tt.name || c.Text != tt.text {
			t.Errorf("%s %q: %+v, %v", tt.name, tt.payload, c, err)
		}
	}
	for _, tt := range []struct{ name, payload, reason string }{
		{"damage", strings.Repeat("x", publish.MaxDamageRunes+1), "damage"},
		{"damage", "=cmd", "damage"},
		{"clear_entries", "", "empty payload"},
		{"tare", "", "empty payload"},
	} {
		_, err := publish.ParseCommand(tt.name, []byte(tt.payload), false)
		var ce *publish.CommandError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, tt.reason) {
			t.Errorf("%s %q: %v, want a refusal naming %q", tt.name, tt.payload, err, tt.reason)
		}
	}
}
