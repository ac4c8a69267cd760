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
		ts := Score(c.Truth, ev)
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
