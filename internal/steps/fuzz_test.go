package steps

import (
	"math"
	"testing"
)

// FuzzDetectMatch drives the detector and matcher with random unpackings:
// levels, their timing, ramps, noise and an item list from the input. The
// invariants: the steps add up to the change of level; no item is matched
// twice without being put back (nor put back while in); every single-item
// match is within tolerance; and when the levels are well apart (≥ 30 g,
// 8 s or more each (past HandMax), quick ramps), the steps found are exactly the changes
// made.
func FuzzDetectMatch(f *testing.F) {
	f.Add([]byte{184, 72, 51, 12, 1, 50, 112, 21})
	f.Add([]byte{184, 72, 184, 72, 0, 0, 0})
	f.Add([]byte{200, 10, 199, 3, 255, 255, 1, 2, 3, 4, 5})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		next := func() int {
			if len(b) == 0 {
				return 0
			}
			v := int(b[0])
			b = b[1:]
			return v
		}
		nItems := next() % 6
		var items []Item
		for i := range nItems {
			items = append(items, Item{Name: string(rune('A' + i)), WeightG: float64(20 + next()*8)})
		}
		start := float64(100 + next()*10)
		level := start
		var segs []seg
		var truth []float64
		clean := true
		at := 6.0
		for i := 0; i < 8 && len(b) > 0; i++ {
			v := next()
			g := math.Max(0, level+float64(v-128)*10)
			ramp := float64(next()%16) / 10
			if math.Abs(g-level) < 30 || ramp > 1 {
				clean = false
			}
			if g != level {
				truth = append(truth, g-level)
			}
			segs = append(segs, seg{At: at, G: g, Ramp: ramp})
			level = g
			at += 8 + float64(next()%4)
		}
		samples := signal(start, segs, at+3, 10, 0.15, uint64(len(b)))
		det := detect(t, Opts{}, samples)
		steps, m, err := Match(det, items, defMatch)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, det, steps, m, items, defMatch)
		if clean {
			if len(steps) != len(truth) {
				t.Fatalf("clean levels %v (start %v): got %d steps %+v", truth, start, len(steps), steps)
			}
			for i, s := range steps {
				if math.Abs(s.DeltaG-truth[i]) > 1.5 {
					t.Fatalf("step %d: Δ %v g, made %v g", i, s.DeltaG, truth[i])
				}
			}
		}
	})
}
