// Package scoring judges a weighing pipeline against the truth of synthetic
// traces (package trace/synth): how long after the load truly settled a
// correct stable weight was shown, how far the stable weights were from the
// truth, and whether a wrong stable weight was ever shown (inside a
// disturbance, after a read fault, or on a drifting empty platform). It also
// holds the naive baseline the pipeline is compared with. `make
// bench-weighing` prints its figures; the weighing tests assert them.
package scoring

import (
	"fmt"
	"math"
	"sort"
	"time"

	"weighin/internal/trace"
	"weighin/internal/weighing"
)

// Weigher is what is judged: a pipeline fed one conversion at a time.
type Weigher interface {
	Add(t time.Duration, raw int32) (weighing.Reading, bool)
}

// Event is one published change: a new state, or a steady weight that moved.
type Event struct {
	T     time.Duration
	State weighing.State
	Grams float64
	// Zero is the zero correction (zero tracking, tare) the weigher had
	// subtracted from Grams.
	Zero float64
}

// Run feeds samples to w and returns its events and its reading after
// every sample.
func Run(w Weigher, samples []trace.Sample) ([]Event, []weighing.Reading) {
	var ev []Event
	readings := make([]weighing.Reading, len(samples))
	for i, s := range samples {
		r, changed := w.Add(s.T, s.Raw)
		if changed {
			ev = append(ev, Event{T: r.T, State: r.State, Grams: r.Grams, Zero: r.Zero})
		}
		readings[i] = r
	}
	return ev, readings
}

// ScoreHold sets each placement's HoldErrG from the readings (one per
// sample, in order): the weight a press would freeze just before the
// parcel is lifted (or at the end of the trace).
func ScoreHold(ts *TraceScore, tr trace.Truth, readings []weighing.Reading) {
	for i, p := range tr.Placements {
		end := time.Duration(tr.DurationMs)*ms + 1
		if p.RemovedMs != 0 {
			end = time.Duration(p.RemovedMs) * ms
		}
		k := sort.Search(len(readings), func(j int) bool { return readings[j].T >= end }) - 1
		ts.Placements[i].HoldErrG = math.NaN()
		if k >= 0 && readings[k].State == weighing.Stable {
			ts.Placements[i].HoldErrG = math.Abs(readings[k].Grams - p.MassG)
		}
	}
}

// PlacementScore is the outcome for one placement.
type PlacementScore struct {
	Trace string
	Index int
	MassG float64
	// Found: a correct stable weight was shown before removal (or the end).
	Found bool
	// Latency is from truth's EnteredMs to the first moment the published
	// state is a correct stable weight (0 if one was already showing).
	Latency time.Duration
	// MaxErrG is the largest |weight − mass| of the stable weights in
	// effect between EnteredMs and removal.
	MaxErrG float64
	// Trusted: from some moment on, until removal, only correct stable
	// weights were shown; TrustLatency is from EnteredMs to that moment (a
	// scale that shows a wrong weight after a right one is trusted later,
	// or never).
	Trusted      bool
	TrustLatency time.Duration
	// HoldErrG is |weight − mass| of the reading just before removal (what
	// a press freezes); NaN when it was not stable then.
	HoldErrG float64
}

// Violation is a stable (or empty) weight published that was wrong.
type Violation struct {
	Trace string
	Event Event
	// Kind: "disturbance", "spike", "drift" (a load reported on an empty
	// drifting platform) or "settling" (wrong value elsewhere).
	Kind string
	// WantG is what would have been right.
	WantG float64
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: t=%dms %s %.2f g, want %.2f g (%s)", v.Trace, v.Event.T.Milliseconds(), v.Event.State, v.Event.Grams, v.WantG, v.Kind)
}

// TraceScore is the outcome for one trace.
type TraceScore struct {
	Name       string
	Rate       int
	Placements []PlacementScore
	Violations []Violation
	Events     int
	// Flickers counts steady → unstable → the same steady weight again
	// within a second: not wrong, but noise on the display and in the log.
	Flickers int
}

const ms = time.Millisecond

// Score judges the events of one trace against its truth.
func Score(tr trace.Truth, ev []Event) TraceScore { return ScoreTol(tr, ev, 0) }

// ScoreTol is Score with every tolerance at least floorG (placements keep
// their ToleranceG if larger).
func ScoreTol(tr trace.Truth, ev []Event, floorG float64) TraceScore {
	ts := TraceScore{Name: tr.Name, Rate: tr.RateSPS, Events: len(ev)}
	period := time.Second / time.Duration(tr.RateSPS)
	for i, p := range tr.Placements {
		ps := PlacementScore{Trace: tr.Name, Index: i, MassG: p.MassG}
		entered := time.Duration(p.EnteredMs) * ms
		end := time.Duration(tr.DurationMs)*ms + 1
		if p.RemovedMs != 0 {
			end = time.Duration(p.RemovedMs) * ms
		}
		correct := func(e Event) bool {
			return e.State == weighing.Stable && math.Abs(e.Grams-p.MassG) <= p.ToleranceG
		}
		// The event in effect at entered, then those up to the end.
		setDown := time.Duration(p.SetDownMs) * ms
		k := max(sort.Search(len(ev), func(j int) bool { return ev[j].T > entered })-1,
			sort.Search(len(ev), func(j int) bool { return ev[j].T >= setDown }))
		for ; k < len(ev) && ev[k].T < end; k++ {
			e := ev[k]
			if e.State == weighing.Stable {
				ps.MaxErrG = math.Max(ps.MaxErrG, math.Abs(e.Grams-p.MassG))
			}
			if !ps.Found && correct(e) {
				ps.Found = true
				ps.Latency = max(0, e.T-entered)
			}
		}
		// Trust: the last steady event between set-down and removal that
		// was wrong, and the first correct one after it.
		ps.Trusted = false
		for j := sort.Search(len(ev), func(j int) bool { return ev[j].T >= setDown }); j < len(ev) && ev[j].T < end; j++ {
			e := ev[j]
			switch {
			case correct(e):
				if !ps.Trusted {
					ps.Trusted, ps.TrustLatency = true, max(0, e.T-entered)
				}
			case e.State != weighing.Unstable:
				ps.Trusted = false
			}
		}
		ts.Placements = append(ts.Placements, ps)
	}
	for i := 2; i < len(ev); i++ {
		a, u, b := ev[i-2], ev[i-1], ev[i]
		if a.State != weighing.Unstable && u.State == weighing.Unstable && b.State == a.State &&
			b.T-u.T <= time.Second && math.Abs(b.Grams-a.Grams) <= trace.Tolerance(a.Grams) {
			ts.Flickers++
		}
	}
	for _, e := range ev {
		if e.State != weighing.Stable && e.State != weighing.Empty {
			continue
		}
		want, alt := 0.0, math.NaN()
		for _, p := range tr.Placements {
			setDown := time.Duration(p.SetDownMs) * ms
			removed := time.Duration(p.RemovedMs) * ms
			empty := time.Duration(p.EmptyMs) * ms
			switch {
			case e.T >= setDown && (p.RemovedMs == 0 || e.T < removed):
				want = p.MassG
			case p.RemovedMs != 0 && e.T >= removed && e.T < empty:
				want, alt = 0, p.MassG
			}
		}
		tol := max(trace.Tolerance(want), floorG)
		if math.Abs(e.Grams-want) <= tol || (!math.IsNaN(alt) && math.Abs(e.Grams-alt) <= max(trace.Tolerance(alt), floorG)) {
			continue
		}
		v := Violation{Trace: tr.Name, Event: e, WantG: want, Kind: "settling"}
		for _, d := range tr.Disturbance {
			if e.T >= time.Duration(d.StartMs)*ms && e.T <= time.Duration(d.EndMs)*ms {
				v.Kind = "disturbance"
			}
		}
		for _, s := range tr.SpikesMs {
			if st := time.Duration(s) * ms; e.T >= st && e.T <= st+2*period {
				v.Kind = "spike"
			}
		}
		if len(tr.Placements) == 0 && tr.DriftGPerMin != 0 {
			v.Kind = "drift"
		}
		ts.Violations = append(ts.Violations, v)
	}
	return ts
}

// Summary aggregates placement scores.
type Summary struct {
	Placements, Missed          int
	MedianLatency, WorstLatency time.Duration
	// MedianTrust and WorstTrust summarise TrustLatency; Untrusted counts
	// placements never trusted.
	MedianTrust, WorstTrust time.Duration
	Untrusted               int
	MedianErrG, WorstErrG   float64
	// MedianHoldErrG and WorstHoldErrG summarise HoldErrG; HoldUnstable
	// counts placements not stable just before removal.
	MedianHoldErrG, WorstHoldErrG float64
	HoldUnstable                  int
	Violations, Flickers          int
	ByKind                        map[string]int
	WorstErrOverTol               float64 // worst MaxErrG / tolerance
	WorstLatencyAt, WorstErrorAt  string
}

// Summarize aggregates the scores of the traces at one rate (0 = all).
func Summarize(scores []TraceScore, rate int) Summary {
	s := Summary{ByKind: map[string]int{}}
	var lat, trust []time.Duration
	var errs, holds []float64
	for _, ts := range scores {
		if rate != 0 && ts.Rate != rate {
			continue
		}
		s.Violations += len(ts.Violations)
		s.Flickers += ts.Flickers
		for _, v := range ts.Violations {
			s.ByKind[v.Kind]++
		}
		for _, p := range ts.Placements {
			s.Placements++
			if math.IsNaN(p.HoldErrG) {
				s.HoldUnstable++
			} else {
				holds = append(holds, p.HoldErrG)
				s.WorstHoldErrG = math.Max(s.WorstHoldErrG, p.HoldErrG)
			}
			if p.Trusted {
				trust = append(trust, p.TrustLatency)
				s.WorstTrust = max(s.WorstTrust, p.TrustLatency)
			} else {
				s.Untrusted++
			}
			if !p.Found {
				s.Missed++
				continue
			}
			lat = append(lat, p.Latency)
			errs = append(errs, p.MaxErrG)
			if p.Latency > s.WorstLatency {
				s.WorstLatency, s.WorstLatencyAt = p.Latency, fmt.Sprintf("%s#%d", p.Trace, p.Index)
			}
			if p.MaxErrG > s.WorstErrG {
				s.WorstErrG, s.WorstErrorAt = p.MaxErrG, fmt.Sprintf("%s#%d", p.Trace, p.Index)
			}
			s.WorstErrOverTol = math.Max(s.WorstErrOverTol, p.MaxErrG/trace.Tolerance(p.MassG))
		}
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		sort.Float64s(errs)
		s.MedianLatency = medianDur(lat)
		s.MedianErrG = median(errs)
	}
	if len(holds) > 0 {
		sort.Float64s(holds)
		s.MedianHoldErrG = median(holds)
	}
	if len(trust) > 0 {
		sort.Slice(trust, func(i, j int) bool { return trust[i] < trust[j] })
		s.MedianTrust = medianDur(trust)
	}
	return s
}

func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func medianDur(v []time.Duration) time.Duration {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
