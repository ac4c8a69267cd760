package verdict

import (
	"slices"

	"weighin/internal/result"
)

// Reevaluate applies a buyer's later issue type and tier override to a
// sealed result, as `weighctl dispute --issue/--tier` asks. With the
// parcel's items the whole verdict is evaluated again; without them the
// weigh-in fields stay as sealed and only the tier is decided again: the
// larger of the tier the sealed weigh-in supported and the issue's tier, or
// the override. res is not changed.
func Reevaluate(p Params, res result.Result, items []Item, issue string, tierOverride *int) (result.Result, error) {
	res.MissingCandidates = slices.Clone(res.MissingCandidates)
	// The sealed resolution is kept, and where it came from.
	var resolution *float64
	if res.LabelResolutionFrom == result.ResolutionFromParcel || res.LabelResolutionG != p.LabelResolutionG {
		r := res.LabelResolutionG
		resolution = &r
	}
	o, err := Evaluate(p, Input{LabelG: res.LabelG, LabelResolutionG: resolution, MeasuredG: res.MeasuredG,
		MeasuredStable: res.MeasuredStable, Items: items, ExteriorCondition: res.ExteriorCondition,
		IssueType: issue, TierOverride: tierOverride})
	if err != nil {
		return res, err
	}
	if len(items) > 0 {
		from := res.LabelResolutionFrom
		o.Apply(&res)
		res.LabelResolutionFrom = from
		return res, nil
	}
	res.IssueType = o.IssueType
	res.Tier = max(sealedWeightTier(res, o.WeightTier), o.IssueTier)
	if tierOverride != nil {
		res.Tier = *tierOverride
	}
	return res, nil
}

// sealedWeightTier is the tier a sealed weigh-in supported, decided from
// its verdict and candidates when the items are no longer known; fromLabel
// is the share rule's tier (the only one the label weight alone decides).
func sealedWeightTier(res result.Result, fromLabel int) int {
	switch {
	case res.Verdict == result.VerdictEmpty,
		res.Verdict == result.VerdictUnderweight && len(res.MissingCandidates) > 0:
		return 3
	case res.Verdict != result.VerdictUnderweight:
		return 0
	}
	return fromLabel
}
