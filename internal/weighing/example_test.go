package weighing_test

import (
	"fmt"
	"time"

	"weighin/internal/config"
	"weighin/internal/weighing"
)

// A 1 kg parcel set down on an empty platform, with one read fault, then
// lifted off; the reference cell reads 8000 counts empty and 420 per gram.
func Example() {
	p, err := weighing.New(weighing.FromConfig(config.Default().Scale, 8000, 420))
	if err != nil {
		fmt.Println(err)
		return
	}
	grams := func(t time.Duration) float64 {
		switch {
		case t < 2*time.Second || t >= 6*time.Second:
			return 0
		case t < 2300*time.Millisecond:
			return 1000 * float64(t-2*time.Second) / float64(300*time.Millisecond)
		}
		return 1000
	}
	for t := 100 * time.Millisecond; t <= 8*time.Second; t += 100 * time.Millisecond {
		raw := int32(8000 + 420*grams(t))
		if t == 4*time.Second {
			raw = -1 // a read fault: dropped
		}
		r, changed := p.Add(t, raw)
		if changed {
			fmt.Printf("%v %s %.2f g\n", r.T, r.State, r.Grams)
		}
	}
	// Output:
	// 500ms empty 0.00 g
	// 2.1s unstable 333.33 g
	// 2.6s stable 1000.00 g
	// 6.1s unstable 0.00 g
	// 6.3s empty 0.00 g
}

func ExamplePipeline_Tare() {
	p, _ := weighing.New(weighing.FromConfig(config.Default().Scale, 8000, 420))
	var r weighing.Reading
	for t := 100 * time.Millisecond; t <= time.Second; t += 100 * time.Millisecond {
		r, _ = p.Add(t, 8000+420*250) // an empty box of 250 g
	}
	fmt.Println(r.State, r.Grams)
	if err := p.Tare(); err != nil {
		fmt.Println(err)
	}
	r = p.Reading()
	fmt.Println(r.State, r.Grams, r.Zero)
	// Output:
	// stable 250
	// empty 0 250
}
