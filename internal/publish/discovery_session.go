package publish

// sessionControls adds the entities of issue 14's recording control: the
// auto-stop warning and its countdown, the pause in which a press
// continues a session, the platform that has not returned to empty and the
// forced start, and the tracking number offered for confirmation. add is
// Discovery's addAs.
func sessionControls(t Topics, add func(platform, key, object, name string, opts Component)) {
	state := func(tpl string) Component {
		return Component{"state_topic": t.State, "value_template": tpl}
	}
	warn := state("{{ 'ON' if value_json.auto_stop_in_s is not none else 'OFF' }}")
	warn["icon"] = "mdi:timer-alert"
	add("binary_sensor", "auto_stop_soon", "auto_stop_soon", "Auto-stop soon", warn)
	// null renders "None", which Home Assistant's MQTT sensor takes as
	// unknown.
	left := state("{{ value_json.auto_stop_in_s }}")
	left["device_class"], left["unit_of_measurement"], left["icon"] = "duration", "s", "mdi:timer-sand"
	add("sensor", "auto_stop_in", "auto_stop_in", "Auto-stop in", left)
	paused := state("{{ value_json.resume_in_s }}")
	paused["device_class"], paused["unit_of_measurement"], paused["icon"] = "duration", "s", "mdi:pause-circle"
	add("sensor", "resume_in", "resume_in", "Press to continue within", paused)
	lo := state("{{ 'ON' if value_json.leftover_load else 'OFF' }}")
	lo["device_class"] = "problem"
	add("binary_sensor", "leftover_load", "leftover_load", "Platform not empty since last session", lo)
	add("button", "start_force", "start_force", "Start anyway (platform not empty)", Component{
		"command_topic": t.Cmd(CmdStart), "payload_press": ForcePayload, "icon": "mdi:record-circle-outline",
	})
	offer := state("{{ value_json.tracking_offer }}")
	offer["icon"] = "mdi:barcode-scan"
	add("sensor", "tracking_offer", "tracking_offer", "Tracking number to confirm", offer)
	add("button", string(CmdConfirmTracking), string(CmdConfirmTracking), "Confirm tracking number", Component{
		"command_topic": t.Cmd(CmdConfirmTracking), "payload_press": PressPayload, "icon": "mdi:barcode-scan",
	})
}
