package station_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
)

// TestOverCapacity: a load beyond the cell's range saturates the simulated
// HX711; the station says "over capacity" (not "not answering") on the
// status, on MQTT's state and with the error LED, and refuses a start with
// that reason. Taking the load off ends it.
func TestOverCapacity(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/state", "-t", "weighin/e2e/error")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	d := newDaemon(t, mq.URL())
	d.start()
	d.do(api.CmdSimPlace, "30000") // the 5 kg reference cell saturates near 20 kg
	st := d.waitFor("over capacity", 15*time.Second, func(s api.Status) bool { return s.OverCapacity })
	if st.Stable || st.LED != "error" || !strings.Contains(st.Scale.LastErr, "over capacity") {
		t.Errorf("over capacity: stable %v, LED %q, scale error %q; want not stable, the error LED, the reason", st.Stable, st.LED, st.Scale.LastErr)
	}
	if _, err := sub.Wait(10*time.Second, func(m mqtttest.Msg) bool {
		return strings.HasSuffix(m.Topic, "/state") && strings.Contains(m.Payload, `"over_capacity":true`)
	}); err != nil {
		t.Errorf("MQTT state never said over_capacity: %v", err)
	}
	err = d.client.Command(context.Background(), "start", "", nil)
	if err == nil || !strings.Contains(err.Error(), "start refused: the scale is over capacity") || strings.Contains(err.Error(), "not answering") {
		t.Errorf("start while over capacity: %v, want the over-capacity refusal", err)
	}
	d.do(api.CmdSimPress, "short")
	if _, err := sub.Wait(10*time.Second, func(m mqtttest.Msg) bool {
		return strings.HasSuffix(m.Topic, "/error") && strings.Contains(m.Payload, "over capacity")
	}); err != nil {
		t.Errorf("a press while over capacity left no refusal on MQTT: %v", err)
	}
	if st := d.status(); st.Recording || st.SessionState == "starting" {
		t.Errorf("a session started over capacity: %+v", st)
	}
	d.do(api.CmdSimRemove, "")
	d.waitFor("the load off", 15*time.Second, func(s api.Status) bool { return !s.OverCapacity && s.WeightState == "empty" && s.Scale.LastErr == "" })
	d.stop()
}
