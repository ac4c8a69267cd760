package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
)

// TestHAEventsAndTriggers (issue 23) subscribes as Home Assistant's event
// entity and device triggers do (the topics discovery names) and plays one
// session of weighd --sim: a short press starts it, a double press marks,
// a long press stops it. It sees the presses "short", "double", "long" on
// <base>/button, and on <base>/event session_started, sealed, discrepancy
// in that order, none retained, with the session's id, verdict and tier.
func TestHAEventsAndTriggers(t *testing.T) {
	dir, err := os.MkdirTemp("", "whe")
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
	st := startHAStation(t, haConfig(t, dir, m.URL(), 0))
	waitRetained(t, port, haBaseTopics...)

	// One subscription each: Wait drops what does not match.
	subscribe := func(topic string) *mqtttest.Sub {
		sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", strconv.Itoa(port), "-q", "1", "-t", topic)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Close)
		return sub
	}
	events, buttons := subscribe("weighin/hatest/event"), subscribe("weighin/hatest/button")
	ctx := context.Background()
	c := api.NewClient(st.socket)
	do := func(cmd, v string) {
		t.Helper()
		if err := c.Command(ctx, cmd, v, nil); err != nil {
			t.Fatalf("%s %s: %v", cmd, v, err)
		}
	}
	until := func(what string, ok func(api.Status) bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var s api.Status
			if err := c.Status(ctx, &s); err == nil && ok(s) {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s: not after 30 s", what)
			}
		}
	}
	press := func(kind string) {
		t.Helper()
		do(api.CmdSimPress, kind)
		if _, err := buttons.Wait(20*time.Second, func(m mqtttest.Msg) bool {
			return m.Topic == "weighin/hatest/button" && m.Payload == kind && !m.Retained
		}); err != nil {
			t.Fatalf("device trigger payload %q: %v", kind, err)
		}
	}

	do(api.CmdSimPlace, "1200")
	until("a stable weight", func(s api.Status) bool { return s.WeightState == "stable" })
	do("label_weight", "500") // a parcel far heavier than its label: a discrepancy
	press("short")
	until("recording", func(s api.Status) bool { return s.Recording && s.SessionID != "" })
	var s api.Status
	if err := c.Status(ctx, &s); err != nil {
		t.Fatal(err)
	}
	id := s.SessionID
	time.Sleep(1500 * time.Millisecond)
	press("double")
	time.Sleep(500 * time.Millisecond)
	press("long")

	type event struct {
		Type      string `json:"event_type"`
		SessionID string `json:"session_id"`
		Verdict   string `json:"verdict"`
		Tier      *int   `json:"tier"`
		At        string `json:"at"`
	}
	var got []event
	for _, want := range []string{"session_started", "sealed", "discrepancy"} {
		m, err := events.Wait(60*time.Second, func(m mqtttest.Msg) bool { return m.Topic == "weighin/hatest/event" })
		if err != nil {
			t.Fatalf("event %s (got %+v): %v", want, got, err)
		}
		var e event
		if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
			t.Fatalf("event %q: %v", m.Payload, err)
		}
		got = append(got, e)
		if e.Type != want || e.SessionID != id || m.Retained || e.At == "" {
			t.Fatalf("event %d: %+v (retained %v), want %s of session %s", len(got), e, m.Retained, want, id)
		}
		if want != "session_started" && (e.Verdict != "overweight" || e.Tier == nil) {
			t.Errorf("%s: verdict %q, tier %v; want overweight and a tier", want, e.Verdict, e.Tier)
		}
	}
}
