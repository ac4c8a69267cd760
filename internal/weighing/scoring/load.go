package scoring

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"weighin/internal/config"
	"weighin/internal/trace"
	"weighin/internal/trace/synth"
	"weighin/internal/weighing"
)

// Case is one synthetic trace with its truth.
type Case struct {
	Truth   trace.Truth
	Samples []trace.Sample
	// TolFloorG raises every tolerance to at least this (the noisy cell's
	// target: max(2 g, 0.05 %)); 0 = the truth's max(1 g, 0.05 %).
	TolFloorG float64
}

// WithTolFloor returns cases with every tolerance at least floorG.
func WithTolFloor(cases []Case, floorG float64) []Case {
	out := make([]Case, len(cases))
	for i, c := range cases {
		c.TolFloorG = floorG
		c.Truth.Placements = append([]trace.Placement(nil), c.Truth.Placements...)
		for j := range c.Truth.Placements {
			c.Truth.Placements[j].ToleranceG = max(c.Truth.Placements[j].ToleranceG, floorG)
		}
		out[i] = c
	}
	return out
}

// LoadDir reads every NAME.truth.json in dir and its NAME.csv, by name.
func LoadDir(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("scoring: no *.truth.json in %s", dir)
	}
	sort.Strings(paths)
	var out []Case
	for _, p := range paths {
		tr, err := trace.ReadTruth(p)
		if err != nil {
			return nil, err
		}
		samples, err := trace.ReadFile(strings.TrimSuffix(p, ".truth.json") + ".csv")
		if err != nil {
			return nil, err
		}
		out = append(out, Case{Truth: tr, Samples: samples})
	}
	return out, nil
}

// Pipeline returns the daemon's pipeline for c: config.Default().Scale at
// the trace's rate, calibrated with the trace's offset and scale.
func Pipeline(c Case) (*weighing.Pipeline, error) {
	sc := config.Default().Scale
	sc.Rate = c.Truth.RateSPS
	return weighing.New(weighing.FromConfig(sc, c.Truth.Offset, c.Truth.CountsPerGram))
}

// ScoreAll runs the daemon's pipeline and the baseline over cases.
func ScoreAll(cases []Case) (ours, base []TraceScore, err error) {
	ours, err = ScoreWith(cases, func(c Case) (Weigher, error) { return Pipeline(c) })
	if err != nil {
		return nil, nil, err
	}
	base, _ = ScoreWith(cases, func(c Case) (Weigher, error) {
		return NewBaseline(c.Truth.Offset, c.Truth.CountsPerGram), nil
	})
	return ours, base, nil
}

// ScoreWith runs a weigher made for each case and scores it.
func ScoreWith(cases []Case, make func(Case) (Weigher, error)) ([]TraceScore, error) {
	var out []TraceScore
	for _, c := range cases {
		w, err := make(c)
		if err != nil {
			return nil, err
		}
		ev, readings := Run(w, c.Samples)
		ts := ScoreTol(c.Truth, ev, c.TolFloorG)
		ScoreHold(&ts, c.Truth, readings)
		out = append(out, ts)
	}
	return out, nil
}

// TimedBaseline is the baseline with its counts scaled to the trace's rate,
// so it averages over 1 s and wants 0.5 s of agreement at any rate (the
// same hobby design, tuned for 80 SPS).
func TimedBaseline(c Case) *Baseline {
	b := NewBaseline(c.Truth.Offset, c.Truth.CountsPerGram)
	b.Avg, b.Agree = c.Truth.RateSPS, c.Truth.RateSPS/2
	return b
}

// Generated returns cases generated in memory from synthetic scenarios.
func Generated(ss []synth.Scenario) []Case {
	out := make([]Case, 0, len(ss))
	for _, s := range ss {
		tr := synth.Generate(s)
		out = append(out, Case{Truth: tr.Truth, Samples: tr.Samples})
	}
	return out
}

// GeneratedB returns cases generated in memory from model-B scenarios.
func GeneratedB(ss []synth.ScenarioB) []Case {
	out := make([]Case, 0, len(ss))
	for _, s := range ss {
		tr := synth.GenerateB(s)
		out = append(out, Case{Truth: tr.Truth, Samples: tr.Samples})
	}
	return out
}
