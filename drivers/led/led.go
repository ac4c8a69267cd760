// Package led shows the station's status on one LED on a periph gpio.PinOut.
//
// Wiring (Raspberry Pi, as in deploy/weighd.yaml): GPIO27 → 330 Ω → LED →
// GND (active high), or 3.3 V → 330 Ω → LED → GPIO27 with Opts.ActiveLow.
//
// A Pattern is a pure function of time (Level, NextChange). The Dev drives
// the pin: either the caller ticks Step(now) (it returns when the level
// next changes), or the caller runs Run(ctx) in a goroutine of its own,
// which sleeps until the next change or a Set. The driver starts no
// goroutine and does not log.
package led

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pattern is a status shown by the LED.
type Pattern int

// The patterns. Each is a cycle of on and off phases, distinct enough to
// tell apart across a room.
const (
	// Off: dark.
	Off Pattern = iota
	// Idle: a 100 ms heartbeat every 3 s.
	Idle
	// WarmingUp: slow blink, 500 ms on, 500 ms off.
	WarmingUp
	// Stable: steadily on (the weight is stable; press to start).
	Stable
	// Recording: on, with a 100 ms dip every second.
	Recording
	// Discrepancy: three 150 ms flashes, then 1050 ms dark.
	Discrepancy
	// Error: fast blink, 100 ms on, 100 ms off.
	Error
	// Attention: the scale needs service before it can be trusted (its
	// HID POS status requires calibration or re-zeroing, or it reads
	// under zero): long blink, 1500 ms on, 500 ms off.
	Attention
	// AutoStop: recording, and it stops soon for lack of activity (the
	// last 30 s before an inactivity stop): on, with three 100 ms dips every
	// second (two dips is RecordingSound).
	AutoStop
	// Paused: an inactivity stop paused the session; a short press
	// continues it: 300 ms on, 700 ms off.
	Paused
	// RecordingSound: recording with sound from the room (issue 25): on,
	// with two 100 ms dips every second.
	RecordingSound
)

const ms = time.Millisecond

// cycles holds each pattern's phases: on, off, on, off, … and repeats.
// nil is always off; a single phase is always on.
var cycles = [...][]time.Duration{
	Off:         nil,
	Idle:        {100 * ms, 2900 * ms},
	WarmingUp:   {500 * ms, 500 * ms},
	Stable:      {time.Second},
	Recording:   {900 * ms, 100 * ms},
	Discrepancy: {150 * ms, 150 * ms, 150 * ms, 150 * ms, 150 * ms, 1050 * ms},
	Error:       {100 * ms, 100 * ms},
	Attention:   {1500 * ms, 500 * ms},
	AutoStop:    {500 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms},
	Paused:      {300 * ms, 700 * ms},
	// RecordingSound comes last: the patterns' numbers stay.
	RecordingSound: {700 * ms, 100 * ms, 100 * ms, 100 * ms},
}

var names = [...]string{"off", "idle", "warming_up", "stable", "recording", "discrepancy", "error", "attention", "auto_stop", "paused", "recording_sound"}

// String returns the pattern's name ("warming_up", …).
func (p Pattern) String() string {
	if p.valid() {
		return names[p]
	}
	return fmt.Sprintf("Pattern(%d)", int(p))
}

func (p Pattern) valid() bool { return p >= Off && p <= RecordingSound }

// Level reports whether the LED is lit t after pattern p started. It is
// pure; t < 0 counts as 0. Unknown patterns are dark.
func Level(p Pattern, t time.Duration) bool {
	lit, _, _ := phase(p, t)
	return lit
}

// NextChange returns the first time after t (since the pattern started)
// at which Level changes; ok is false for a steady pattern.
func NextChange(p Pattern, t time.Duration) (next time.Duration, ok bool) {
	_, next, ok = phase(p, t)
	return next, ok
}

func phase(p Pattern, t time.Duration) (lit bool, next time.Duration, ok bool) {
	if !p.valid() || len(cycles[p]) < 2 {
		return p.valid() && len(cycles[p]) == 1, 0, false
	}
	t = max(t, 0)
	c := cycles[p]
	var period time.Duration
	for _, d := range c {
		period += d
	}
	base := t - t%period
	at := base
	for i, d := range c {
		at += d
		if t < at {
			return i%2 == 0, at, true
		}
	}
	return true, base + period + c[0], true // unreachable: t < base+period
}

// Opts configures a Dev. The zero value is an active-high LED.
type Opts struct {
	// ActiveLow: the pin sinks the LED's current (lit when low).
	ActiveLow bool
}

// Dev is a status LED. Its methods are safe for concurrent use.
type Dev struct {
	pin gpio.PinOut
	on  gpio.Level

	mu      sync.Mutex
	pattern Pattern
	restart bool      // the pattern starts at the next Step
	since   time.Time // when the pattern started
	lit     bool
	driven  bool
	wake    chan struct{}
}

// New drives the LED off and returns it showing Off.
func New(pin gpio.PinOut, opts *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("led: New: nil pin")
	}
	d := &Dev{pin: pin, on: gpio.High, wake: make(chan struct{}, 1)}
	if opts != nil && opts.ActiveLow {
		d.on = gpio.Low
	}
	if err := d.drive(false); err != nil {
		return nil, fmt.Errorf("led: New: %w", err)
	}
	return d, nil
}

// String describes the LED.
func (d *Dev) String() string {
	pol := "active high"
	if d.on == gpio.Low {
		pol = "active low"
	}
	return fmt.Sprintf("led(%s, %s)", d.pin.Name(), pol)
}

func (d *Dev) drive(lit bool) error {
	l := !d.on
	if lit {
		l = d.on
	}
	if err := d.pin.Out(l); err != nil {
		d.driven = false
		return fmt.Errorf("%s: %w", d.pin.Name(), err)
	}
	d.lit, d.driven = lit, true
	return nil
}

// Set selects the pattern shown from the next Step on. Setting the pattern
// already shown keeps its phase. An unknown pattern is an error.
func (d *Dev) Set(p Pattern) error {
	if !p.valid() {
		return fmt.Errorf("led: unknown pattern %d", int(p))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p == d.pattern && !d.restart {
		return nil
	}
	d.pattern, d.restart = p, true
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pattern returns the pattern selected.
func (d *Dev) Pattern() Pattern {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pattern
}

// Step drives the LED as the pattern wants at now and returns when it
// next changes (ok false: not until another Set).
func (d *Dev) Step(now time.Time) (next time.Time, ok bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restart {
		d.since, d.restart = now, false
	}
	t := now.Sub(d.since)
	lit := Level(d.pattern, t)
	if lit != d.lit || !d.driven {
		if err := d.drive(lit); err != nil {
			return time.Time{}, false, fmt.Errorf("led: %w", err)
		}
	}
	n, ok := NextChange(d.pattern, t)
	if !ok {
		return time.Time{}, false, nil
	}
	return d.since.Add(n), true, nil
}

// Run shows the selected pattern until ctx is done, sleeping until the
// next change or the next Set; it returns ctx.Err(), or a pin error. It
// runs in the caller's goroutine; call Halt afterwards to turn the LED off.
func (d *Dev) Run(ctx context.Context) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next, ok, err := d.Step(time.Now())
		if err != nil {
			return err
		}
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), 0)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-t.C:
		}
	}
}

// Halt selects Off and turns the LED off at once.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pattern, d.restart = Off, true
	if err := d.drive(false); err != nil {
		return fmt.Errorf("led: halt: %w", err)
	}
	return nil
}
