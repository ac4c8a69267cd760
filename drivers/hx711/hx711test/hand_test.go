package hx711test

import (
	"math"
	"testing"
	"time"
)

// A hand leans in over 0.3 s, then presses steadily (within its tremor),
// and lifts off; the truth (Grams) never includes it.
func TestSetHand(t *testing.T) {
	clk := NewVirtualClock(time.Unix(0, 0))
	opts := LoadOpts{Offset: RefOffset, CountsPerGram: RefCountsPerGram}
	l, err := NewLoad(clk, &opts)
	if err != nil {
		t.Fatal(err)
	}
	l.Set(1840)
	clk.Advance(time.Second)
	l.SetHand(150)
	g := func(d time.Duration) float64 { return (l.Counts(d) - RefOffset) / RefCountsPerGram }
	for _, c := range []struct {
		at   time.Duration
		want float64
		tol  float64
	}{
		{999 * time.Millisecond, 1840, 1e-9},
		{1150 * time.Millisecond, 1915, handTremorG + 1e-6},
		{1500 * time.Millisecond, 1990, handTremorG + 1e-6},
		{5 * time.Second, 1990, handTremorG + 1e-6},
	} {
		if got := g(c.at); math.Abs(got-c.want) > c.tol {
			t.Errorf("at %v: %v g, want %v ± %v", c.at, got, c.want, c.tol)
		}
	}
	clk.Advance(5 * time.Second)
	l.SetHand(0)
	if got := g(7 * time.Second); math.Abs(got-1840) > 1e-9 {
		t.Errorf("after the hand lifted: %v g, want 1840", got)
	}
	if got := l.Grams(3 * time.Second); got != 1840 {
		t.Errorf("truth with the hand on: %v g, want 1840", got)
	}
}
