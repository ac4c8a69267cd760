package station_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
)

// TestRefusesRecordingWhenOnlyEvidenceRemains: with free space below the
// retention threshold and nothing removable, a press must not delete
// evidence; the station refuses to record and says why on the API, on
// MQTT and with the LED.
func TestRefusesRecordingWhenOnlyEvidenceRemains(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/error")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)

	// More free space than any disk has: retention can never satisfy it.
	d := newDaemon(t, mq.URL(), "retention:\n  min_free_bytes: 9000000000000000000\n")
	d.start()
	d.do(api.CmdSimPlace, "1200")
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
	d.do(api.CmdSimPress, "short")
	st := d.waitFor("the refusal", 15*time.Second, func(s api.Status) bool { return s.LastError != "" && !s.Recording && s.SessionState != "starting" })
	if !strings.Contains(st.LastError, "storage full of protected evidence") {
		t.Errorf("last_error %q does not say why", st.LastError)
	}
	if st.LED != "error" {
		t.Errorf("LED shows %q, want error", st.LED)
	}
	m, err := sub.Wait(10*time.Second, func(m mqtttest.Msg) bool { return strings.Contains(m.Payload, "storage full") })
	if err != nil {
		t.Fatalf("no error on MQTT: %v", err)
	}
	t.Logf("MQTT %s: %s", m.Topic, m.Payload)
	// Nothing was recorded, and what the failed start left is not evidence
	// lost: no video file anywhere.
	videos, _ := filepath.Glob(filepath.Join(d.state, "sessions", "*", "video-*.mkv"))
	if len(videos) != 0 {
		t.Errorf("videos written despite the refusal: %v", videos)
	}
	if _, err := os.Stat(filepath.Join(d.state, "station_ed25519")); err != nil {
		t.Errorf("station key: %v", err)
	}
	d.stop()
}
