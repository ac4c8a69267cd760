package station

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"weighin/drivers/camera/cameratest"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/result"
	"weighin/internal/session"
)

// mqtt sends a command as it comes from MQTT: parsed by the publisher's
// parser, handled by the publisher's handler.
func (r *rig) mqtt(name, payload string) error {
	r.t.Helper()
	c, err := publish.ParseCommand(name, []byte(payload), false)
	if err != nil {
		return err
	}
	return r.st.mqttCommand(context.Background(), c)
}

// TestUnboxingContinues (issue 14): the station warns before an inactivity
// stop (auto_stop_in_s, the LED), pauses after it (resume_in_s, the LED),
// and a short press within session.resume_grace continues the same
// session into video-001.mkv; the bundle holds both files, the continuity
// says so, and one result is published.
func TestUnboxingContinues(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{cfg: func(c *config.Config) {
			c.Session.InactivityStop = 20 * time.Second // warned 10 s before
			c.Session.ResumeGrace = 15 * time.Second
		}})
		r.start()
		id := r.startRecording(1500)
		st := r.waitFor("the auto-stop warning", func(s api.Status) bool { return s.Recording && s.AutoStopInS != nil })
		if *st.AutoStopInS > 10 || st.LED != "auto_stop" {
			t.Errorf("warning: auto_stop_in_s %d, LED %q; want ≤ 10 and auto_stop", *st.AutoStopInS, st.LED)
		}
		st = r.waitFor("the pause", func(s api.Status) bool { return s.SessionState == "paused" })
		if st.ResumeInS == nil || *st.ResumeInS > 15 || st.LED != "paused" || st.AutoStopInS != nil || st.SessionID != id {
			t.Errorf("paused: resume_in_s %v, LED %q, auto_stop_in_s %v, session %q", st.ResumeInS, st.LED, st.AutoStopInS, st.SessionID)
		}
		advance(5 * time.Second)
		if n := len(r.pub.got()); n != 0 {
			t.Fatalf("%d results published during the pause", n)
		}
		r.press(session.PressShort)
		st = r.waitFor("the continuation", func(s api.Status) bool { return s.Recording })
		if st.SessionID != id {
			t.Errorf("continued as session %q, want %q", st.SessionID, id)
		}
		advance(3 * time.Second)
		r.press(session.PressShort) // a mark in the continuation
		advance(2 * time.Second)
		r.press(session.PressLong) // a button stop: sealed at once
		res := r.result(id)
		m := r.sealed(id)
		if res.StopReason != result.StopButton || m.StopReason != result.StopButton {
			t.Errorf("stop_reason %q (manifest %q), want button", res.StopReason, m.StopReason)
		}
		rs := m.Continuity.Resumed
		if len(rs) != 1 || rs[0].File != "video-001.mkv" || rs[0].PausedS <= 0 || rs[0].AtS < 20 {
			t.Fatalf("continuity.resumed %+v, want one continuation into video-001.mkv", rs)
		}
		for _, f := range []string{"video-000.mkv", "video-001.mkv"} {
			if _, err := os.Stat(filepath.Join(r.state, res.Bundle, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if len(m.Marks) != 1 || m.Marks[0].File != "video-001.mkv" {
			t.Errorf("marks %+v, want one in video-001.mkv", m.Marks)
		}
		if !strings.Contains(res.Dispute, "press continued it in video-001.mkv") || strings.Contains(res.Dispute, "one continuous recording") {
			t.Errorf("claim does not say the recording was continued:\n%s", res.Dispute)
		}
		if n := len(r.pub.got()); n != 1 {
			t.Errorf("%d results published, want 1", n)
		}
		r.stop()
	})
}

// TestLeftoverLoad (issue 14): after a session the platform must return to
// empty; a start over what was left is refused, accepted with FORCE, and
// the result and the claim say leftover_load.
func TestLeftoverLoad(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{})
		r.start()
		id := r.startRecording(1418)
		advance(2 * time.Second)
		r.press(session.PressLong)
		if res := r.result(id); res.LeftoverLoad {
			t.Errorf("first session flagged leftover_load")
		}
		// The opened box stays; the next parcel goes on top of it.
		r.load.set(3211.8)
		st := r.waitFor("a stable weight", func(s api.Status) bool { return s.WeightState == "stable" && s.WeightG > 3200 })
		if !st.LeftoverLoad {
			t.Error("status: leftover_load not set")
		}
		err := r.st.command(context.Background(), session.Command{Kind: session.CmdStart, Source: "mqtt"})
		if err == nil || !strings.Contains(err.Error(), "has not been empty since the last session") {
			t.Fatalf("start over a leftover load: %v", err)
		}
		if r.status().Recording {
			t.Fatal("recording despite the refusal")
		}
		if err := r.mqtt("start", "FORCE"); err != nil {
			t.Fatalf("start FORCE: %v", err)
		}
		id2 := r.waitFor("the forced recording", func(s api.Status) bool { return s.Recording && s.SessionID != id }).SessionID
		advance(2 * time.Second)
		r.press(session.PressLong)
		res := r.result(id2)
		if m := r.sealed(id2); !res.LeftoverLoad || !m.LeftoverLoad {
			t.Errorf("leftover_load: published %v, manifest %v", res.LeftoverLoad, m.LeftoverLoad)
		}
		if !strings.Contains(res.Dispute, "may include something left on it") || !strings.Contains(res.Dispute, "可能包含秤台上残留的物品") {
			t.Errorf("the claim does not state the leftover load:\n%s", res.Dispute)
		}
		r.stop()
	})
}

// TestLabelCodes (issue 14): a DHL eCommerce JVGL number on the label
// becomes the session's tracking number unasked; a well-formed code no
// pattern knows is offered (tracking_offer), and confirming it makes it
// the tracking number with label_read "buyer".
func TestLabelCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, code string
		offered    bool
	}{
		{"jvgl", "JVGL0601234567", false},
		{"unknown", "ZX4471009218", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jpeg, err := cameratest.LabelJPEG(tc.code, 320, 240, 80)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, rigOpts{frames: [][]byte{jpeg}, w: 320, h: 240})
				r.start()
				id := r.startRecording(1840)
				st := r.waitFor("the label's code", func(s api.Status) bool { return s.Entries.Tracking != "" || s.TrackingOffer != "" })
				if !tc.offered {
					if st.Entries.Tracking != tc.code || st.TrackingOffer != "" {
						t.Errorf("tracking %q, offer %q; want %s taken", st.Entries.Tracking, st.TrackingOffer, tc.code)
					}
				} else {
					if st.TrackingOffer != tc.code || st.Entries.Tracking != "" {
						t.Fatalf("offer %q, tracking %q; want %s offered", st.TrackingOffer, st.Entries.Tracking, tc.code)
					}
					if err := r.mqtt("confirm_tracking", "ZX-9999-0000-00"); err == nil {
						t.Error("another code confirmed")
					}
					if err := r.mqtt("confirm_tracking", "PRESS"); err != nil {
						t.Fatalf("confirm: %v", err)
					}
					if st := r.status(); st.Entries.Tracking != tc.code || st.TrackingOffer != "" {
						t.Errorf("after confirming: tracking %q, offer %q", st.Entries.Tracking, st.TrackingOffer)
					}
				}
				r.press(session.PressLong)
				res := r.result(id)
				want := result.LabelReadBarcode
				if tc.offered {
					want = result.LabelReadBuyer
				}
				if m := r.sealed(id); m.Tracking != tc.code || m.LabelRead != want {
					t.Errorf("manifest: tracking %q, label_read %q; want %s, %s", m.Tracking, m.LabelRead, tc.code, want)
				}
				if res.Tracking != tc.code {
					t.Errorf("published tracking %q", res.Tracking)
				}
				r.stop()
			})
		})
	}
}
