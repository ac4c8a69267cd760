// Package result defines the session result, schema 2: the record that goes
// into every evidence bundle's manifest.json and onto MQTT (<base>/result and
// <base>/results). Field names are a contract with outside tools; see
// docs/contracts.md, "Session result (schema 2)". Schema 2 is schema 1 with
// stop_reason; schema-1 results (no stop_reason) are still read as they are.
package result

// Schema is the version of Result written by this code.
const Schema = 2

// MinSchema is the oldest version of Result this code reads.
const MinSchema = 1

// Stop reasons (schema 2): why the recording ended, or StopInterrupted for a
// session sealed at recovery.
const (
	StopButton      = "button"       // a long press
	StopCommand     = "command"      // stop from MQTT or the local API
	StopMaxDuration = "max_duration" // session.max_duration reached
	StopInactivity  = "inactivity"   // no weight change for session.inactivity_stop
	StopShutdown    = "shutdown"     // weighd was stopped (SIGTERM) while recording
	StopInterrupted = "interrupted"  // sealed at recovery after a crash, a power cut or failed seals
	StopWriteFailed = "write_failed" // the recording could not be written any more (disk full, I/O error)
)

// StopReasons lists every stop_reason value.
var StopReasons = []string{StopButton, StopCommand, StopMaxDuration, StopInactivity, StopShutdown, StopInterrupted, StopWriteFailed}

// Verdict values, exactly as the schema names them.
const (
	VerdictMatch         = "match"
	VerdictUnderweight   = "underweight"
	VerdictOverweight    = "overweight"
	VerdictEmpty         = "empty"
	VerdictNoLabelWeight = "no_label_weight"
)

// Verdicts lists every verdict value, in schema order.
var Verdicts = []string{VerdictMatch, VerdictUnderweight, VerdictOverweight, VerdictEmpty, VerdictNoLabelWeight}

// Result is one session's outcome.
type Result struct {
	Schema    int    `json:"schema"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
	StationID string `json:"station_id"`
	// StartedAt is RFC 3339 UTC.
	StartedAt   string `json:"started_at"`
	ClockSynced bool   `json:"clock_synced"`
	// Interrupted is true when the session was sealed at recovery after a
	// crash or power cut rather than by a stop.
	Interrupted bool `json:"interrupted,omitempty"`
	// StopReason (schema 2) is one of StopReasons; empty in schema 1.
	StopReason string `json:"stop_reason,omitempty"`

	Tracking string `json:"tracking"`
	OrderRef string `json:"order_ref"`

	LabelG           *float64 `json:"label_g"`
	LabelResolutionG float64  `json:"label_resolution_g"`
	// LabelResolutionFrom says where LabelResolutionG came from:
	// ResolutionFromParcel (the parcel registry or the buyer, for this
	// parcel) or ResolutionFromConfig (the station's default); the claim
	// states the carrier's rounding only for the former. Absent: unknown
	// (older bundles), treated as the default.
	LabelResolutionFrom string `json:"label_resolution_from,omitempty"`
	// LabelRead says how the shipping label was seen: LabelReadBarcode (a
	// barcode was decoded from the label still) or LabelReadBuyer (the
	// buyer confirmed it). Absent: held up at the start of the video, not
	// read automatically (or no label at all).
	LabelRead      string   `json:"label_read,omitempty"`
	MeasuredG      float64  `json:"measured_g"`
	MeasuredStable bool     `json:"measured_stable"`
	DeltaG         *float64 `json:"delta_g"`
	DeltaPct       *float64 `json:"delta_pct"`
	ToleranceG     float64  `json:"tolerance_g"`

	Verdict           string             `json:"verdict"`
	Tier              int                `json:"tier"`
	MissingCandidates []MissingCandidate `json:"missing_candidates"`
	// Schema 2, the unpacking weighed (steps.go); absent in schema 1 and
	// when nothing was measured.
	Steps    []Step    `json:"steps,omitempty"`
	Matching *Matching `json:"matching,omitempty"`
	// WeighinDisturbed: motion in the camera's platform region during the
	// weigh-in's stability window (a hand on the parcel): MeasuredG is not
	// the weight of the unopened parcel. Absent means false.
	WeighinDisturbed bool `json:"weighin_disturbed,omitempty"`
	// LeftoverLoad: the platform had not returned to empty (inside the
	// zero band) since the previous session and the start was forced (a
	// double press, start FORCE): MeasuredG may include what was left on
	// it. Absent means false.
	LeftoverLoad bool `json:"leftover_load,omitempty"`
	// WeightID names the weigh-in's sample and video frame (see
	// motion.WeightID); WeighinStatus is its HID POS scale status.
	WeightID      string `json:"weight_id,omitempty"`
	WeighinStatus string `json:"weighin_status,omitempty"`
	// WeightAxis is weight.csv's time axis: WeightAxisVideo (t_ms 0 is
	// video time 0, the pre-roll included); absent in bundles written
	// before it, whose weight.csv counts from the press.
	WeightAxis string `json:"weight_axis,omitempty"`

	ExteriorCondition string `json:"exterior_condition"`
	IssueType         string `json:"issue_type"`
	// Damage is the buyer's description of the damage (dashboard, MQTT
	// damage, the API), in the language written; the claim carries it
	// into both texts, noting that language.
	Damage string `json:"damage,omitempty"`

	Marks      []Mark     `json:"marks"`
	Continuity Continuity `json:"continuity"`

	Bundle         string `json:"bundle"`
	ManifestSHA256 string `json:"manifest_sha256"`
	ChainHead      string `json:"chain_head"`
	// KeyFingerprint is the station key's SSH fingerprint (SHA256:…), so a
	// copy of the result outside the station witnesses which key signed it.
	KeyFingerprint string `json:"key_fingerprint"`

	Dispute string `json:"dispute"`
	// DisputeShort is the claim's short form, at most 255 characters (the
	// Home Assistant sensor's state, forms with a character limit).
	DisputeShort string `json:"dispute_short,omitempty"`
}

// Where a label resolution came from (LabelResolutionFrom) and how the
// label was seen (LabelRead).
const (
	ResolutionFromParcel = "parcel"
	ResolutionFromConfig = "config"
	LabelReadBarcode     = "barcode"
	LabelReadBuyer       = "buyer"
)

// MissingCandidate is one set of items whose weights explain a deficit.
type MissingCandidate struct {
	Items     []string `json:"items"`
	TotalG    float64  `json:"total_g"`
	ResidualG float64  `json:"residual_g"`
}

// Mark is a moment the buyer marked, in video time.
type Mark struct {
	// TS is seconds from the first frame of File.
	TS    float64 `json:"t_s"`
	File  string  `json:"file"`
	Label string  `json:"label"`
}

// Continuity summarises whether the recording is uninterrupted.
type Continuity struct {
	Frames    int64   `json:"frames"`
	DurationS float64 `json:"duration_s"`
	MeanFPS   float64 `json:"mean_fps"`
	MaxGapMS  float64 `json:"max_gap_ms"`
	Gaps      []Gap   `json:"gaps"`
	// Dropped counts frames the recorder discarded, by reason.
	Dropped map[string]int64 `json:"dropped,omitempty"`
	// Duplicated counts frames that repeated a previous sequence number.
	Duplicated int64 `json:"duplicated"`
	// Resumed lists the continuations of the recording after an
	// inactivity stop (issue 14), in order; absent for one recording.
	Resumed []Resume `json:"resumed,omitempty"`
	// Audio is the sound track's continuity; absent when the recording
	// has no sound (audio.enabled false, no microphone).
	Audio *AudioContinuity `json:"audio,omitempty"`
}

// AudioContinuity is the continuity of a recording's audio track (Matroska
// track 3): its format, the samples the files hold, and the sound missing.
type AudioContinuity struct {
	// Codec is the track's codec in the files: "pcm_s16le".
	Codec    string `json:"codec"`
	Rate     int    `json:"rate"`
	Channels int    `json:"channels"`
	// Samples (sample frames) in the files, and their duration.
	Samples   int64   `json:"samples"`
	DurationS float64 `json:"duration_s"`
	// MissingMS is the sound missing between blocks (gaps over 20 ms,
	// listed in Gaps with where the sound stops); MaxGapMS the longest.
	MissingMS float64 `json:"missing_ms"`
	MaxGapMS  float64 `json:"max_gap_ms"`
	Gaps      []Gap   `json:"gaps"`
	// LostSamples the capture side reported lost (overruns, a replug);
	// DroppedSamples the recorder discarded, by reason.
	LostSamples    int64            `json:"lost_samples"`
	DroppedSamples map[string]int64 `json:"dropped_samples,omitempty"`
}

// Resume is one continuation of a session's recording: after an
// inactivity stop, a short press within session.resume_grace continued
// the same session into its next video file.
type Resume struct {
	// File is the first video file of the continuation (video-001.mkv …).
	File string `json:"file"`
	// AtS is where its first frame lies on the session's time axis (that of
	// weight.csv: seconds since the first frame of video-000.mkv).
	AtS float64 `json:"at_s"`
	// PausedS is how long nothing was recorded before it (the interval
	// between the two files, in neither).
	PausedS float64 `json:"paused_s"`
}

// Gap is an interval between consecutive frames above the gap threshold.
type Gap struct {
	AtS   float64 `json:"at_s"`
	File  string  `json:"file"`
	GapMS float64 `json:"gap_ms"`
}

// WeightAxisVideo: weight.csv's t_ms 0 is the first frame of
// video-000.mkv.
const WeightAxisVideo = "video"
