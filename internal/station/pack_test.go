package station_test

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

// TestAutoPack: a sealed discrepancy (label 2350 g, 1840 g measured) in
// weighd --sim gets its dispute pack by itself: the retained <base>/export
// state goes from queued to done with the zip, a still comes on
// <base>/still, and `weighctl verify` accepts the unzipped pack, the
// original video "not included".
func TestAutoPack(t *testing.T) {
	t.Parallel()
	ctl, err := buildWeighctl()
	if err != nil {
		t.Fatal(err)
	}
	mq, port := startMosquitto(t)
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/export", "-t", "weighin/e2e/still", "-t", "weighin/e2e/event")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	var mu sync.Mutex
	var states []string
	var still []byte
	var done map[string]any
	var events []string // "<event_type> <session_id>" on <base>/event (issue 23)
	go func() {
		_, _ = sub.Wait(5*time.Minute, func(m mqtttest.Msg) bool {
			mu.Lock()
			defer mu.Unlock()
			if m.Topic == "weighin/e2e/still" {
				still = []byte(m.Payload)
				return false
			}
			if m.Topic == "weighin/e2e/event" {
				var e struct {
					EventType string `json:"event_type"`
					SessionID string `json:"session_id"`
				}
				if json.Unmarshal([]byte(m.Payload), &e) == nil {
					events = append(events, e.EventType+" "+e.SessionID)
				}
				return false
			}
			var doc map[string]any
			if json.Unmarshal([]byte(m.Payload), &doc) == nil {
				s, _ := doc["state"].(string)
				if n := len(states); n == 0 || states[n-1] != s {
					states = append(states, s)
				}
				if s == "done" {
					done = doc
				}
			}
			return false
		})
	}()

	d := newDaemon(t, mq.URL(), "export:\n  auto_pack: true\n  encoder: libx264\n  time_zone: UTC\n")
	d.start()
	d.do("label_weight", "2350")
	d.do("order_ref", "A-1001")
	r := d.session(1840, 2*time.Second)
	if r.Verdict != result.VerdictUnderweight || r.Tier < 1 {
		t.Fatalf("verdict %s tier %d, want an underweight claim", r.Verdict, r.Tier)
	}
	if !poll(180*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return done != nil }) {
		mu.Lock()
		t.Fatalf("no done state on weighin/e2e/export (states %v)\n%s", states, d.logText())
	}
	mu.Lock()
	gotStates, doc, jpg := append([]string(nil), states...), done, still
	mu.Unlock()
	if len(gotStates) > 0 && gotStates[0] == "idle" { // from weighd's start, before any pack
		gotStates = gotStates[1:]
	}
	if len(gotStates) < 2 || gotStates[0] != "queued" || gotStates[len(gotStates)-1] != "done" || !contains(gotStates, "running") {
		t.Errorf("export states %v, want idle, then queued, running …, done", gotStates)
	}
	if doc["session_id"] != r.SessionID {
		t.Errorf("done for %v, want %s", doc["session_id"], r.SessionID)
	}
	// The event entity hears the pack after the seal.
	if !poll(30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return contains(events, "export_ready "+r.SessionID) }) {
		mu.Lock()
		t.Errorf("no export_ready event for %s on weighin/e2e/event (events %v)", r.SessionID, events)
		mu.Unlock()
	}
	mu.Lock()
	if i, j := slices.Index(events, "sealed "+r.SessionID), slices.Index(events, "export_ready "+r.SessionID); i < 0 || j < i {
		t.Errorf("events %v: want sealed before export_ready", events)
	}
	mu.Unlock()
	if len(jpg) < 3 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		t.Errorf("no JPEG still on weighin/e2e/still (%d bytes)", len(jpg))
	}
	zipPath, _ := doc["zip"].(string)
	if zipPath == "" || !strings.HasPrefix(zipPath, filepath.Join(d.state, "packs")) {
		t.Fatalf("done state %v has no zip under the state directory", doc)
	}
	files, _ := doc["files"].([]any)
	if len(files) < 10 {
		t.Errorf("done state lists %d files", len(files))
	}
	st := d.status()
	if st.Exports.Done != 1 || st.Exports.Failed != 0 {
		t.Errorf("exports %+v, want one done", st.Exports)
	}
	dir := t.TempDir()
	unzipTo(t, zipPath, dir)
	out, err := exec.Command(ctl, "verify", "--config", d.conf, dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not included") {
		t.Errorf("weighctl verify of the unzipped pack: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ctl, "verify", "--config", d.conf, dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "extra.txt") {
		t.Errorf("weighctl verify with an added file: %v\n%s", err, out)
	}
	d.stop()
}

func unzipTo(t *testing.T, zipPath, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(f.Name)), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
