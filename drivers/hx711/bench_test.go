package hx711_test

import (
	"context"
	"testing"
	"time"

	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
)

// BenchmarkReadVirtual measures the host-side cost of one read (ready-wait,
// 25 timed pulses, checks) against the simulated chip in virtual time.
func BenchmarkReadVirtual(b *testing.B) {
	chip, clk := newSim(b, hx711test.Opts{Noise: hx711test.RefNoise(10), Seed: 1})
	chip.Load().Set(500)
	d := newDev(b, chip, hx711.Opts{})
	ctx := context.Background()
	start := clk.Now()
	for b.Loop() {
		if _, err := d.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(clk.Now().Sub(start))/float64(b.N)/1e6, "virtual-ms/read")
}

// BenchmarkReadRealBackToBack reads a chip that converts back to back
// (every 200 µs) on the real clock: the wall time of a read including the
// real ready-wait.
func BenchmarkReadRealBackToBack(b *testing.B) {
	chip, err := hx711test.New(hx711test.Opts{BackToBack: true, Noise: hx711test.RefNoise(80), Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	d, err := hx711.New(chip.SCK(), chip.DOUT(), &hx711.Opts{Settle: chip.Settling(), Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := d.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	s := d.Stats()
	b.ReportMetric(float64(s.Glitches), "glitches")
}
