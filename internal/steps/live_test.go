package steps

import (
	"math"
	"testing"

	"weighin/internal/result"
)

// TestLiveFirm: the live view gives a step down as soon as its level is
// confirmed, never a resting hand, a step up only once it outlasted
// HandMax, each step once and as the final reduction has it (its level
// measured so far: within 1 g of the final mean).
func TestLiveFirm(t *testing.T) {
	tests := []struct {
		name  string
		segs  []seg
		end   float64
		want  []float64 // ΔG of the steps given, in order
		delay float64   // most seconds from settled_s to being given
	}{
		{"two out", []seg{{3, 720, 0.4}, {7, 510, 0.4}}, 11, []float64{-1120, -210}, 0.6},
		{"a resting hand", []seg{{3, 1990, 0.3}, {6, 1840, 0.3}}, 10, nil, 0},
		{"put back", []seg{{3, 720, 0.4}, {7, 1840, 0.4}}, 16, []float64{-1120, 1120}, 5.6},
		{"put back, not yet firm", []seg{{3, 720, 0.4}, {7, 1840, 0.4}}, 11, []float64{-1120}, 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(Opts{})
			if err != nil {
				t.Fatal(err)
			}
			var l Live
			var got []result.Step
			at := map[float64]float64{}
			for _, s := range signal(1840, tc.segs, tc.end, 10, 0.15, 3) {
				if err := d.Add(s[0], s[1]); err != nil {
					t.Fatal(err)
				}
				for _, st := range l.Firm(d, s[0]) {
					got = append(got, st)
					at[st.SettledS] = s[0]
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("given %d steps %+v, want %v", len(got), got, tc.want)
			}
			final := d.Result().Steps
			for i, st := range got {
				if math.Abs(st.DeltaG-tc.want[i]) > 2 {
					t.Errorf("step %d: Δ %v g, want ≈ %v", i, st.DeltaG, tc.want[i])
				}
				if st.SettledS != final[i].SettledS || math.Abs(st.DeltaG-final[i].DeltaG) > 1 {
					t.Errorf("step %d given as %+v, the final reduction has %+v", i, st, final[i])
				}
				if lag := at[st.SettledS] - st.SettledS; lag < 0 || lag > tc.delay {
					t.Errorf("step %d given %.2f s after it settled, want ≤ %.1f", i, lag, tc.delay)
				}
			}
		})
	}
}
