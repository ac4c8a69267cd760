package publish

// entryComponents adds the buyer's entry entities and the feedback ones
// (issue 14) through addAs(platform, key, object, name, options). Every
// entry entity reads its state from the retained <base>/entries document
// (no entity is optimistic), so the dashboard shows what the station
// holds: cleared after a seal, after clear_entries, or set from another
// way in (the API, the web app).
func entryComponents(t Topics, addAs func(platform, key, object, name string, opts Component)) {
	add := func(platform, key, name string, opts Component) { addAs(platform, key, key, name, opts) }
	entry := func(cmd CommandName, tpl string, opts Component) Component {
		opts["command_topic"] = t.Cmd(cmd)
		opts["state_topic"] = t.Entries
		opts["value_template"] = tpl
		return opts
	}
	// A select's state must be one of its options; "None" sets it to
	// unknown (Home Assistant's PAYLOAD_NONE) while nothing is chosen.
	choice := func(field string) string {
		return "{{ value_json." + field + " if value_json." + field + " else 'None' }}"
	}

	addAs("number", "label_weight_input", "label_weight", "Label weight entry", entry(CmdLabelWeight,
		"{{ value_json.label_g if value_json.label_g is not none else 'None' }}", Component{
			"min": MinLabelWeightG, "max": MaxLabelWeightG,
			"step": 1, "mode": "box", "unit_of_measurement": "g", "device_class": "weight",
		}))
	add("text", "order_ref", "Order reference", entry(CmdOrderRef, "{{ value_json.order_ref }}", Component{
		"min": 0, "max": MaxOrderRefRunes,
	}))
	add("text", "tracking", "Tracking entry", entry(CmdTracking, "{{ value_json.tracking }}", Component{
		"min": 0, "max": MaxTrackingLen, "pattern": "^[A-Za-z0-9-]*$",
	}))
	add("text", "damage", "Damage description", entry(CmdDamage, "{{ value_json.damage }}", Component{
		"min": 0, "max": MaxDamageRunes, "icon": "mdi:package-variant-remove",
	}))
	add("select", "exterior_condition", "Exterior condition", entry(CmdExteriorCondition, choice("exterior_condition"), Component{
		"options": append([]string(nil), ExteriorConditions...),
	}))
	add("select", "solution", "Requested solution", entry(CmdSolution, "{{ value_json.solution }}", Component{
		"options": append([]string(nil), Solutions...),
		"icon":    "mdi:hand-coin",
	}))
	add("select", "tier_override", "Claim tier override", entry(CmdTier, "{{ value_json.tier }}", Component{
		"options": append([]string(nil), Tiers...),
		"icon":    "mdi:stairs",
	}))
	add("select", "issue_type", "Issue type", entry(CmdIssueType, "{{ value_json.issue_type if value_json.issue_type else '"+IssueNoneOption+"' }}", Component{
		"options": append(append([]string(nil), IssueTypes...), IssueNoneOption),
	}))
	add("button", string(CmdClearEntries), "Clear entries", Component{
		"command_topic": t.Cmd(CmdClearEntries), "payload_press": PressPayload, "icon": "mdi:eraser",
	})

	// The last refusal or fault: its reason (at most 255 characters, a
	// state's limit), "none" once an accepted command cleared it; the
	// command and the time are attributes.
	add("sensor", "last_refusal", "Last refusal", Component{
		"state_topic": t.Error, "value_template": "{{ (value_json.reason or 'none')[:255] }}",
		"json_attributes_topic": t.Error, "json_attributes_template": "{{ {'command': value_json.command, 'at': value_json.at} | tojson }}",
		"icon": "mdi:alert-circle-outline",
	})
}

// IssueNoneOption is the issue_type select's option for no issue (the
// command's "none"; <base>/entries holds "" for it).
const IssueNoneOption = "none"
