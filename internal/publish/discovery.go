package publish

import (
	"encoding/json"
	"fmt"
	"strings"

	"weighin/internal/result"
	"weighin/internal/scalestatus"
)

// Origin and device identity in the discovery payload.
const (
	originName   = "weighin"
	manufacturer = "weighin"
	model        = "Weigh-in station"
)

// Component is one Home Assistant entity in the device discovery payload.
// Keys are Home Assistant's full option names except "p" (platform), the
// abbreviation device discovery uses for it.
type Component map[string]any

// DiscoveryPayload is the device discovery document published retained on
// <prefix>/device/<station_id>/config. "dev", "o" and "cmps" are Home
// Assistant's abbreviations for device, origin and components.
type DiscoveryPayload struct {
	Device              map[string]any       `json:"dev"`
	Origin              map[string]any       `json:"o"`
	AvailabilityTopic   string               `json:"availability_topic"`
	PayloadAvailable    string               `json:"payload_available"`
	PayloadNotAvailable string               `json:"payload_not_available"`
	QoS                 int                  `json:"qos"`
	Components          map[string]Component `json:"cmps"`
}

// Discovery builds the device discovery payload for a station. version is
// the software version shown as the device's and origin's sw_version. It is
// pure: the same input gives the same document.
func Discovery(stationID string, t Topics, version string) DiscoveryPayload {
	id := haID(stationID)
	c := map[string]Component{}
	// addAs adds a component under key (also its unique id's suffix) with
	// the entity id <platform>.<id>_<object>.
	addAs := func(platform, key, object, name string, opts Component) {
		opts["p"] = platform
		opts["name"] = name
		opts["unique_id"] = id + "_" + key
		opts["default_entity_id"] = platform + "." + id + "_" + object
		c[key] = opts
	}
	add := func(platform, key, name string, opts Component) { addAs(platform, key, key, name, opts) }
	state := func(tpl string) Component {
		return Component{"state_topic": t.State, "value_template": tpl}
	}
	res := func(tpl string) Component {
		return Component{"state_topic": t.Result, "value_template": tpl}
	}
	onOff := func(field string) string {
		return "{{ 'ON' if value_json." + field + " else 'OFF' }}"
	}

	w := state("{{ value_json.weight_g }}")
	w["device_class"], w["state_class"], w["unit_of_measurement"] = "weight", "measurement", "g"
	w["suggested_display_precision"] = 1
	add("sensor", "weight", "Weight", w)

	add("binary_sensor", "stable", "Stable", state(onOff("stable")))
	// The scale's status in the USB HID POS vocabulary (beside stable).
	hid := state("{{ value_json.status }}")
	hid["device_class"] = "enum"
	var hids []string
	for _, st := range scalestatus.Statuses {
		hids = append(hids, string(st))
	}
	hid["options"] = hids
	hid["icon"] = "mdi:scale"
	add("sensor", "scale_status", "Scale status", hid)
	rec := state(onOff("recording"))
	rec["icon"] = "mdi:record-rec"
	add("binary_sensor", "recording", "Recording", rec)
	warm := state(onOff("warming_up"))
	warm["entity_category"] = "diagnostic"
	add("binary_sensor", "warming_up", "Warming up", warm)

	var bad []string
	for _, v := range result.Verdicts {
		if Discrepant(v) {
			bad = append(bad, "'"+v+"'")
		}
	}
	disc := res("{{ 'ON' if value_json.verdict in [" + strings.Join(bad, ", ") + "] else 'OFF' }}")
	disc["device_class"] = "problem"
	add("binary_sensor", "discrepancy", "Weight discrepancy", disc)
	// A hand on the parcel during the weigh-in (issue 22): the reading is
	// not the unopened parcel's weight.
	dist := res(onOff("weighin_disturbed"))
	dist["device_class"] = "problem"
	add("binary_sensor", "weighin_disturbed", "Weigh-in disturbed", dist)

	v := res("{{ value_json.verdict }}")
	v["device_class"] = "enum"
	v["options"] = append([]string(nil), result.Verdicts...)
	v["json_attributes_topic"] = t.Result
	v["icon"] = "mdi:scale-balance"
	add("sensor", "verdict", "Verdict", v)

	grams := func(field string) Component {
		x := res("{{ value_json." + field + " }}")
		x["device_class"], x["unit_of_measurement"] = "weight", "g"
		x["suggested_display_precision"] = 1
		return x
	}
	add("sensor", "measured_weight", "Measured weight", grams("measured_g"))
	add("sensor", "label_weight", "Label weight", grams("label_g"))
	add("sensor", "delta_g", "Weight difference", grams("delta_g"))
	pct := res("{{ value_json.delta_pct }}")
	pct["unit_of_measurement"] = "%"
	pct["suggested_display_precision"] = 1
	pct["icon"] = "mdi:percent"
	add("sensor", "delta_pct", "Weight difference (%)", pct)
	tier := res("{{ value_json.tier }}")
	tier["icon"] = "mdi:stairs"
	add("sensor", "tier", "Claim tier", tier)
	tr := res("{{ value_json.tracking }}")
	tr["icon"] = "mdi:barcode"
	add("sensor", "tracking_number", "Tracking number", tr)
	last := res("{{ value_json.session_id }}")
	last["icon"] = "mdi:package-variant-closed"
	last["json_attributes_topic"] = t.Result
	last["json_attributes_template"] = "{{ {'bundle': value_json.bundle, 'manifest_sha256': value_json.manifest_sha256, 'chain_head': value_json.chain_head, 'key_fingerprint': value_json.key_fingerprint, 'started_at': value_json.started_at, 'seq': value_json.seq} | tojson }}"
	add("sensor", "last_session", "Last session", last)
	// A state holds at most 255 characters: the sensor shows the claim's
	// short form (dispute_short, whole sentences), else its first 255; the
	// whole text is its attribute "text".
	dsp := res("{{ (value_json.dispute_short or value_json.dispute or '')[:255] }}")
	dsp["icon"] = "mdi:message-text"
	dsp["json_attributes_topic"] = t.Result
	dsp["json_attributes_template"] = "{{ {'text': value_json.dispute} | tojson }}"
	add("sensor", "dispute", "Dispute message", dsp)
	free := state("{{ value_json.free_storage_bytes }}")
	free["device_class"], free["state_class"], free["unit_of_measurement"] = "data_size", "measurement", "B"
	free["entity_category"] = "diagnostic"
	add("sensor", "free_storage", "Free storage", free)

	add("image", "label", "Label still", Component{"image_topic": t.Label, "content_type": "image/jpeg"})
	add("image", "still", "Mark still", Component{"image_topic": t.Still, "content_type": "image/jpeg"})
	// The dispute pack weighd makes after the seal (internal/pack): its
	// state, with the session, progress and files as attributes.
	ex := Component{"state_topic": t.Export, "value_template": "{{ value_json.state }}", "json_attributes_topic": t.Export,
		"device_class": "enum", "options": []string{"idle", "queued", "running", "paused", "done", "failed"}, "icon": "mdi:folder-zip"}
	add("sensor", "dispute_pack", "Dispute pack", ex)

	for _, b := range []struct {
		cmd        CommandName
		name, icon string
	}{
		{CmdTare, "Tare", "mdi:scale-balance"},
		{CmdStart, "Start", "mdi:record"},
		{CmdStop, "Stop", "mdi:stop"},
		{CmdMark, "Mark", "mdi:bookmark"},
	} {
		add("button", string(b.cmd), b.name, Component{"command_topic": t.Cmd(b.cmd), "payload_press": PressPayload, "icon": b.icon})
	}

	// The entries, each reading its state from <base>/entries, and the
	// last refusal (issue 14): discovery_entries.go.
	entryComponents(t, addAs)

	sessionControls(t, addAs)
	automationComponents(c, id, t)

	sw := version
	if sw == "" {
		sw = "dev"
	}
	return DiscoveryPayload{
		Device: map[string]any{
			"ids": []string{id}, "name": fmt.Sprintf("Weigh-in station %s", stationID),
			"mf": manufacturer, "mdl": model, "sw": sw,
		},
		Origin:              map[string]any{"name": originName, "sw": sw},
		AvailabilityTopic:   t.Availability,
		PayloadAvailable:    "online",
		PayloadNotAvailable: "offline",
		QoS:                 1,
		Components:          c,
	}
}

// haID is the station's device id in Home Assistant, the prefix of its
// unique and entity ids.
func haID(stationID string) string { return "weighin_" + strings.ReplaceAll(stationID, "-", "_") }

// JSON encodes the payload.
func (d DiscoveryPayload) JSON() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		// Only strings, numbers and string slices: Marshal cannot fail.
		panic("publish: discovery: " + err.Error())
	}
	return b
}
