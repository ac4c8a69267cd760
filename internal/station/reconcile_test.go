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

// TestKillBetweenSealAndOutbox: a session is sealed while the broker is
// away and weighd is killed; its outbox entry is then removed, which is
// what a kill between the seal and the outbox write leaves. At the next
// start the result is queued again from the sealed bundle and reaches
// <base>/results; the session delivered before is not sent again.
func TestKillBetweenSealAndOutbox(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	d := newDaemon(t, mq.URL())
	d.start()
	first := d.session(700, 2*time.Second)
	d.waitFor("the first result delivered", 20*time.Second, func(s api.Status) bool { return s.MQTT.Connected && s.MQTT.Pending == 0 })
	if err := mq.Stop(); err != nil {
		t.Fatal(err)
	}
	second := d.session(900, 2*time.Second)
	d.waitFor("the second result in the outbox", 20*time.Second, func(s api.Status) bool { return s.MQTT.Pending == 1 })
	d.kill()
	if err := os.Remove(filepath.Join(d.state, "outbox", "outbox.journal")); err != nil {
		t.Fatal(err)
	}
	if err := mq.Start(); err != nil {
		t.Fatal(err)
	}
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-q", "1", "-t", "weighin/e2e/results")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	d.start()
	var seen []string
	if _, err := sub.Wait(30*time.Second, func(m mqtttest.Msg) bool {
		seen = append(seen, m.Payload)
		return strings.Contains(m.Payload, second.SessionID)
	}); err != nil {
		t.Fatalf("the result sealed before the kill never reached <base>/results: %v\nlog:\n%s", err, d.logText())
	}
	for _, p := range seen {
		if strings.Contains(p, first.SessionID) {
			t.Errorf("the delivered result %s was sent again", first.SessionID)
		}
	}
	d.stop()
}
