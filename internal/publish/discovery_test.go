package publish

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"weighin/internal/result"
	"weighin/internal/scalestatus"
)

// Home Assistant's MQTT discovery schemas, encoded from home-assistant/core
// homeassistant/components/mqtt/:
//   - abbreviations.py: ABBREVIATIONS, DEVICE_ABBREVIATIONS,
//     ORIGIN_ABBREVIATIONS (the subset this station can meet);
//   - schemas.py: MQTT_ENTITY_COMMON_SCHEMA (availability, device, origin,
//     enabled_by_default, entity_category, entity_picture, icon,
//     json_attributes_*, object_id, default_entity_id, unique_id),
//     DEVICE_DISCOVERY_SCHEMA (dev, o, cmps required; shared options),
//     MQTT_ENTITY_DEVICE_INFO_SCHEMA, MQTT_ORIGIN_INFO_SCHEMA (name
//     required);
//   - config.py: MQTT_BASE_SCHEMA (qos, encoding), MQTT_RO_SCHEMA
//     (state_topic required, value_template), MQTT_RW_SCHEMA (command_topic
//     required, optimistic, retain, state_topic);
//   - sensor.py, binary_sensor.py, button.py, number.py, text.py,
//     select.py, image.py: each platform's PLATFORM_SCHEMA_MODERN /
//     DISCOVERY_SCHEMA;
//   - issue 23, read at home-assistant/core commit 5974c7760ac0 (2024/25,
//     the device-discovery era): event.py (_PLATFORM_SCHEMA_BASE:
//     MQTT_RO_SCHEMA + device_class, name, event_types required, +
//     MQTT_ENTITY_COMMON_SCHEMA; a retained message is ignored);
//     device_automation.py (DISCOVERY_SCHEMA: MQTT_BASE_SCHEMA +
//     automation_type required) and device_trigger.py
//     (TRIGGER_DISCOVERY_SCHEMA: automation_type, device, subtype, topic,
//     type required; payload, value_template optional; other keys removed;
//     a trigger is keyed by device, type and subtype, so a pair may appear
//     once); tag.py at commit 5606b212e93d (DISCOVERY_SCHEMA:
//     MQTT_BASE_SCHEMA + device, topic required, value_template; other keys
//     removed). abbreviations.py (commit 911803bfd294): atype, pl, stype,
//     t, e. Device triggers and tag scanners are not entities: no name,
//     no entity id; the unique_id they carry is removed by their schema
//     and is there for device discovery's component bookkeeping.
//
// default_entity_id replaced object_id (deprecated; removed in 2026.4).
var haAbbreviations = map[string]string{
	"avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
	"avty_tpl": "availability_template", "cmd_t": "command_topic", "cmd_tpl": "command_template",
	"cmps": "components", "cont_type": "content_type", "def_ent_id": "default_entity_id",
	"dev": "device", "dev_cla": "device_class", "en": "enabled_by_default", "ent_cat": "entity_category",
	"ent_pic": "entity_picture", "exp_aft": "expire_after", "frc_upd": "force_update", "ic": "icon",
	"img_e": "image_encoding", "img_t": "image_topic", "json_attr_t": "json_attributes_topic",
	"json_attr_tpl": "json_attributes_template", "max": "max", "min": "min", "mode": "mode",
	"o": "origin", "obj_id": "object_id", "opt": "optimistic", "ops": "options", "p": "platform",
	"pl_avail": "payload_available", "pl_not_avail": "payload_not_available", "pl_off": "payload_off",
	"pl_on": "payload_on", "pl_prs": "payload_press", "ptrn": "pattern", "ret": "retain",
	"stat_cla": "state_class", "stat_t": "state_topic", "stat_tpl": "state_template", "step": "step",
	"sug_dsp_prc": "suggested_display_precision", "uniq_id": "unique_id",
	"unit_of_meas": "unit_of_measurement", "val_tpl": "value_template", "url_t": "url_topic",
	"url_tpl": "url_template", "off_dly": "off_delay",
	"atype": "automation_type", "pl": "payload", "stype": "subtype", "t": "topic", "e": "encoding",
}

var haDeviceAbbreviations = map[string]string{
	"cns": "connections", "ids": "identifiers", "mf": "manufacturer", "mdl": "model",
	"mdl_id": "model_id", "hw": "hw_version", "sw": "sw_version", "sa": "suggested_area",
	"cu": "configuration_url", "sn": "serial_number", "via_device": "via_device",
}

var haOriginAbbreviations = map[string]string{"sw": "sw_version", "url": "support_url"}

func keys(ss ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

var (
	haCommon = []string{"availability", "availability_mode", "availability_template", "availability_topic",
		"payload_available", "payload_not_available", "device", "origin", "enabled_by_default",
		"entity_category", "entity_picture", "icon", "json_attributes_topic", "json_attributes_template",
		"object_id", "default_entity_id", "unique_id", "name", "platform", "qos", "encoding"}
	haRO = []string{"state_topic", "value_template"}
	haRW = []string{"command_topic", "optimistic", "retain", "state_topic"}
)

// haPlatforms lists per platform the allowed and required keys.
var haPlatforms = map[string]struct{ allowed, required map[string]bool }{
	"sensor": {keys(append(append(haCommon, haRO...), "device_class", "expire_after", "force_update",
		"last_reset_value_template", "options", "suggested_display_precision", "state_class",
		"unit_of_measurement")...), keys("state_topic")},
	"binary_sensor": {keys(append(append(haCommon, haRO...), "device_class", "expire_after",
		"force_update", "off_delay", "payload_off", "payload_on")...), keys("state_topic")},
	"button": {keys(append(haCommon, "command_topic", "command_template", "device_class",
		"payload_press", "retain")...), keys("command_topic")},
	"number": {keys(append(append(haCommon, haRW...), "command_template", "device_class", "max", "min",
		"mode", "payload_reset", "step", "unit_of_measurement", "value_template")...), keys("command_topic")},
	"text": {keys(append(append(haCommon, haRW...), "command_template", "max", "min", "mode",
		"pattern", "value_template")...), keys("command_topic")},
	"select": {keys(append(append(haCommon, haRW...), "command_template", "options",
		"value_template")...), keys("command_topic", "options")},
	"image": {keys(append(haCommon, "content_type", "image_topic", "url_topic", "image_encoding",
		"url_template")...), keys()},
	"event": {keys(append(append(haCommon, haRO...), "device_class", "event_types")...),
		keys("state_topic", "event_types")},
	"device_automation": {keys("platform", "unique_id", "qos", "encoding", "automation_type", "device",
		"payload", "subtype", "topic", "type", "value_template"), keys("automation_type", "subtype", "topic", "type")},
	"tag": {keys("platform", "unique_id", "qos", "encoding", "device", "topic", "value_template"), keys("topic")},
}

// haNonEntity: platforms that make no entity (no name, no entity id).
var haNonEntity = map[string]bool{"device_automation": true, "tag": true}

// haDeviceDiscovery: DEVICE_DISCOVERY_SCHEMA's keys.
var haDeviceDiscovery = keys("availability", "availability_mode", "availability_template",
	"availability_topic", "payload_available", "payload_not_available", "device", "components",
	"origin", "state_topic", "command_topic", "qos", "encoding")

var haDeviceInfo = keys("identifiers", "connections", "manufacturer", "model", "model_id", "name",
	"hw_version", "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url")

// expand replaces abbreviated keys; a key present both abbreviated and in
// full is an inconsistency.
func expand(t *testing.T, where string, m map[string]any, table map[string]string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range m {
		full := k
		if f, ok := table[k]; ok {
			full = f
		}
		if _, dup := out[full]; dup {
			t.Errorf("%s: key %q given both abbreviated and in full", where, full)
		}
		out[full] = v
	}
	return out
}

func decodeDiscovery(t *testing.T, offsite ...bool) map[string]any {
	t.Helper()
	d := Discovery("pi-1", NewTopics("pi-1", "homeassistant"), "1.2.3")
	if len(offsite) > 0 && offsite[0] {
		d = d.WithOffsite("pi-1", NewTopics("pi-1", "homeassistant"))
	}
	if len(offsite) > 1 && offsite[1] { // and mqtt.tag_scanner
		d = d.WithTagScanner("pi-1", NewTopics("pi-1", "homeassistant"))
	}
	b := d.JSON()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDiscoveryMatchesHomeAssistantSchemas(t *testing.T) {
	top := expand(t, "device discovery", decodeDiscovery(t, true, true), haAbbreviations)
	for k := range top {
		if !haDeviceDiscovery[k] {
			t.Errorf("device discovery: key %q not allowed", k)
		}
	}
	for _, k := range []string{"device", "origin", "components"} {
		if top[k] == nil {
			t.Fatalf("device discovery: required %q missing", k)
		}
	}
	dev := expand(t, "device", top["device"].(map[string]any), haDeviceAbbreviations)
	for k := range dev {
		if !haDeviceInfo[k] {
			t.Errorf("device: key %q not allowed", k)
		}
	}
	if ids, _ := dev["identifiers"].([]any); len(ids) == 0 {
		t.Error("device: no identifiers")
	}
	origin := expand(t, "origin", top["origin"].(map[string]any), haOriginAbbreviations)
	if origin["name"] != "weighin" {
		t.Errorf("origin name = %v", origin["name"])
	}
	for k := range origin {
		if k != "name" && k != "sw_version" && k != "support_url" {
			t.Errorf("origin: key %q not allowed", k)
		}
	}
	if top["availability_topic"] != "weighin/pi-1/availability" {
		t.Errorf("availability_topic = %v", top["availability_topic"])
	}

	cmps := top["components"].(map[string]any)
	uniq := map[string]string{}
	entityIDs := map[string]string{}
	entityRE := regexp.MustCompile(`^[a-z_]+\.[a-z0-9_]+$`)
	for key, raw := range cmps {
		c := expand(t, key, raw.(map[string]any), haAbbreviations)
		platform, _ := c["platform"].(string)
		schema, ok := haPlatforms[platform]
		if !ok {
			t.Errorf("%s: platform %q not in the table", key, platform)
			continue
		}
		for k := range c {
			if !schema.allowed[k] {
				t.Errorf("%s (%s): key %q not allowed", key, platform, k)
			}
		}
		for k := range schema.required {
			if _, ok := c[k]; !ok {
				t.Errorf("%s (%s): required key %q missing", key, platform, k)
			}
		}
		if platform == "image" && (c["image_topic"] == nil) == (c["url_topic"] == nil) {
			t.Errorf("%s: image needs exactly one of image_topic, url_topic", key)
		}
		if haNonEntity[platform] {
			if id, _ := c["unique_id"].(string); id == "" || uniq[id] != "" {
				t.Errorf("%s: unique_id %q missing or used twice", key, id)
			}
			uniq[c["unique_id"].(string)] = key
			continue
		}
		if _, ok := c["object_id"]; ok {
			t.Errorf("%s: object_id is deprecated; use default_entity_id", key)
		}
		id, _ := c["unique_id"].(string)
		if id == "" {
			t.Errorf("%s: no unique_id", key)
		} else if prev, dup := uniq[id]; dup {
			t.Errorf("unique_id %q used by %s and %s", id, prev, key)
		}
		uniq[id] = key
		eid, _ := c["default_entity_id"].(string)
		if !entityRE.MatchString(eid) || !strings.HasPrefix(eid, platform+".") {
			t.Errorf("%s: default_entity_id %q is not %s.<object>", key, eid, platform)
		} else if prev, dup := entityIDs[eid]; dup {
			t.Errorf("default_entity_id %q used by %s and %s", eid, prev, key)
		}
		entityIDs[eid] = key
		if c["name"] == nil || c["name"] == "" {
			t.Errorf("%s: no name", key)
		}
		if platform == "text" {
			if mx, _ := c["max"].(float64); mx > 255 {
				t.Errorf("%s: text max %v > 255", key, mx)
			}
		}
	}
}

func TestDiscoveryEntities(t *testing.T) {
	cmps := decodeDiscovery(t)["cmps"].(map[string]any)
	want := map[string]string{
		"weight": "sensor", "stable": "binary_sensor", "recording": "binary_sensor",
		"warming_up": "binary_sensor", "discrepancy": "binary_sensor", "verdict": "sensor",
		"measured_weight": "sensor", "label_weight": "sensor", "delta_g": "sensor", "delta_pct": "sensor",
		"tier": "sensor", "tracking_number": "sensor", "last_session": "sensor", "free_storage": "sensor",
		"dispute": "sensor", "label": "image", "still": "image", "dispute_pack": "sensor", "tare": "button", "start": "button", "stop": "button",
		"mark": "button", "label_weight_input": "number", "order_ref": "text", "tracking": "text",
		"exterior_condition": "select", "issue_type": "select", "solution": "select", "tier_override": "select",
		"scale_status": "sensor", "weighin_disturbed": "binary_sensor",
		// Issue 14's recording control (sessionControls).
		"auto_stop_soon": "binary_sensor", "auto_stop_in": "sensor", "resume_in": "sensor",
		"leftover_load": "binary_sensor", "start_force": "button", "tracking_offer": "sensor", "confirm_tracking": "button",
		"damage": "text", "clear_entries": "button", "last_refusal": "sensor",
		"station_event": "event", "button_short": "device_automation", "button_long": "device_automation",
		"button_double": "device_automation",
	}
	for key, platform := range want {
		c, ok := cmps[key].(map[string]any)
		if !ok {
			t.Errorf("entity %s missing", key)
			continue
		}
		if c["p"] != platform {
			t.Errorf("%s: platform %v, want %s", key, c["p"], platform)
		}
	}
	if len(cmps) != len(want) {
		var got []string
		for k := range cmps {
			got = append(got, k)
		}
		sort.Strings(got)
		t.Errorf("components %v, want exactly %d", got, len(want))
	}
	w := cmps["weight"].(map[string]any)
	if w["device_class"] != "weight" || w["state_class"] != "measurement" || w["unit_of_measurement"] != "g" || w["state_topic"] != "weighin/pi-1/state" {
		t.Errorf("weight sensor %v", w)
	}
	if cmps["discrepancy"].(map[string]any)["device_class"] != "problem" {
		t.Error("discrepancy is not device_class problem")
	}
	v := cmps["verdict"].(map[string]any)
	var opts []string
	for _, o := range v["options"].([]any) {
		opts = append(opts, o.(string))
	}
	if v["device_class"] != "enum" || !slices.Equal(opts, result.Verdicts) {
		t.Errorf("verdict: device_class %v options %v, want enum %v", v["device_class"], opts, result.Verdicts)
	}
	hs := cmps["scale_status"].(map[string]any)
	if hs["device_class"] != "enum" || hs["state_topic"] != "weighin/pi-1/state" || hs["value_template"] != "{{ value_json.status }}" || len(hs["options"].([]any)) != len(scalestatus.Statuses) {
		t.Errorf("scale_status sensor %v", hs)
	}
	if d := cmps["weighin_disturbed"].(map[string]any); d["device_class"] != "problem" || d["state_topic"] != "weighin/pi-1/result" {
		t.Errorf("weighin_disturbed sensor %v", d)
	}
	if cmps["label"].(map[string]any)["image_topic"] != "weighin/pi-1/label" {
		t.Error("label image topic")
	}
	for _, b := range []string{"tare", "start", "stop", "mark"} {
		c := cmps[b].(map[string]any)
		if c["command_topic"] != "weighin/pi-1/cmd/"+b || c["payload_press"] != "PRESS" {
			t.Errorf("button %s: %v", b, c)
		}
	}
	n := cmps["label_weight_input"].(map[string]any)
	if n["mode"] != "box" || n["unit_of_measurement"] != "g" || n["command_topic"] != "weighin/pi-1/cmd/label_weight" {
		t.Errorf("number: %v", n)
	}
	sel := func(key string) []string {
		var out []string
		for _, o := range cmps[key].(map[string]any)["options"].([]any) {
			out = append(out, o.(string))
		}
		return out
	}
	if got := sel("exterior_condition"); !slices.Equal(got, []string{"intact", "crushed", "wet", "retaped", "torn"}) {
		t.Errorf("exterior options %v", got)
	}
	got := sel("issue_type")
	if !slices.Equal(got, append(slices.Clone(IssueTypes), IssueNoneOption)) {
		t.Errorf("issue options %v, want the parser's %v and %q", got, IssueTypes, IssueNoneOption)
	}
	for _, want := range []string{"missing item", "damaged item", "wrong item"} {
		if !slices.Contains(got, want) {
			t.Errorf("issue options %v lack %q", got, want)
		}
	}
	// Every command topic the discovery names is one the parser knows, and
	// every command is reachable from Home Assistant.
	seen := map[string]bool{}
	for key, raw := range cmps {
		if ct, ok := raw.(map[string]any)["command_topic"].(string); ok {
			name, ok := strings.CutPrefix(ct, "weighin/pi-1/cmd/")
			if !ok || !slices.Contains(Commands, CommandName(name)) {
				t.Errorf("%s: command topic %q", key, ct)
			}
			seen[name] = true
		}
	}
	for _, c := range Commands {
		// parcel and outcome carry JSON documents longer than a text
		// entity's 255 characters: Home Assistant sends them from scripts
		// and automations (mqtt.publish), not from an entity.
		if !seen[string(c)] && c != CmdParcel && c != CmdOutcome {
			t.Errorf("command %s has no entity", c)
		}
	}
}

func TestDiscoveryAttributesKeepStateShort(t *testing.T) {
	cmps := decodeDiscovery(t)["cmps"].(map[string]any)
	d := cmps["dispute"].(map[string]any)
	if !strings.Contains(d["value_template"].(string), "value_json.dispute_short or value_json.dispute") || !strings.Contains(d["value_template"].(string), "[:255]") || !strings.Contains(d["json_attributes_template"].(string), "value_json.dispute") {
		t.Errorf("dispute sensor %v", d)
	}
	if cmps["verdict"].(map[string]any)["json_attributes_topic"] != "weighin/pi-1/result" {
		t.Error("verdict does not carry the whole result as attributes")
	}
}

// TestDiscoveryOffsite: the off-site sensors come only with WithOffsite,
// read <base>/state's offsite object, and leave the rest as it was.
func TestDiscoveryOffsite(t *testing.T) {
	plain, with := decodeDiscovery(t)["cmps"].(map[string]any), decodeDiscovery(t, true)["cmps"].(map[string]any)
	if _, ok := plain["offsite_backlog"]; ok {
		t.Error("offsite_backlog without WithOffsite")
	}
	if len(with) != len(plain)+2 {
		t.Errorf("WithOffsite: %d components, want %d", len(with), len(plain)+2)
	}
	for _, k := range []string{"offsite_backlog", "offsite_backlog_bytes"} {
		c, _ := with[k].(map[string]any)
		if c["state_topic"] != "weighin/pi-1/state" || !strings.Contains(c["value_template"].(string), "value_json.offsite.backlog_") || c["default_entity_id"] != "sensor.weighin_pi_1_"+k {
			t.Errorf("%s: %v", k, c)
		}
	}
	s := State{Offsite: &OffsiteState{BacklogObjects: 3}}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"offsite":{"verified_objects":0,"backlog_objects":3,"backlog_bytes":0,"problems":0}`) {
		t.Errorf("state JSON %s", b)
	}
	if b, _ := json.Marshal(State{}); strings.Contains(string(b), "offsite") {
		t.Errorf("offsite off, state JSON %s", b)
	}
	if n := (State{Offsite: &OffsiteState{BacklogObjects: 2}}); !s.discrete(n) || s.discrete(State{Offsite: &OffsiteState{BacklogObjects: 3}}) {
		t.Error("a change of the backlog is not a discrete change")
	}
}

// TestDiscoveryFeedbackAndEntries (issue 14): the last refusal is an
// entity of <base>/error; every entry entity reads its state from
// <base>/entries (none is optimistic); clear_entries has a button.
func TestDiscoveryFeedbackAndEntries(t *testing.T) {
	cmps := decodeDiscovery(t)["cmps"].(map[string]any)
	e, ok := cmps["last_refusal"].(map[string]any)
	if !ok || e["p"] != "sensor" || e["state_topic"] != "weighin/pi-1/error" || !strings.Contains(e["value_template"].(string), "value_json.reason") ||
		e["json_attributes_topic"] != "weighin/pi-1/error" || !strings.Contains(e["value_template"].(string), "[:255]") {
		t.Errorf("last_refusal: %v", e)
	}
	n := 0
	for key, raw := range cmps {
		c := raw.(map[string]any)
		switch c["p"] {
		case "number", "text", "select":
			n++
			cmd := strings.TrimPrefix(c["command_topic"].(string), "weighin/pi-1/cmd/")
			tpl, _ := c["value_template"].(string)
			if c["state_topic"] != "weighin/pi-1/entries" || !strings.Contains(tpl, "value_json.") || c["optimistic"] != nil {
				t.Errorf("%s: state_topic %v value_template %q optimistic %v", key, c["state_topic"], tpl, c["optimistic"])
			}
			// The template reads the entries field of its own command.
			field := map[string]string{"label_weight": "label_g", "tier": "tier", "solution": "solution"}[cmd]
			if field == "" {
				field = cmd
			}
			var doc map[string]any
			b, _ := json.Marshal(Entries{})
			_ = json.Unmarshal(b, &doc)
			if _, ok := doc[field]; !ok || !strings.Contains(tpl, "value_json."+field) {
				t.Errorf("%s: template %q does not read entries field %q", key, tpl, field)
			}
		}
	}
	if n != 8 {
		t.Errorf("%d entry entities, want 8", n)
	}
	b := cmps["clear_entries"].(map[string]any)
	if b["command_topic"] != "weighin/pi-1/cmd/clear_entries" || b["payload_press"] != "PRESS" {
		t.Errorf("clear_entries button %v", b)
	}
	if d := cmps["damage"].(map[string]any); d["command_topic"] != "weighin/pi-1/cmd/damage" || d["min"] != float64(0) {
		t.Errorf("damage text %v", d)
	}
}

// TestDiscoveryAutomation (issue 23): the event entity lists every event
// type on <base>/event; the device triggers cover the three gestures on
// <base>/button, each (type, subtype) once, as Home Assistant keys them;
// the tag scanner reads <base>/tag.
func TestDiscoveryAutomation(t *testing.T) {
	cmps := decodeDiscovery(t, true, true)["cmps"].(map[string]any)
	ev := cmps["station_event"].(map[string]any)
	var types []string
	for _, x := range ev["event_types"].([]any) {
		types = append(types, x.(string))
	}
	if !slices.Equal(types, []string{"session_started", "sealed", "discrepancy", "export_ready", "offsite_verified"}) || ev["state_topic"] != "weighin/pi-1/event" {
		t.Errorf("event entity %v", ev)
	}
	if ev["default_entity_id"] != "event.weighin_pi_1_station_event" {
		t.Errorf("event entity id %v", ev["default_entity_id"])
	}
	seen := map[string]string{}
	for key, raw := range cmps {
		c := raw.(map[string]any)
		if c["p"] != "device_automation" {
			continue
		}
		if c["topic"] != "weighin/pi-1/button" || c["automation_type"] != "trigger" {
			t.Errorf("%s: %v", key, c)
		}
		pair := c["type"].(string) + "/" + c["subtype"].(string)
		if prev, dup := seen[pair]; dup {
			t.Errorf("device trigger %s twice (%s, %s): Home Assistant keeps one", pair, prev, key)
		}
		seen[pair] = c["payload"].(string)
	}
	want := map[string]string{"button_short_press/button_1": "short", "button_long_press/button_1": "long", "button_double_press/button_1": "double"}
	if len(seen) != len(want) {
		t.Errorf("device triggers %v, want %v", seen, want)
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("device trigger %s: payload %q, want %q", k, seen[k], v)
		}
	}
	if tag := cmps["tag_scanner"].(map[string]any); tag["p"] != "tag" || tag["topic"] != "weighin/pi-1/tag" {
		t.Errorf("tag scanner %v", tag)
	}
	if _, ok := decodeDiscovery(t)["cmps"].(map[string]any)["tag_scanner"]; ok {
		t.Error("tag scanner without mqtt.tag_scanner")
	}
}
