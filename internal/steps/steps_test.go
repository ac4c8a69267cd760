package steps

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"weighin/internal/result"
)

// seg is a piece of a synthetic weight signal: from At (seconds) the load
// moves to G over Ramp seconds (with a ring of 8 % of the change at 4 Hz
// decaying in 0.3 s, as a platform does), and stays there.
type seg struct {
	At, G, Ramp float64
}

// signal samples a piecewise load at rate SPS until end, with Gaussian
// noise of sigma grams.
func signal(start float64, segs []seg, end float64, rate int, sigma float64, seed uint64) [][2]float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	var out [][2]float64
	for i := 0; ; i++ {
		t := float64(i) / float64(rate)
		if t > end {
			break
		}
		g := start
		prev := start
		for _, s := range segs {
			if t < s.At {
				break
			}
			dt := t - s.At
			ramp := math.Max(s.Ramp, 1e-3)
			frac := math.Min(1, dt/ramp)
			ring := 0.08 * (s.G - prev) * math.Exp(-math.Max(0, dt-ramp)/0.3) * math.Sin(2*math.Pi*4*math.Max(0, dt-ramp))
			g = prev + (s.G-prev)*frac + ring
			prev = s.G
		}
		out = append(out, [2]float64{t, g + r.NormFloat64()*sigma})
	}
	return out
}

func detect(t testing.TB, o Opts, samples [][2]float64) Detection {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := d.Add(s[0], s[1]); err != nil {
			t.Fatal(err)
		}
	}
	return d.Result()
}

var parcel = []Item{{"Leather jacket", 505}, {"Sneakers", 1120}, {"Belt", 210}}

var defMatch = MatchOpts{ToleranceG: 20, TolerancePct: 1}

type wantStep struct {
	at    float64 // approximate t_s (±0.5 s)
	delta float64 // approximate ΔG (±2 g)
	items []string
	amb   bool
}

func TestDetectAndMatch(t *testing.T) {
	tests := []struct {
		name       string
		start      float64
		segs       []seg
		end        float64
		items      []Item
		want       []wantStep
		transients []string // kinds
		never      []string
		packaging  float64
	}{
		{
			name:  "issue: sneakers out, then the belt, jacket never seen",
			start: 1840, segs: []seg{{10, 720, 0.6}, {14, 510, 0.5}}, end: 20, items: parcel,
			want:  []wantStep{{10, -1120, []string{"Sneakers"}, false}, {14, -210, []string{"Belt"}, false}},
			never: []string{"Leather jacket"}, packaging: 510,
		},
		{
			name:  "an item put back and taken out again",
			start: 1840, segs: []seg{{8, 720, 0.6}, {14, 1840, 0.6}, {22, 720, 0.6}}, end: 28, items: parcel,
			want:  []wantStep{{8, -1120, []string{"Sneakers"}, false}, {14, 1120, []string{"Sneakers"}, false}, {22, -1120, []string{"Sneakers"}, false}},
			never: []string{"Leather jacket", "Belt"}, packaging: 720,
		},
		{
			name:  "two items out together",
			start: 1840, segs: []seg{{9, 510, 0.8}}, end: 15, items: parcel,
			want:  []wantStep{{9, -1330, []string{"Sneakers", "Belt"}, false}},
			never: []string{"Leather jacket"}, packaging: 510,
		},
		{
			name:  "a hand leaning in and off, then an item",
			start: 1840, segs: []seg{{7, 1990, 0.3}, {7.6, 1840, 0.3}, {12, 720, 0.6}}, end: 18, items: parcel,
			want: []wantStep{{12, -1120, []string{"Sneakers"}, false}}, transients: []string{result.TransientHand},
			never: []string{"Leather jacket", "Belt"}, packaging: 720,
		},
		{
			name:  "a hand resting 3 s is not a step",
			start: 1840, segs: []seg{{7, 1990, 0.3}, {10, 1840, 0.3}, {14, 720, 0.6}}, end: 20, items: parcel,
			want: []wantStep{{14, -1120, []string{"Sneakers"}, false}}, transients: []string{result.TransientHand},
			never: []string{"Leather jacket", "Belt"}, packaging: 720,
		},
		{
			name:  "the lid off first, unmatched; then the sneakers",
			start: 1840, segs: []seg{{7, 1795, 0.4}, {12, 675, 0.6}}, end: 18, items: parcel,
			want:  []wantStep{{7, -45, nil, false}, {12, -1120, []string{"Sneakers"}, false}},
			never: []string{"Leather jacket", "Belt"}, packaging: 1840 - 1120, // the lid is packaging
		},
		{
			name:  "unregistered parcel: steps listed, nothing matched",
			start: 1840, segs: []seg{{10, 720, 0.6}, {14, 510, 0.5}}, end: 20, items: nil,
			want:      []wantStep{{10, -1120, nil, false}, {14, -210, nil, false}},
			packaging: 1840,
		},
		{
			name:  "two items of about the same weight: ambiguous",
			start: 1500, segs: []seg{{8, 997, 0.5}}, end: 14, items: []Item{{"Hoodie", 500}, {"Jeans", 506}},
			want:  []wantStep{{8, -503, []string{"Hoodie"}, true}},
			never: []string{"Jeans"}, packaging: 997,
		},
		{
			name:  "not greedy: the first step goes to the item only it can take",
			start: 2000, segs: []seg{{6, 1388, 0.5}, {11, 798, 0.5}}, end: 16, items: []Item{{"A", 600}, {"B", 625}},
			want:  []wantStep{{6, -612, []string{"B"}, false}, {11, -590, []string{"A"}, false}},
			never: []string{}, packaging: 798,
		},
		{
			name:  "nothing happens",
			start: 1840, end: 10, items: parcel,
			want: nil, never: []string{"Leather jacket", "Sneakers", "Belt"}, packaging: 1840,
		},
	}
	for _, tc := range tests {
		for _, rate := range []int{10, 80} {
			sigma := map[int]float64{10: 0.15, 80: 0.35}[rate]
			samples := signal(tc.start, tc.segs, tc.end, rate, sigma, uint64(rate))
			det := detect(t, Opts{}, samples)
			steps, m, err := Match(det, tc.items, defMatch)
			if err != nil {
				t.Fatalf("%s @%d: %v", tc.name, rate, err)
			}
			if len(steps) != len(tc.want) {
				t.Errorf("%s @%d SPS: got %d steps %+v, want %d", tc.name, rate, len(steps), steps, len(tc.want))
				continue
			}
			for i, w := range tc.want {
				s := steps[i]
				if math.Abs(s.TS-w.at) > 0.5 || math.Abs(s.DeltaG-w.delta) > 2 || !slices.Equal(s.Items, append([]string{}, w.items...)) || s.Ambiguous != w.amb {
					t.Errorf("%s @%d SPS: step %d = %+v, want at ≈%v Δ≈%v items %v ambiguous %v", tc.name, rate, i, s, w.at, w.delta, w.items, w.amb)
				}
				if s.SettledS < s.TS {
					t.Errorf("%s @%d SPS: step %d settled at %v before it began at %v", tc.name, rate, i, s.SettledS, s.TS)
				}
			}
			var kinds []string
			for _, tr := range det.Transients {
				kinds = append(kinds, tr.Kind)
			}
			if !slices.Equal(kinds, tc.transients) {
				t.Errorf("%s @%d SPS: transients %+v, want kinds %v", tc.name, rate, det.Transients, tc.transients)
			}
			if tc.items != nil && !slices.Equal(m.NeverSeen, tc.never) {
				t.Errorf("%s @%d SPS: never seen %v, want %v", tc.name, rate, m.NeverSeen, tc.never)
			}
			if math.Abs(m.PackagingG-tc.packaging) > 2 {
				t.Errorf("%s @%d SPS: packaging %v g, want ≈%v", tc.name, rate, m.PackagingG, tc.packaging)
			}
			checkInvariants(t, det, steps, m, tc.items, defMatch)
		}
	}
}

// checkInvariants: the steps add up to the change of level, each is at
// least MinStepG and in time order, every match is within tolerance, and no
// item is taken out twice without being put back or put back while in.
func checkInvariants(t testing.TB, det Detection, steps []result.Step, m result.Matching, items []Item, o MatchOpts) {
	t.Helper()
	sum := 0.0
	for i, s := range steps {
		sum += s.DeltaG
		if math.Abs(s.DeltaG) < 10-1e-9 {
			t.Fatalf("step %d of %v g is below the minimum step", i, s.DeltaG)
		}
		if i > 0 && s.TS < steps[i-1].TS {
			t.Fatalf("step %d at %v s before step %d at %v s", i, s.TS, i-1, steps[i-1].TS)
		}
		if (s.DeltaG < 0) != (s.Kind == result.StepRemoved) {
			t.Fatalf("step %d: kind %s for Δ %v", i, s.Kind, s.DeltaG)
		}
	}
	if math.Abs(sum-(det.EndG-det.StartG)) > 1e-6 {
		t.Fatalf("steps add up to %v g, levels changed by %v g (%v → %v)", sum, det.EndG-det.StartG, det.StartG, det.EndG)
	}
	out := map[string]int{}
	byName := map[string]float64{}
	for _, it := range items {
		byName[it.Name] += it.WeightG
	}
	for i, s := range steps {
		if len(s.Items) > 2 {
			t.Fatalf("step %d matched %d items", i, len(s.Items))
		}
		w := 0.0
		for _, n := range s.Items {
			w += byName[n]
			if s.Kind == result.StepRemoved {
				out[n]++
			} else {
				out[n]--
			}
			// With duplicate names the count may reach their number.
			limit := 0
			for _, it := range items {
				if it.Name == n {
					limit++
				}
			}
			if out[n] < 0 || out[n] > limit {
				t.Fatalf("step %d: %q is out %d times (of %d)", i, n, out[n], limit)
			}
		}
		if len(s.Items) > 0 {
			if len(s.Items) == 2 && s.Items[0] == s.Items[1] {
				w = byName[s.Items[0]] // duplicates: the sum counted both
			}
			tol := math.Max(o.ToleranceG, o.TolerancePct/100*w)
			if math.Abs(math.Abs(s.DeltaG)-w) > tol+0.1 && len(s.Items) == 1 {
				t.Fatalf("step %d of %v g matched %v (%v g) beyond %v g", i, s.DeltaG, s.Items, w, tol)
			}
		}
	}
	if len(items) == 0 && len(m.Items) != 0 {
		t.Fatalf("no items, matching lists %v", m.Items)
	}
}

func TestDetectEndsMoving(t *testing.T) {
	samples := signal(1840, []seg{{8, 720, 5}}, 10, 10, 0.15, 1)
	det := detect(t, Opts{}, samples)
	if det.EndedSettled || len(det.Steps) != 0 || det.StartG < 1835 {
		t.Fatalf("got %+v, want no step, start 1840, not ended settled", det)
	}
}

func TestDetectGapBreaksPlateau(t *testing.T) {
	d, _ := New(Opts{})
	for i := range 30 {
		_ = d.Add(float64(i)/10, 1000)
	}
	// 10 s without samples (a read fault), then a new level.
	for i := range 30 {
		_ = d.Add(13+float64(i)/10, 400)
	}
	det := d.Result()
	if len(det.Steps) != 1 || det.Steps[0].DeltaG != -600 {
		t.Fatalf("got %+v, want one step of -600 g", det.Steps)
	}
	if err := d.Add(1, 5); err == nil {
		t.Fatal("a sample out of order was accepted")
	}
	if err := d.Add(20, math.NaN()); err == nil {
		t.Fatal("NaN accepted")
	}
}

func TestOptsErrors(t *testing.T) {
	for _, o := range []Opts{{Window: -1}, {ThresholdG: 5, MinStepG: 4}, {ThresholdPct: 20}, {Window: math.NaN()}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	det := Detection{}
	if _, _, err := Match(det, []Item{{"", 5}}, defMatch); err == nil {
		t.Error("an item without a name was accepted")
	}
	if _, _, err := Match(det, make([]Item, MaxItems+1), defMatch); err == nil {
		t.Error("too many items accepted")
	}
	if _, _, err := Match(det, nil, MatchOpts{ToleranceG: math.NaN()}); err == nil {
		t.Error("NaN tolerance accepted")
	}
}

func TestLocate(t *testing.T) {
	s := []result.Step{{TS: 2.5, Frame: -1}, {TS: 100, Frame: -1}}
	Locate(s, func(t float64) (string, int64, bool) {
		return "video-000.mkv", int64(t * 30), t < 60
	})
	if s[0].File != "video-000.mkv" || s[0].Frame != 75 || s[1].Frame != -1 {
		t.Fatalf("got %+v", s)
	}
}

func TestOverlayText(t *testing.T) {
	for _, c := range []struct {
		s    result.Step
		want string
	}{
		{result.Step{DeltaG: -1118.4, Kind: result.StepRemoved, Items: []string{"Sneakers"}}, "−1118.4 g Sneakers"},
		{result.Step{DeltaG: -1330, Kind: result.StepRemoved, Items: []string{"Sneakers", "Belt"}}, "−1330 g Sneakers + Belt"},
		{result.Step{DeltaG: 1120.04, Kind: result.StepAdded, Items: []string{"Sneakers"}}, "+1120 g Sneakers (put back)"},
		{result.Step{DeltaG: -45, Kind: result.StepRemoved, Items: []string{}}, "−45 g"},
	} {
		if got := OverlayText(c.s); got != c.want {
			t.Errorf("OverlayText(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}
