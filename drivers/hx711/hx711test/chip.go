// Package hx711test simulates an HX711 24-bit load-cell ADC behind fake
// periph pins, for the tests of any package and for weighd --sim.
//
// The simulated chip follows the Avia HX711 datasheet as the driver sees it
// through PD_SCK and DOUT:
//
//   - DOUT low means a conversion is ready. Each PD_SCK rising edge shifts
//     out one bit, MSB first; the 25th edge drives DOUT high again.
//   - The number of pulses in a frame selects channel and gain of the next
//     conversion: 25 = A/128, 26 = B/32, 27 = A/64, applied at the pulse's
//     falling edge. A change restarts the conversion and its settling.
//     A 28th pulse is a protocol error; so is a frame left with fewer than
//     25 pulses while two conversions complete (the driver abandoned it).
//     After a protocol error the chip stops converting (DOUT stays high)
//     until it is reset.
//   - PD_SCK high for more than 60 µs powers the chip down (DOUT high, no
//     conversions); PD_SCK low again resets it: channel A, gain 128, a new
//     conversion sequence, settling.
//   - Conversions complete every 1/Rate (100 ms at 10 SPS, 12.5 ms at
//     80 SPS) and average the load over their conversion period. Settling
//     lasts four periods (400 ms / 50 ms): conversions that complete sooner
//     after a reset or a gain change are marked unsettled and ramp up from 0.
//     Back-to-back mode converts every 200 µs instead, so that 10,000 reads
//     take seconds on the real clock. It is a speed mode, not a protocol
//     model: conversions that complete under a frame are dropped, and a
//     frame left with fewer than 25 pulses for 2 ms is abandoned without
//     the error state.
//   - Output is 24-bit two's complement, saturating at 0x7FFFFF / 0x800000.
//
// Time comes from a Clock shared with the driver: with a VirtualClock a test
// runs in virtual time, and a "clock-high stall" fault (preemption of the
// driver's thread in the middle of a PD_SCK high phase) is simulated by
// advancing the clock inside the rising edge.
//
// The load comes from a Source (raw counts over time): a Load (grams with
// offset, span, drift, creep, bounce; Set, Place, Remove) or a trace
// recorded on a real Pi (Steps). Faults: clock-high stalls in a seeded
// fraction of frames, DOUT stuck high, spikes. Every frame is recorded
// (pulse count, each high time, the conversion shifted out, the outcome) so
// tests can assert the pulse sequence, not only the value.
//
// A Chip and its pins are safe for concurrent use.
package hx711test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// PowerDownAfter is how long PD_SCK must stay high to power the chip down.
const PowerDownAfter = 60 * time.Microsecond

// BackToBackPeriod is the conversion period in back-to-back mode.
const BackToBackPeriod = 200 * time.Microsecond

// backToBackAbandon is how long a frame with fewer than 25 pulses may rest
// in back-to-back mode before it is abandoned.
const backToBackAbandon = 2 * time.Millisecond

// maxPending is the depth of the simulated kernel edge-event queue.
const maxPending = 16

// Input is a channel and gain, numbered by the pulse count that selects it.
type Input int

// The three inputs of the HX711.
const (
	A128 Input = 25
	B32  Input = 26
	A64  Input = 27
)

// String returns "A128", "B32" or "A64".
func (in Input) String() string {
	switch in {
	case A128:
		return "A128"
	case B32:
		return "B32"
	case A64:
		return "A64"
	}
	return fmt.Sprintf("Input(%d)", int(in))
}

// scale is the input's count per count of the channel A gain 128 Source.
// Channel B is modelled as the same bridge at gain 32.
func (in Input) scale() float64 {
	switch in {
	case A64:
		return 0.5
	case B32:
		return 0.25
	}
	return 1
}

// Outcome is how a frame ended.
type Outcome int

// Frame outcomes.
const (
	// FrameOpen: the frame may still receive pulses.
	FrameOpen Outcome = iota
	// FrameComplete: 25–27 pulses, closed by the next conversion.
	FrameComplete
	// FramePowerDown: PD_SCK stayed high > 60 µs during the frame.
	FramePowerDown
	// FrameProtocolError: more than 27 pulses, or too few before the
	// conversions moved on.
	FrameProtocolError
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case FrameOpen:
		return "open"
	case FrameComplete:
		return "complete"
	case FramePowerDown:
		return "power-down"
	case FrameProtocolError:
		return "protocol-error"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Conversion is one result of the simulated ADC.
type Conversion struct {
	// Seq counts conversions since the chip was created, from 1.
	Seq int
	// At is when it completed, since the chip was created.
	At time.Duration
	// Input is the channel and gain it was converted with.
	Input Input
	// Value is the 24-bit result, sign-extended.
	Value int32
	// Settled is false for conversions within the settling time after a
	// reset or a gain change.
	Settled bool
	// Spike marks a conversion hit by the spike fault.
	Spike bool
}

// Frame is one train of PD_SCK pulses, from its first rising edge.
type Frame struct {
	// Start is the first rising edge, since the chip was created.
	Start time.Duration
	// Pulses is the number of rising edges.
	Pulses int
	// Highs is the high time of each pulse (the last one is missing while
	// PD_SCK is still high).
	Highs []time.Duration
	// Data is true when a conversion was ready at Start; Conv is the
	// conversion shifted out. Without data DOUT reads high throughout.
	Data bool
	Conv Conversion
	// Stalled marks a frame in which the stall fault stretched a high phase.
	Stalled bool
	// Outcome is how it ended.
	Outcome Outcome
}

// Faults are injected failures. The zero value injects none.
type Faults struct {
	// StallFraction is the fraction of frames (0–1, seeded) in which one
	// PD_SCK high phase, at a random pulse, is stretched by Stall: the
	// clock jumps while PD_SCK is high, as when Linux preempts the thread.
	StallFraction float64
	// Stall is the length of the stretch; default 130 µs (a measured case).
	Stall time.Duration
	// StuckHigh holds DOUT high (a broken wire with pull-up, a dead chip).
	StuckHigh bool
	// Disconnected cuts the DOUT wire: the host's input floats, so it
	// reads what its bias gives (high with gpio.PullUp, else low), and no
	// edge ever arrives.
	Disconnected bool
	// SpikeFraction is the fraction of conversions (0–1, seeded) hit by a
	// spike of ±SpikeCounts (default 100,000 counts).
	SpikeFraction float64
	SpikeCounts   int32
}

// Opts configures a Chip. The zero value is a noiseless 10 SPS chip on the
// real clock with an empty reference Load.
type Opts struct {
	// Clock is shared with the driver; nil means SystemClock.
	Clock Clock
	// Rate is the output rate set by the RATE pin: 10 (default) or 80 SPS.
	Rate int
	// BackToBack converts every BackToBackPeriod instead of 1/Rate, so
	// 10,000 reads take seconds on the real clock. Settling is then four
	// such periods; a frame left with fewer than 25 pulses is abandoned
	// after 2 ms instead of putting the chip in its error state.
	BackToBack bool
	// Source gives the load in raw counts; nil means a Load made with
	// NewLoad(clock, nil), available from Chip.Load.
	Source Source
	// Samples is how many points of the Source each conversion averages
	// over its conversion period; default 8. Use 1 for a recorded trace.
	Samples int
	// Noise is the σ, in counts at gain 128, of Gaussian noise added to
	// each conversion; 0 = none. RefNoise(rate) gives the reference cell's.
	Noise float64
	// Seed seeds noise, spikes and stalls.
	Seed uint64
	// Faults injected from the start; see also SetFaults.
	Faults Faults
	// Keep is how many recent frames Frames returns; default 1024.
	Keep int
}

// Stats counts what happened in the chip.
type Stats struct {
	Conversions    int
	Frames         int
	PowerDowns     int
	Resets         int
	ProtocolErrors int
	Stalls         int
	// StaleWakes counts WaitForEdge calls that returned true on a queued
	// edge while DOUT was high (edges left over from shifting bits out).
	StaleWakes int
	// EdgeWaits counts WaitForEdge calls.
	EdgeWaits int
}

// Chip is a simulated HX711. Get its pins with SCK and DOUT.
type Chip struct {
	clk     Clock
	start   time.Time
	period  time.Duration
	settle  time.Duration
	b2b     bool
	source  Source
	load    *Load
	samples int
	noise   float64
	keep    int
	sck     *SCKPin
	dout    *DOUTPin

	mu          sync.Mutex
	rng         *rand.Rand
	faults      Faults
	sckHigh     bool
	lastEdge    time.Time
	highStart   time.Time
	powered     bool
	errState    bool
	input       Input
	epoch       time.Time // start of the conversion sequence
	k           int       // conversions completed since epoch
	settleUntil time.Time
	ready       bool
	latest      Conversion
	seq         int
	cur         *Frame   // open frame, or nil
	before      sequence // conversion sequence when cur opened
	missed      int      // conversions completed while cur had < 25 pulses
	stallAt     int      // pulse of cur to stall at, 0 = none
	last        *Frame   // most recent frame (open or closed)
	frames      []*Frame
	level       gpio.Level // DOUT as driven by the chip
	edge        gpio.Edge
	pull        gpio.Pull
	pending     int
	stats       Stats
}

// New returns a powered, reset chip: channel A gain 128, settling.
func New(opts Opts) (*Chip, error) {
	c := &Chip{clk: opts.Clock, source: opts.Source, samples: opts.Samples, noise: opts.Noise, keep: opts.Keep, faults: opts.Faults}
	if c.clk == nil {
		c.clk = SystemClock{}
	}
	switch opts.Rate {
	case 0, 10:
		c.period = 100 * time.Millisecond
	case 80:
		c.period = 12500 * time.Microsecond
	default:
		return nil, fmt.Errorf("hx711test: New: Rate must be 10 or 80 SPS, got %d", opts.Rate)
	}
	if opts.BackToBack {
		c.period, c.b2b = BackToBackPeriod, true
	}
	c.settle = 4 * c.period
	if c.samples == 0 {
		c.samples = 8
	}
	if c.samples < 0 || c.samples > 1000 {
		return nil, fmt.Errorf("hx711test: New: Samples must be 1–1000, got %d", opts.Samples)
	}
	if c.noise < 0 || math.IsNaN(c.noise) || math.IsInf(c.noise, 0) {
		return nil, fmt.Errorf("hx711test: New: Noise must be a finite σ ≥ 0, got %g", opts.Noise)
	}
	if c.keep == 0 {
		c.keep = 1024
	}
	if c.keep < 0 {
		return nil, fmt.Errorf("hx711test: New: Keep must not be negative, got %d", opts.Keep)
	}
	if err := checkFaults(opts.Faults); err != nil {
		return nil, err
	}
	if c.source == nil {
		l, err := NewLoad(c.clk, nil)
		if err != nil {
			return nil, err
		}
		c.load, c.source = l, l.Source()
	}
	c.rng = rand.New(rand.NewPCG(opts.Seed, 0x68783731))
	c.start = c.clk.Now()
	c.sck = &SCKPin{c: c}
	c.dout = &DOUTPin{c: c}
	c.level = gpio.High
	c.reset(c.start)
	c.stats.Resets = 0
	return c, nil
}

func checkFaults(f Faults) error {
	if !(f.StallFraction >= 0 && f.StallFraction <= 1) || !(f.SpikeFraction >= 0 && f.SpikeFraction <= 1) {
		return fmt.Errorf("hx711test: fractions must be within 0–1, got stall %g, spike %g", f.StallFraction, f.SpikeFraction)
	}
	if f.Stall < 0 || f.SpikeCounts < 0 {
		return errors.New("hx711test: Stall and SpikeCounts must not be negative")
	}
	return nil
}

// SCK returns the PD_SCK pin (an output for the driver).
func (c *Chip) SCK() *SCKPin { return c.sck }

// DOUT returns the DOUT pin (an input for the driver).
func (c *Chip) DOUT() *DOUTPin { return c.dout }

// Load returns the built-in Load, or nil when Opts.Source was given.
func (c *Chip) Load() *Load { return c.load }

// Clock returns the chip's clock.
func (c *Chip) Clock() Clock { return c.clk }

// Period returns the conversion period; Settling the settling time.
func (c *Chip) Period() time.Duration { return c.period }

// Settling returns the settling time after a reset or gain change.
func (c *Chip) Settling() time.Duration { return c.settle }

// Faults returns the faults injected now.
func (c *Chip) Faults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// SetFaults replaces the injected faults.
func (c *Chip) SetFaults(f Faults) error {
	if err := checkFaults(f); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	c.faults = f
	c.setLevel(c.level) // StuckHigh may have changed what the pin shows
	return nil
}

// Frames returns copies of the most recent frames (at most Opts.Keep),
// oldest first; the last may still be open.
func (c *Chip) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	frames := c.frames[max(0, len(c.frames)-c.keep):]
	out := make([]Frame, len(frames))
	for i, f := range frames {
		out[i] = *f
		out[i].Highs = append([]time.Duration(nil), f.Highs...)
	}
	return out
}

// ResetFrames forgets the recorded frames.
func (c *Chip) ResetFrames() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = c.frames[:0]
}

// Stats returns the counters.
func (c *Chip) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	return c.stats
}

// PoweredDown reports whether the chip is in power-down now.
func (c *Chip) PoweredDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	return !c.powered
}

// Input returns the channel and gain of the conversion in progress.
func (c *Chip) Input() Input {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	return c.input
}

// InError reports whether a protocol error left the chip waiting for a reset.
func (c *Chip) InError() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	return c.errState
}

// since returns t as a duration since the chip was created.
func (c *Chip) since(t time.Time) time.Duration { return t.Sub(c.start) }

// nextConv is when the next conversion completes, ok=false if none will.
func (c *Chip) nextConv() (time.Time, bool) {
	if !c.powered || c.errState {
		return time.Time{}, false
	}
	return c.epoch.Add(time.Duration(c.k+1) * c.period), true
}

// advance processes what happened up to now: power-down and conversions.
func (c *Chip) advance(now time.Time) {
	for {
		next, ok := c.nextConv()
		var pd time.Time
		pdOK := c.sckHigh && c.powered
		if pdOK {
			pd = c.highStart.Add(PowerDownAfter)
		}
		switch {
		case pdOK && pd.Before(now) && (!ok || !next.Before(pd)):
			c.powerDown()
		case ok && !next.After(now):
			c.complete(next)
		default:
			return
		}
	}
}

func (c *Chip) powerDown() {
	c.powered = false
	c.stats.PowerDowns++
	if c.cur != nil {
		c.closeFrame(FramePowerDown)
	}
	c.ready = false
	c.setLevel(gpio.High)
}

func (c *Chip) reset(now time.Time) {
	c.powered = true
	c.errState = false
	c.input = A128
	c.restart(now)
	c.ready = false
	c.cur = nil
	c.missed = 0
	c.setLevel(gpio.High)
	c.stats.Resets++
}

// restart begins a new conversion sequence (and its settling) at now.
func (c *Chip) restart(now time.Time) {
	c.epoch = now
	c.k = 0
	c.settleUntil = now.Add(c.settle)
}

func (c *Chip) complete(at time.Time) {
	c.k++
	c.seq++
	c.stats.Conversions++
	conv := c.convert(at)
	if c.cur != nil {
		switch {
		case c.cur.Pulses >= 25:
			c.closeFrame(FrameComplete)
		case c.b2b && at.Sub(c.lastEdge) >= backToBackAbandon:
			// Abandoned: recorded, but the chip keeps converting.
			c.stats.ProtocolErrors++
			c.closeFrame(FrameProtocolError)
		case c.b2b:
			return // dropped while the frame is clocked out
		default:
			if c.missed++; c.missed >= 2 {
				c.protocolError()
			}
			return
		}
	}
	c.ready = true
	c.latest = conv
	c.setLevel(gpio.Low)
}

// convert computes the conversion completing at t: the average of the
// source over the conversion period, noise, spike, settling, saturation.
func (c *Chip) convert(t time.Time) Conversion {
	end := c.since(t)
	sum := 0.0
	for i := 1; i <= c.samples; i++ {
		ti := end - c.period + c.period*time.Duration(i)/time.Duration(c.samples)
		sum += float64(c.source(ti))
	}
	v := sum / float64(c.samples)
	if c.noise > 0 {
		v += c.rng.NormFloat64() * c.noise
	}
	v *= c.input.scale()
	conv := Conversion{Seq: c.seq, At: end, Input: c.input, Settled: !t.Before(c.settleUntil)}
	if f := c.faults; f.SpikeFraction > 0 {
		if c.rng.Float64() < f.SpikeFraction {
			n := f.SpikeCounts
			if n == 0 {
				n = 100000
			}
			if c.rng.IntN(2) == 0 {
				n = -n
			}
			v += float64(n)
			conv.Spike = true
		}
	}
	if !conv.Settled {
		v *= float64(t.Sub(c.epoch)) / float64(c.settle)
	}
	conv.Value = clamp24(math.Round(v))
	return conv
}

func (c *Chip) protocolError() {
	c.stats.ProtocolErrors++
	if c.cur != nil {
		c.closeFrame(FrameProtocolError)
	}
	c.errState = true
	c.ready = false
	c.setLevel(gpio.High)
}

func (c *Chip) closeFrame(o Outcome) {
	c.cur.Outcome = o
	c.cur = nil
	c.missed = 0
	c.stallAt = 0
}

// setLevel drives DOUT and queues edge events as the kernel would.
func (c *Chip) setLevel(l gpio.Level) {
	old := c.shown()
	c.level = l
	now := c.shown()
	if old == now {
		return
	}
	if (now == gpio.Low && (c.edge == gpio.FallingEdge || c.edge == gpio.BothEdges)) ||
		(now == gpio.High && (c.edge == gpio.RisingEdge || c.edge == gpio.BothEdges)) {
		if c.pending < maxPending {
			c.pending++
		}
	}
}

// shown is the DOUT level the host sees.
func (c *Chip) shown() gpio.Level {
	switch {
	case c.faults.StuckHigh:
		return gpio.High
	case c.faults.Disconnected:
		return c.pull == gpio.PullUp
	}
	return c.level
}

func (c *Chip) rising(now time.Time) {
	c.advance(now)
	if c.sckHigh {
		return
	}
	c.sckHigh = true
	c.highStart, c.lastEdge = now, now
	if c.cur == nil {
		f := &Frame{Start: c.since(now), Data: c.ready && !c.errState, Conv: c.latest}
		if !f.Data {
			f.Conv = Conversion{}
		}
		c.ready = false
		c.cur, c.last = f, f
		c.before = sequence{c.input, c.epoch, c.settleUntil}
		c.stats.Frames++
		c.frames = append(c.frames, f)
		if len(c.frames) >= 2*c.keep { // trim in batches: O(1) per frame
			n := copy(c.frames, c.frames[len(c.frames)-c.keep:])
			clear(c.frames[n:])
			c.frames = c.frames[:n]
		}
		c.stallAt = 0
		if c.faults.StallFraction > 0 && c.rng.Float64() < c.faults.StallFraction {
			c.stallAt = 1 + c.rng.IntN(25)
		}
	}
	f := c.cur
	f.Pulses++
	n := f.Pulses
	switch {
	case n > 27:
		c.protocolError()
	case c.errState || !f.Data || n >= 25:
		c.setLevel(gpio.High)
	default:
		bit := uint32(f.Conv.Value) >> (24 - n) & 1
		c.setLevel(gpio.Level(bit == 1))
	}
}

func (c *Chip) falling(now time.Time) {
	c.advance(now)
	if !c.sckHigh {
		return
	}
	c.sckHigh = false
	c.lastEdge = now
	if f := c.last; f != nil && len(f.Highs) < f.Pulses {
		f.Highs = append(f.Highs, now.Sub(c.highStart))
	}
	if !c.powered {
		c.reset(now)
		return
	}
	if f := c.cur; f != nil && f.Pulses >= 25 && f.Pulses <= 27 && !c.errState {
		// Pulses 25, 26, 27 select A128, B32, A64 in turn; the frame's
		// last one counts. Going back to the input from before the frame
		// (with no conversion since the provisional change) continues the
		// old conversion sequence, as if nothing had changed.
		switch in := Input(f.Pulses); {
		case in == c.input:
		case in == c.before.input && c.k == 0:
			c.input, c.epoch, c.settleUntil = c.before.input, c.before.epoch, c.before.settleUntil
			c.k = int(now.Sub(c.epoch) / c.period)
		default:
			c.input = in
			c.restart(now)
		}
	}
}

// sequence is the state of the conversion sequence.
type sequence struct {
	input       Input
	epoch       time.Time
	settleUntil time.Time
}

// SCKPin is the simulated PD_SCK input of the chip: a gpio.PinOut.
type SCKPin struct{ c *Chip }

var _ gpio.PinOut = (*SCKPin)(nil)

// String implements conn.Resource.
func (p *SCKPin) String() string { return "hx711test.PD_SCK" }

// Halt implements conn.Resource; it does nothing.
func (p *SCKPin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *SCKPin) Name() string { return "PD_SCK" }

// Number implements pin.Pin.
func (p *SCKPin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *SCKPin) Function() string { return "Out" }

// Out drives PD_SCK. A rising edge may stall (the fault): the clock is
// advanced before Out returns, as if the caller's thread was preempted with
// the pin high.
func (p *SCKPin) Out(l gpio.Level) error {
	c := p.c
	c.mu.Lock()
	if l == gpio.Low {
		c.falling(c.clk.Now())
		c.mu.Unlock()
		return nil
	}
	c.rising(c.clk.Now())
	var stall time.Duration
	if f := c.cur; f != nil && c.stallAt != 0 && f.Pulses == c.stallAt {
		stall = c.faults.Stall
		if stall == 0 {
			stall = 130 * time.Microsecond
		}
		f.Stalled = true
		c.stallAt = 0
		c.stats.Stalls++
	}
	c.mu.Unlock()
	if stall > 0 {
		c.clk.Sleep(stall)
	}
	return nil
}

// PWM implements gpio.PinOut; the simulated chip does not support it.
func (p *SCKPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("hx711test: PD_SCK: PWM not supported")
}

// DOUTPin is the simulated DOUT output of the chip: a gpio.PinIn with the
// semantics of periph's gpioioctl driver (the real Pi): edges are queued
// events (stale ones included) and WaitForEdge without edge detection
// returns false at once.
type DOUTPin struct{ c *Chip }

var _ gpio.PinIn = (*DOUTPin)(nil)

// String implements conn.Resource.
func (p *DOUTPin) String() string { return "hx711test.DOUT" }

// Halt implements conn.Resource; it does nothing.
func (p *DOUTPin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *DOUTPin) Name() string { return "DOUT" }

// Number implements pin.Pin.
func (p *DOUTPin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *DOUTPin) Function() string { return "In" }

// In configures edge detection and flushes queued edges.
func (p *DOUTPin) In(pull gpio.Pull, edge gpio.Edge) error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	c.pull, c.edge, c.pending = pull, edge, 0
	return nil
}

// Read returns the DOUT level now.
func (p *DOUTPin) Read() gpio.Level {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.clk.Now())
	return c.shown()
}

// WaitForEdge returns true at once if an edge event is queued (possibly a
// stale one), else waits on the chip's clock until one is or timeout
// passes. A timeout <= 0 panics: on the real Pi (gpioioctl) 0 waits
// forever and a negative one returns at once, while periph's gpiotest does
// the opposite; drivers must pass positive timeouts.
func (p *DOUTPin) WaitForEdge(timeout time.Duration) bool {
	if timeout <= 0 {
		panic(fmt.Sprintf("hx711test: DOUT.WaitForEdge(%v): only positive timeouts behave the same on gpioioctl and gpiotest", timeout))
	}
	c := p.c
	c.mu.Lock()
	c.stats.EdgeWaits++
	if c.edge == gpio.NoEdge {
		c.mu.Unlock()
		return false
	}
	deadline := c.clk.Now().Add(timeout)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		now := c.clk.Now()
		c.advance(now)
		if c.pending > 0 {
			c.pending--
			if c.shown() == gpio.High {
				c.stats.StaleWakes++
			}
			c.mu.Unlock()
			return true
		}
		if !now.Before(deadline) {
			c.mu.Unlock()
			return false
		}
		wake := deadline
		if next, ok := c.nextConv(); ok && next.Before(wake) && !c.faults.StuckHigh && !c.faults.Disconnected {
			wake = next
		}
		if c.sckHigh && c.powered {
			if pd := c.highStart.Add(PowerDownAfter); pd.Before(wake) {
				wake = pd
			}
		}
		c.mu.Unlock()
		d := wake.Sub(now)
		if d > 50*time.Millisecond {
			d = 50 * time.Millisecond // notice SetFaults from another goroutine
		}
		if d <= 0 {
			d = time.Nanosecond
		}
		c.clk.Sleep(d)
	}
}

// Pull returns the pull set by In.
func (p *DOUTPin) Pull() gpio.Pull {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.c.pull
}

// Edge returns the edge detection set by In.
func (p *DOUTPin) Edge() gpio.Edge {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.c.edge
}

// DefaultPull returns gpio.PullNoChange, as gpioioctl does.
func (p *DOUTPin) DefaultPull() gpio.Pull { return gpio.PullNoChange }
