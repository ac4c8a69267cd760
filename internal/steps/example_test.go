package steps_test

import (
	"fmt"

	"weighin/internal/steps"
)

// The issue's unpacking: 1840 g on the platform, the sneakers out at 10 s
// (720 g left), the belt at 14 s (510 g left).
func Example() {
	d, _ := steps.New(steps.Opts{})
	for i := range 200 {
		t := float64(i) / 10
		g := 1840.0
		switch {
		case t >= 14.5:
			g = 510
		case t >= 14:
			g = 620 // the belt on its way out
		case t >= 10.5:
			g = 720
		case t >= 10:
			g = 1300
		}
		_ = d.Add(t, g)
	}
	items := []steps.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}
	st, m, _ := steps.Match(d.Result(), items, steps.MatchOpts{ToleranceG: 20, TolerancePct: 1})
	for _, s := range st {
		fmt.Printf("%.1f s: %+.1f g %v\n", s.TS, s.DeltaG, s.Items)
	}
	fmt.Println("never seen:", m.NeverSeen, "packaging:", m.PackagingG, "g")
	// Output:
	// 10.0 s: -1120.0 g [Sneakers]
	// 14.0 s: -210.0 g [Belt]
	// never seen: [Leather jacket] packaging: 510 g
}
