package hx711test

import (
	"sync"
	"time"
)

// Clock is the time source shared by the simulated chip and the driver under
// test. It has the same method set as hx711.Clock, so one value serves both:
// pass the same clock to hx711.Opts and to Opts.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// SystemClock is the real clock: time.Now and time.Sleep. Inside a
// testing/synctest bubble it is virtual too.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep calls time.Sleep.
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// VirtualClock is a manual clock: Sleep advances it at once, so a test runs
// thousands of simulated conversions (and their settling pauses) in
// milliseconds of real time. It is safe for concurrent use.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a VirtualClock that starts at start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the virtual time by d (nothing for d <= 0).
func (c *VirtualClock) Sleep(d time.Duration) { c.Advance(d) }

// Advance moves the virtual time forward by d (nothing for d <= 0).
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
