package weighing

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"weighin/internal/config"
)

// feeder drives a pipeline with a synthetic cell: 420 counts/g, offset 8000.
type feeder struct {
	t      *testing.T
	p      *Pipeline
	now    time.Duration
	period time.Duration
	rng    *rand.Rand
	noise  float64
	events []Reading
}

func newFeeder(t *testing.T, rate int, mutate func(*Options)) *feeder {
	t.Helper()
	sc := config.Default().Scale
	sc.Rate = rate
	o := FromConfig(sc, 8000, 420)
	if mutate != nil {
		mutate(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, p: p, period: time.Second / time.Duration(rate), rng: rand.New(rand.NewPCG(1, 2)), noise: 0.15}
}

func raw(g float64) int32 { return int32(math.Round(8000 + 420*g)) }

// run feeds grams(t) for d and returns the last reading.
func (f *feeder) run(d time.Duration, grams func(t time.Duration) float64) Reading {
	var r Reading
	for end := f.now + d; f.now < end; {
		f.now += f.period
		var changed bool
		r, changed = f.p.Add(f.now, raw(grams(f.now)+f.noise*f.rng.NormFloat64()))
		if changed {
			f.events = append(f.events, r)
		}
	}
	return r
}

func constant(g float64) func(time.Duration) float64 { return func(time.Duration) float64 { return g } }

func TestOptionsValidate(t *testing.T) {
	good := FromConfig(config.Default().Scale, 8000, 420)
	if err := good.Validate(); err != nil {
		t.Fatalf("default options: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Options)
	}{
		{"zero scale", func(o *Options) { o.Scale = 0 }},
		{"NaN offset", func(o *Options) { o.Offset = math.NaN() }},
		{"rate 40", func(o *Options) { o.Rate = 40 }},
		{"window too short", func(o *Options) { o.Window = 50 * time.Millisecond }},
		{"threshold 0", func(o *Options) { o.ThresholdG = 0 }},
		{"negative pct", func(o *Options) { o.ThresholdPct = -1 }},
		{"zero band 0", func(o *Options) { o.ZeroBandG = 0 }},
		{"negative tracking", func(o *Options) { o.ZeroTrackGPerS = -1 }},
		{"negative warm-up", func(o *Options) { o.WarmUp = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mutate(&o)
			if _, err := New(o); !errors.Is(err, ErrOptions) {
				t.Fatalf("New(%+v) = %v, want ErrOptions", o, err)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	sc := config.Default().Scale
	o := FromConfig(sc, 123, -420)
	want := Options{Offset: 123, Scale: -420, Rate: sc.Rate, Window: sc.StableWindow,
		ThresholdG: sc.StableThresholdG, ThresholdPct: sc.StableThresholdPct,
		ZeroBandG: sc.ZeroBandG, ZeroTrackGPerS: sc.ZeroTrackGPerS, WarmUp: sc.WarmUp}
	if o != want {
		t.Fatalf("FromConfig = %+v, want %+v", o, want)
	}
	if got := o.Threshold(4000); got != 2 {
		t.Errorf("Threshold(4000 g) = %v, want 2 (0.05 %%)", got)
	}
	if got := o.Threshold(-100); got != 1 {
		t.Errorf("Threshold(-100 g) = %v, want 1", got)
	}
}

func TestUndecidedUntilWindowFull(t *testing.T) {
	f := newFeeder(t, 10, nil)
	r := f.run(400*time.Millisecond, constant(0))
	if r.State != Undecided || len(f.events) != 0 {
		t.Fatalf("after 4 conversions: state %s, %d events; want undecided, none", r.State, len(f.events))
	}
	r = f.run(f.period, constant(0))
	if r.State != Empty || len(f.events) != 1 || f.events[0].T != 500*time.Millisecond {
		t.Fatalf("after 5 conversions (a 500 ms window): state %s, events %+v; want one empty at 500ms", r.State, f.events)
	}
}

func TestSetDownAndRemove(t *testing.T) {
	for _, rate := range []int{10, 80} {
		f := newFeeder(t, rate, nil)
		f.run(2*time.Second, constant(0))
		f.run(3*time.Second, constant(1234.5))
		f.run(3*time.Second, constant(0))
		var states []State
		for _, e := range f.events {
			states = append(states, e.State)
		}
		want := []State{Empty, Unstable, Stable, Unstable, Empty}
		if len(states) != len(want) {
			t.Fatalf("%d SPS: states %v, want %v", rate, states, want)
		}
		for i := range want {
			if states[i] != want[i] {
				t.Fatalf("%d SPS: states %v, want %v", rate, states, want)
			}
		}
		if g := f.events[2].Grams; math.Abs(g-1234.5) > 0.2 {
			t.Errorf("%d SPS: stable at %.2f g, want 1234.5", rate, g)
		}
		if lat := f.events[2].T - 2*time.Second; lat > 700*time.Millisecond {
			t.Errorf("%d SPS: a clean step took %v to be stable", rate, lat)
		}
	}
}

func TestSpikeRejected(t *testing.T) {
	f := newFeeder(t, 10, nil)
	f.run(3*time.Second, constant(500))
	n := len(f.events)
	for _, bad := range []int32{-1, raw(500) | 0xFFF, raw(500) ^ 1<<20, 0x7FFFFF} {
		f.now += f.period
		r, changed := f.p.Add(f.now, bad)
		if changed || !r.Rejected || r.State != Stable {
			t.Fatalf("read fault %d: changed %v, rejected %v, state %s", bad, changed, r.Rejected, r.State)
		}
		f.run(time.Second, constant(500))
	}
	if len(f.events) != n {
		t.Fatalf("read faults published %+v", f.events[n:])
	}
}

func TestOverload(t *testing.T) {
	f := newFeeder(t, 10, nil)
	f.run(2*time.Second, constant(0))
	var r Reading
	var changed bool
	for range 3 {
		f.now += f.period
		r, changed = f.p.Add(f.now, 0x7FFFFF)
		if r.State == Unstable {
			break
		}
	}
	if !changed || !r.Overload || r.State != Unstable || r.Stable {
		t.Fatalf("after saturated codes: %+v changed %v; want unstable with Overload", r, changed)
	}
	r = f.run(2*time.Second, constant(0))
	if r.Overload || r.State != Empty {
		t.Fatalf("after the overload: %+v", r)
	}
}

func TestZeroTracking(t *testing.T) {
	t.Run("follows a small offset at the bounded rate", func(t *testing.T) {
		f := newFeeder(t, 10, nil)
		f.noise = 0
		f.run(time.Second, constant(3)) // 3 g within the 5 g zero band
		z0 := f.p.Reading().Zero
		r := f.run(2*time.Second, constant(3))
		if moved := r.Zero - z0; moved > 2*0.5+1e-9 || moved < 0.9 {
			t.Fatalf("zero moved %.3f g in 2 s; want about 1 g (0.5 g/s)", moved)
		}
		r = f.run(10*time.Second, constant(3))
		if math.Abs(r.Grams) > 0.05 || r.State != Empty {
			t.Fatalf("after 13 s: %.3f g %s; want tracked to 0, empty", r.Grams, r.State)
		}
	})
	t.Run("never tracks a load", func(t *testing.T) {
		f := newFeeder(t, 10, nil)
		f.run(2*time.Second, constant(0))
		r := f.run(60*time.Second, constant(12))
		if math.Abs(r.Grams-12) > 0.2 || r.State != Stable || r.Zero != f.p.Reading().Zero {
			t.Fatalf("a 12 g load after 60 s: %.2f g %s zero %.3f", r.Grams, r.State, r.Zero)
		}
	})
	t.Run("off", func(t *testing.T) {
		f := newFeeder(t, 10, func(o *Options) { o.ZeroTrackGPerS = 0 })
		r := f.run(10*time.Second, constant(3))
		if r.Zero != 0 || math.Abs(r.Grams-3) > 0.2 {
			t.Fatalf("tracking off: zero %v, %.2f g", r.Zero, r.Grams)
		}
	})
}

func TestSteadyMoveIsANewStable(t *testing.T) {
	f := newFeeder(t, 10, nil)
	f.noise = 0
	f.run(time.Second, constant(0))
	f.run(2*time.Second, constant(800))
	// Creep 0.5 g/s: the window's spread stays 0.2 g, below the 1 g threshold.
	start := f.now
	f.run(6*time.Second, func(t time.Duration) float64 { return 800 + 0.5*(t-start).Seconds() })
	var stables []Reading
	for _, e := range f.events {
		if e.State == Unstable && e.T > start {
			t.Fatalf("went unstable at %v while creeping slowly", e.T)
		}
		if e.State == Stable {
			stables = append(stables, e)
		}
	}
	if len(stables) < 3 {
		t.Fatalf("stable events %+v; want new ones as the weight creeps by more than 1 g", stables)
	}
	for i := 1; i < len(stables); i++ {
		if d := stables[i].Grams - stables[i-1].Grams; d <= 1 {
			t.Errorf("new stable after moving %.2f g; want more than the 1 g threshold", d)
		}
	}
}

func TestTare(t *testing.T) {
	f := newFeeder(t, 10, nil)
	f.run(time.Second, constant(0))
	f.run(200*time.Millisecond, constant(300))
	if err := f.p.Tare(); !errors.Is(err, ErrNotStable) {
		t.Fatalf("Tare while moving = %v, want ErrNotStable", err)
	}
	f.run(2*time.Second, constant(300))
	if err := f.p.Tare(); err != nil {
		t.Fatal(err)
	}
	if r := f.p.Reading(); r.State != Empty || r.Grams != 0 || math.Abs(r.Zero-300) > 0.2 {
		t.Fatalf("after tare: %+v", r)
	}
	r := f.run(3*time.Second, constant(300+250))
	if r.State != Stable || math.Abs(r.Grams-250) > 0.2 {
		t.Fatalf("250 g on the tared box: %.2f g %s", r.Grams, r.State)
	}
}

func TestWarmUp(t *testing.T) {
	f := newFeeder(t, 10, func(o *Options) { o.WarmUp = 5 * time.Second })
	if r := f.run(4*time.Second, constant(0)); !r.WarmingUp {
		t.Fatal("not warming up at 4 s of 5")
	}
	if r := f.run(2*time.Second, constant(0)); r.WarmingUp {
		t.Fatal("still warming up at 6 s of 5")
	}
}

func TestNegativeScale(t *testing.T) {
	p, err := New(Options{Offset: 0, Scale: -420, Rate: 10, Window: 500 * time.Millisecond, ThresholdG: 1, ZeroBandG: 5})
	if err != nil {
		t.Fatal(err)
	}
	var r Reading
	for i := 1; i <= 20; i++ {
		r, _ = p.Add(time.Duration(i)*100*time.Millisecond, -420*700)
	}
	if r.State != Stable || math.Abs(r.Grams-700) > 1e-9 {
		t.Fatalf("cell wired the other way: %+v", r)
	}
}

func TestGapInConversions(t *testing.T) {
	f := newFeeder(t, 10, nil)
	f.run(2*time.Second, constant(0))
	f.now += 30 * time.Second // the driver lost the chip for 30 s
	r := f.run(f.period, constant(0))
	if r.Stable && r.Spread > r.Threshold {
		t.Fatalf("after a gap: %+v", r)
	}
	if r = f.run(time.Second, constant(0)); r.State != Empty {
		t.Fatalf("a second after the gap: %+v", r)
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, rate := range []int{10, 80} {
		b.Run(map[int]string{10: "10sps", 80: "80sps"}[rate], func(b *testing.B) {
			sc := config.Default().Scale
			sc.Rate = rate
			p, err := New(FromConfig(sc, 8000, 420))
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			var t time.Duration
			period := time.Second / time.Duration(rate)
			b.ReportAllocs()
			for b.Loop() {
				t += period
				p.Add(t, raw(1000+0.3*rng.NormFloat64()))
			}
		})
	}
}
