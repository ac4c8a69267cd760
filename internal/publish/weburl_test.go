package publish

import (
	"encoding/json"
	"testing"
)

func TestWebURL(t *testing.T) {
	b := withPageURL([]byte(`{"session_id":"000001-unsynced"}`), SessionPageURL("http://w.lan:8080", "000001-unsynced"))
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m["page_url"] != "http://w.lan:8080/sessions/000001-unsynced/" || m["session_id"] != "000001-unsynced" {
		t.Errorf("result with page_url: %s (%v)", b, err)
	}
	if got := string(withPageURL([]byte(`{}`), "u")); got != `{"page_url":"u"}` {
		t.Errorf("empty object: %s", got)
	}
	d := Discovery("st", NewTopics("st", "homeassistant"), "v1")
	if _, ok := d.Device["cu"]; ok {
		t.Error("configuration_url without a web app")
	}
	d2 := d.WithConfigurationURL("http://w.lan:8080/sessions")
	if d2.Device["cu"] != "http://w.lan:8080/sessions" {
		t.Errorf("cu: %v", d2.Device)
	}
	if _, ok := d.Device["cu"]; ok {
		t.Error("WithConfigurationURL changed its receiver's device map")
	}
}
