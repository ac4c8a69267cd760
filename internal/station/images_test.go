package station_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

// TestImagesByShareURL (issue 23): with the web app on, weighd --sim
// announces the image entities with url_topic, publishes the label
// still's signed share-link URL retained on <base>/label_url (no JPEG on
// <base>/label), and the sealed and discrepancy events carry share_url.
// Fetched as Home Assistant does, without a login, the URL answers a JPEG
// and the share page answers; a tampered signature is refused.
func TestImagesByShareURL(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	webPort, err := mqtttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/label", "-t", "weighin/e2e/label_url",
		"-t", "weighin/e2e/event", "-t", "homeassistant/device/e2e/config")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	var mu sync.Mutex
	var labelURL, labelURLTopic string
	rawLabel := false
	events := map[string]map[string]any{}
	go func() {
		_, _ = sub.Wait(2*time.Minute, func(m mqtttest.Msg) bool {
			mu.Lock()
			defer mu.Unlock()
			switch m.Topic {
			case "weighin/e2e/label":
				rawLabel = rawLabel || m.Payload != ""
			case "weighin/e2e/label_url":
				labelURL = m.Payload
			case "weighin/e2e/event":
				var e map[string]any
				if json.Unmarshal([]byte(m.Payload), &e) == nil {
					events[fmt.Sprint(e["event_type"])] = e
				}
			default:
				var d struct {
					Cmps map[string]map[string]any `json:"cmps"`
				}
				if json.Unmarshal([]byte(m.Payload), &d) == nil {
					labelURLTopic, _ = d.Cmps["label"]["url_topic"].(string)
				}
			}
			return false
		})
	}()

	d := newDaemon(t, mq.URL(), fmt.Sprintf("web:\n  listen: 127.0.0.1:%d\n", webPort))
	d.start()
	if !poll(30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return labelURLTopic != "" }) {
		t.Fatalf("the discovery never fed the label still by URL\n%s", d.logText())
	}
	if labelURLTopic != "weighin/e2e/label_url" {
		t.Fatalf("label url_topic %q", labelURLTopic)
	}
	d.do("label_weight", "2350")
	// The session: stopped only once the label still is in the bundle (a
	// -race weighd on a loaded machine scores the label for seconds; a
	// still that comes after the seal is not the bundle's, and then
	// there is no label to link to).
	d.do(api.CmdSimPlace, "1840")
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
	d.do(api.CmdSimPress, "short")
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	if !poll(60*time.Second, func() bool { return strings.Contains(d.logText(), `msg="label still written"`) }) {
		t.Fatalf("no label still written\n%s", d.logText())
	}
	d.do(api.CmdSimPress, "long")
	st := d.waitFor("the sealed result", 30*time.Second, func(s api.Status) bool {
		return s.LastResult != nil && s.SessionState != "sealing"
	})
	r := *st.LastResult
	if r.Verdict != result.VerdictUnderweight {
		t.Fatalf("verdict %s, want underweight", r.Verdict)
	}
	if !poll(30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return labelURL != "" && events["sealed"] != nil && events["discrepancy"] != nil
	}) {
		mu.Lock()
		t.Fatalf("label URL %q, events %v\n%s", labelURL, events, d.logText())
	}
	mu.Lock()
	u, share := labelURL, fmt.Sprint(events["discrepancy"]["share_url"])
	sealedShare := fmt.Sprint(events["sealed"]["share_url"])
	raw := rawLabel
	mu.Unlock()
	if raw {
		t.Error("a raw JPEG on weighin/e2e/label while the web app runs")
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/s/", webPort)
	if !strings.HasPrefix(share, base) || share != sealedShare || u != share+"f/label.jpg" {
		t.Fatalf("share_url %q (sealed %q), label URL %q: want one share link of the session under %s", share, sealedShare, u, base)
	}

	get := func(u string) (int, string, []byte) {
		t.Helper()
		resp, err := http.Get(u) // no cookie: Home Assistant has no login
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	if code, ct, body := get(u); code != 200 || ct != "image/jpeg" || !bytes.HasPrefix(body, []byte{0xFF, 0xD8}) {
		t.Errorf("GET %s: %d %s, %d bytes; want a JPEG", u, code, ct, len(body))
	}
	if code, ct, _ := get(share); code != 200 || !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET %s: %d %s; want the shared session page", share, code, ct)
	}
	// Tamper with the signature (the token's last part).
	tok, rest, _ := strings.Cut(strings.TrimPrefix(u, base), "/")
	last := tok[len(tok)-1]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	bad := base + tok[:len(tok)-1] + string(flip) + "/" + rest
	if code, ct, body := get(bad); code != http.StatusForbidden && code != http.StatusNotFound || ct == "image/jpeg" {
		t.Errorf("GET %s (tampered): %d %s %q; want refused", bad, code, ct, body)
	}
}
