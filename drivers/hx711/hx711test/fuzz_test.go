package hx711test_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"weighin/drivers/hx711/hx711test"
)

// FuzzProtocol drives the chip with random pulse trains, high times and
// pauses, and checks the datasheet's rules after every step:
//   - a fresh frame with data shifts out the latched conversion, MSB first,
//     while no high phase exceeded 60 µs;
//   - a 28th pulse puts the chip in its error state: DOUT high, no
//     conversions, until a power-down reset;
//   - a frame of 25–27 pulses selects A128, B32, A64 once it is closed;
//   - a power-down reset leaves the chip running at A128.
func FuzzProtocol(f *testing.F) {
	f.Add([]byte{0, 5, 1, 100, 0, 6, 1, 100, 0, 7, 1, 200})
	f.Add([]byte{0, 8, 1, 255, 2, 50, 1, 255, 0, 5})
	f.Add([]byte{0, 1, 1, 250, 3, 0, 4, 3, 0, 5, 1, 120})
	f.Fuzz(func(t *testing.T, ops []byte) {
		c, clk := newChip(t, hx711test.Opts{Seed: 1, Noise: 40})
		c.Load().Set(123)
		next := func() int {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return int(b)
		}
		for len(ops) > 0 {
			switch next() % 5 {
			case 0: // a frame of 20–31 pulses, 1 µs high
				n := 20 + next()%12
				wasErr := c.InError()
				fresh := len(c.Frames())
				var bits uint32
				for i := 1; i <= n; i++ {
					l := pulse(c, clk, time.Microsecond)
					if i <= 24 {
						bits = bits<<1 | map[gpio.Level]uint32{gpio.Low: 0, gpio.High: 1}[l]
					}
				}
				fs := c.Frames()
				if len(fs) <= fresh {
					break // the pulses continued an open frame
				}
				fr := fs[fresh]
				if fr.Data && !wasErr && n >= 24 {
					got := int32(bits<<8) >> 8
					if got != fr.Conv.Value {
						t.Fatalf("frame shifted out %#x, chip latched %#x", got, fr.Conv.Value)
					}
				}
				if n > 27 && fresh == len(fs)-1 && !c.InError() {
					t.Fatalf("%d pulses in a fresh frame did not cause a protocol error", n)
				}
				if n >= 25 && n <= 27 && !wasErr && fresh == len(fs)-1 && !c.InError() {
					// Closed by the next conversion; check the selection.
					clk.Advance(c.Period() + time.Microsecond)
					if !c.InError() && !c.PoweredDown() {
						if want := hx711test.Input(n); c.Input() != want {
							t.Fatalf("after a %d-pulse frame the chip converts at %v, want %v", n, c.Input(), want)
						}
					}
				}
			case 1: // a pause of 0–255 ms
				clk.Advance(time.Duration(next()) * time.Millisecond)
			case 2: // PD_SCK high for 0–255 µs
				hi := time.Duration(next()) * time.Microsecond
				pulse(c, clk, hi)
				if hi > hx711test.PowerDownAfter {
					if c.InError() || c.PoweredDown() || c.Input() != hx711test.A128 {
						t.Fatalf("after a %v power-down: error %v, down %v, input %v", hi, c.InError(), c.PoweredDown(), c.Input())
					}
				}
			case 3: // wait for DOUT low, up to 1 s
				ready := waitReady(t, c, time.Second)
				if ready && c.InError() {
					t.Fatal("DOUT low while the chip is in its error state")
				}
			case 4: // the error state holds
				if c.InError() {
					clk.Advance(time.Second)
					if !c.InError() || c.DOUT().Read() != gpio.High {
						t.Fatal("the chip left its error state without a reset")
					}
				}
			}
		}
	})
}
