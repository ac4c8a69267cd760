package publish

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestBlueprint (issue 23): every blueprint in deploy/homeassistant/
// blueprints/ is valid YAML with the keys Home Assistant's blueprint
// schema requires (homeassistant/components/blueprint/schemas.py:
// blueprint.name, blueprint.domain, each input's selector; automation:
// triggers and actions), uses exactly the inputs it declares, and
// references only what the station publishes: its default entity ids
// exist in the discovery (station_id "weighin"), the event types it
// compares are the event entity's, the attributes it reads are keys of
// an event on <base>/event.
func TestBlueprint(t *testing.T) {
	files, err := filepath.Glob("../../deploy/homeassistant/blueprints/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no blueprint: %v", err)
	}
	entities := map[string]bool{}
	for _, c := range Discovery("weighin", NewTopics("weighin", "homeassistant"), "").Components {
		if id, ok := c["default_entity_id"].(string); ok {
			entities[id] = true
		}
	}
	attrs := map[string]bool{}
	tier := 1
	b, _ := json.Marshal(Event{Type: "x", SessionID: "s", Verdict: "v", Tier: &tier, PageURL: "u", At: "a"})
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	for k := range ev {
		attrs[k] = true
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Every !input names a declared input.
		used := map[string]bool{}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Tag == "!input" {
				used[n.Value] = true
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&root)
		var doc struct {
			Blueprint struct {
				Name, Domain string
				Input        map[string]struct {
					Name     string
					Default  any
					Selector map[string]any
				}
			}
			Triggers   []map[string]any
			Conditions []map[string]any
			Actions    []map[string]any
		}
		if err := root.Decode(&doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		bp := doc.Blueprint
		if bp.Name == "" || bp.Domain != "automation" || len(doc.Triggers) == 0 || len(doc.Actions) == 0 {
			t.Errorf("%s: name %q, domain %q, %d triggers, %d actions: the blueprint schema needs a name, a domain, triggers and actions", f, bp.Name, bp.Domain, len(doc.Triggers), len(doc.Actions))
		}
		declared := map[string]bool{}
		for k, in := range bp.Input {
			declared[k] = true
			if in.Name == "" || len(in.Selector) != 1 {
				t.Errorf("%s: input %s needs a name and one selector", f, k)
			}
			if s, ok := in.Default.(string); ok && strings.Contains(s, ".weighin_") && !entities[s] {
				t.Errorf("%s: input %s defaults to %s, which the discovery does not create", f, k, s)
			}
		}
		if !reflect.DeepEqual(used, declared) {
			t.Errorf("%s: inputs used %v, declared %v", f, used, declared)
		}
		text := string(data)
		for _, m := range regexp.MustCompile(`'(session_started|sealed|discrepancy|export_ready|offsite_verified|[a-z_]+_(?:started|ready|verified))'`).FindAllStringSubmatch(text, -1) {
			if !slices.Contains(EventTypes, m[1]) {
				t.Errorf("%s: event type %q is not one of %v", f, m[1], EventTypes)
			}
		}
		for _, m := range regexp.MustCompile(`to_state\.attributes\.([a-z_]+)`).FindAllStringSubmatch(text, -1) {
			if !attrs[m[1]] {
				t.Errorf("%s: attribute %q is not in an event on <base>/event", f, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`\b(?:event|image|sensor|binary_sensor)\.weighin_[a-z0-9_]+`).FindAllString(text, -1) {
			if !entities[m] {
				t.Errorf("%s names %s, which the discovery does not create", f, m)
			}
		}
	}
}
