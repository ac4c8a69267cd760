// Package buttontest provides a fake button pin for tests: a gpio.PinIn whose
// level a test sets or scripts (bounces included), with queued edge events
// like periph's gpioioctl driver. It waits with timers, so it runs in
// virtual time inside a testing/synctest bubble.
package buttontest

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// queue is the depth of the edge-event queue (the kernel's default).
const queue = 16

// Pin is a fake input pin. The zero value is not usable; use NewPin.
type Pin struct {
	name   string
	edges  chan struct{}
	mu     sync.Mutex
	level  gpio.Level
	pull   gpio.Pull
	edge   gpio.Edge
	waits  int
	record []Change
}

// Change is one level change of the pin.
type Change struct {
	At    time.Time
	Level gpio.Level
}

// NewPin returns a pin at level, named name.
func NewPin(name string, level gpio.Level) *Pin {
	return &Pin{name: name, level: level, edges: make(chan struct{}, queue)}
}

var _ gpio.PinIn = (*Pin)(nil)

// Set drives the pin to l, queuing an edge event when l is a change the
// pin's edge detection watches.
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l == p.level {
		return
	}
	p.level = l
	p.record = append(p.record, Change{At: time.Now(), Level: l})
	if len(p.record) >= 2*keep {
		p.record = append(p.record[:0], p.record[len(p.record)-keep:]...)
	}
	if p.edge == gpio.BothEdges || (p.edge == gpio.RisingEdge && l == gpio.High) || (p.edge == gpio.FallingEdge && l == gpio.Low) {
		select {
		case p.edges <- struct{}{}:
		default: // queue full: the event is lost, as in the kernel
		}
	}
}

// Step is one scripted change: after waiting After, set Level.
type Step struct {
	After time.Duration
	Level gpio.Level
}

// Play runs steps in the calling goroutine, sleeping between them.
func (p *Pin) Play(steps []Step) {
	for _, s := range steps {
		time.Sleep(s.After)
		p.Set(s.Level)
	}
}

// Bounce returns the steps of a contact that has just reached level to and
// bounces n times: away and back, each flip gap after the last.
func Bounce(to gpio.Level, n int, gap time.Duration) []Step {
	var s []Step
	for range n {
		s = append(s, Step{After: gap, Level: !to}, Step{After: gap, Level: to})
	}
	return s
}

// Press returns the steps of one press (pressed = Low when activeLow):
// wait, press, bounce n times, hold, release, bounce n times.
func Press(activeLow bool, wait, hold time.Duration, bounces int, gap time.Duration) []Step {
	down, up := gpio.High, gpio.Low
	if activeLow {
		down, up = gpio.Low, gpio.High
	}
	s := []Step{{After: wait, Level: down}}
	s = append(s, Bounce(down, bounces, gap)...)
	s = append(s, Step{After: hold, Level: up})
	return append(s, Bounce(up, bounces, gap)...)
}

// keep is how many changes Changes returns at most.
const keep = 4096

// Changes returns the level changes so far, the last 4096 at most.
func (p *Pin) Changes() []Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Change(nil), p.record[max(0, len(p.record)-keep):]...)
}

// Waits returns how many times WaitForEdge was called.
func (p *Pin) Waits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// String implements conn.Resource.
func (p *Pin) String() string { return "buttontest." + p.name }

// Halt implements conn.Resource; it does nothing.
func (p *Pin) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Pin) Name() string { return p.name }

// Number implements pin.Pin.
func (p *Pin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *Pin) Function() string { return "In" }

// In sets pull and edge detection and flushes queued edges. A pull-up or
// pull-down moves an undriven pin: the level becomes High or Low.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pull, p.edge = pull, edge
	for {
		select {
		case <-p.edges:
		default:
			return nil
		}
	}
}

// Read returns the level.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge returns true when an edge event is (or becomes) queued
// within timeout, false otherwise, and false at once without edge
// detection (as gpioioctl does). A timeout <= 0 panics: gpioioctl and
// gpiotest disagree on what it means.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	if timeout <= 0 {
		panic(fmt.Sprintf("buttontest: WaitForEdge(%v): use positive timeouts only", timeout))
	}
	p.mu.Lock()
	p.waits++
	edge := p.edge
	p.mu.Unlock()
	if edge == gpio.NoEdge {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-t.C:
		return false
	}
}

// Pull returns the pull set by In.
func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

// DefaultPull returns gpio.PullNoChange.
func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullNoChange }
