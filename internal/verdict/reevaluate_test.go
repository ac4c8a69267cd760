package verdict

import (
	"testing"

	"weighin/internal/result"
)

func TestReevaluate(t *testing.T) {
	label := 2350.0
	items := []Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}
	o, err := Evaluate(DefaultParams(), Input{LabelG: &label, MeasuredG: 1840, MeasuredStable: true, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	var sealed result.Result
	o.Apply(&sealed)
	match := result.Result{Verdict: result.VerdictMatch, LabelG: &label, MeasuredG: 2348, MeasuredStable: true, LabelResolutionG: 10}
	two := 2
	tests := []struct {
		name     string
		res      result.Result
		items    []Item
		issue    string
		override *int
		tier     int
		verdict  string
	}{
		{"items known: evaluated again", sealed, items, IssueMissingItem, nil, 3, result.VerdictUnderweight},
		{"items unknown: whole-item candidates keep tier 3", sealed, nil, IssueDamagedCosmetic, nil, 3, result.VerdictUnderweight},
		{"match, cosmetic damage", match, nil, IssueDamagedCosmetic, nil, 1, result.VerdictMatch},
		{"match, wrong item", match, nil, IssueWrongItem, nil, 3, result.VerdictMatch},
		{"the buyer's override wins", sealed, nil, IssueMissingItem, &two, 2, result.VerdictUnderweight},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.res.MissingCandidates)
			got, err := Reevaluate(DefaultParams(), tc.res, tc.items, tc.issue, tc.override)
			if err != nil {
				t.Fatal(err)
			}
			if got.Tier != tc.tier || got.Verdict != tc.verdict || got.IssueType != tc.issue {
				t.Errorf("Reevaluate = tier %d, %s, issue %q; want tier %d, %s, %q", got.Tier, got.Verdict, got.IssueType, tc.tier, tc.verdict, tc.issue)
			}
			if len(tc.res.MissingCandidates) != before {
				t.Error("Reevaluate changed the sealed result's candidates")
			}
		})
	}
	if _, err := Reevaluate(DefaultParams(), sealed, nil, "late", nil); err == nil {
		t.Error("Reevaluate accepted an unknown issue type")
	}
}
