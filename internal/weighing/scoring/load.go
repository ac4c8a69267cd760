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
	for _, c := range cases {
		p, err := Pipeline(c)
		if err != nil {
			return nil, nil, err
		}
		ours = append(ours, Score(c.Truth, Run(p, c.Samples)))
		b := NewBaseline(c.Truth.Offset, c.Truth.CountsPerGram)
		base = append(base, Score(c.Truth, Run(b, c.Samples)))
	}
	return ours, base, nil
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
