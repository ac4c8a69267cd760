package scoring_test

import (
	"fmt"
	"time"

	"weighin/internal/trace"
	"weighin/internal/weighing"
	"weighin/internal/weighing/scoring"
)

func ExampleScore() {
	truth := trace.Truth{Name: "demo", RateSPS: 10, DurationMs: 10000,
		Placements:  []trace.Placement{{MassG: 800, ToleranceG: 1, SetDownMs: 2000, EnteredMs: 2600}},
		Disturbance: []trace.Disturbance{{Kind: "sway", StartMs: 2100, EndMs: 2500}},
	}
	ms := time.Millisecond
	events := []scoring.Event{
		{T: 500 * ms, State: weighing.Empty, Grams: 0},
		{T: 2100 * ms, State: weighing.Unstable},
		{T: 2400 * ms, State: weighing.Stable, Grams: 812}, // a hand pressing: wrong
		{T: 2900 * ms, State: weighing.Stable, Grams: 800.2},
	}
	s := scoring.Score(truth, events)
	p := s.Placements[0]
	fmt.Println("found:", p.Found, "latency:", p.Latency)
	for _, v := range s.Violations {
		fmt.Println(v)
	}
	// Output:
	// found: true latency: 300ms
	// demo: t=2400ms stable 812.00 g, want 800.00 g (disturbance)
}
