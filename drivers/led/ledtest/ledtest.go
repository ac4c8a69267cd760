// Package ledtest provides a fake output pin that records every level it is
// driven to, with the time (virtual inside a testing/synctest bubble).
package ledtest

import (
	"errors"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Change is one Out call.
type Change struct {
	At    time.Time
	Level gpio.Level
}

// Pin is a recording gpio.PinOut.
type Pin struct {
	name string
	mu   sync.Mutex
	log  []Change
	err  error
}

var _ gpio.PinOut = (*Pin)(nil)

// NewPin returns a pin named name.
func NewPin(name string) *Pin { return &Pin{name: name} }

// Out records l at time.Now(), or returns the error set by Fail.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.log = append(p.log, Change{At: time.Now(), Level: l})
	if len(p.log) >= 2*keep {
		p.log = append(p.log[:0], p.log[len(p.log)-keep:]...)
	}
	return nil
}

// keep is how many changes Changes returns at most (a long weighd --sim
// run must not grow without bound).
const keep = 4096

// Fail makes every later Out return err (nil heals the pin).
func (p *Pin) Fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

// Changes returns the recorded Out calls, the last 4096 at most.
func (p *Pin) Changes() []Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Change(nil), p.log[max(0, len(p.log)-keep):]...)
}

// Level returns the last level driven (Low if none).
func (p *Pin) Level() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.log) == 0 {
		return gpio.Low
	}
	return p.log[len(p.log)-1].Level
}

// PWM implements gpio.PinOut; not supported.
func (p *Pin) PWM(gpio.Duty, physic.Frequency) error { return errors.New("ledtest: PWM not supported") }

// String implements conn.Resource.
func (p *Pin) String() string { return "ledtest." + p.name }

// Halt implements conn.Resource; it does nothing.
func (p *Pin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin.
func (p *Pin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *Pin) Function() string { return "Out" }
