package verdict

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"weighin/internal/result"
)

func f(v float64) *float64 { return &v }
func i(v int) *int         { return &v }

// demoItems is the agent's list of the demo parcel.
var demoItems = []Item{{"Leather jacket", 505}, {"Sneakers", 1120}, {"Belt", 210}}

// TestEvaluate is the verdict table: each row is one rule of "Tolerance and
// tiers". Defaults: tolerance 20 g or 1 %, resolution 10 g, share 25 %.
func TestEvaluate(t *testing.T) {
	p := DefaultParams()
	tests := []struct {
		name      string
		in        Input
		verdict   string
		tier      int
		basis     Basis
		cands     [][]string // item names of the candidates, best first
		ambiguous bool
		summary   string // exact when set
	}{
		{
			name:    "exact match",
			in:      Input{LabelG: f(2350), MeasuredG: 2350, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictMatch, tier: 0, basis: BasisNoClaim,
			summary: "match — 2350 g measured, label 2350 g",
		},
		{
			// Label 2350 with r = 10: the true weight may be as low as 2340.01;
			// t = 23.5, so the band starts at 2316.5.
			name:    "label rounding: 2317 g is still a match",
			in:      Input{LabelG: f(2350), MeasuredG: 2317, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictMatch, tier: 0, basis: BasisNoClaim,
		},
		{
			name:    "label rounding: without it 2317 g would be under the band",
			in:      Input{LabelG: f(2350), LabelResolutionG: f(0), MeasuredG: 2317, MeasuredStable: true},
			verdict: result.VerdictUnderweight, tier: 2, basis: BasisShareOfLabel,
		},
		{
			name:    "label rounding: the upper edge does not widen",
			in:      Input{LabelG: f(2350), MeasuredG: 2374, MeasuredStable: true},
			verdict: result.VerdictOverweight, tier: 0, basis: BasisNoClaim,
		},
		{
			name:    "one item missing among several: the demo",
			in:      Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands:   [][]string{{"Leather jacket"}},
			summary: "underweight by 510 g — most likely missing: Leather jacket (505 g)",
		},
		{
			name: "one item missing: the right one first among near misses",
			in: Input{LabelG: f(3000), MeasuredG: 2600, MeasuredStable: true, Items: []Item{
				{"Hoodie", 402}, {"Cap", 95}, {"Watch", 330}, {"Wallet", 150}, {"Jeans", 640}, {"Socks", 45},
			}},
			// deficit 400, band for a set: [400-10-30, 400+30] = [360, 430];
			// Cap+Watch (425) and Watch+Socks (375) fit too, 25 g off.
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands: [][]string{{"Hoodie"}, {"Cap", "Watch"}, {"Watch", "Socks"}},
		},
		{
			name: "two items missing",
			in: Input{LabelG: f(2350), MeasuredG: 1020, MeasuredStable: true, Items: []Item{
				{"Leather jacket", 505}, {"Sneakers", 1120}, {"Belt", 210}, {"Scarf", 180},
			}},
			// deficit 1330 = Sneakers + Belt
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands:   [][]string{{"Sneakers", "Belt"}},
			summary: "underweight by 1330 g — most likely missing: Sneakers and Belt (1330 g in total)",
		},
		{
			name: "ambiguity: two items of nearly the same weight",
			in: Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: []Item{
				{"Leather jacket", 505}, {"Wallet", 515}, {"Sneakers", 1120},
			}},
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands:     [][]string{{"Leather jacket"}, {"Wallet"}},
			ambiguous: true,
			summary:   "underweight by 510 g — ambiguous, missing either Leather jacket (505 g) or Wallet (515 g)",
		},
		{
			name: "no ambiguity: the runner-up is more than t/2 further off",
			in: Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: []Item{
				{"Leather jacket", 505}, {"Wallet", 530}, {"Sneakers", 1120},
			}},
			// |res| 5 and 20: 15 > t/2 = 11.75
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands: [][]string{{"Leather jacket"}, {"Wallet"}},
		},
		{
			name:    "empty parcel: only the packaging is left",
			in:      Input{LabelG: f(2350), MeasuredG: 520, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictEmpty, tier: 3, basis: BasisEmpty,
			cands:   [][]string{{"Leather jacket", "Sneakers", "Belt"}},
			summary: "empty — 520 g measured, about the packaging alone (515 g)",
		},
		{
			name:    "underweight below the lightest item: a part is missing",
			in:      Input{LabelG: f(2350), MeasuredG: 2250, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictUnderweight, tier: 2, basis: BasisBelowLightest,
		},
		{
			name:    "items unknown, deficit below the share",
			in:      Input{LabelG: f(2350), MeasuredG: 2000, MeasuredStable: true},
			verdict: result.VerdictUnderweight, tier: 2, basis: BasisShareOfLabel,
			summary: "underweight by 350 g (14.9 % of the label) — items unknown",
		},
		{
			name:    "items unknown, deficit above the share",
			in:      Input{LabelG: f(2350), MeasuredG: 1500, MeasuredStable: true},
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisShareOfLabel,
		},
		{
			name:    "items known but no whole set explains the deficit: share rule",
			in:      Input{LabelG: f(2350), MeasuredG: 2000, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictUnderweight, tier: 2, basis: BasisUnexplainedPart,
		},
		{
			name:    "overweight: no claim by itself, a hint to check for a wrong item",
			in:      Input{LabelG: f(2350), MeasuredG: 2530, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictOverweight, tier: 0, basis: BasisNoClaim,
			summary: "overweight by 180 g — possibly a wrong item; check the contents",
		},
		{
			name:    "overweight and the buyer saw a wrong item",
			in:      Input{LabelG: f(2350), MeasuredG: 2530, MeasuredStable: true, IssueType: IssueWrongItem},
			verdict: result.VerdictOverweight, tier: 3, basis: BasisNoClaim,
		},
		{
			name:    "no label weight",
			in:      Input{MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
			verdict: result.VerdictNoLabelWeight, tier: 0, basis: BasisNoClaim,
			summary: "no label weight — 1840 g measured",
		},
		{
			name:    "damage chosen by the buyer: cosmetic",
			in:      Input{LabelG: f(2350), MeasuredG: 2348, MeasuredStable: true, IssueType: IssueDamagedCosmetic},
			verdict: result.VerdictMatch, tier: 1, basis: BasisNoClaim,
		},
		{
			name:    "damage chosen by the buyer: functional",
			in:      Input{LabelG: f(2350), MeasuredG: 2348, MeasuredStable: true, IssueType: "Damaged_Functional "},
			verdict: result.VerdictMatch, tier: 2, basis: BasisNoClaim,
		},
		{
			name:    "missing item the scale cannot see: tier 2",
			in:      Input{LabelG: f(2350), MeasuredG: 2348, MeasuredStable: true, IssueType: IssueMissingItem},
			verdict: result.VerdictMatch, tier: 2, basis: BasisNoClaim,
		},
		{
			name:    "cosmetic damage does not lower a missing-item claim",
			in:      Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems, IssueType: IssueDamagedCosmetic},
			verdict: result.VerdictUnderweight, tier: 3, basis: BasisWholeItems,
			cands: [][]string{{"Leather jacket"}},
		},
		{
			name:    "severity override by the buyer",
			in:      Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems, TierOverride: i(2)},
			verdict: result.VerdictUnderweight, tier: 2, basis: BasisWholeItems,
			cands: [][]string{{"Leather jacket"}},
		},
		{
			name:    "percent tolerance for a heavy parcel: 1 % of 10 kg is 100 g",
			in:      Input{LabelG: f(10000), MeasuredG: 9895, MeasuredStable: true},
			verdict: result.VerdictMatch, tier: 0, basis: BasisNoClaim,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Evaluate(p, tc.in)
			if err != nil {
				t.Fatalf("Evaluate(%+v): %v", tc.in, err)
			}
			if o.Verdict != tc.verdict || o.Tier != tc.tier || o.Basis != tc.basis {
				t.Errorf("got verdict %q tier %d basis %q, want %q %d %q (summary %q)", o.Verdict, o.Tier, o.Basis, tc.verdict, tc.tier, tc.basis, o.Summary)
			}
			var got [][]string
			for _, c := range o.MissingCandidates {
				got = append(got, c.Items)
			}
			if len(got) > len(tc.cands) {
				got = got[:len(tc.cands)]
			}
			if diff := cmp.Diff(tc.cands, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s\nall: %+v", diff, o.MissingCandidates)
			}
			if o.Ambiguous != tc.ambiguous {
				t.Errorf("ambiguous = %v, want %v (%+v)", o.Ambiguous, tc.ambiguous, o.MissingCandidates)
			}
			if tc.summary != "" && o.Summary != tc.summary {
				t.Errorf("summary = %q, want %q", o.Summary, tc.summary)
			}
		})
	}
}

func TestEvaluateFigures(t *testing.T) {
	o, err := Evaluate(DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems})
	if err != nil {
		t.Fatal(err)
	}
	var r result.Result
	o.Apply(&r)
	want := result.Result{
		LabelG: f(2350), LabelResolutionG: 10, MeasuredG: 1840, MeasuredStable: true,
		DeltaG: f(-510), DeltaPct: f(-21.7), ToleranceG: 23.5,
		Verdict: result.VerdictUnderweight, Tier: 3,
		MissingCandidates: []result.MissingCandidate{{Items: []string{"Leather jacket"}, TotalG: 505, ResidualG: 5}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if o.BandLowG != 2316.5 || o.BandHighG != 2373.5 {
		t.Errorf("band = [%v, %v], want [2316.5, 2373.5]", o.BandLowG, o.BandHighG)
	}
}

// TestEvaluateRefuses: nonsense never reaches a verdict; each error names
// the field and wraps a sentinel.
func TestEvaluateRefuses(t *testing.T) {
	many := make([]Item, MaxItems+1)
	for k := range many {
		many[k] = Item{"x", 10}
	}
	tests := []struct {
		name string
		p    Params
		in   Input
		is   error
		msg  string
	}{
		{"zero measured", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 0}, ErrInvalidInput, "measured_g must be greater than 0 g, got 0"},
		{"negative measured", DefaultParams(), Input{LabelG: f(2350), MeasuredG: -5}, ErrInvalidInput, "measured_g must be greater than 0 g, got -5"},
		{"NaN measured", DefaultParams(), Input{LabelG: f(2350), MeasuredG: math.NaN()}, ErrInvalidInput, "measured_g must be a finite number, got NaN"},
		{"Inf measured", DefaultParams(), Input{LabelG: f(2350), MeasuredG: math.Inf(1)}, ErrInvalidInput, "measured_g must be a finite number, got +Inf"},
		{"a measured weight of no parcel", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 0.004}, ErrInvalidInput, "measured_g must be at least 1 g, got 0.004"},
		{"absurd measured", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 5e6}, ErrInvalidInput, "measured_g of 5e+06 g is beyond the 200000 g limit"},
		{"zero label", DefaultParams(), Input{LabelG: f(0), MeasuredG: 100}, ErrInvalidInput, "label_g must be greater than 0 g, got 0"},
		{"negative label", DefaultParams(), Input{LabelG: f(-2350), MeasuredG: 100}, ErrInvalidInput, "label_g must be greater than 0 g, got -2350"},
		{"NaN label", DefaultParams(), Input{LabelG: f(math.NaN()), MeasuredG: 100}, ErrInvalidInput, "label_g must be a finite number, got NaN"},
		{"absurd label", DefaultParams(), Input{LabelG: f(1e12), MeasuredG: 100}, ErrInvalidInput, "label_g of 1e+12 g is beyond"},
		{"resolution above label", DefaultParams(), Input{LabelG: f(50), LabelResolutionG: f(100), MeasuredG: 40}, ErrInvalidInput, "label_resolution_g (100 g) must be smaller than label_g (50 g)"},
		{"negative resolution", DefaultParams(), Input{LabelG: f(50), LabelResolutionG: f(-1), MeasuredG: 40}, ErrInvalidInput, "label_resolution_g must be between 0 and 10000 g, got -1"},
		{"zero item", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, Items: []Item{{"Belt", 0}}}, ErrInvalidInput, "items[0] (Belt) weight must be greater than 0 g, got 0"},
		{"NaN item", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, Items: []Item{{"Belt", 1}, {"Hat", math.NaN()}}}, ErrInvalidInput, "items[1] (Hat) weight must be a finite number, got NaN"},
		{"nameless item", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, Items: []Item{{" ", 100}}}, ErrInvalidInput, "items[0]: name must not be empty"},
		{"control characters in a name", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, Items: []Item{{"Be\nlt", 100}}}, ErrInvalidInput, "contains control or invisible characters"},
		{"too many items", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, Items: many}, ErrTooManyItems, "25 items, at most 24"},
		{"unknown issue", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, IssueType: "angry"}, ErrInvalidInput, `issue type "angry" is not one of`},
		{"unknown exterior", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, ExteriorCondition: "soggy"}, ErrInvalidInput, `exterior condition "soggy" is not one of`},
		{"tier override out of range", DefaultParams(), Input{LabelG: f(2350), MeasuredG: 1840, TierOverride: i(4)}, ErrInvalidInput, "tier override must be 0 to 3, got 4"},
		{"negative tolerance", Params{ToleranceG: -1, LabelResolutionG: 10, UnknownItemsSharePct: 25}, Input{LabelG: f(2350), MeasuredG: 1840}, ErrInvalidParams, "tolerance_g must be >= 0 and <= 10000, got -1"},
		{"NaN tolerance pct", Params{TolerancePct: math.NaN(), UnknownItemsSharePct: 25}, Input{LabelG: f(2350), MeasuredG: 1840}, ErrInvalidParams, "tolerance_pct must be >= 0 and <= 50, got NaN"},
		{"zero share", Params{ToleranceG: 20}, Input{LabelG: f(2350), MeasuredG: 1840}, ErrInvalidParams, "unknown_items_share_pct must be > 0 and <= 100, got 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Evaluate(tc.p, tc.in)
			if err == nil {
				t.Fatalf("Evaluate(%+v) = %+v, want an error", tc.in, o)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestEvaluateReportsEveryProblem(t *testing.T) {
	_, err := Evaluate(DefaultParams(), Input{LabelG: f(-1), MeasuredG: math.NaN(), Items: []Item{{"", 0}}})
	for _, want := range []string{"measured_g", "label_g", "items[0]: name", "items[0] () weight"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestParsers(t *testing.T) {
	for in, want := range map[string]string{"": "", "none": "", " Wrong_Item": "wrong_item", "damaged_cosmetic": "damaged_cosmetic",
		"missing item": "missing_item", "wrong item": "wrong_item", "damaged item": "damaged_functional",
		"Damaged item (cosmetic)": "damaged_cosmetic"} {
		if got, err := ParseIssueType(in); err != nil || got != want {
			t.Errorf("ParseIssueType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"": "", "Crushed": "crushed", "retaped ": "retaped"} {
		if got, err := ParseExteriorCondition(in); err != nil || got != want {
			t.Errorf("ParseExteriorCondition(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSolution("money back now"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("ParseSolution accepted nonsense: %v", err)
	}
	if s, err := ParseSolution(" Full_Refund"); err != nil || s != SolutionFullRefund {
		t.Errorf("ParseSolution(full_refund) = %q, %v", s, err)
	}
}

func TestFormatTimestamp(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want string
	}{{0, "0:00"}, {45, "0:45"}, {45.99, "0:45"}, {60, "1:00"}, {754.2, "12:34"}, {4503, "75:03"}, {-3, "0:00"}, {math.NaN(), "0:00"}} {
		if got := FormatTimestamp(tc.s); got != tc.want {
			t.Errorf("FormatTimestamp(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestEvaluateWarnings(t *testing.T) {
	o, err := Evaluate(DefaultParams(), Input{LabelG: f(1000), MeasuredG: 990, MeasuredStable: true, Items: []Item{{"Boots", 1500}, {"Laces", 8}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Warnings) != 2 || !strings.Contains(o.Warnings[0], "add up to 1508 g") || !strings.Contains(o.Warnings[1], "lightest item (8 g)") {
		t.Errorf("warnings %q, want the item list to be flagged twice", o.Warnings)
	}
}
