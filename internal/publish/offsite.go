package publish

import "maps"

// OffsiteState is the off-site replication's progress in the live state
// (package offsite's Status, reduced to what Home Assistant shows).
type OffsiteState struct {
	// VerifiedObjects have a verified copy in the store.
	VerifiedObjects int `json:"verified_objects"`
	// BacklogObjects and BacklogBytes are not verified yet (conflicts
	// excluded: they wait for an operator).
	BacklogObjects int   `json:"backlog_objects"`
	BacklogBytes   int64 `json:"backlog_bytes"`
	// Problems counts the objects Failed for good or in Conflict.
	Problems int `json:"problems"`
}

// WithOffsite tells discovery that the station replicates to an off-site
// store: the device gets the sensors "Off-site backlog" (objects, with
// bytes, verified objects and problems as attributes) and "Off-site
// backlog size" (bytes), read from <base>/state's "offsite" object, which
// every state carries while replication is on.
func WithOffsite() Option { return func(p *Publisher) { p.offsite = true } }

// WithOffsite adds the off-site sensors to the payload (see the Option).
func (d DiscoveryPayload) WithOffsite(stationID string, t Topics) DiscoveryPayload {
	id := haID(stationID)
	c := maps.Clone(d.Components)
	add := func(key, name string, opts Component) {
		opts["p"], opts["name"] = "sensor", name
		opts["unique_id"] = id + "_" + key
		opts["default_entity_id"] = "sensor." + id + "_" + key
		opts["state_topic"] = t.State
		opts["entity_category"] = "diagnostic"
		opts["state_class"] = "measurement"
		c[key] = opts
	}
	add("offsite_backlog", "Off-site backlog", Component{
		"value_template": "{{ value_json.offsite.backlog_objects }}",
		"icon":           "mdi:cloud-upload", "unit_of_measurement": "objects",
		"json_attributes_topic":    t.State,
		"json_attributes_template": "{{ value_json.offsite | tojson }}",
	})
	add("offsite_backlog_bytes", "Off-site backlog size", Component{
		"value_template": "{{ value_json.offsite.backlog_bytes }}",
		"device_class":   "data_size", "unit_of_measurement": "B",
	})
	d.Components = c
	return d
}
