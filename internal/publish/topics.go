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
	// Entries is the buyer's entries (JSON Entries, retained).
	Entries string
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
		Error:        base + "/error",
		Entries:      base + "/entries",
		Journal:      base + "/journal",
		CmdPrefix:    base + "/cmd/",
		CmdFilter:    base + "/cmd/+",
		Probe:        base + "/cmd/probe",
		Discovery:    prefix + "/device/" + stationID + "/config",
		HAStatus:     prefix + "/status",
	}
}

// Cmd returns the topic of one command.
func (t Topics) Cmd(name CommandName) string { return t.CmdPrefix + string(name) }
