package publish

import "strings"

// Topics is the station's topic tree under base = weighin/<station_id>,
// plus Home Assistant's discovery and status topics.
type Topics struct {
	Base         string
	Availability string
	State        string
	Result       string
	Results      string
	Label        string
	// Export is the retained state of the newest dispute pack (JSON);
	// Still the newest still of a pack (raw JPEG, retained).
	Export string
	Still  string
	Error  string
	// Weighin is the weigh-in frame of the newest pack (raw JPEG,
	// retained). LabelURL, WeighinURL and StillURL carry, while the web
	// app runs, the signed read-only URL of the label still, the weigh-in
	// frame and the last mark still instead (retained; images.go).
	Weighin    string
	LabelURL   string
	WeighinURL string
	StillURL   string
	// Entries is the buyer's entries (JSON Entries, retained).
	Entries string
	// Event carries the event entity's messages (event.go); Button the
	// button presses of the device triggers. Neither is retained.
	Event  string
	Button string
	// Tag carries the tracking numbers read from labels, for Home
	// Assistant's tag scanner (mqtt.tag_scanner; not retained).
	Tag string
	// Journal carries each line of the station's evidence journal (a seal
	// or an addendum, signed), so a copy lives outside the station.
	Journal string
	// CmdPrefix is "<base>/cmd/"; CmdFilter subscribes to every command.
	CmdPrefix string
	CmdFilter string
	// Probe is "<base>/cmd/probe": weighd publishes a nonce on it and
	// expects it back through its command subscription (never a command).
	Probe string
	// Discovery is <prefix>/device/<station_id>/config; HAStatus is
	// <prefix>/status.
	Discovery string
	HAStatus  string
}

// NewTopics returns the topic tree of a station.
func NewTopics(stationID, discoveryPrefix string) Topics {
	base := "weighin/" + stationID
	prefix := strings.TrimSuffix(discoveryPrefix, "/")
	return Topics{
		Base:         base,
		Availability: base + "/availability",
		State:        base + "/state",
		Result:       base + "/result",
		Results:      base + "/results",
		Label:        base + "/label",
		Export:       base + "/export",
		Still:        base + "/still",
		Weighin:      base + "/weighin_frame",
		LabelURL:     base + "/label_url",
		WeighinURL:   base + "/weighin_frame_url",
		StillURL:     base + "/still_url",
		Error:        base + "/error",
		Entries:      base + "/entries",
		Journal:      base + "/journal",
		Event:        base + "/event",
		Button:       base + "/button",
		Tag:          base + "/tag",
		CmdPrefix:    base + "/cmd/",
		CmdFilter:    base + "/cmd/+",
		Probe:        base + "/cmd/probe",
		Discovery:    prefix + "/device/" + stationID + "/config",
		HAStatus:     prefix + "/status",
	}
}

// Cmd returns the topic of one command.
func (t Topics) Cmd(name CommandName) string { return t.CmdPrefix + string(name) }

// Retained lists the topics the station publishes retained: the ones a
// clear empties by name before it sweeps whatever else is retained under
// RetainedFilters. Availability comes last, so Home Assistant sees the
// device's entities go before the device goes unavailable.
func (t Topics) Retained() []string {
	return []string{t.Discovery, t.State, t.Result, t.Label, t.Still, t.Weighin, t.LabelURL, t.WeighinURL, t.StillURL, t.Export, t.Error, t.Entries, t.Availability}
}

// RetainedFilters are the MQTT topic filters that match every topic the
// station's retained messages may be on: its base topic tree and its
// discovery topics (discoveryFilter).
func (t Topics) RetainedFilters() []string {
	return []string{t.Base + "/#", discoveryFilter(t)}
}
