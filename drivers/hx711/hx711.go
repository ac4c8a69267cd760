// Package hx711 drives the Avia Semiconductor HX711 24-bit load-cell ADC over
// two periph GPIO pins: PD_SCK (a gpio.PinOut) and DOUT (a gpio.PinIn).
//
// Datasheet: https://cdn.sparkfun.com/datasheets/Sensors/ForceFlex/hx711_english.pdf
//
// Wiring (Raspberry Pi, BCM numbering, as in deploy/weighd.yaml): HX711 VCC
// and VDD to 3.3 V, GND to GND, PD_SCK to GPIO6, DOUT to GPIO5; RATE low
// (10 SPS) or high (80 SPS) on the module.
//
// The driver returns raw signed 24-bit counts; grams, tare and stability
// belong to internal/weighing. Bit-banging from Linux user space is fragile,
// so every read is guarded:
//
//   - Every PD_SCK high phase is timed (from before the rising edge to after
//     the falling edge, so the real high time is never longer than the
//     measurement). A frame in which one exceeded Opts.MaxHigh (50 µs, the
//     datasheet maximum; the chip powers down after 60 µs and the remaining
//     bits read as 1) is discarded, the chip is reset and its settling
//     waited out, and the read retried within the caller's deadline.
//   - A frame that took longer than half a conversion period is discarded
//     the same way (a conversion may have completed under it).
//   - The saturation codes 0x7FFFFF and 0x800000 are rejected (ErrSaturated,
//     returned with the code itself, so a caller can tell over capacity
//     from a silent chip and feed its pipeline's overload path).
//   - The wait for DOUT low is bounded and sleeps in the kernel: only
//     positive WaitForEdge timeouts are used (gpioioctl waits forever on 0),
//     DOUT is re-read after every wake (edges queued while bits were shifted
//     out wake the wait early), and a pin that returns without blocking is
//     backed off with a sleep, so the wait never spins a core.
//   - A chip that stays silent for three conversion periods (a protocol
//     error, a power glitch) is reset.
//   - The calling thread is locked to its OS thread during the pulse train.
//
// The clock used for timing is injectable (Opts.Clock), so tests run in
// virtual time against the simulated chip in package hx711test.
//
// The driver does not log and starts no goroutines; the caller owns loops,
// retries and logging.
package hx711

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Sentinel errors, for errors.Is.
var (
	// ErrTimeout: no valid conversion before the read's deadline (DOUT
	// stuck high, a chip that does not answer, or retries that ran out).
	ErrTimeout = errors.New("hx711: timeout")
	// ErrSaturated: the chip returned 0x7FFFFF or 0x800000, the ends of its
	// range (overload, or a broken bridge).
	ErrSaturated = errors.New("hx711: saturated")
	// ErrGlitch: a frame was discarded because a PD_SCK high phase or the
	// whole frame took too long. Read retries these; the error it returns
	// wraps ErrGlitch next to ErrTimeout when the last attempt was a glitch.
	ErrGlitch = errors.New("hx711: timing glitch")
	// ErrHalted: the device is powered down (Halt); call PowerUp.
	ErrHalted = errors.New("hx711: halted")
)

// Gain selects the channel and gain of the conversions read.
type Gain uint8

// The HX711's three inputs. The zero value, A128, is the chip's state
// after a reset.
const (
	A128 Gain = iota // channel A, gain 128 (25 pulses per read)
	A64              // channel A, gain 64 (27 pulses)
	B32              // channel B, gain 32 (26 pulses)
)

// GainFor maps the gain of the configuration (128, 64 or 32) to a Gain.
func GainFor(gain int) (Gain, error) {
	switch gain {
	case 128:
		return A128, nil
	case 64:
		return A64, nil
	case 32:
		return B32, nil
	}
	return 0, fmt.Errorf("hx711: gain must be 128, 64 (channel A) or 32 (channel B), got %d", gain)
}

// Pulses returns the number of PD_SCK pulses per read that selects g.
func (g Gain) Pulses() int {
	switch g {
	case A64:
		return 27
	case B32:
		return 26
	}
	return 25
}

// String returns "A128", "A64" or "B32".
func (g Gain) String() string {
	switch g {
	case A128:
		return "A128"
	case A64:
		return "A64"
	case B32:
		return "B32"
	}
	return fmt.Sprintf("Gain(%d)", uint8(g))
}

// Clock is the time source used to time pulses and waits. Tests pass a
// virtual clock shared with the simulated chip (package hx711test).
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

type systemClock struct{}

func (systemClock) Now() time.Time        { return time.Now() }
func (systemClock) Sleep(d time.Duration) { time.Sleep(d) }

// Opts configures a Dev. The zero value works: A128 at 10 SPS.
type Opts struct {
	// Gain is the channel and gain read; default A128 (the chip's reset
	// state).
	Gain Gain
	// Rate is the output rate in samples per second set by the module's RATE
	// pin: 10 (RATE low, the datasheet default) or 80. It sets the settling
	// time and the silence after which the chip is reset. Default 10.
	Rate int
	// Timeout bounds one Read, retries and settling included, when the
	// context has no earlier deadline. Default 1 s. A Read that times out
	// while the chip settles leaves the settling running: the next Read
	// continues it.
	Timeout time.Duration
	// MaxHigh is the longest PD_SCK high phase accepted, measured around
	// the two Out calls. Default 50 µs (datasheet T3 maximum); it must be
	// below 60 µs, where the chip powers down.
	MaxHigh time.Duration
	// Settle is the wait after a reset or a gain change before conversions
	// count. Default from Rate: 400 ms at 10 SPS, 50 ms at 80 SPS (datasheet).
	Settle time.Duration
	// Pull is the pull resistor for DOUT. Default (gpio.PullNoChange)
	// means gpio.PullUp: the HX711 drives DOUT push-pull, so the pull-up
	// costs nothing, and a broken DOUT wire reads high and ends in
	// ErrTimeout rather than in a stream of zeros that look like a load.
	// gpio.Float disables the bias.
	Pull gpio.Pull
	// Clock is the time source; nil means the system clock.
	Clock Clock
}

// Stats counts events since New.
type Stats struct {
	// Reads is the number of values returned.
	Reads uint64
	// Glitches is the number of frames discarded by the timing guard.
	Glitches uint64
	// Resets is the number of chip resets (power-down cycles), New's
	// included.
	Resets uint64
	// Timeouts and Saturated count reads that failed that way.
	Timeouts  uint64
	Saturated uint64
}

// powerDownHold is how long PD_SCK is held high to power the chip down
// (more than the datasheet's 60 µs).
const powerDownHold = 100 * time.Microsecond

// maxSlice bounds one WaitForEdge or Sleep, so a cancelled context is
// noticed within it.
const maxSlice = 50 * time.Millisecond

// Dev is an HX711. Its methods are safe for concurrent use; Halt and PowerUp
// wait for a Read in progress.
type Dev struct {
	sck     gpio.PinOut
	dout    gpio.PinIn
	clk     Clock
	gain    Gain
	rate    int
	period  time.Duration
	timeout time.Duration
	maxHigh time.Duration
	settle  time.Duration

	mu        sync.Mutex
	halted    bool
	haltedAt  time.Time
	needReset bool
	chipGain  Gain      // input of the conversion in progress
	settledAt time.Time // conversions before this do not count
	alive     time.Time // last sign of life (reset, settle end, frame)

	reads, glitches, resets, timeouts, saturated atomic.Uint64
}

// New configures the pins (PD_SCK low, DOUT input with falling-edge
// detection), resets the chip and returns the device ready for Read. The
// first Read waits out the settling time (and, for a gain other than A128,
// one conversion to select it).
func New(sck gpio.PinOut, dout gpio.PinIn, opts *Opts) (*Dev, error) {
	if sck == nil || dout == nil {
		return nil, errors.New("hx711: New: nil pin")
	}
	var o Opts
	if opts != nil {
		o = *opts
	}
	d := &Dev{sck: sck, dout: dout, clk: o.Clock, gain: o.Gain, rate: o.Rate, timeout: o.Timeout, maxHigh: o.MaxHigh, settle: o.Settle}
	var errs []error
	switch d.gain {
	case A128, A64, B32:
	default:
		errs = append(errs, fmt.Errorf("invalid Opts.Gain: must be A128, A64 or B32, got %d", o.Gain))
	}
	switch d.rate {
	case 0, 10:
		d.rate, d.period = 10, 100*time.Millisecond
	case 80:
		d.period = 12500 * time.Microsecond
	default:
		errs = append(errs, fmt.Errorf("invalid Opts.Rate: must be 10 or 80 SPS, got %d", o.Rate))
	}
	if d.timeout == 0 {
		d.timeout = time.Second
	}
	if d.timeout < 0 {
		errs = append(errs, fmt.Errorf("invalid Opts.Timeout: must not be negative, got %v", o.Timeout))
	}
	if d.maxHigh == 0 {
		d.maxHigh = 50 * time.Microsecond
	}
	if d.maxHigh < 0 || d.maxHigh >= 60*time.Microsecond {
		errs = append(errs, fmt.Errorf("invalid Opts.MaxHigh: must be between 0 and 60 µs (power-down), got %v", o.MaxHigh))
	}
	if d.settle == 0 {
		d.settle = 4 * d.period
	}
	if d.settle < 0 {
		errs = append(errs, fmt.Errorf("invalid Opts.Settle: must not be negative, got %v", o.Settle))
	}
	switch o.Pull {
	case gpio.PullNoChange, gpio.Float, gpio.PullUp, gpio.PullDown:
	default:
		errs = append(errs, fmt.Errorf("invalid Opts.Pull: %d is not a gpio.Pull", o.Pull))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("hx711: New: %w", errors.Join(errs...))
	}
	if d.clk == nil {
		d.clk = systemClock{}
	}
	if o.Pull == gpio.PullNoChange {
		o.Pull = gpio.PullUp
	}
	if err := sck.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("hx711: New: PD_SCK %s low: %w", sck.Name(), err)
	}
	if err := dout.In(o.Pull, gpio.FallingEdge); err != nil {
		return nil, fmt.Errorf("hx711: New: DOUT %s as input with falling-edge detection: %w", dout.Name(), err)
	}
	if err := d.reset(); err != nil {
		return nil, err
	}
	return d, nil
}

// String describes the device, e.g. "hx711(PD_SCK=GPIO6, DOUT=GPIO5, A128, 10 SPS)".
func (d *Dev) String() string {
	return fmt.Sprintf("hx711(PD_SCK=%s, DOUT=%s, %s, %d SPS)", d.sck.Name(), d.dout.Name(), d.gain, d.rate)
}

// Stats returns the counters. It does not wait for a Read in progress.
func (d *Dev) Stats() Stats {
	return Stats{
		Reads: d.reads.Load(), Glitches: d.glitches.Load(), Resets: d.resets.Load(),
		Timeouts: d.timeouts.Load(), Saturated: d.saturated.Load(),
	}
}

// Halt powers the chip down (and, with the on-chip regulator, the load
// cell): PD_SCK stays high. Read then returns ErrHalted until PowerUp.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	if err := d.sck.Out(gpio.High); err != nil {
		d.needReset = true
		return fmt.Errorf("hx711: halt: PD_SCK high: %w", err)
	}
	d.halted, d.haltedAt = true, d.clk.Now()
	return nil
}

// PowerUp ends a Halt: PD_SCK goes low, the chip resets to A128 and
// settles; the next Read waits for that. It does nothing if not halted.
func (d *Dev) PowerUp() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.halted {
		return nil
	}
	// PD_SCK must have been high long enough for a power-down, or the chip
	// takes the edge for a clock pulse.
	if rest := powerDownHold - d.clk.Now().Sub(d.haltedAt); rest > 0 {
		d.clk.Sleep(rest)
	}
	if err := d.sck.Out(gpio.Low); err != nil {
		d.needReset = true
		return fmt.Errorf("hx711: power up: PD_SCK low: %w", err)
	}
	d.halted = false
	d.afterReset(d.clk.Now())
	return nil
}

// reset power-cycles the chip through PD_SCK.
func (d *Dev) reset() error {
	if err := d.sck.Out(gpio.High); err != nil {
		d.needReset = true
		return fmt.Errorf("hx711: reset: PD_SCK high: %w", err)
	}
	d.clk.Sleep(powerDownHold)
	if err := d.sck.Out(gpio.Low); err != nil {
		d.needReset = true
		return fmt.Errorf("hx711: reset: PD_SCK low: %w", err)
	}
	d.afterReset(d.clk.Now())
	return nil
}

func (d *Dev) afterReset(now time.Time) {
	d.needReset = false
	d.chipGain = A128
	d.settledAt = now.Add(d.settle)
	d.alive = d.settledAt
	d.resets.Add(1)
}

// Read returns the next conversion as a signed count.
//
// It waits for the settling time if the chip was reset or the gain changed,
// then for DOUT low, and clocks the value out under the timing guard;
// discarded frames are retried. The deadline is the earlier of ctx's
// deadline and Opts.Timeout from now, both measured on Opts.Clock. Errors:
// ErrTimeout (with ErrGlitch if the last attempt was a glitch, and
// context.DeadlineExceeded if ctx's deadline was the one that ran out),
// ErrSaturated (the one error returned with a value: the saturation code),
// ErrHalted, ctx.Err() when cancelled, or a pin error.
func (d *Dev) Read(ctx context.Context) (int32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return 0, fmt.Errorf("hx711: read: %w", ErrHalted)
	}
	start := d.clk.Now()
	deadline := start.Add(d.timeout)
	ctxBound := false
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline, ctxBound = dl, true
	}
	var lastGlitch error
	fail := func(err error) (int32, error) {
		if !errors.Is(err, errDeadline) {
			return 0, fmt.Errorf("hx711: read: %w", err)
		}
		d.timeouts.Add(1)
		msg := fmt.Sprintf("no valid conversion within %v", d.clk.Now().Sub(start))
		switch {
		case lastGlitch != nil && ctxBound:
			return 0, fmt.Errorf("hx711: read: %s (last attempt: %w): %w (%w)", msg, lastGlitch, ErrTimeout, context.DeadlineExceeded)
		case lastGlitch != nil:
			return 0, fmt.Errorf("hx711: read: %s (last attempt: %w): %w", msg, lastGlitch, ErrTimeout)
		case ctxBound:
			return 0, fmt.Errorf("hx711: read: %s, DOUT stayed high: %w (%w)", msg, ErrTimeout, context.DeadlineExceeded)
		}
		return 0, fmt.Errorf("hx711: read: %s, DOUT stayed high: %w", msg, ErrTimeout)
	}
	for {
		if d.needReset {
			if err := d.reset(); err != nil {
				return 0, err
			}
		}
		if err := d.sleepUntil(ctx, d.settledAt, deadline); err != nil {
			return fail(err)
		}
		if err := d.waitReady(ctx, deadline); err != nil {
			if errors.Is(err, errSilent) {
				d.needReset = true
				continue
			}
			return fail(err)
		}
		v, end, err := d.frame()
		if err != nil {
			if errors.Is(err, ErrGlitch) {
				d.glitches.Add(1)
				lastGlitch = err
				d.needReset = true
				continue
			}
			return 0, fmt.Errorf("hx711: read: %w", err)
		}
		d.alive = end
		if d.chipGain != d.gain {
			// That conversion was made with the previous gain; the pulses
			// just sent selected ours, and the chip settles anew.
			d.chipGain = d.gain
			d.settledAt = end.Add(d.settle)
			d.alive = d.settledAt
			continue
		}
		if v == 0x7FFFFF || v == -0x800000 {
			d.saturated.Add(1)
			return v, fmt.Errorf("hx711: read: code %#06x: %w", uint32(v)&0xFFFFFF, ErrSaturated)
		}
		d.reads.Add(1)
		return v, nil
	}
}

var (
	errDeadline = errors.New("deadline")
	errSilent   = errors.New("chip silent")
)

// sleepUntil sleeps on the clock until t, in slices that notice ctx.
func (d *Dev) sleepUntil(ctx context.Context, t, deadline time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := d.clk.Now()
		if !now.Before(t) {
			return nil
		}
		if !now.Before(deadline) {
			return errDeadline
		}
		s := min(t.Sub(now), deadline.Sub(now), maxSlice)
		d.clk.Sleep(s)
	}
}

// waitReady waits for DOUT low without spinning: positive WaitForEdge
// timeouts, the level re-read after each wake, and a sleep when the pin
// returns without blocking.
func (d *Dev) waitReady(ctx context.Context, deadline time.Time) error {
	silent := 3 * d.period
	spurious := 0
	for {
		if d.dout.Read() == gpio.Low {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		now := d.clk.Now()
		if !now.Before(deadline) {
			return errDeadline
		}
		if now.Sub(d.alive) > silent {
			return errSilent
		}
		slice := min(deadline.Sub(now), maxSlice)
		woke := d.dout.WaitForEdge(slice)
		took := d.clk.Now().Sub(now)
		switch {
		case !woke && took < slice/2:
			// The pin did not block (no edge detection configured, a
			// driver error): back off instead of spinning.
			d.clk.Sleep(slice - took)
		case woke:
			if d.dout.Read() == gpio.Low {
				return nil
			}
			// A queued edge from shifting the last frame out woke us while
			// DOUT is still high; a few are expected, a flood is backed off.
			if spurious++; spurious > 64 && took < time.Millisecond {
				d.clk.Sleep(time.Millisecond)
			}
		}
	}
}

// frame clocks one conversion out: 24 data pulses and 1–3 gain pulses, each
// high phase timed. It returns the value and the time after the last pulse.
func (d *Dev) frame() (int32, time.Time, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := d.gain.Pulses()
	var v uint32
	start := d.clk.Now()
	for i := 1; i <= n; i++ {
		t0 := d.clk.Now()
		if err := d.sck.Out(gpio.High); err != nil {
			d.needReset = true
			return 0, t0, fmt.Errorf("PD_SCK high (pulse %d): %w", i, err)
		}
		if err := d.sck.Out(gpio.Low); err != nil {
			d.needReset = true
			return 0, t0, fmt.Errorf("PD_SCK low (pulse %d): %w", i, err)
		}
		t1 := d.clk.Now()
		if hi := t1.Sub(t0); hi > d.maxHigh {
			return 0, t1, fmt.Errorf("PD_SCK pulse %d of %d was high for up to %v (limit %v): %w", i, n, hi, d.maxHigh, ErrGlitch)
		}
		if i <= 24 {
			v <<= 1
			if d.dout.Read() == gpio.High {
				v |= 1
			}
		}
	}
	end := d.clk.Now()
	if took := end.Sub(start); took > d.period/2 {
		return 0, end, fmt.Errorf("frame took %v (limit %v): %w", took, d.period/2, ErrGlitch)
	}
	return int32(v<<8) >> 8, end, nil
}
