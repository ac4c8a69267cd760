package weighing

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSelectK checks the quickselect against a sort, with ties.
func TestSelectK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 300; n += 7 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(rng.NormFloat64() * 3)
		}
		sorted := slices.Sorted(slices.Values(v))
		for _, k := range []int{0, n / 4, n / 2, n - 1} {
			if got := selectK(slices.Clone(v), k); got != sorted[k] {
				t.Fatalf("n=%d k=%d: %v, want %v", n, k, got, sorted[k])
			}
		}
	}
}

// TestNoiseEstimate: white noise of σ 3 g is estimated within 15 %; a
// spike every second and a 500 g step do not move it.
func TestNoiseEstimate(t *testing.T) {
	for _, rate := range []int{10, 80} {
		f := newFeeder(t, rate, nil)
		f.noise = 3
		f.run(30*time.Second, func(d time.Duration) float64 {
			g := 0.0
			if d > 15*time.Second {
				g = 500
			}
			if d%time.Second < f.period {
				g += 400 // a read fault
			}
			return g
		})
		sigma, quiet := f.p.Noise()
		if math.Abs(sigma-3)/3 > 0.15 {
			t.Errorf("%d SPS: σ estimated %.2f g, want ≈3", rate, sigma)
		}
		white := qWhite10
		if rate == 80 {
			white = qWhite80
		}
		if q := quiet / (white * 3); q < 0.8 || q > 1.25 {
			t.Errorf("%d SPS: quiet spread %.2f g, %.2f of white noise's", rate, quiet, q)
		}
	}
}
