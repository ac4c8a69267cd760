package verdict

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"weighin/internal/result"
)

// itemsFrom builds up to maxN items with unique names from fuzz bytes:
// two bytes per item, weights 0.1 g to 3276.8 g in 0.1 g steps.
func itemsFrom(data []byte, maxN int) []Item {
	var items []Item
	for k := 0; k+1 < len(data) && len(items) < maxN; k += 2 {
		w := float64(int(data[k])<<8|int(data[k+1])) / 20
		if w == 0 {
			w = 0.1
		}
		items = append(items, Item{Name: fmt.Sprintf("item%02d", len(items)), WeightG: w})
	}
	return items
}

// bruteForce lists every subset in [lo, hi] with its exact residual.
func bruteForce(items []Item, deficit, lo, hi float64) []float64 {
	var res []float64
	for m := 1; m < 1<<len(items); m++ {
		var total float64
		for k := range items {
			if m&(1<<k) != 0 {
				total += items[k].WeightG
			}
		}
		if total >= lo && total <= hi {
			res = append(res, math.Abs(deficit-total))
		}
	}
	slices.Sort(res)
	return res
}

// FuzzInfer checks the inference against its invariants and, for short
// lists, against brute force: candidates sorted by |residual|, every one
// within the band, totals equal to the sums of their items, no set twice,
// and nothing better left out.
func FuzzInfer(f *testing.F) {
	f.Add([]byte{0x27, 0x74, 0x57, 0x80, 0x10, 0x68}, 510.0, 10.0, 23.5) // the demo: 505, 1120, 210 g
	f.Add([]byte{0x27, 0x74, 0x28, 0x3c, 0x57, 0x80}, 510.0, 10.0, 23.5) // ambiguity
	f.Add([]byte{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}, 38.4, 0.0, 1.0)    // identical items
	f.Add([]byte{}, 100.0, 10.0, 20.0)
	f.Fuzz(func(t *testing.T, data []byte, deficit, r, tol float64) {
		items := itemsFrom(data, 14)
		cs, err := Infer(items, deficit, r, tol)
		if !finite(deficit) || !finite(r) || !finite(tol) || deficit < 0 || r < 0 || tol < 0 || deficit > MaxWeightG || r > MaxWeightG || tol > MaxWeightG {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Infer(deficit %v, r %v, t %v) = %v, %v; want ErrInvalidInput", deficit, r, tol, cs, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Infer: %v", err)
		}
		lo, hi := deficit-r-tol, deficit+tol
		byName := map[string]float64{}
		for _, it := range items {
			byName[it.Name] = it.WeightG
		}
		if len(cs) > MaxCandidates {
			t.Fatalf("%d candidates, at most %d", len(cs), MaxCandidates)
		}
		seen := map[string]bool{}
		for k, c := range cs {
			var sum float64
			idx := -1
			for _, n := range c.Items {
				w, ok := byName[n]
				if !ok {
					t.Fatalf("candidate %d names unknown item %q", k, n)
				}
				at := slices.IndexFunc(items, func(it Item) bool { return it.Name == n })
				if at <= idx {
					t.Fatalf("candidate %d: items not in list order or repeated: %v", k, c.Items)
				}
				idx = at
				sum += w
			}
			if sum < lo || sum > hi {
				t.Errorf("candidate %d %v: total %v outside the band [%v, %v]", k, c.Items, sum, lo, hi)
			}
			if math.Abs(c.TotalG-sum) > 0.0051 {
				t.Errorf("candidate %d: total_g %v, items sum to %v", k, c.TotalG, sum)
			}
			if math.Abs(c.ResidualG-(deficit-sum)) > 0.0051 {
				t.Errorf("candidate %d: residual_g %v, want deficit − total = %v", k, c.ResidualG, deficit-sum)
			}
			if k > 0 && math.Abs(cs[k-1].ResidualG) > math.Abs(c.ResidualG) {
				t.Errorf("candidates not sorted by |residual|: %v before %v", cs[k-1].ResidualG, c.ResidualG)
			}
			key := strings.Join(c.Items, ",")
			if seen[key] {
				t.Errorf("set %v listed twice", c.Items)
			}
			seen[key] = true
		}
		if len(items) > 12 {
			return
		}
		all := bruteForce(items, deficit, lo, hi)
		if want := min(len(all), MaxCandidates); len(cs) != want {
			t.Fatalf("%d candidates, brute force finds %d in band (items %v, deficit %v, band [%v, %v])", len(cs), len(all), items, deficit, lo, hi)
		}
		for k, c := range cs {
			if math.Abs(math.Abs(c.ResidualG)-all[k]) > 0.0051 {
				t.Errorf("candidate %d: |residual| %v, brute force's %d-th best is %v", k, math.Abs(c.ResidualG), k, all[k])
			}
		}
	})
}

func TestInferRefuses(t *testing.T) {
	if _, err := Infer(make([]Item, MaxItems+1), 10, 0, 1); !errors.Is(err, ErrTooManyItems) {
		t.Errorf("Infer(%d items) = %v, want ErrTooManyItems", MaxItems+1, err)
	}
	if _, err := Infer([]Item{{"a", -1}}, 10, 0, 1); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Infer(negative item) = %v, want ErrInvalidInput", err)
	}
	if _, err := Infer(nil, math.NaN(), 0, 1); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Infer(NaN deficit) = %v, want ErrInvalidInput", err)
	}
}

// TestInferIdenticalItems: duplicates of one name and weight are one set.
func TestInferIdenticalItems(t *testing.T) {
	items := []Item{{"T-shirt", 200}, {"T-shirt", 200}, {"T-shirt", 200}, {"Cap", 90}}
	cs, err := Infer(items, 400, 10, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || !slices.Equal(cs[0].Items, []string{"T-shirt", "T-shirt"}) {
		t.Errorf("candidates %+v, want one set of two T-shirts", cs)
	}
}

// TestInferLarge: 24 items, the limit, answered exactly; the missing pair is
// found among 16 million subsets.
func TestInferLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]Item, MaxItems)
	for k := range items {
		items[k] = Item{Name: fmt.Sprintf("item%02d", k), WeightG: math.Round(50+rng.Float64()*950) + 0.3*float64(k)}
	}
	deficit := items[3].WeightG + items[17].WeightG
	cs, err := Infer(items, deficit, 0, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 || cs[0].ResidualG != 0 {
		t.Fatalf("candidates %+v, want an exact first match", cs)
	}
	var sum float64
	for _, n := range cs[0].Items {
		sum += items[slices.IndexFunc(items, func(it Item) bool { return it.Name == n })].WeightG
	}
	if math.Abs(sum-deficit) > 1e-9 {
		t.Errorf("best set %v sums to %v, want %v", cs[0].Items, sum, deficit)
	}
}

func benchItems(n int, same bool) []Item {
	rng := rand.New(rand.NewPCG(7, 8))
	items := make([]Item, n)
	for k := range items {
		w := 100.0
		if !same {
			w = math.Round(30 + rng.Float64()*1200)
		}
		items[k] = Item{Name: fmt.Sprintf("item%02d", k), WeightG: w}
	}
	return items
}

// BenchmarkInfer20 is a 20-item haul with a deficit of a few items.
func BenchmarkInfer20(b *testing.B) {
	items := benchItems(20, false)
	deficit := items[2].WeightG + items[11].WeightG + items[19].WeightG + 7
	for b.Loop() {
		if _, err := Infer(items, deficit, 10, 25); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInfer24 is the limit, random weights.
func BenchmarkInfer24(b *testing.B) {
	items := benchItems(24, false)
	deficit := items[0].WeightG + items[23].WeightG
	for b.Loop() {
		if _, err := Infer(items, deficit, 10, 25); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInfer24Identical is the worst case: 24 items of one weight, so
// millions of subsets tie at the same total.
func BenchmarkInfer24Identical(b *testing.B) {
	items := benchItems(24, true)
	for b.Loop() {
		if _, err := Infer(items, 1200, 10, 25); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEvaluate: any input either is refused with a sentinel or gives a
// schema verdict, a tier from 0 to 3 that follows the table, and a
// message in both languages.
func FuzzEvaluate(f *testing.F) {
	f.Add(2350.0, 1840.0, []byte{0x27, 0x74, 0x57, 0x80, 0x10, 0x68}, uint8(0))
	f.Add(2350.0, 520.0, []byte{0x27, 0x74, 0x57, 0x80, 0x10, 0x68}, uint8(1))
	f.Add(0.0, 1840.0, []byte{}, uint8(2))
	f.Add(2350.0, math.NaN(), []byte{1, 2}, uint8(3))
	f.Fuzz(func(t *testing.T, label, measured float64, data []byte, issue uint8) {
		in := Input{MeasuredG: measured, MeasuredStable: issue&1 == 0, Items: itemsFrom(data, 16), IssueType: IssueTypes[int(issue)%len(IssueTypes)]}
		if label != 0 {
			in.LabelG = &label
		}
		o, err := Evaluate(DefaultParams(), in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrTooManyItems) {
				t.Fatalf("Evaluate error %v wraps no sentinel", err)
			}
			return
		}
		if !slices.Contains([]string{"match", "underweight", "overweight", "empty", "no_label_weight"}, o.Verdict) || o.Tier < 0 || o.Tier > 3 {
			t.Fatalf("verdict %q tier %d", o.Verdict, o.Tier)
		}
		switch {
		case o.Verdict == "empty" && o.Tier != 3,
			o.Verdict == "match" && in.IssueType == IssueNone && o.Tier != 0,
			in.IssueType == IssueWrongItem && o.Tier != 3,
			o.Verdict == "underweight" && len(o.MissingCandidates) > 0 && o.Tier != 3:
			t.Fatalf("tier %d for verdict %q, issue %q, %d candidates", o.Tier, o.Verdict, in.IssueType, len(o.MissingCandidates))
		}
		for k, c := range o.MissingCandidates {
			if k > 0 && math.Abs(o.MissingCandidates[k-1].ResidualG) > math.Abs(c.ResidualG) {
				t.Fatalf("candidates not sorted: %+v", o.MissingCandidates)
			}
		}
		var r result.Result
		o.Apply(&r)
		m, err := Compose(r, DisputeOptions{})
		if err != nil || m.EN == "" || m.ZH == "" {
			t.Fatalf("Compose: %v", err)
		}
	})
}
