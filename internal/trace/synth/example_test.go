package synth_test

import (
	"fmt"

	"weighin/internal/trace/synth"
)

func ExampleGenerate() {
	tr := synth.Generate(synth.Scenario{
		Name: "doc", Seed: 7, Rate: 10, DurationMs: 6000,
		Placements: []synth.Place{{AtMs: 2000, MassG: 500, ReleaseMs: 300, Overshoot: 0.05, RingHz: 10, RingTauS: 0.15}},
	})
	p := tr.Truth.Placements[0]
	fmt.Println(len(tr.Samples), "samples at", tr.Truth.RateSPS, "SPS")
	fmt.Printf("%.0f g set down at %d ms, in the ±%.0f g band from %d ms\n", p.MassG, p.SetDownMs, p.ToleranceG, p.EnteredMs)
	fmt.Printf("last conversion saw %.2f g (true load, averaged)\n", tr.Grams[len(tr.Grams)-1])
	// Output:
	// 60 samples at 10 SPS
	// 500 g set down at 2000 ms, in the ±1 g band from 2758 ms
	// last conversion saw 500.00 g (true load, averaged)
}
