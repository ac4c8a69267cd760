package scoring

import (
	"math"
	"testing"
	"time"

	"weighin/internal/trace"
	"weighin/internal/weighing"
)

func truth() trace.Truth {
	return trace.Truth{
		Name: "t", RateSPS: 10, DurationMs: 20000,
		Placements:  []trace.Placement{{MassG: 1000, ToleranceG: 1, SetDownMs: 2000, EnteredMs: 3000, RemovedMs: 10000, EmptyMs: 10500}},
		Disturbance: []trace.Disturbance{{Kind: "sway", StartMs: 2500, EndMs: 2900}},
		SpikesMs:    []int64{15000},
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name       string
		ev         []Event
		found      bool
		latency    time.Duration
		maxErr     float64
		violations []string
	}{
		{
			name: "clean",
			ev: []Event{
				{500 * ms, weighing.Empty, 0, 0}, {2100 * ms, weighing.Unstable, 0, 0},
				{3400 * ms, weighing.Stable, 1000.3, 0}, {10100 * ms, weighing.Unstable, 0, 0}, {10800 * ms, weighing.Empty, 0.1, 0},
			},
			found: true, latency: 400 * ms, maxErr: 0.3,
		},
		{
			name:  "correct before entering the band: latency 0",
			ev:    []Event{{2950 * ms, weighing.Stable, 999.5, 0}},
			found: true, latency: 0, maxErr: 0.5,
		},
		{
			name: "wrong first, then right",
			ev: []Event{
				{3100 * ms, weighing.Stable, 1003, 0}, {3700 * ms, weighing.Stable, 1000.1, 0},
			},
			found: true, latency: 700 * ms, maxErr: 3, violations: []string{"settling"},
		},
		{
			name:       "wrong in a disturbance",
			ev:         []Event{{2600 * ms, weighing.Stable, 1040, 0}},
			found:      false,
			violations: []string{"disturbance"},
		},
		{
			name:       "wrong after a read fault",
			ev:         []Event{{4000 * ms, weighing.Stable, 1000, 0}, {10600 * ms, weighing.Empty, 0, 0}, {15100 * ms, weighing.Stable, 30, 0}},
			found:      true,
			latency:    time.Second,
			violations: []string{"spike"},
		},
		{
			name:  "old weight during the removal is not wrong",
			ev:    []Event{{3200 * ms, weighing.Stable, 1000, 0}, {10200 * ms, weighing.Stable, 999.8, 0}},
			found: true, latency: 200 * ms, maxErr: 0,
		},
		{
			name:  "never stable",
			ev:    []Event{{2100 * ms, weighing.Unstable, 0, 0}},
			found: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Score(truth(), tt.ev)
			p := s.Placements[0]
			if p.Found != tt.found || (tt.found && p.Latency != tt.latency) || (tt.found && absDiff(p.MaxErrG, tt.maxErr) > 1e-9) {
				t.Errorf("placement %+v, want found %v latency %v max error %v", p, tt.found, tt.latency, tt.maxErr)
			}
			var kinds []string
			for _, v := range s.Violations {
				kinds = append(kinds, v.Kind)
			}
			if len(kinds) != len(tt.violations) {
				t.Fatalf("violations %v, want %v", s.Violations, tt.violations)
			}
			for i := range kinds {
				if kinds[i] != tt.violations[i] {
					t.Errorf("violations %v, want %v", kinds, tt.violations)
				}
			}
		})
	}
}

func absDiff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestFlicker(t *testing.T) {
	ev := []Event{{3400 * ms, weighing.Stable, 1000, 0}, {3500 * ms, weighing.Unstable, 0, 0}, {3800 * ms, weighing.Stable, 1000.2, 0}}
	if s := Score(truth(), ev); s.Flickers != 1 {
		t.Fatalf("flickers %d, want 1", s.Flickers)
	}
}

func TestSummarize(t *testing.T) {
	scores := []TraceScore{
		{Rate: 10, Placements: []PlacementScore{{Found: true, Latency: 100 * ms, MaxErrG: 0.1, MassG: 100, HoldErrG: 0.05}, {Found: true, Latency: 300 * ms, MaxErrG: 0.5, MassG: 100, HoldErrG: 0.1}}},
		{Rate: 10, Placements: []PlacementScore{{Found: true, Latency: 900 * ms, MaxErrG: 0.2, MassG: 4000, HoldErrG: 0.3}, {Found: false, HoldErrG: math.NaN()}}},
		{Rate: 80, Placements: []PlacementScore{{Found: true, Latency: 5 * time.Second}}},
	}
	s := Summarize(scores, 10)
	if s.Placements != 4 || s.Missed != 1 || s.MedianLatency != 300*ms || s.WorstLatency != 900*ms || s.MedianErrG != 0.2 || s.WorstErrG != 0.5 ||
		s.MedianHoldErrG != 0.1 || s.WorstHoldErrG != 0.3 || s.HoldUnstable != 1 {
		t.Fatalf("summary %+v", s)
	}
}

// TestBaseline checks the naive scale does what hobby code does: stable as
// soon as five averages of ten agree, no matter what.
func TestBaseline(t *testing.T) {
	b := NewBaseline(8000, 420)
	var ev []Event
	add := func(from, to int, g float64) {
		for i := from; i < to; i++ {
			if r, changed := b.Add(time.Duration(i)*100*ms, int32(8000+420*g)); changed {
				ev = append(ev, Event{T: r.T, State: r.State, Grams: r.Grams})
			}
		}
	}
	add(1, 20, 0)
	add(20, 40, 500)
	if len(ev) != 3 || ev[0].State != weighing.Empty || ev[0].T != 1400*ms || ev[1].State != weighing.Unstable || ev[2].State != weighing.Stable || ev[2].Grams != 500 {
		t.Fatalf("baseline events %+v", ev)
	}
}
