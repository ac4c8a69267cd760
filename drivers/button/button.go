// Package button decodes short, long and double presses of a push button on
// a periph gpio.PinIn, debounced, from edge interrupts: no polling loop.
//
// Wiring (Raspberry Pi, as in deploy/weighd.yaml): a momentary switch from
// GPIO17 to GND, active low with the internal pull-up (Opts.ActiveLow).
//
// The driver starts no goroutine: the caller loops on Next, which blocks on
// the pin's WaitForEdge with positive timeouts only (on periph's gpioioctl a
// timeout of 0 waits forever, on gpiotest a negative one does) and returns
// the next press or the context's error. The decoding itself is the pure
// Decoder, which takes time as an input.
package button

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Opts configures a Dev. The zero value works: active high with pull-down,
// 30 ms debounce, 2 s long press, 400 ms double-press window.
type Opts struct {
	// ActiveLow: the button connects the pin to ground; the internal
	// pull-up is enabled. Otherwise it connects to 3.3 V, with pull-down.
	ActiveLow bool
	// Debounce is how long a level must hold to count. Default 30 ms.
	Debounce time.Duration
	// LongPress is the hold time of a long press. Default 2 s.
	LongPress time.Duration
	// DoubleWindow is how soon after a short press a second one must begin
	// to make a double press; a short press is reported only when the
	// window has passed. Default 400 ms; negative disables double presses
	// (shorts are reported at release).
	DoubleWindow time.Duration
}

// maxWait bounds one WaitForEdge, so a cancelled context is noticed.
const maxWait = 250 * time.Millisecond

// Dev is a push button. Next must not be called concurrently with itself.
type Dev struct {
	pin    gpio.PinIn
	active gpio.Level
	opts   Opts

	mu  sync.Mutex
	dec *Decoder
}

// New configures pin as an input with pull and edge detection on both
// edges, reads its level, and returns the button. A button held at start
// is ignored until released.
func New(pin gpio.PinIn, opts *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("button: New: nil pin")
	}
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.Debounce == 0 {
		o.Debounce = 30 * time.Millisecond
	}
	if o.LongPress == 0 {
		o.LongPress = 2 * time.Second
	}
	if o.DoubleWindow == 0 {
		o.DoubleWindow = 400 * time.Millisecond
	}
	var errs []error
	if o.Debounce < 0 || o.Debounce > time.Second {
		errs = append(errs, fmt.Errorf("invalid Opts.Debounce: must be between 0 and 1 s, got %v", o.Debounce))
	}
	if o.LongPress <= o.Debounce {
		errs = append(errs, fmt.Errorf("invalid Opts.LongPress: %v must be longer than the debounce time %v", o.LongPress, o.Debounce))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("button: New: %w", errors.Join(errs...))
	}
	d := &Dev{pin: pin, opts: o, active: gpio.High}
	pull := gpio.PullDown
	if o.ActiveLow {
		d.active, pull = gpio.Low, gpio.PullUp
	}
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("button: New: %s as input with %s and both edges: %w", pin.Name(), pull, err)
	}
	d.dec = NewDecoder(time.Now(), pin.Read() == d.active, o.Debounce, o.LongPress, o.DoubleWindow)
	return d, nil
}

// String describes the button.
func (d *Dev) String() string {
	pol := "active high"
	if d.opts.ActiveLow {
		pol = "active low"
	}
	return fmt.Sprintf("button(%s, %s, long %v)", d.pin.Name(), pol, d.opts.LongPress)
}

// Halt does nothing: the button has no output. It exists for symmetry with
// the other drivers.
func (d *Dev) Halt() error { return nil }

// Next blocks until the next press, or until ctx is done (then it returns
// ctx.Err()). A Long press is returned when the hold time is reached.
func (d *Dev) Next(ctx context.Context) (Press, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		now := time.Now()
		d.dec.Tick(now)
		if p, ok := d.dec.Pop(); ok {
			return p, nil
		}
		if err := ctx.Err(); err != nil {
			return Press{}, err
		}
		wait := maxWait
		if t, ok := d.dec.Deadline(); ok {
			wait = min(wait, t.Sub(now))
		}
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, dl.Sub(now))
		}
		wait = max(wait, time.Millisecond) // positive, and no busy loop
		start := time.Now()
		if d.pin.WaitForEdge(wait) {
			d.dec.Edge(time.Now(), d.pin.Read() == d.active)
			continue
		}
		if took := time.Since(start); took < wait/2 {
			// The pin did not block (no edge detection configured, a
			// driver error): sleep rather than spin.
			time.Sleep(wait - took)
		}
		// A level change whose edge was lost is still noticed.
		d.dec.Edge(time.Now(), d.pin.Read() == d.active)
	}
}
