package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"weighin/internal/config"
	"weighin/internal/trace"
	"weighin/internal/weighing"
)

// RealDir is where the real recordings live, from the project's root: they
// are read there and never copied into the repository (some have no licence
// to redistribute).
const RealDir = "../shared/real-traces"

// RealTruth is a NAME.truth.json of the real recordings
// (../shared/real-traces/README.md): times are seconds of trace time.
type RealTruth struct {
	Name       string          `json:"name"`
	SPS        int             `json:"sps"`
	RateHz     float64         `json:"rate_hz"`
	Offset     float64         `json:"offset"`
	Scale      float64         `json:"scale"`
	NoiseSdG   float64         `json:"noise_sd_g"`
	Placements []RealPlacement `json:"placements"`
	Segments   []RealSegment   `json:"segments"`
	Events     []RealEvent     `json:"events"`
	// LevelTrack is [t_s, level_g] pairs (10 s medians) on long traces.
	LevelTrack [][2]float64 `json:"level_track"`
}

// RealPlacement is one plateau: a steady load the pipeline must report.
type RealPlacement struct {
	Mass          *float64   `json:"mass"`
	TPlace        float64    `json:"t_place"`
	TRemove       *float64   `json:"t_remove"`
	PlateauG      float64    `json:"plateau_g"`
	PlateauWindow [2]float64 `json:"plateau_window"`
	PlateauSdG    float64    `json:"plateau_sd_g"`
}

// RealSegment is a quiet stretch (a plateau or the tare level).
type RealSegment struct {
	Label  string     `json:"label"`
	Window [2]float64 `json:"window"`
	LevelG float64    `json:"level_g"`
	SdG    float64    `json:"sd_g"`
}

// RealEvent is a window in which no stable weight off every plateau may be
// reported (transient, corrupted, ramp, disturbance, glitch).
type RealEvent struct {
	Kind string  `json:"kind"`
	T0   float64 `json:"t0"`
	T1   float64 `json:"t1"`
}

// RealTolerance is the README's plateau tolerance: max(1 g, 4 σ, 0.05 %).
func RealTolerance(levelG, sdG float64) float64 {
	return math.Max(1, math.Max(4*sdG, 0.0005*math.Abs(levelG)))
}

// RealCase is one real recording with its truth.
type RealCase struct {
	Truth   RealTruth
	Samples []trace.Sample
}

// ErrNoRealTraces means the real recordings are not where they must be.
var ErrNoRealTraces = errors.New("real recordings not found")

// LoadReal reads every NAME.truth.json in dir (../shared/real-traces) and
// its NAME.csv. A missing directory or an empty one is ErrNoRealTraces.
func LoadReal(dir string) ([]RealCase, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("scoring: %w: no *.truth.json in %s (the project expects ../shared/real-traces beside the clone)", ErrNoRealTraces, dir)
	}
	sort.Strings(paths)
	var out []RealCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		var tr RealTruth
		if err := json.Unmarshal(data, &tr); err != nil {
			return nil, fmt.Errorf("scoring: %s: %w", p, err)
		}
		if tr.SPS != 10 && tr.SPS != 80 {
			return nil, fmt.Errorf("scoring: %s: sps %d is not 10 or 80", p, tr.SPS)
		}
		if tr.Scale == 0 {
			return nil, fmt.Errorf("scoring: %s: scale is 0", p)
		}
		samples, err := trace.ReadFile(strings.TrimSuffix(p, ".truth.json") + ".csv")
		if err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		out = append(out, RealCase{Truth: tr, Samples: samples})
	}
	return out, nil
}

// RealPipeline is the daemon's pipeline for a recording: config.Default()
// at the trace's rate with the recording's calibration, as `weighctl
// replay --offset --scale --rate` runs it.
func RealPipeline(c RealCase) (*weighing.Pipeline, error) {
	sc := config.Default().Scale
	sc.Rate = c.Truth.SPS
	return weighing.New(weighing.FromConfig(sc, c.Truth.Offset, c.Truth.Scale))
}

// RealPlateau is the outcome for one plateau.
type RealPlateau struct {
	Trace  string
	Index  int
	LevelG float64
	TolG   float64
	// Found: a stable report within TolG of the level was in effect at some
	// moment between t_place and t_remove. The value compared is the
	// reading in the recording's own calibration (Grams + Zero: the zero
	// tracking or tare the pipeline applied is added back), as plateau_g
	// is defined in it. FoundNet compares Grams alone.
	Found, FoundNet bool
	// Ready is the first moment (at least 0.5 s after t_place, inside the
	// plateau window) at which the last 0.5 s of samples all lie within
	// TolG of the level: the earliest a detector with a 0.5 s window could
	// know. Delay is from Ready to the first correct stable report (0 if
	// one came earlier).
	Ready, Delay time.Duration
	// ErrG is |first correct report − level|.
	ErrG float64
}

// RealViolation is a steady report inside an event that is off every
// plateau and quiet level of the trace (inside a corrupted window: any
// steady report).
type RealViolation struct {
	Trace string
	Event Event
	Kind  string
}

func (v RealViolation) String() string {
	return fmt.Sprintf("%s: t=%dms %s %.2f g inside a %s window", v.Trace, v.Event.T.Milliseconds(), v.Event.State, v.Event.Grams, v.Kind)
}

// RealScore is the outcome for one recording.
type RealScore struct {
	Name       string
	Rate       int
	Plateaus   []RealPlateau
	Violations []RealViolation
	// StableOffLevel counts Stable (not empty) reports on a recording with
	// no placements, outside events, whose value is off its quiet levels:
	// informative (the drift log's load is constant, but it drifts).
	StableOffLevel int
	Events         int
}

func sec(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// ScoreReal runs w over c and scores it by the README's rules.
func ScoreReal(c RealCase, w Weigher) RealScore {
	ev, _ := Run(w, c.Samples)
	return ScoreRealEvents(c, ev)
}

// ScoreRealEvents scores published events against a recording.
func ScoreRealEvents(c RealCase, ev []Event) RealScore {
	tr := c.Truth
	rs := RealScore{Name: tr.Name, Rate: tr.SPS, Events: len(ev)}
	end := c.Samples[len(c.Samples)-1].T + time.Millisecond
	for i, p := range tr.Placements {
		tol := RealTolerance(p.PlateauG, p.PlateauSdG)
		pl := RealPlateau{Trace: tr.Name, Index: i, LevelG: p.PlateauG, TolG: tol}
		from, to := sec(p.TPlace), end
		if p.TRemove != nil {
			to = sec(*p.TRemove)
		}
		pl.Ready = readyAt(c.Samples, tr, p, tol)
		// The event in effect at from, then those before to.
		k := max(0, sort.Search(len(ev), func(j int) bool { return ev[j].T > from })-1)
		for ; k < len(ev) && ev[k].T < to; k++ {
			e := ev[k]
			if e.State != weighing.Stable {
				continue
			}
			if math.Abs(e.Grams-p.PlateauG) <= tol {
				pl.FoundNet = true
			}
			if !pl.Found && math.Abs(e.Grams+e.Zero-p.PlateauG) <= tol {
				pl.Found = true
				pl.Delay = max(0, max(e.T, from)-pl.Ready)
				pl.ErrG = math.Abs(e.Grams + e.Zero - p.PlateauG)
			}
		}
		rs.Plateaus = append(rs.Plateaus, pl)
	}
	onLevel := func(e Event) bool {
		g := e.Grams + e.Zero
		for _, p := range tr.Placements {
			if math.Abs(g-p.PlateauG) <= RealTolerance(p.PlateauG, p.PlateauSdG) {
				return true
			}
		}
		for _, s := range tr.Segments {
			if math.Abs(g-s.LevelG) <= RealTolerance(s.LevelG, s.SdG) {
				return true
			}
		}
		return false
	}
	// before is the load before a disturbance or glitch on a constant
	// load (the drift log): the median of the 10 s before it.
	before := func(x RealEvent) float64 {
		var v []float64
		for _, s := range c.Samples {
			if t := s.T.Seconds(); t >= x.T0-10 && t < x.T0 {
				v = append(v, (float64(s.Raw)-tr.Offset)/tr.Scale)
			}
		}
		if len(v) == 0 {
			return math.NaN()
		}
		sort.Float64s(v)
		return median(v)
	}
	for _, e := range ev {
		if e.State != weighing.Stable && e.State != weighing.Empty {
			continue
		}
		inEvent := false
		for _, x := range tr.Events {
			if e.T < sec(x.T0) || e.T > sec(x.T1) {
				continue
			}
			inEvent = true
			ok := onLevel(e)
			if x.Kind == "disturbance" || x.Kind == "glitch" {
				ok = ok || math.Abs(e.Grams+e.Zero-before(x)) <= RealTolerance(0, tr.NoiseSdG)
			}
			if x.Kind == "corrupted" || !ok {
				rs.Violations = append(rs.Violations, RealViolation{Trace: tr.Name, Event: e, Kind: x.Kind})
				break
			}
		}
		if !inEvent && len(tr.Placements) == 0 && e.State == weighing.Stable && !onLevel(e) {
			rs.StableOffLevel++
		}
	}
	return rs
}

// readyAt is the README's "first moment the data allows it": a sample time
// t ≥ t_place + 0.5 s inside the plateau window at which every sample of
// the last 0.5 s lies within tol of the level. If there is none, the
// window's end.
func readyAt(samples []trace.Sample, tr RealTruth, p RealPlacement, tol float64) time.Duration {
	from := max(sec(p.TPlace)+500*time.Millisecond, sec(p.PlateauWindow[0]))
	to := sec(p.PlateauWindow[1])
	g := func(s trace.Sample) float64 { return (float64(s.Raw) - tr.Offset) / tr.Scale }
	i := sort.Search(len(samples), func(j int) bool { return samples[j].T >= from })
	for ; i < len(samples) && samples[i].T <= to; i++ {
		ok := true
		for j := i; j >= 0 && samples[j].T >= samples[i].T-500*time.Millisecond; j-- {
			if math.Abs(g(samples[j])-p.PlateauG) > tol {
				ok = false
				break
			}
		}
		if ok {
			return samples[i].T
		}
	}
	return to
}

// RealSummary aggregates plateau scores.
type RealSummary struct {
	Plateaus, Found, FoundNet   int
	MedianDelay, WorstDelay     time.Duration
	WorstDelayAt                string
	Violations, StableOffLevel  int
	MedianErrOverTol, WorstErrG float64
}

// SummarizeReal aggregates the recordings at one rate (0 = all).
func SummarizeReal(scores []RealScore, rate int) RealSummary {
	var s RealSummary
	var d []time.Duration
	var et []float64
	for _, rs := range scores {
		if rate != 0 && rs.Rate != rate {
			continue
		}
		s.Violations += len(rs.Violations)
		s.StableOffLevel += rs.StableOffLevel
		for _, p := range rs.Plateaus {
			s.Plateaus++
			if p.FoundNet {
				s.FoundNet++
			}
			if !p.Found {
				continue
			}
			s.Found++
			d = append(d, p.Delay)
			et = append(et, p.ErrG/p.TolG)
			s.WorstErrG = math.Max(s.WorstErrG, p.ErrG)
			if p.Delay >= s.WorstDelay {
				s.WorstDelay, s.WorstDelayAt = p.Delay, fmt.Sprintf("%s#%d", p.Trace, p.Index)
			}
		}
	}
	if len(d) > 0 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		sort.Float64s(et)
		s.MedianDelay = medianDur(d)
		s.MedianErrOverTol = median(et)
	}
	return s
}
