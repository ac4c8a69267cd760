// Package verdict turns a weigh-in into evidence: it compares the measured
// weight of an unopened parcel with the weight on its shipping label, infers
// which of the agent's listed items best explain a deficit, sizes the claim
// to the seed's resolution tiers, and writes the short, factual dispute
// message (English, then Simplified Chinese) that a seller can act on.
//
// The package is pure: no I/O, no clock, no logging. The rules it follows
// are in shared/design/architecture.md, "Tolerance and tiers" and "Session
// result (schema 1)":
//
//   - Carriers round label weights up to a resolution r, so the true
//     dispatch weight lies in (label − r, label]. The tolerance band is
//     [label − r − t, label + t] with t = max(tolerance_g, tolerance_pct %
//     of the label).
//   - Below the band the parcel is underweight (or empty, when the measured
//     weight is about the packaging alone: label minus every listed item);
//     above it, overweight; inside it, a match.
//   - Tiers: empty → 3; underweight explained by whole items → 3; underweight
//     smaller than the lightest item → 2; items unknown: deficit above
//     unknown_items_share_pct of the label → 3, else 2; wrong item → 3;
//     damage → 1 (cosmetic) or 2 (functional), as the buyer chooses; match
//     with no issue → 0.
//
// Overweight on its own is tier 0: agents add protective packaging and
// labels are sometimes written from a declared weight, so a heavier parcel
// is not evidence of a loss. It may mean a wrong item was sent, so the
// summary says so and the buyer, after looking inside on camera, sets the
// issue type to wrong_item (tier 3).
//
// An underweight parcel that no set of whole items explains, while the
// deficit is at least the lightest item, is judged as if the items were
// unknown (the share rule): part of the contents is missing, and how much
// decides between a partial and a full claim.
package verdict

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"weighin/internal/config"
	"weighin/internal/result"
	"weighin/internal/vocab"
)

// Errors returned by this package; each is wrapped with a message that names
// the field and the value.
var (
	// ErrInvalidInput: a weigh-in, label weight or item is zero, negative,
	// not a number, infinite or beyond MaxWeightG, or a name or entry is
	// malformed.
	ErrInvalidInput = errors.New("verdict: invalid input")
	// ErrInvalidParams: the tolerance parameters are out of range.
	ErrInvalidParams = errors.New("verdict: invalid parameters")
	// ErrTooManyItems: more items than the inference handles (MaxItems).
	ErrTooManyItems = errors.New("verdict: too many items")
	// ErrInvalidResult: Dispute was given a result it cannot describe.
	ErrInvalidResult = errors.New("verdict: invalid result")
)

// MaxWeightG is the heaviest parcel, label or item weight accepted, in
// grams. Anything heavier is a typing or unit error (kilograms entered as
// grams twice over), not a parcel.
const MaxWeightG = 200_000

// MinParcelG is the lightest weigh-in or label weight accepted, in grams:
// below it the scale holds no parcel.
const MinParcelG = 1

// MaxNameLen is the longest item name accepted, in bytes: every name the
// vocabulary accepts (MaxItemNameRunes runes) fits, so no registry row
// that passed the import is refused here.
const MaxNameLen = vocab.MaxItemNameRunes * utf8.UTFMax

// Issue types: the buyer's entry for issue_type, in the schema's form
// (vocab owns them and their other spellings).
const (
	IssueNone              = vocab.IssueNone
	IssueMissingItem       = vocab.IssueMissingItem
	IssueWrongItem         = vocab.IssueWrongItem
	IssueDamagedCosmetic   = vocab.IssueDamagedCosmetic
	IssueDamagedFunctional = vocab.IssueDamagedFunctional
)

// IssueTypes lists the issue types a buyer may enter, "" (none) first.
var IssueTypes = vocab.IssueTypes

// ParseIssueType returns the schema form of an issue type in any of the
// forms vocab.ParseIssueType accepts, after trimming and lower-casing a
// typed entry; the error wraps ErrInvalidInput.
func ParseIssueType(s string) (string, error) {
	v, err := vocab.ParseIssueType(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return v, nil
}

// Exterior conditions: the buyer's note on the outer box before opening it
// (seed, "Verify Integrity"); vocab owns them.
const (
	ExteriorUnknown = vocab.ExteriorUnknown
	ExteriorIntact  = vocab.ExteriorIntact
	ExteriorCrushed = vocab.ExteriorCrushed
	ExteriorWet     = vocab.ExteriorWet
	ExteriorRetaped = vocab.ExteriorRetaped
	ExteriorTorn    = vocab.ExteriorTorn
)

// ExteriorConditions lists the accepted exterior conditions, "" first.
var ExteriorConditions = append([]string{ExteriorUnknown}, vocab.Exteriors...)

// ParseExteriorCondition trims and lower-cases a typed entry and refuses
// anything vocab.ParseExterior refuses; the error wraps ErrInvalidInput.
func ParseExteriorCondition(s string) (string, error) {
	v, err := vocab.ParseExterior(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return v, nil
}

// Params are the tolerance settings, from config section verdict.
type Params struct {
	// ToleranceG is the absolute part of t, in grams.
	ToleranceG float64
	// TolerancePct is the relative part of t, in percent of the label
	// weight (1 means 1 %).
	TolerancePct float64
	// LabelResolutionG is the carrier's rounding step r, used when an Input
	// does not name its own.
	LabelResolutionG float64
	// UnknownItemsSharePct: with no usable item list, a deficit above this
	// percentage of the label weight is tier 3, at or below it tier 2.
	UnknownItemsSharePct float64
}

// ParamsFrom takes Params from the configuration's verdict section.
func ParamsFrom(c config.Verdict) Params {
	return Params{
		ToleranceG:           c.ToleranceG,
		TolerancePct:         c.TolerancePct,
		LabelResolutionG:     c.LabelResolutionG,
		UnknownItemsSharePct: c.UnknownItemsSharePct,
	}
}

// DefaultParams are the shipped defaults (config.Default().Verdict).
func DefaultParams() Params { return ParamsFrom(config.Default().Verdict) }

// Validate reports every out-of-range parameter, each wrapping
// ErrInvalidParams. The ranges are those of the configuration.
func (p Params) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi float64, loOpen bool) {
		if !finite(v) || v < lo || (loOpen && v == lo) || v > hi {
			op := ">="
			if loOpen {
				op = ">"
			}
			errs = append(errs, fmt.Errorf("%w: %s must be %s %g and <= %g, got %v", ErrInvalidParams, name, op, lo, hi, v))
		}
	}
	check("tolerance_g", p.ToleranceG, 0, 10000, false)
	check("tolerance_pct", p.TolerancePct, 0, 50, false)
	check("label_resolution_g", p.LabelResolutionG, 0, 10000, false)
	check("unknown_items_share_pct", p.UnknownItemsSharePct, 0, 100, true)
	return errors.Join(errs...)
}

// Item is one entry of the agent's per-item list: the one item type of the
// registry, the MQTT parcel command and the verdict.
type Item struct {
	// Name is shown to the seller as given (any language).
	Name string `json:"name"`
	// WeightG is the item's weight in grams, as the agent weighed it.
	WeightG float64 `json:"weight_g"`
}

// Input is one weigh-in and the buyer's entries.
type Input struct {
	// LabelG is the weight printed on the shipping label; nil when unknown.
	LabelG *float64
	// LabelResolutionG is the carrier's rounding step for this parcel; nil
	// uses Params.LabelResolutionG.
	LabelResolutionG *float64
	// MeasuredG is the frozen weigh-in of the unopened parcel.
	MeasuredG float64
	// MeasuredStable tells whether the weigh-in was stable when frozen.
	MeasuredStable bool
	// Items is the agent's per-item list; empty when unknown. At most
	// MaxItems.
	Items []Item
	// ExteriorCondition is one of ExteriorConditions.
	ExteriorCondition string
	// IssueType is one of IssueTypes.
	IssueType string
	// TierOverride, when set, replaces the computed tier (0–3): the buyer's
	// own judgement of severity.
	TierOverride *int
}

// Basis names the rule that decided the weight-based part of the tier.
type Basis string

// Bases, one per row of the tier table that a weigh-in can reach.
const (
	BasisNoClaim         Basis = "no_claim"          // match, overweight or no label weight
	BasisEmpty           Basis = "empty"             // measured ≈ packaging alone
	BasisWholeItems      Basis = "whole_items"       // one or more whole items explain the deficit
	BasisBelowLightest   Basis = "below_lightest"    // deficit smaller than the lightest item
	BasisShareOfLabel    Basis = "share_of_label"    // items unknown (or unexplained): share rule
	BasisUnexplainedPart Basis = "unexplained_items" // items known, no whole-item explanation: share rule
)

// Outcome is what Evaluate decides. Apply copies the schema fields into a
// result.Result; the rest helps the station and the dispute text.
type Outcome struct {
	LabelG           *float64
	LabelResolutionG float64
	MeasuredG        float64
	MeasuredStable   bool
	// DeltaG is measured − label; DeltaPct the same in percent of the
	// label. Both nil without a label weight.
	DeltaG   *float64
	DeltaPct *float64
	// ToleranceG is t; BandLowG and BandHighG the band (zero without a
	// label weight).
	ToleranceG float64
	BandLowG   float64
	BandHighG  float64

	Verdict string
	Tier    int
	// WeightTier is the tier the weigh-in alone supports; IssueTier the one
	// the buyer's issue type supports. Tier is their maximum unless
	// overridden.
	WeightTier int
	IssueTier  int
	Overridden bool
	Basis      Basis

	// MissingCandidates are the item sets within the band, best first
	// (smallest |residual|), at most MaxCandidates.
	MissingCandidates []result.MissingCandidate
	// Ambiguous is true when two or more candidates are within half the
	// tolerance of each other: the weigh-in cannot tell them apart.
	Ambiguous bool

	ExteriorCondition string
	IssueType         string

	// Summary is a one-line English statement for dashboards and logs, such
	// as "underweight by 510 g — most likely missing: Leather jacket (505 g)".
	Summary string
	// Warnings are facts about the inputs worth a log line (items heavier
	// than the label, items too light to detect).
	Warnings []string
}

// Apply writes the verdict fields of o into r (label, measured, delta,
// tolerance, verdict, tier, candidates, exterior condition, issue type).
func (o Outcome) Apply(r *result.Result) {
	r.LabelG = o.LabelG
	r.LabelResolutionG = o.LabelResolutionG
	r.MeasuredG = o.MeasuredG
	r.MeasuredStable = o.MeasuredStable
	r.DeltaG = o.DeltaG
	r.DeltaPct = o.DeltaPct
	r.ToleranceG = o.ToleranceG
	r.Verdict = o.Verdict
	r.Tier = o.Tier
	r.MissingCandidates = append([]result.MissingCandidate(nil), o.MissingCandidates...)
	if r.MissingCandidates == nil {
		r.MissingCandidates = []result.MissingCandidate{}
	}
	r.ExteriorCondition = o.ExteriorCondition
	r.IssueType = o.IssueType
}

// Tolerance returns t = max(ToleranceG, TolerancePct % × label).
func (p Params) Tolerance(labelG float64) float64 {
	return math.Max(p.ToleranceG, p.TolerancePct/100*labelG)
}

// Band returns the tolerance band [label − r − t, label + t] and t.
func (p Params) Band(labelG, resolutionG float64) (lo, hi, t float64) {
	t = p.Tolerance(labelG)
	return labelG - resolutionG - t, labelG + t, t
}

// Evaluate validates in against p and decides the verdict, candidates and
// tier. Every invalid field is reported at once (errors.Join), each error
// wrapping ErrInvalidInput, ErrInvalidParams or ErrTooManyItems.
func Evaluate(p Params, in Input) (Outcome, error) {
	if err := p.Validate(); err != nil {
		return Outcome{}, err
	}
	issue, exterior, err := validate(p, in)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{
		MeasuredG:         round2(in.MeasuredG),
		MeasuredStable:    in.MeasuredStable,
		ExteriorCondition: exterior,
		IssueType:         issue,
		Verdict:           result.VerdictNoLabelWeight,
		Basis:             BasisNoClaim,
		MissingCandidates: []result.MissingCandidate{},
	}
	r := p.LabelResolutionG
	if in.LabelResolutionG != nil {
		r = *in.LabelResolutionG
	}
	var itemsSum, lightest float64
	for i, it := range in.Items {
		itemsSum += it.WeightG
		if i == 0 || it.WeightG < lightest {
			lightest = it.WeightG
		}
	}

	if in.LabelG == nil {
		o.Summary = fmt.Sprintf("no label weight — %s g measured", wholeGrams(in.MeasuredG))
	} else {
		label := *in.LabelG
		lo, hi, t := p.Band(label, r)
		o.LabelG = ptr(label)
		o.LabelResolutionG = r
		o.ToleranceG = round2(t)
		o.BandLowG, o.BandHighG = round2(lo), round2(hi)
		delta := in.MeasuredG - label
		o.DeltaG = ptr(round2(delta))
		o.DeltaPct = ptr(round2(delta / label * 100))
		if len(in.Items) > 0 && itemsSum > hi {
			o.Warnings = append(o.Warnings, fmt.Sprintf("the items add up to %s g, more than the label allows (%s g): the item list or the label is wrong", grams(itemsSum), grams(hi)))
		}
		if len(in.Items) > 0 && lightest < r+2*t {
			o.Warnings = append(o.Warnings, fmt.Sprintf("the lightest item (%s g) is lighter than the band is wide (%s g): it could be missing unnoticed", grams(lightest), grams(r+2*t)))
		}
		switch {
		case in.MeasuredG > hi:
			o.Verdict = result.VerdictOverweight
			o.Summary = fmt.Sprintf("overweight by %s g — possibly a wrong item; check the contents", wholeGrams(delta))
		case in.MeasuredG >= lo:
			o.Verdict = result.VerdictMatch
			o.Summary = fmt.Sprintf("match — %s g measured, label %s g", wholeGrams(in.MeasuredG), wholeGrams(label))
		default:
			deficit := label - in.MeasuredG
			cands := infer(in.Items, deficit, deficit-r-t, deficit+t, MaxCandidates)
			o.MissingCandidates = publicCandidates(in.Items, cands)
			o.Ambiguous = ambiguous(o.MissingCandidates, t)
			allIn := len(in.Items) > 0 && itemsSum >= deficit-r-t && itemsSum <= deficit+t
			switch {
			case allIn:
				o.Verdict = result.VerdictEmpty
				o.WeightTier, o.Basis = 3, BasisEmpty
				o.Summary = fmt.Sprintf("empty — %s g measured, about the packaging alone (%s g)", wholeGrams(in.MeasuredG), wholeGrams(label-itemsSum))
			case len(cands) > 0:
				o.Verdict = result.VerdictUnderweight
				o.WeightTier, o.Basis = 3, BasisWholeItems
				if o.Ambiguous {
					o.Summary = fmt.Sprintf("underweight by %s g — ambiguous, missing either %s", wholeGrams(deficit), alternativesEN(ambiguousSet(o.MissingCandidates, t)))
				} else {
					o.Summary = fmt.Sprintf("underweight by %s g — most likely missing: %s", wholeGrams(deficit), itemsEN(o.MissingCandidates[0]))
				}
			case len(in.Items) > 0 && deficit < lightest:
				o.Verdict = result.VerdictUnderweight
				o.WeightTier, o.Basis = 2, BasisBelowLightest
				o.Summary = fmt.Sprintf("underweight by %s g — less than the lightest item (%s g): a part may be missing", wholeGrams(deficit), wholeGrams(lightest))
			default:
				o.Verdict = result.VerdictUnderweight
				share := deficit / label * 100
				o.Basis = BasisShareOfLabel
				if len(in.Items) > 0 {
					o.Basis = BasisUnexplainedPart
				}
				o.WeightTier = 2
				if share > p.UnknownItemsSharePct {
					o.WeightTier = 3
				}
				what := "items unknown"
				if len(in.Items) > 0 {
					what = "no set of whole items explains it"
				}
				o.Summary = fmt.Sprintf("underweight by %s g (%s %% of the label) — %s", wholeGrams(deficit), oneDecimal(share), what)
			}
		}
	}

	o.IssueTier = issueTier(issue, o.WeightTier)
	o.Tier = max(o.WeightTier, o.IssueTier)
	if in.TierOverride != nil {
		o.Tier = *in.TierOverride
		o.Overridden = true
	}
	return o, nil
}

// issueTier is the tier the buyer's issue type supports on its own.
func issueTier(issue string, weightTier int) int {
	switch issue {
	case IssueWrongItem:
		return 3
	case IssueDamagedFunctional:
		return 2
	case IssueDamagedCosmetic:
		return 1
	case IssueMissingItem:
		// The weigh-in sizes a missing item; when it cannot see one (the
		// weight matches), what is missing is lighter than the tolerance:
		// a component or accessory, tier 2.
		if weightTier > 0 {
			return weightTier
		}
		return 2
	}
	return 0
}

func validate(p Params, in Input) (issue, exterior string, err error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...))
	}
	weight := func(name string, v, least float64) {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			bad("%s must be a finite number, got %v", name, v)
		case v <= 0:
			bad("%s must be greater than 0 g, got %v", name, v)
		case v < least:
			bad("%s must be at least %g g, got %v", name, least, v)
		case v > MaxWeightG:
			bad("%s of %v g is beyond the %d g limit (a unit error?)", name, v, MaxWeightG)
		}
	}
	weight("measured_g", in.MeasuredG, MinParcelG)
	if in.LabelG != nil {
		weight("label_g", *in.LabelG, MinParcelG)
	}
	r := p.LabelResolutionG
	if in.LabelResolutionG != nil {
		r = *in.LabelResolutionG
		if !finite(r) || r < 0 || r > 10000 {
			bad("label_resolution_g must be between 0 and 10000 g, got %v", r)
		}
	}
	if in.LabelG != nil && finite(*in.LabelG) && *in.LabelG > 0 && finite(r) && r >= *in.LabelG {
		bad("label_resolution_g (%v g) must be smaller than label_g (%v g)", r, *in.LabelG)
	}
	if len(in.Items) > MaxItems {
		errs = append(errs, fmt.Errorf("%w: %d items, at most %d can be weighed against the label (merge small items into one entry)", ErrTooManyItems, len(in.Items), MaxItems))
	}
	for i, it := range in.Items {
		name := strings.TrimSpace(it.Name)
		switch {
		case name == "":
			bad("items[%d]: name must not be empty", i)
		case len(it.Name) > MaxNameLen:
			bad("items[%d]: name is %d bytes, at most %d", i, len(it.Name), MaxNameLen)
		case vocab.HasRefused(it.Name):
			bad("items[%d]: name %q contains control or invisible characters", i, it.Name)
		}
		weight(fmt.Sprintf("items[%d] (%s) weight", i, name), it.WeightG, 0)
	}
	issue, e := ParseIssueType(in.IssueType)
	if e != nil {
		errs = append(errs, e)
	}
	exterior, e = ParseExteriorCondition(in.ExteriorCondition)
	if e != nil {
		errs = append(errs, e)
	}
	if in.TierOverride != nil && (*in.TierOverride < 0 || *in.TierOverride > 3) {
		bad("tier override must be 0 to 3, got %d", *in.TierOverride)
	}
	return issue, exterior, errors.Join(errs...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func ptr(v float64) *float64 { return &v }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// grams formats a weight for people: whole grams when the value is within
// 0.05 g of one, else one decimal.
// wholeGrams formats a weight for the one-line summary, to the gram: a
// scale that settles within about a gram should not show 509.9 g one day
// and 510.1 g the next for the same parcel.
func wholeGrams(v float64) string {
	r := math.Round(v)
	if r == 0 {
		r = 0 // no "-0"
	}
	return fmt.Sprintf("%.0f", r)
}

func grams(v float64) string {
	r := math.Round(v*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	if r == math.Trunc(r) {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

func oneDecimal(v float64) string { return fmt.Sprintf("%.1f", v) }
