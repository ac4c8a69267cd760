package publish

import "testing"

// TestImagesByURL: with the web app on, the three image entities keep
// their keys, unique and entity ids and read url_topic instead of
// image_topic (no content_type: Home Assistant refuses it with url_topic).
func TestImagesByURL(t *testing.T) {
	raw := decodeDiscovery(t)["cmps"].(map[string]any)
	byURL := decodeDiscovery(t, false, false, true)["cmps"].(map[string]any)
	for key, want := range map[string][2]string{
		"label":         {"weighin/pi-1/label", "weighin/pi-1/label_url"},
		"weighin_frame": {"weighin/pi-1/weighin_frame", "weighin/pi-1/weighin_frame_url"},
		"still":         {"weighin/pi-1/still", "weighin/pi-1/still_url"},
	} {
		r, u := raw[key].(map[string]any), byURL[key].(map[string]any)
		if r["image_topic"] != want[0] || r["content_type"] != "image/jpeg" || r["url_topic"] != nil {
			t.Errorf("%s by payload: %v", key, r)
		}
		if u["url_topic"] != want[1] || u["image_topic"] != nil || u["content_type"] != nil {
			t.Errorf("%s by URL: %v", key, u)
		}
		for _, k := range []string{"unique_id", "default_entity_id", "name", "p"} {
			if r[k] != u[k] {
				t.Errorf("%s: %s %v by payload, %v by URL", key, k, r[k], u[k])
			}
		}
	}
	if byURL["weighin_frame"].(map[string]any)["default_entity_id"] != "image.weighin_pi_1_weighin_frame" {
		t.Errorf("weigh-in frame entity id %v", byURL["weighin_frame"].(map[string]any)["default_entity_id"])
	}
	tp := NewTopics("pi-1", "homeassistant")
	retained := map[string]bool{}
	for _, r := range tp.Retained() {
		retained[r] = true
	}
	for _, topic := range []string{tp.Label, tp.LabelURL, tp.Weighin, tp.WeighinURL, tp.Still, tp.StillURL} {
		if !retained[topic] {
			t.Errorf("%s is not among the topics a clear empties", topic)
		}
	}
}
