package hx711test_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
)

// The wiring of weighd --sim, in virtual time: a reference cell with its
// noise, the driver on the simulated pins, a parcel set down.
func ExampleChip() {
	clk := hx711test.NewVirtualClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	chip, err := hx711test.New(hx711test.Opts{Clock: clk, Rate: 10, Noise: hx711test.RefNoise(10), Seed: 42})
	if err != nil {
		fmt.Println(err)
		return
	}
	dev, err := hx711.New(chip.SCK(), chip.DOUT(), &hx711.Opts{Rate: 10, Clock: clk})
	if err != nil {
		fmt.Println(err)
		return
	}
	grams := func() float64 {
		raw, err := dev.Read(context.Background())
		if err != nil {
			return math.NaN()
		}
		return math.Round(float64(raw-hx711test.RefOffset) / hx711test.RefCountsPerGram)
	}
	fmt.Println("empty:", grams(), "g")
	chip.Load().Place(1840) // from the API's goroutine in weighd --sim
	fmt.Println("just placed:", grams(), "g (bounce)")
	clk.Advance(2 * time.Second)
	fmt.Println("settled:", grams(), "g")
	fmt.Println("frames read:", chip.Stats().Frames-1) // minus New's reset pulse
	// Output:
	// empty: 0 g
	// just placed: 1885 g (bounce)
	// settled: 1840 g
	// frames read: 3
}
