package publish

import (
	"os"
	"regexp"
	"sort"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDashboardMatchesDiscovery: the shipped Lovelace dashboard parses and
// names only entities the discovery creates (for station_id "weighin"),
// and shows every entity the issue asks for.
func TestDashboardMatchesDiscovery(t *testing.T) {
	const path = "../../deploy/homeassistant/weighin-dashboard.yaml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if views, _ := doc["views"].([]any); len(views) == 0 {
		t.Fatalf("%s: no views", path)
	}
	known := map[string]bool{}
	for _, c := range Discovery("weighin", NewTopics("weighin", "homeassistant"), "").Components {
		if id, ok := c["default_entity_id"].(string); ok { // device triggers and the tag scanner are no entities
			known[id] = true
		}
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:sensor|binary_sensor|button|image|number|text|select|event)\.weighin_weighin_[a-z_]+`).FindAllString(string(b), -1) {
		used[m] = true
		if !known[m] {
			t.Errorf("%s names %s, which the discovery does not create", path, m)
		}
	}
	var missing []string
	for id := range known {
		if !used[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s does not show %v", path, missing)
	}
}
