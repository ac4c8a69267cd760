package station_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
)

// embeddedBroker is newDaemon's broker setting for the embedded broker on
// a free loopback port.
func embeddedBroker(t *testing.T) (string, int) {
	t.Helper()
	port, err := mqtttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("\"\"\n  embedded_listen: 127.0.0.1:%d", port), port
}

// retained reads topic's retained message ("" when none came within 2 s).
func retained(t *testing.T, port int, topic string) string {
	t.Helper()
	out, err := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", topic, "-C", "1", "-W", "2", "--retained-only").Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("mosquitto_sub %s: %v", topic, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// waitRetained polls topic's retained message until match holds (an
// error, not fatal, when it never does).
func waitRetained(t *testing.T, d *daemon, port int, topic, what string, match func(string) bool) string {
	t.Helper()
	var got string
	if !poll(20*time.Second, func() bool { got = retained(t, port, topic); return match(got) }) {
		t.Errorf("%s: retained %s is %q", what, topic, got) // go on: each part of the test shows its own failure
	}
	return got
}

func mqttPub(t *testing.T, port int, topic, payload string, extra ...string) {
	t.Helper()
	args := append([]string{"-h", "127.0.0.1", "-p", fmt.Sprint(port), "-q", "1", "-t", topic, "-m", payload}, extra...)
	if err := mqtttest.Publish(args...); err != nil {
		t.Fatal(err)
	}
}

type errDoc struct{ Command, Reason, At string }

func errOf(s string) (e errDoc) { _ = json.Unmarshal([]byte(s), &e); return e }

// TestFeedbackEntriesAndRestart (issue 14) on weighd --sim with the
// embedded broker: a refused start shows on the retained <base>/error (an
// entity of the discovery) until an accepted command clears it; the
// entries document reflects the buyer's entries and clear_entries; the
// damage text reaches both claim texts; a retained tare published while
// weighd is connected is not acted on; after a restart of weighd the
// retained result is back within 4 s of the broker listening.
func TestFeedbackEntriesAndRestart(t *testing.T) {
	t.Parallel()
	broker, port := embeddedBroker(t)
	d := newDaemon(t, broker)
	d.start()

	var disc struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	raw := waitRetained(t, d, port, "homeassistant/device/e2e/config", "discovery", func(s string) bool { return s != "" })
	if err := json.Unmarshal([]byte(raw), &disc); err != nil {
		t.Fatal(err)
	}
	if c := disc.Cmps["last_refusal"]; c["state_topic"] != "weighin/e2e/error" {
		t.Errorf("discovery has no last refusal entity on <base>/error: %v", c)
	}
	for _, k := range []string{"order_ref", "issue_type", "solution", "damage", "label_weight_input"} {
		if c := disc.Cmps[k]; c["state_topic"] != "weighin/e2e/entries" {
			t.Errorf("entity %s reads no state from <base>/entries: %v", k, c)
		}
	}

	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })
	// The scale is empty: the start is refused, and the refusal stays.
	mqttPub(t, port, "weighin/e2e/cmd/start", "PRESS")
	e := errOf(waitRetained(t, d, port, "weighin/e2e/error", "the refused start", func(s string) bool { return errOf(s).Reason != "" }))
	if e.Command != "start" || !strings.Contains(e.Reason, "the scale is empty") {
		t.Errorf("retained refusal %+v", e)
	}
	// The status (the web app's live page) shows the same refusal.
	d.waitFor("the refusal in the status", 15*time.Second, func(s api.Status) bool {
		return strings.HasPrefix(s.LastRefusal, "start: ") && strings.Contains(s.LastRefusal, "the scale is empty")
	})
	// Entries: shown, and the accepted command clears the refusal.
	mqttPub(t, port, "weighin/e2e/cmd/label_weight", "2350")
	mqttPub(t, port, "weighin/e2e/cmd/issue_type", "damaged item")
	mqttPub(t, port, "weighin/e2e/cmd/damage", "the sleeve is torn")
	var ent struct {
		LabelG     *float64 `json:"label_g"`
		IssueType  string   `json:"issue_type"`
		Damage     string   `json:"damage"`
		DamageLang string   `json:"damage_lang"`
		Solution   string   `json:"solution"`
		Tier       string   `json:"tier"`
	}
	decode := func(s string) bool { ent.LabelG = nil; return json.Unmarshal([]byte(s), &ent) == nil }
	waitRetained(t, d, port, "weighin/e2e/entries", "the entries", func(s string) bool {
		return decode(s) && ent.LabelG != nil && *ent.LabelG == 2350 && ent.Damage == "the sleeve is torn"
	})
	if ent.IssueType != "damaged item" || ent.DamageLang != "en" || ent.Solution != "default" || ent.Tier != "auto" {
		t.Errorf("entries %+v", ent)
	}
	e = errOf(waitRetained(t, d, port, "weighin/e2e/error", "the cleared refusal", func(s string) bool { return s != "" && errOf(s).Reason == "" }))
	if e.Command == "" {
		t.Errorf("clearing message %+v names no command", e)
	}
	d.waitFor("the refusal cleared in the status", 15*time.Second, func(s api.Status) bool {
		return s.LastRefusal == "" && s.Entries.Damage == "the sleeve is torn"
	})
	mqttPub(t, port, "weighin/e2e/cmd/clear_entries", "PRESS")
	waitRetained(t, d, port, "weighin/e2e/entries", "cleared entries", func(s string) bool {
		return decode(s) && ent.LabelG == nil && ent.Damage == "" && ent.IssueType == ""
	})

	// A retained tare while weighd is connected: not acted on.
	d.do(api.CmdSimPlace, "1500")
	d.waitFor("a stable 1500 g", 15*time.Second, func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-1500) < 3
	})
	mqttPub(t, port, "weighin/e2e/cmd/tare", "PRESS", "-r")
	e = errOf(waitRetained(t, d, port, "weighin/e2e/error", "the retained tare's refusal", func(s string) bool {
		return strings.Contains(errOf(s).Reason, "retained")
	}))
	if e.Command != "tare" {
		t.Errorf("retained tare refusal %+v", e)
	}
	if got := retained(t, port, "weighin/e2e/cmd/tare"); got != "" {
		t.Errorf("the broker kept the retained tare: %q", got)
	}
	time.Sleep(time.Second) // a tare acted on would show within it
	if st := d.status(); math.Abs(st.WeightG-1500) > 3 {
		t.Errorf("weight %.1f g after a retained tare: it was acted on", st.WeightG)
	}
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })

	// A session with a damage text: both claim texts carry it.
	mqttPub(t, port, "weighin/e2e/cmd/label_weight", "2350")
	mqttPub(t, port, "weighin/e2e/cmd/damage", "the sleeve is torn")
	waitRetained(t, d, port, "weighin/e2e/entries", "the damage entry", func(s string) bool { return decode(s) && ent.Damage != "" })
	r := d.session(2350, 2*time.Second)
	if r.Damage != "the sleeve is torn" || !strings.Contains(r.Dispute, "matches the label. The sleeve is torn.") ||
		!strings.Contains(r.Dispute, "我的描述（英文原文）：“the sleeve is torn”") {
		t.Errorf("damage %q; claim:\n%s", r.Damage, r.Dispute)
	}
	waitRetained(t, d, port, "weighin/e2e/result", "the result", func(s string) bool { return strings.Contains(s, r.SessionID) })

	// Restart: the result is back within 4 s of the broker listening.
	d.stop()
	type seen struct{ up, back time.Time }
	got := make(chan seen, 1)
	stopWatch := make(chan struct{})
	go func() {
		var s seen
		for {
			select {
			case <-stopWatch:
				got <- s
				return
			default:
			}
			if s.up.IsZero() {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
					c.Close()
					s.up = time.Now()
				} else {
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			out, _ := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/result", "-C", "1", "-W", "1", "--retained-only").Output()
			if strings.Contains(string(out), r.SessionID) {
				s.back = time.Now()
				got <- s
				return
			}
		}
	}()
	d.start()
	var s seen
	select {
	case s = <-got:
	case <-time.After(20 * time.Second):
		close(stopWatch)
		s = <-got
	}
	if s.back.IsZero() {
		t.Fatalf("no retained result after the restart (broker up at %v)\nlog:\n%s", s.up, d.logText())
	}
	t.Logf("retained result back %v after the embedded broker listened", s.back.Sub(s.up).Round(time.Millisecond))
	if s.back.Sub(s.up) > 4*time.Second {
		t.Errorf("retained result back %v after the broker listened, want within 4 s", s.back.Sub(s.up))
	}
	d.stop()
}
