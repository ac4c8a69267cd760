package hx711_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
)

// Read a simulated reference load cell in virtual time. On a Pi the pins come
// from gpioreg.ByName("GPIO6") and gpioreg.ByName("GPIO5") after host.Init,
// and Opts.Clock stays nil.
func Example() {
	clk := hx711test.NewVirtualClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	chip, err := hx711test.New(hx711test.Opts{Clock: clk, Noise: hx711test.RefNoise(10), Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	chip.Load().Set(250) // grams on the platform

	dev, err := hx711.New(chip.SCK(), chip.DOUT(), &hx711.Opts{Gain: hx711.A128, Rate: 10, Clock: clk})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Halt()
	fmt.Println(dev)

	raw, err := dev.Read(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	grams := float64(raw-hx711test.RefOffset) / hx711test.RefCountsPerGram
	fmt.Printf("%.0f g\n", math.Round(grams))
	fmt.Println("pulses in the frame:", chip.Frames()[1].Pulses)
	// Output:
	// hx711(PD_SCK=PD_SCK, DOUT=DOUT, A128, 10 SPS)
	// 250 g
	// pulses in the frame: 25
}
