package result

// Schema-2 fields of issue 22 (the unpacking, weighed): the settled steps of
// the weight during the recording, their matching to the registered items
// by name, whether the weigh-in was disturbed, and the weigh-in's identity.
// Every time is video time: seconds from the first frame of video-000.mkv,
// pre-roll included (the one time axis of docs/contracts.md).

// Step kinds.
const (
	// StepRemoved: the weight settled lower (something was taken out).
	StepRemoved = "removed"
	// StepAdded: the weight settled higher (something was put back or in).
	StepAdded = "added"
)

// Transient kinds: a disturbance after which the weight came back to the
// level it had.
const (
	// TransientHand: the weight rose and came back (a hand leaning on the
	// parcel, an item pressed down), whether or not it rested in between.
	TransientHand = "hand"
	// TransientTouch: the weight moved, mostly down or both ways, and came
	// back (an item lifted a little and set down, a bump).
	TransientTouch = "touch"
)

// Step is one settled change of the weight: stable at BeforeG, disturbed
// from TS, stable at AfterG from SettledS.
type Step struct {
	// TS is the video time the weight began to change (the last stable
	// sample at the old level plus one).
	TS float64 `json:"t_s"`
	// SettledS is the video time the new level was confirmed stable.
	SettledS float64 `json:"settled_s"`
	// File and Frame name the video frame at TS (Frame counts from 0 in
	// File); Frame is -1 when the station could not tell.
	File  string `json:"file"`
	Frame int64  `json:"frame"`
	// BeforeG and AfterG are the mean settled weights either side; DeltaG
	// is AfterG − BeforeG (negative for a removal). All to 0.1 g.
	BeforeG float64 `json:"before_g"`
	AfterG  float64 `json:"after_g"`
	DeltaG  float64 `json:"delta_g"`
	// Kind is StepRemoved or StepAdded.
	Kind string `json:"kind"`
	// Items are the registered items this step took out (or put back), by
	// name as registered: one, two taken out together, or none (packaging,
	// a lid, an unregistered thing, or no item list).
	Items []string `json:"items"`
	// ExpectedG is the registered weight of Items, ResidualG is |DeltaG| −
	// ExpectedG; both 0 without Items.
	ExpectedG float64 `json:"expected_g"`
	ResidualG float64 `json:"residual_g"`
	// Ambiguous: another item (or pair) fits this step about as well (within
	// half the tolerance); the weight alone cannot tell which.
	Ambiguous bool `json:"ambiguous,omitempty"`
}

// Transient is a disturbance the weight came back from.
type Transient struct {
	// FromS and ToS bound it in video time; PeakG is the largest deviation
	// from the level before it (signed, 0.1 g).
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
	PeakG float64 `json:"peak_g"`
	// Kind is TransientHand or TransientTouch.
	Kind string `json:"kind"`
}

// Item states in Matching.Items.
const (
	// ItemTakenOut: taken out on camera (and not put back afterwards).
	ItemTakenOut = "taken_out"
	// ItemPutBack: taken out, then put back, and not taken out again.
	ItemPutBack = "put_back"
	// ItemNeverSeen: no step took it out.
	ItemNeverSeen = "never_seen"
)

// ItemSeen is what the steps tell about one registered item.
type ItemSeen struct {
	Name    string  `json:"name"`
	WeightG float64 `json:"weight_g"`
	// State is ItemTakenOut, ItemPutBack or ItemNeverSeen.
	State string `json:"state"`
	// TS is the video time of the last step that moved it (taken out or put
	// back); nil when never seen.
	TS *float64 `json:"t_s"`
	// MeasuredG is the weight of that step when it moved this item alone;
	// nil when never seen or when it moved with another item.
	MeasuredG *float64 `json:"measured_g"`
}

// Bases of a verdict: which evidence decided the verdict and tier.
const (
	// BasisSteps: the measured steps were conclusive.
	BasisSteps = "measured_steps"
	// BasisTotal: the total weight of the unopened parcel against its label
	// (the schema-1 inference).
	BasisTotal = "total_weight"
)

// Matching is the steps matched to the registered items.
type Matching struct {
	// StartG and EndG are the first and last settled levels of the
	// recording; the steps' DeltaG add up to EndG − StartG.
	StartG float64 `json:"start_g"`
	EndG   float64 `json:"end_g"`
	// EndedSettled: the recording ended on a settled level (not while
	// the weight was moving).
	EndedSettled bool `json:"ended_settled"`
	// Items are the registered items in list order; empty without an item
	// list (an unregistered parcel: steps are listed, nothing is matched).
	Items []ItemSeen `json:"items"`
	// NeverSeen names the items no step took out, in list order.
	NeverSeen []string `json:"never_seen"`
	// PackagingG is StartG less the measured weight of the items taken out
	// (net of put-backs): the packaging, plus whatever was never taken out.
	PackagingG float64 `json:"packaging_g"`
	// ExpectedPackagingG is the label weight less every registered item;
	// nil without a label weight or an item list.
	ExpectedPackagingG *float64 `json:"expected_packaging_g"`
	// Conclusive: the steps decide the verdict (see verdict.DecideSteps);
	// Basis says which evidence did (BasisSteps or BasisTotal) and Reason,
	// in English, why.
	Conclusive bool   `json:"conclusive"`
	Basis      string `json:"basis"`
	Reason     string `json:"reason"`
}
