package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Random returns n scenarios drawn at random (from seed) over the same
// ranges as the reference set: 10 or 80 SPS; masses 50 g to 4.9 kg
// (log-uniform); release 150–600 ms; overshoot 2–10 %; ring 6–25 Hz with
// time constant 0.08–0.3 s; and one of a plain set-down, a bounce, a hand
// swaying 5–150 g, read faults, creep, or two parcels in a row with a
// removal. They are a hold-out set: the pipeline was not tuned on them.
func Random(seed uint64, n int) []Scenario {
	rng := rand.New(rand.NewPCG(seed, 0x686f6c646f7574)) // "holdout"
	uni := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	mass := func() float64 { return math.Round(50 * math.Pow(98, rng.Float64())) }
	place := func(at int64) Place {
		return Place{AtMs: at, MassG: mass(), ReleaseMs: uni(150, 600), Overshoot: uni(0.02, 0.10),
			RingHz: uni(6, 25), RingTauS: uni(0.08, 0.3)}
	}
	out := make([]Scenario, 0, n)
	for i := range n {
		s := Scenario{Seed: seed*1000 + uint64(i), Rate: 10, DurationMs: 15000}
		if rng.IntN(2) == 1 {
			s.Rate = 80
		}
		p := place(int64(uni(2000, 4000)))
		kind := []string{"setdown", "bounce", "sway", "spikes", "creep", "two"}[rng.IntN(6)]
		switch kind {
		case "bounce":
			p.Bounce, p.AirMs = true, uni(60, 150)
		case "sway":
			from := p.AtMs + int64(p.ReleaseMs) + int64(uni(0, 500))
			p.SwayFromMs, p.SwayToMs, p.SwayG = from, from+int64(uni(2000, 6000)), uni(5, 150)
			s.DurationMs = p.SwayToMs + 6000
		case "spikes":
			for t := int64(uni(500, 1500)); t < s.DurationMs-500; t += int64(uni(1500, 4000)) {
				s.Spikes = append(s.Spikes, t)
			}
		case "creep":
			p.Creep, p.CreepTauS = 0.0002, uni(20, 60)
			p.RemoveMs, p.RemoveLenMs = p.AtMs+int64(uni(20000, 40000)), uni(250, 500)
			s.DurationMs = p.RemoveMs + 5000
		case "two":
			p.RemoveMs, p.RemoveLenMs = p.AtMs+int64(uni(4000, 8000)), uni(250, 500)
			q := place(p.RemoveMs + int64(uni(2000, 5000)))
			q.RemoveMs, q.RemoveLenMs = q.AtMs+int64(uni(4000, 8000)), uni(250, 500)
			s.Placements = append(s.Placements, q)
			s.DurationMs = q.RemoveMs + 4000
		}
		s.Placements = append([]Place{p}, s.Placements...)
		s.Name = fmt.Sprintf("random-%d-%s-%dsps", s.Seed, kind, s.Rate)
		s.Description = "hold-out: " + kind
		out = append(out, s)
	}
	return out
}
