package api

import (
	"weighin/internal/offsite"
	"weighin/internal/result"
	"weighin/internal/timestamp"
)

// Status is weighd's live state, the body of GET /v1/status.
type Status struct {
	StationID string  `json:"station_id"`
	Version   string  `json:"version"`
	Sim       bool    `json:"sim"`
	UptimeS   float64 `json:"uptime_s"`

	// SessionState is the session phase: idle, present, stable, waiting,
	// starting, recording, paused (after an inactivity stop, for
	// session.resume_grace), sealing.
	SessionState string  `json:"session_state"`
	WeightG      float64 `json:"weight_g"`
	// WeightState is empty, stable, unstable or undecided.
	WeightState string `json:"weight_state"`
	Stable      bool   `json:"stable"`
	// Status is the scale's status in the USB HID POS vocabulary
	// (scalestatus: fault, requires_calibration, over_capacity,
	// under_zero, requires_rezero, in_motion, center_of_zero, stable),
	// beside Stable, which stays.
	Status    string  `json:"status"`
	SpreadG   float64 `json:"spread_g"`
	WarmingUp bool    `json:"warming_up"`
	// OverCapacity: the load is beyond what the cell measures (the HX711
	// returns its saturation code); a start is refused while it lasts.
	OverCapacity bool `json:"over_capacity"`
	Calibrated   bool `json:"calibrated"`

	Recording  bool    `json:"recording"`
	SessionID  string  `json:"session_id,omitempty"`
	RecordingS float64 `json:"recording_s,omitempty"`
	// AutoStopInS counts down the last 30 s before an inactivity stop
	// (null otherwise); ResumeInS, while paused after it, the grace in
	// which a short press continues the session (null otherwise).
	AutoStopInS *int `json:"auto_stop_in_s"`
	ResumeInS   *int `json:"resume_in_s"`
	// LeftoverLoad: the platform has not returned to empty since the last
	// session; a start must be forced (start FORCE, a double press).
	LeftoverLoad bool `json:"leftover_load"`
	// TrackingOffer is a code read from the label that no carrier pattern
	// knows, offered for confirmation (confirm_tracking).
	TrackingOffer string `json:"tracking_offer,omitempty"`

	// Entries are the buyer's entries for the parcel on the scale.
	Entries Entries `json:"entries"`

	FreeStorageBytes int64  `json:"free_storage_bytes"`
	ClockSynced      bool   `json:"clock_synced"`
	KeyFingerprint   string `json:"key_fingerprint"`
	ChainHead        string `json:"chain_head"`
	StateDir         string `json:"state_dir"`

	// Timestamps is the RFC 3161 token queue (trust.tsa_urls): state and
	// backlog.
	Timestamps *timestamp.Status `json:"timestamps,omitempty"`
	// Offsite is the replicator of bundles to an S3-compatible store
	// (offsite.endpoint): counts by state, backlog, problems; absent when
	// off.
	Offsite *offsite.Status `json:"offsite,omitempty"`
	// Exports is the MP4 export queue (weighctl export through weighd).
	Exports ExportStatus `json:"exports"`

	Scale  ScaleStatus  `json:"scale"`
	Camera CameraStatus `json:"camera"`
	Audio  AudioStatus  `json:"audio"`
	MQTT   MQTTStatus   `json:"mqtt"`

	// LastError is the latest fault (a recording that could not start,
	// a seal that failed, …), cleared when a recording starts.
	LastError string `json:"last_error,omitempty"`
	// LastRefusal is what <base>/error shows: the last refused MQTT
	// command or fault, "command: reason", until an accepted command
	// clears it (issue 14); "" without MQTT.
	LastRefusal string `json:"last_refusal,omitempty"`
	// LED is the pattern the status LED shows (idle, warming_up, stable,
	// recording, discrepancy, error).
	LED string `json:"led"`
	// LastResult is the result of the last sealed session.
	LastResult *result.Result `json:"last_result,omitempty"`
	// Web is the web app's state.
	Web WebStatus `json:"web"`
}

// Entries are what the buyer typed or sent for the parcel on the scale.
type Entries struct {
	LabelG            *float64 `json:"label_g,omitempty"`
	OrderRef          string   `json:"order_ref,omitempty"`
	Tracking          string   `json:"tracking,omitempty"`
	ExteriorCondition string   `json:"exterior_condition,omitempty"`
	IssueType         string   `json:"issue_type,omitempty"`
	// Solution and Tier are the buyer's overrides of the claim.
	Solution string `json:"solution,omitempty"`
	Tier     *int   `json:"tier,omitempty"`
	// Damage is the buyer's damage description (issue 14), as written.
	Damage string `json:"damage,omitempty"`
}

// ScaleStatus is the HX711's health.
type ScaleStatus struct {
	Rate     int     `json:"rate"`
	Reads    uint64  `json:"reads"`
	Glitches uint64  `json:"glitches"`
	Timeouts uint64  `json:"timeouts"`
	LastErr  string  `json:"last_error,omitempty"`
	Offset   float64 `json:"offset"`
	Scale    float64 `json:"counts_per_gram"`
}

// AudioStatus is the microphone's: On while sound is being captured
// (blocks arrived in the last second) and so recorded with the video;
// LevelDBFS is the last block's RMS level (−120 for silence).
type AudioStatus struct {
	On        bool    `json:"on"`
	Device    string  `json:"device"`
	Rate      int     `json:"rate"`
	LevelDBFS float64 `json:"level_dbfs"`
}

// CameraStatus is the camera's health.
type CameraStatus struct {
	Device    string  `json:"device"`
	Connected bool    `json:"connected"`
	Frames    uint64  `json:"frames"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	FPS       float64 `json:"fps"`
	LastErr   string  `json:"last_error,omitempty"`
	PreRollS  float64 `json:"pre_roll_s"`
	PreRollB  int64   `json:"pre_roll_bytes"`
}

// RegionReply answers calibrate_region: the region now in use and the
// file it was saved in.
type RegionReply struct {
	Region []float64 `json:"region"`
	File   string    `json:"file"`
}

// MQTTStatus is the publisher's state.
type MQTTStatus struct {
	Broker    string `json:"broker"`
	Embedded  bool   `json:"embedded"`
	Connected bool   `json:"connected"`
	Pending   int    `json:"pending_results"`
	// Problem is what is wrong with the connection, if anything: the
	// command subscription did not answer its probe, a station-id
	// collision.
	Problem string `json:"problem,omitempty"`
}

// Command names accepted by POST /v1/cmd/NAME, besides the MQTT commands
// (tare, start, stop, mark, label_weight, order_ref, tracking,
// exterior_condition, issue_type).
const (
	// CmdCalibrateZero records the empty platform as the zero offset.
	CmdCalibrateZero = "calibrate_zero"
	// CmdCalibrateSpan takes value = the known mass in grams on the
	// platform, and saves the calibration.
	CmdCalibrateSpan = "calibrate_span"
	// CmdCalibrateRegion takes value = "x,y,w,h", the camera's platform
	// region as fractions of the frame, and saves it (calib.RegionFile);
	// the reply is RegionReply.
	CmdCalibrateRegion = "calibrate_region"
	// CmdSimPlace (--sim only) makes value grams the simulated scale's
	// total load (a parcel set down; items taken out as a lower total).
	CmdSimPlace = "sim_place"
	// CmdSimRemove (--sim only) empties the simulated scale.
	CmdSimRemove = "sim_remove"
	// CmdSimPress (--sim only) presses the virtual button; value "short"
	// (default) or "long".
	CmdSimPress = "sim_press"
	// CmdExport queues an MP4 export of a sealed session (value: the
	// session id, the bundle's directory name; query preset: chat, phone
	// or full) and answers when it is bound to the bundle, with an
	// ExportResult. Exports pause while a recording runs.
	CmdExport = "export"
	// CmdSimHand (--sim only) rests a hand on the simulated parcel: value
	// grams of steady extra force on the scale, and a swaying hand over
	// the synthetic camera's platform region; "0" takes it away.
	CmdSimHand = "sim_hand"
	// CmdSessions lists the session index (GET /v1/sessions).
	CmdSessions = "sessions"
	// CmdParcels lists the expected parcels, each with its arrival: the
	// sessions of the index with its tracking number (GET /v1/parcels;
	// registry.Expected).
	CmdParcels = "parcels"
	// CmdParcelRemove removes the expected parcel value (a tracking
	// number) from the registry.
	CmdParcelRemove = "parcel_rm"
	// CmdParcelImport imports a registry CSV: value is a JSON
	// ImportRequest; the answer an ImportReply.
	CmdParcelImport = "parcel_import"
)

// ImportRequest is CmdParcelImport's value: the CSV's text and the name
// its errors cite ("parcels.csv:3: …").
type ImportRequest struct {
	Name string `json:"name"`
	CSV  string `json:"csv"`
}

// ImportReply answers CmdParcelImport.
type ImportReply struct {
	Imported int `json:"imported"`
}

// OutcomeReply answers the outcome command through the API: the signed
// addendum weighd wrote.
type OutcomeReply struct {
	File           string `json:"file"`
	Bundle         string `json:"bundle"`
	KeyFingerprint string `json:"key_fingerprint"`
}

// ExportStatus is weighd's export queue.
type ExportStatus struct {
	// State is off (ffmpeg missing: Reason says which package), idle,
	// running or paused (a recording is running).
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Session and Preset name the export running or paused; Percent,
	// Speed and ETAS are ffmpeg's progress of it.
	Session string  `json:"session,omitempty"`
	Preset  string  `json:"preset,omitempty"`
	Part    int     `json:"part,omitempty"`
	Parts   int     `json:"parts,omitempty"`
	Percent float64 `json:"percent,omitempty"`
	Speed   float64 `json:"speed,omitempty"`
	ETAS    float64 `json:"eta_s,omitempty"`
	// Done counts the exports finished since weighd started, Failed those
	// that failed.
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// ExportFile is one MP4 of a finished export, in its bundle.
type ExportFile struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ExportResult is the answer to CmdExport.
type ExportResult struct {
	SessionID string       `json:"session_id"`
	Preset    string       `json:"preset"`
	Files     []ExportFile `json:"files"`
	// Addendum is the signed addendum that binds the files, empty when
	// the export had been bound earlier.
	Addendum string `json:"addendum,omitempty"`
	// Split says why the export is in parts.
	Split string `json:"split,omitempty"`
}
