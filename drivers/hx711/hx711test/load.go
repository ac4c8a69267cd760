package hx711test

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Source gives the raw HX711 count (channel A, gain 128, before the chip's
// own noise) at time t since the simulated chip was created. A Load provides
// one; so can a trace recorded on a real Pi (see Steps), which then replaces
// the simulation in the same tests.
type Source func(t time.Duration) int32

// Reference cell (docs/architecture.md, "Load-cell trace CSV"): a 5 kg bar
// cell at gain 128.
const (
	// RefCountsPerGram is the reference cell's span at gain 128.
	RefCountsPerGram = 420.0
	// RefOffset is the reference cell's count with nothing on the platform.
	RefOffset = 8000
)

// RefNoise returns the reference cell's conversion noise σ in counts at gain
// 128 for an output rate of 10 or 80 SPS (0.15 g and 0.35 g). Other rates
// return 0.
func RefNoise(rate int) float64 {
	switch rate {
	case 10:
		return 0.15 * RefCountsPerGram
	case 80:
		return 0.35 * RefCountsPerGram
	}
	return 0
}

// LoadOpts describes a simulated load cell. NewLoad(clock, nil) uses
// RefLoadOpts(); a non-nil LoadOpts is used exactly as given.
type LoadOpts struct {
	// Offset is the count with nothing on the platform (gain 128).
	Offset int32
	// CountsPerGram is the span at gain 128.
	CountsPerGram float64
	// WarmUpDriftG is how far (grams, either sign) the zero wanders during
	// warm-up; it approaches that value with time constant WarmUpTau.
	WarmUpDriftG float64
	WarmUpTau    time.Duration
	// WanderG is the amplitude (grams) of a slow zero wander with period
	// WanderPeriod (temperature, supply); its phase comes from Seed.
	WanderG      float64
	WanderPeriod time.Duration
	// Creep is the fraction of a load change that the reading creeps by,
	// with time constant CreepTau (0.0005 = 0.05 %).
	Creep    float64
	CreepTau time.Duration
	// BounceFraction is the peak of the damped oscillation after Place or
	// Remove, as a fraction of the change; BounceHz its frequency and
	// BounceTau its decay time constant.
	BounceFraction float64
	BounceHz       float64
	BounceTau      time.Duration
	// Seed picks the sign of the warm-up drift and the wander's phase.
	Seed uint64
}

// RefLoadOpts returns the reference cell: RefOffset, RefCountsPerGram, 0.5 g
// of warm-up drift over ~3 min, 0.1 g of wander over 20 min, 0.05 % creep
// with a 60 s time constant, a 15 % bounce at 4 Hz decaying in 150 ms.
func RefLoadOpts() LoadOpts {
	return LoadOpts{
		Offset: RefOffset, CountsPerGram: RefCountsPerGram,
		WarmUpDriftG: 0.5, WarmUpTau: 3 * time.Minute,
		WanderG: 0.1, WanderPeriod: 20 * time.Minute,
		Creep: 0.0005, CreepTau: time.Minute,
		BounceFraction: 0.15, BounceHz: 4, BounceTau: 150 * time.Millisecond,
		Seed: 1,
	}
}

// Load is a simulated load on a load cell: a settable mass in grams over
// time, turned into counts with offset and span plus drift and creep.
// Set, Place and Remove act at the clock's present time; Grams and Counts
// can be asked about any time. It is safe for concurrent use: weighd --sim
// reads the chip from one goroutine while its API changes the load from
// another.
type Load struct {
	clk   Clock
	start time.Time
	o     LoadOpts
	sign  float64
	phase float64

	mu    sync.Mutex
	steps []step // sorted by t
	hands []handStep
}

// handStep is a hand's force from t on, reached from the force before over
// handRamp.
type handStep struct {
	t     time.Duration
	grams float64
	from  float64
}

// handRamp is how long a hand takes to lean in or lift off; handTremorG is
// the amplitude of its tremor at handTremorHz, well below a stability
// threshold: a resting hand reads as a stable weight.
const (
	handRamp     = 300 * time.Millisecond
	handTremorG  = 0.15
	handTremorHz = 4
)

// SetHand makes a hand press on the platform with a steady force of grams
// (0 lifts it) from now on: the reading leans in over 0.3 s and then stays,
// with a tremor of ±0.15 g, as steady as a parcel — the error a scale
// cannot see. Grams (the truth) leaves the hand out.
func (l *Load) SetHand(grams float64) {
	t := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var prev handStep
	if n := len(l.hands); n > 0 {
		prev = l.hands[n-1]
		t = max(t, prev.t)
	}
	l.hands = append(l.hands, handStep{t: t, grams: grams, from: l.handAt(t)})
}

// handAt is the hand's force at t; the caller holds mu.
func (l *Load) handAt(t time.Duration) float64 {
	i, _ := slices.BinarySearchFunc(l.hands, t, func(h handStep, t time.Duration) int {
		if h.t <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return 0
	}
	h := l.hands[i-1]
	g := h.grams
	if dt := t - h.t; dt < handRamp {
		g = h.from + (h.grams-h.from)*float64(dt)/float64(handRamp)
	}
	if g != 0 {
		g += handTremorG * math.Sin(2*math.Pi*handTremorHz*t.Seconds())
	}
	return g
}

type step struct {
	t     time.Duration
	grams float64 // mass from t on
	// creep and bounce accumulate the changes up to this step, each decayed
	// to t: creep by exp(-Δt/CreepTau), bounce by exp((-1/BounceTau+iω)Δt).
	// Counts is then O(log n) in the number of steps.
	creep  float64
	bounce complex128
}

// NewLoad returns an empty Load whose time 0 is clk.Now(). A nil opts means
// RefLoadOpts().
func NewLoad(clk Clock, opts *LoadOpts) (*Load, error) {
	if clk == nil {
		return nil, errors.New("hx711test: NewLoad: nil clock")
	}
	o := RefLoadOpts()
	if opts != nil {
		o = *opts
	}
	if o.CountsPerGram == 0 || math.IsNaN(o.CountsPerGram) || math.IsInf(o.CountsPerGram, 0) {
		return nil, fmt.Errorf("hx711test: NewLoad: CountsPerGram must be finite and non-zero, got %g", o.CountsPerGram)
	}
	if o.WarmUpTau < 0 || o.WanderPeriod < 0 || o.CreepTau < 0 || o.BounceTau < 0 || o.BounceHz < 0 {
		return nil, errors.New("hx711test: NewLoad: time constants and frequencies must not be negative")
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x6c6f6164))
	l := &Load{clk: clk, start: clk.Now(), o: o, sign: 1, phase: r.Float64() * 2 * math.Pi}
	if r.IntN(2) == 0 {
		l.sign = -1
	}
	return l, nil
}

func (l *Load) now() time.Duration { return l.clk.Now().Sub(l.start) }

func (l *Load) change(grams float64, bounce bool) {
	t := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// A change dated before the last one (clock skew between goroutines) is
	// moved up to it, so steps stay sorted.
	var prev step
	if n := len(l.steps); n > 0 {
		prev = l.steps[n-1]
		t = max(t, prev.t)
	}
	delta := grams - prev.grams
	s := step{t: t, grams: grams}
	s.creep = l.creepAt(prev, t) + delta
	s.bounce = l.bounceAt(prev, t)
	if bounce {
		s.bounce += complex(delta, 0)
	}
	l.steps = append(l.steps, s)
}

// creepAt and bounceAt decay a step's accumulators to t >= s.t.
func (l *Load) creepAt(s step, t time.Duration) float64 {
	if l.o.CreepTau <= 0 || s.creep == 0 {
		return 0
	}
	return s.creep * math.Exp(-(t-s.t).Seconds()/l.o.CreepTau.Seconds())
}

func (l *Load) bounceAt(s step, t time.Duration) complex128 {
	if l.o.BounceTau <= 0 || s.bounce == 0 {
		return 0
	}
	dt := (t - s.t).Seconds()
	return s.bounce * cmplx.Exp(complex(-dt/l.o.BounceTau.Seconds(), 2*math.Pi*l.o.BounceHz*dt))
}

// at returns the last step at or before t.
func (l *Load) at(t time.Duration) (step, bool) {
	i, _ := slices.BinarySearchFunc(l.steps, t, func(s step, t time.Duration) int {
		if s.t <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return step{}, false
	}
	return l.steps[i-1], true
}

// Set makes the load grams from now on, with no transient.
func (l *Load) Set(grams float64) { l.change(grams, false) }

// Place adds grams to the load from now on, as a parcel set down: the
// reading overshoots and rings for a moment (see LoadOpts.BounceFraction).
func (l *Load) Place(grams float64) {
	l.mu.Lock()
	cur := 0.0
	if n := len(l.steps); n > 0 {
		cur = l.steps[n-1].grams
	}
	l.mu.Unlock()
	l.change(cur+grams, true)
}

// PlaceTotal makes the load grams from now on with a bounce, as a parcel
// set down or items lifted out of it: the total, not an addition.
func (l *Load) PlaceTotal(grams float64) { l.change(grams, true) }

// Remove empties the platform from now on, with a bounce.
func (l *Load) Remove() { l.change(0, true) }

// Grams returns the mass on the platform at t (since NewLoad), without
// drift, creep or bounce: the truth a test compares a weigh-in with.
func (l *Load) Grams(t time.Duration) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, _ := l.at(t)
	return s.grams
}

// Counts returns the noiseless count at t: offset + span × (mass + bounce +
// creep + drift).
func (l *Load) Counts(t time.Duration) float64 {
	if t < 0 {
		t = 0
	}
	o := &l.o
	l.mu.Lock()
	s, ok := l.at(t)
	hand := l.handAt(t)
	l.mu.Unlock()
	g := hand
	if ok {
		// Creep: the reading approaches Creep × the load; the decayed
		// accumulator is what it has not crept yet.
		g += s.grams + o.Creep*(s.grams-l.creepAt(s, t)) + o.BounceFraction*real(l.bounceAt(s, t))
	}
	ts := t.Seconds()
	if o.WarmUpTau > 0 {
		g += l.sign * o.WarmUpDriftG * (1 - math.Exp(-ts/o.WarmUpTau.Seconds()))
	}
	if o.WanderPeriod > 0 {
		g += o.WanderG * math.Sin(2*math.Pi*ts/o.WanderPeriod.Seconds()+l.phase)
	}
	return float64(o.Offset) + g*o.CountsPerGram
}

// Source returns the load as a Source (rounded Counts). It is not clamped
// to 24 bits: the chip saturates after applying the gain.
func (l *Load) Source() Source {
	return func(t time.Duration) int32 {
		v := math.Round(l.Counts(t))
		return int32(max(min(v, math.MaxInt32), math.MinInt32))
	}
}

// Sample is one point of a recorded trace: the raw count from time T on.
type Sample struct {
	T   time.Duration
	Raw int32
}

// Steps returns a Source that replays a recorded trace: the raw count of
// the last sample at or before t (the first sample's before it). The
// samples must be non-empty with non-decreasing T. Use it with
// Opts.Samples = 1 and Opts.Noise = 0: a recorded trace is already
// converted and carries its own noise.
func Steps(samples []Sample) (Source, error) {
	if len(samples) == 0 {
		return nil, errors.New("hx711test: Steps: no samples")
	}
	for i := 1; i < len(samples); i++ {
		if samples[i].T < samples[i-1].T {
			return nil, fmt.Errorf("hx711test: Steps: sample %d at %v is before sample %d at %v", i, samples[i].T, i-1, samples[i-1].T)
		}
	}
	s := slices.Clone(samples)
	return func(t time.Duration) int32 {
		i, _ := slices.BinarySearchFunc(s, t, func(x Sample, t time.Duration) int {
			if x.T <= t {
				return -1
			}
			return 1
		})
		if i == 0 {
			return s[0].Raw
		}
		return s[i-1].Raw
	}, nil
}

func clamp24(v float64) int32 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > 0x7FFFFF:
		return 0x7FFFFF
	case v < -0x800000:
		return -0x800000
	}
	return int32(v)
}
