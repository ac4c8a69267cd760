package publish

// The button presses the device triggers stand for, as published on
// <base>/button, with Home Assistant's trigger type for each (the types
// its frontend names: "First button pressed" and so on, subtype
// button_1).
var pressTriggers = []struct{ payload, typ string }{
	{"short", "button_short_press"},
	{"long", "button_long_press"},
	{"double", "button_double_press"},
}

// automationComponents adds what Home Assistant automations start from
// (issue 23): the event entity "Station event" on <base>/event (event
// types EventTypes, every other key of a message an attribute), and a
// device trigger per button gesture on <base>/button. Entity ids: a new
// event.<id>_station_event; device triggers are no entities.
func automationComponents(c map[string]Component, id string, t Topics) {
	c["station_event"] = Component{
		"p": "event", "name": "Station event", "unique_id": id + "_station_event",
		"default_entity_id": "event." + id + "_station_event",
		"state_topic":       t.Event, "event_types": append([]string(nil), EventTypes...),
		"icon": "mdi:package-variant-closed-check",
	}
	for _, pt := range pressTriggers {
		key := "button_" + pt.payload
		c[key] = Component{
			"p": "device_automation", "automation_type": "trigger", "unique_id": id + "_" + key,
			"topic": t.Button, "payload": pt.payload, "type": pt.typ, "subtype": "button_1",
		}
	}
}

// WithTagScanner adds Home Assistant's tag scanner (mqtt.tag_scanner):
// every tracking number read from a label's barcode is published on
// <base>/tag and becomes a tag in Home Assistant's tag list (one entry
// per code ever scanned), usable as a "tag scanned" trigger.
func (d DiscoveryPayload) WithTagScanner(stationID string, t Topics) DiscoveryPayload {
	c := make(map[string]Component, len(d.Components)+1)
	for k, v := range d.Components {
		c[k] = v
	}
	c["tag_scanner"] = Component{"p": "tag", "topic": t.Tag, "unique_id": haID(stationID) + "_tag_scanner"}
	d.Components = c
	return d
}
