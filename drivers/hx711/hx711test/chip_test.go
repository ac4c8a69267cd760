package hx711test_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"weighin/drivers/hx711/hx711test"
)

var epoch = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func newChip(t testing.TB, o hx711test.Opts) (*hx711test.Chip, *hx711test.VirtualClock) {
	t.Helper()
	clk := hx711test.NewVirtualClock(epoch)
	o.Clock = clk
	c, err := hx711test.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DOUT().In(gpio.PullNoChange, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	return c, clk
}

// pulse gives one PD_SCK pulse high for hi and returns DOUT after it.
func pulse(c *hx711test.Chip, clk *hx711test.VirtualClock, hi time.Duration) gpio.Level {
	c.SCK().Out(gpio.High)
	clk.Advance(hi)
	c.SCK().Out(gpio.Low)
	clk.Advance(time.Microsecond)
	return c.DOUT().Read()
}

// shift clocks n pulses and returns the 24 data bits, sign-extended.
func shift(c *hx711test.Chip, clk *hx711test.VirtualClock, n int) int32 {
	var v uint32
	for i := 1; i <= n; i++ {
		l := pulse(c, clk, time.Microsecond)
		if i <= 24 {
			v = v<<1 | map[gpio.Level]uint32{gpio.Low: 0, gpio.High: 1}[l]
		}
	}
	return int32(v<<8) >> 8
}

// waitReady advances the clock until DOUT is low, at most limit.
func waitReady(t testing.TB, c *hx711test.Chip, limit time.Duration) bool {
	t.Helper()
	end := c.Clock().Now().Add(limit)
	for c.DOUT().Read() == gpio.High {
		rest := end.Sub(c.Clock().Now())
		if rest <= 0 {
			return false
		}
		c.DOUT().WaitForEdge(rest)
	}
	return true
}

func TestBitsShiftedOutMSBFirst(t *testing.T) {
	for _, raw := range []int32{0, 1, -1, 0x123456, -0x123456, 0x7FFFFE, -0x7FFFFF} {
		src := func(time.Duration) int32 { return raw }
		c, _ := newChip(t, hx711test.Opts{Source: src, Samples: 1})
		clk := c.Clock().(*hx711test.VirtualClock)
		clk.Advance(c.Settling())
		if !waitReady(t, c, time.Second) {
			t.Fatal("no conversion within 1 s")
		}
		if got := shift(c, clk, 25); got != raw {
			t.Errorf("shifted out %#x, want %#x", got, raw)
		}
		if c.DOUT().Read() != gpio.High {
			t.Error("DOUT not high after the 25th pulse")
		}
	}
}

func TestGainSelectionByPulseCount(t *testing.T) {
	tests := []struct {
		pulses  int
		want    hx711test.Input
		wantErr bool
		settled int // first settled conversion of the six after the switch
	}{
		{25, hx711test.A128, false, 2}, // no change: settled 400 ms after New
		{26, hx711test.B32, false, 3},  // restarted at ~100 ms
		{27, hx711test.A64, false, 3},
		{28, 0, true, 0},
		{31, 0, true, 0},
	}
	for _, tc := range tests {
		c, clk := newChip(t, hx711test.Opts{})
		c.Load().Set(100)
		waitReady(t, c, time.Second)
		shift(c, clk, tc.pulses)
		if c.InError() != tc.wantErr {
			t.Fatalf("%d pulses: InError = %v, want %v", tc.pulses, c.InError(), tc.wantErr)
		}
		if tc.wantErr {
			// Stuck until reset: DOUT stays high through many periods.
			clk.Advance(2 * time.Second)
			if c.DOUT().Read() != gpio.High || !c.InError() {
				t.Fatalf("%d pulses: chip left its error state on its own", tc.pulses)
			}
			pulse(c, clk, 100*time.Microsecond)
			if c.InError() || c.Input() != hx711test.A128 {
				t.Fatalf("%d pulses then reset: InError %v, input %v", tc.pulses, c.InError(), c.Input())
			}
			continue
		}
		if c.Input() != tc.want {
			t.Errorf("%d pulses: input %v, want %v", tc.pulses, c.Input(), tc.want)
		}
		// The next conversions use it, and settle after four periods.
		var convs []hx711test.Conversion
		for range 6 {
			waitReady(t, c, time.Second)
			shift(c, clk, tc.pulses)
			fs := c.Frames()
			convs = append(convs, fs[len(fs)-1].Conv)
		}
		for i, cv := range convs {
			if cv.Input != tc.want {
				t.Errorf("%d pulses: conversion %d at %v", tc.pulses, i, cv.Input)
			}
			if settled := i >= tc.settled; cv.Settled != settled {
				t.Errorf("%d pulses: conversion %d settled %v, want %v", tc.pulses, i, cv.Settled, settled)
			}
		}
	}
}

func TestTooFewPulsesIsAProtocolError(t *testing.T) {
	c, clk := newChip(t, hx711test.Opts{})
	waitReady(t, c, time.Second)
	shift(c, clk, 24)
	clk.Advance(250 * time.Millisecond)
	if !c.InError() {
		t.Fatal("a frame left at 24 pulses over two conversions is not an error")
	}
	if fs := c.Frames(); fs[len(fs)-1].Outcome != hx711test.FrameProtocolError {
		t.Errorf("frame outcome %v", fs[len(fs)-1].Outcome)
	}

	// Back-to-back mode tolerates it (a test-speed mode, not a protocol model).
	c, clk = newChip(t, hx711test.Opts{BackToBack: true})
	waitReady(t, c, time.Second)
	shift(c, clk, 24)
	clk.Advance(10 * time.Millisecond)
	if c.InError() {
		t.Fatal("back-to-back chip in error")
	}
	if !waitReady(t, c, 10*time.Millisecond) {
		t.Fatal("back-to-back chip stopped converting after an abandoned frame")
	}
	if fs := c.Frames(); fs[len(fs)-1].Outcome != hx711test.FrameProtocolError || c.Stats().ProtocolErrors != 1 {
		t.Errorf("abandoned frame: %v, stats %+v", fs[len(fs)-1].Outcome, c.Stats())
	}
}

func TestPowerDownAfter60us(t *testing.T) {
	tests := []struct {
		high time.Duration
		down bool
	}{
		{50 * time.Microsecond, false},
		{60 * time.Microsecond, false},
		{61 * time.Microsecond, true},
		{time.Second, true},
	}
	for _, tc := range tests {
		c, clk := newChip(t, hx711test.Opts{})
		waitReady(t, c, time.Second)
		shift(c, clk, 27) // A64
		c.SCK().Out(gpio.High)
		clk.Advance(tc.high)
		if c.PoweredDown() != tc.down {
			t.Errorf("high for %v: powered down %v, want %v", tc.high, c.PoweredDown(), tc.down)
		}
		if tc.down && c.DOUT().Read() != gpio.High {
			t.Errorf("high for %v: DOUT low in power-down", tc.high)
		}
		c.SCK().Out(gpio.Low)
		if tc.down && c.Input() != hx711test.A128 {
			t.Errorf("after power-down: input %v, want A128", c.Input())
		}
		if tc.down {
			if s := c.Stats(); s.PowerDowns != 1 {
				t.Errorf("stats %+v", s)
			}
		}
	}
}

func TestConversionAveragesTheLoadOverItsPeriod(t *testing.T) {
	// Half of the conversion period at 0 counts, half at 8000.
	src := func(t time.Duration) int32 {
		if t%(100*time.Millisecond) > 50*time.Millisecond || t%(100*time.Millisecond) == 0 {
			return 8000
		}
		return 0
	}
	c, clk := newChip(t, hx711test.Opts{Source: src})
	for range 5 {
		waitReady(t, c, time.Second)
		shift(c, clk, 25)
	}
	fs := c.Frames()
	if got := fs[len(fs)-1].Conv.Value; got != 4000 {
		t.Errorf("conversion of a half-on load = %d, want 4000", got)
	}
}

func TestReferenceNoise(t *testing.T) {
	for _, rate := range []int{10, 80} {
		c, clk := newChip(t, hx711test.Opts{Rate: rate, Noise: hx711test.RefNoise(rate), Seed: 3, Keep: 3000})
		c.Load().Set(500)
		var xs []float64
		for range 2000 {
			waitReady(t, c, time.Second)
			shift(c, clk, 25)
		}
		for _, f := range c.Frames() {
			if f.Data && f.Conv.Settled {
				xs = append(xs, float64(f.Conv.Value)/hx711test.RefCountsPerGram)
			}
		}
		// The drift moves slowly; take σ of successive differences / √2.
		var s2 float64
		for i := 1; i < len(xs); i++ {
			d := xs[i] - xs[i-1]
			s2 += d * d
		}
		sigma := math.Sqrt(s2/float64(len(xs)-1)) / math.Sqrt2
		want := map[int]float64{10: 0.15, 80: 0.35}[rate]
		t.Logf("%d SPS: noise σ = %.3f g over %d conversions (reference %.2f g)", rate, sigma, len(xs), want)
		if math.Abs(sigma-want) > 0.1*want {
			t.Errorf("%d SPS: σ = %.3f g, want %.2f g ± 10 %%", rate, sigma, want)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Run("stuck high", func(t *testing.T) {
		c, _ := newChip(t, hx711test.Opts{Faults: hx711test.Faults{StuckHigh: true}})
		if waitReady(t, c, 2*time.Second) {
			t.Fatal("DOUT went low while stuck high")
		}
		c.SetFaults(hx711test.Faults{})
		if !waitReady(t, c, 200*time.Millisecond) {
			t.Fatal("DOUT did not go low after the fault was cleared")
		}
	})
	t.Run("spikes", func(t *testing.T) {
		c, clk := newChip(t, hx711test.Opts{Seed: 5, Keep: 1000, Faults: hx711test.Faults{SpikeFraction: 0.1, SpikeCounts: 50000}})
		for range 1000 {
			waitReady(t, c, time.Second)
			shift(c, clk, 25)
		}
		n := 0
		for _, f := range c.Frames() {
			d := f.Conv.Value - hx711test.RefOffset
			if f.Conv.Spike {
				n++
				if d < 0 {
					d = -d
				}
				if f.Conv.Settled && d < 49000 {
					t.Errorf("spike conversion %d only %d counts from the offset", f.Conv.Seq, d)
				}
			}
		}
		if n < 70 || n > 130 {
			t.Errorf("%d spikes in 1000 conversions, want about 100", n)
		}
	})
	t.Run("stall", func(t *testing.T) {
		c, clk := newChip(t, hx711test.Opts{Seed: 9, Keep: 2000, Faults: hx711test.Faults{StallFraction: 0.2}})
		for range 1000 {
			waitReady(t, c, 2*time.Second)
			shift(c, clk, 25)
		}
		stalled := 0
		for _, f := range c.Frames() {
			if !f.Stalled {
				continue
			}
			stalled++
			if f.Outcome != hx711test.FramePowerDown {
				t.Fatalf("stalled frame ended %v", f.Outcome)
			}
			long := 0
			for _, h := range f.Highs {
				if h >= 130*time.Microsecond {
					long++
				}
			}
			if long != 1 {
				t.Fatalf("stalled frame highs %v", f.Highs)
			}
		}
		if stalled < 150 || stalled > 250 {
			t.Errorf("%d of 1000 frames stalled, want about 200", stalled)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		for _, f := range []hx711test.Faults{{StallFraction: 2}, {SpikeFraction: -1}, {Stall: -1}} {
			if _, err := hx711test.New(hx711test.Opts{Faults: f}); err == nil {
				t.Errorf("New accepted faults %+v", f)
			}
		}
		if _, err := hx711test.New(hx711test.Opts{Rate: 20}); err == nil {
			t.Error("New accepted rate 20")
		}
	})
}

func TestWaitForEdgeRejectsNonPositiveTimeouts(t *testing.T) {
	for _, d := range []time.Duration{0, -1} {
		c, _ := newChip(t, hx711test.Opts{})
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WaitForEdge(%v) did not panic", d)
				}
			}()
			c.DOUT().WaitForEdge(d)
		}()
	}
}

func TestWaitForEdgeWithoutEdgeDetectionReturnsAtOnce(t *testing.T) {
	c, clk := newChip(t, hx711test.Opts{})
	c.DOUT().In(gpio.PullNoChange, gpio.NoEdge)
	start := clk.Now()
	if c.DOUT().WaitForEdge(time.Second) || clk.Now() != start {
		t.Error("WaitForEdge waited without edge detection (gpioioctl returns false at once)")
	}
}

func TestLoad(t *testing.T) {
	clk := hx711test.NewVirtualClock(epoch)
	o := hx711test.RefLoadOpts()
	o.WarmUpDriftG, o.WanderG = 0, 0
	l, err := hx711test.NewLoad(clk, &o)
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Duration { return clk.Now().Sub(epoch) }
	clk.Advance(time.Second)
	l.Place(1000)
	placed := at()
	clk.Advance(50 * time.Millisecond)
	if g := (l.Counts(at()) - hx711test.RefOffset) / hx711test.RefCountsPerGram; math.Abs(g-1000) < 20 {
		t.Errorf("50 ms after Place the reading is %.1f g: no bounce", g)
	}
	clk.Advance(5 * time.Second)
	g := (l.Counts(at()) - hx711test.RefOffset) / hx711test.RefCountsPerGram
	if math.Abs(g-1000) > 0.5 {
		t.Errorf("5 s after Place: %.2f g, want 1000 ± 0.5 (bounce gone, creep small)", g)
	}
	clk.Advance(10 * time.Minute)
	creep := (l.Counts(at())-hx711test.RefOffset)/hx711test.RefCountsPerGram - 1000
	if math.Abs(creep-0.5) > 0.01 {
		t.Errorf("creep after 10 min = %.3f g, want 0.5 g (0.05 %% of 1000 g)", creep)
	}
	l.Remove()
	if l.Grams(at()) != 0 || l.Grams(placed) != 1000 || l.Grams(0) != 0 {
		t.Errorf("truth: now %g, at placing %g, at 0 %g", l.Grams(at()), l.Grams(placed), l.Grams(0))
	}
	l.Set(250)
	l.Place(50)
	if got := l.Grams(at()); got != 300 {
		t.Errorf("Set(250) then Place(50): %g g", got)
	}
	if _, err := hx711test.NewLoad(clk, &hx711test.LoadOpts{}); err == nil {
		t.Error("NewLoad accepted a zero span")
	}
}

func TestWarmUpDrift(t *testing.T) {
	clk := hx711test.NewVirtualClock(epoch)
	l, err := hx711test.NewLoad(clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	d0 := l.Counts(0) - hx711test.RefOffset
	d := (l.Counts(30*time.Minute) - hx711test.RefOffset) / hx711test.RefCountsPerGram
	if math.Abs(d0) > 0.2*hx711test.RefCountsPerGram || math.Abs(d) < 0.3 || math.Abs(d) > 0.7 {
		t.Errorf("zero drift: %.2f counts at 0, %.2f g after 30 min; want ~0 then about ±0.5 g", d0, d)
	}
}

func TestSteps(t *testing.T) {
	src, err := hx711test.Steps([]hx711test.Sample{{0, 10}, {100 * time.Millisecond, 20}, {100 * time.Millisecond, 30}, {time.Second, 40}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want int32
	}{{-time.Second, 10}, {0, 10}, {99 * time.Millisecond, 10}, {100 * time.Millisecond, 30}, {time.Second, 40}, {time.Hour, 40}} {
		if got := src(tc.at); got != tc.want {
			t.Errorf("src(%v) = %d, want %d", tc.at, got, tc.want)
		}
	}
	if _, err := hx711test.Steps(nil); err == nil {
		t.Error("Steps(nil) succeeded")
	}
	if _, err := hx711test.Steps([]hx711test.Sample{{time.Second, 1}, {0, 2}}); err == nil {
		t.Error("Steps accepted decreasing times")
	}
}

// weighd --sim reads the chip from one goroutine while its API changes the
// load from another; run under -race.
func TestConcurrentLoadAndReads(t *testing.T) {
	c, err := hx711test.New(hx711test.Opts{BackToBack: true})
	if err != nil {
		t.Fatal(err)
	}
	c.DOUT().In(gpio.PullNoChange, gpio.FallingEdge)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if i%2 == 0 {
				c.Load().Place(10)
			} else {
				c.Load().Set(float64(i))
			}
			if i%50 == 0 {
				c.Frames()
				c.Stats()
			}
			time.Sleep(time.Millisecond)
		}
	})
	for range 200 {
		end := time.Now().Add(time.Second)
		for c.DOUT().Read() == gpio.High && time.Now().Before(end) {
			c.DOUT().WaitForEdge(10 * time.Millisecond)
		}
		for i := 0; i < 25; i++ {
			c.SCK().Out(gpio.High)
			c.SCK().Out(gpio.Low)
			c.DOUT().Read()
		}
	}
	close(done)
	wg.Wait()
	if s := c.Stats(); s.Frames < 200 {
		t.Errorf("stats %+v", s)
	}
}
