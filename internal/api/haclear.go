package api

// CmdHAClear (POST /v1/cmd/ha_clear, no value) makes weighd remove every
// retained message of the station from its broker (decommissioning) and
// publish nothing retained until it restarts. The reply is an HAClearReply.
const CmdHAClear = "ha_clear"

// HAClearReply answers CmdHAClear.
type HAClearReply struct {
	StationID string `json:"station_id"`
	// Broker is the URL weighd publishes to (never with credentials).
	Broker string `json:"broker"`
	// Embedded reports that Broker is weighd's own embedded broker.
	Embedded bool `json:"embedded"`
}
