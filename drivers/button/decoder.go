package button

import (
	"fmt"
	"time"
)

// Kind is the kind of a press.
type Kind int

// Press kinds.
const (
	// Short: pressed and released before the long-press time (and, with
	// double-press detection on, no second press followed in the window).
	Short Kind = iota + 1
	// Long: held for the long-press time. Reported when the time is
	// reached, while the button is still held; the release is silent.
	Long
	// Double: two short presses, the second starting within the
	// double-press window after the first ended.
	Double
)

// String returns "short", "long" or "double".
func (k Kind) String() string {
	switch k {
	case Short:
		return "short"
	case Long:
		return "long"
	case Double:
		return "double"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Press is one decoded press.
type Press struct {
	Kind Kind
	// At is when the (first) press began: the last bounce of its leading
	// edge.
	At time.Time
	// Held is how long the button was down: the press for Short and Long
	// (Long: the long-press time), the second press for Double.
	Held time.Duration
}

// Decoder turns debounced level changes into presses. It is pure: it takes
// the time of every edge and of every Tick, and never reads a clock. Dev
// drives it from a pin; tests and fuzzers drive it directly.
type Decoder struct {
	debounce, long, double time.Duration

	raw       bool      // last level seen (true = pressed)
	rawAt     time.Time // when raw last changed
	stable    bool      // debounced level
	ignore    bool      // held since start: wait for a release first
	downAt    time.Time // start of the current press
	longFired bool
	pending   bool      // a short press waits for a possible second one
	firstAt   time.Time // start of that first press
	upAt      time.Time // its release
	second    bool      // the current press is the second of a double
	out       []Press
}

// NewDecoder returns a decoder whose button is pressed or not at now. A
// button already held at start is ignored until released. double < 0
// disables double presses (shorts are then reported at release).
func NewDecoder(now time.Time, pressed bool, debounce, long, double time.Duration) *Decoder {
	return &Decoder{debounce: debounce, long: long, double: double, raw: pressed, rawAt: now, stable: pressed, ignore: pressed}
}

// Edge records that the level changed to pressed at now (a call with an
// unchanged level is ignored: edges without a change are bounce or stale).
func (d *Decoder) Edge(now time.Time, pressed bool) {
	d.Tick(now)
	if pressed != d.raw {
		d.raw, d.rawAt = pressed, now
	}
}

// Deadline returns the next time at which Tick may produce a press or
// accept a level, ok=false if none is due without another edge.
func (d *Decoder) Deadline() (t time.Time, ok bool) {
	add := func(c time.Time) {
		if !ok || c.Before(t) {
			t, ok = c, true
		}
	}
	if d.raw != d.stable {
		add(d.rawAt.Add(d.debounce))
	}
	if d.stable && !d.longFired && !d.ignore {
		add(d.downAt.Add(d.long))
	}
	if d.pending && !d.stable && !d.raw {
		add(d.upAt.Add(d.double))
	}
	return t, ok
}

// Tick processes the passing of time up to now.
func (d *Decoder) Tick(now time.Time) {
	for {
		t, ok := d.Deadline()
		if !ok || t.After(now) {
			return
		}
		d.step(t)
	}
}

// step acts on the deadline due at t.
func (d *Decoder) step(t time.Time) {
	switch {
	case d.raw != d.stable && !t.Before(d.rawAt.Add(d.debounce)):
		d.stable = d.raw
		at := d.rawAt
		if d.ignore {
			if !d.stable {
				d.ignore = false
			}
			return
		}
		if d.stable { // pressed
			d.downAt, d.longFired = at, false
			d.second = d.pending
			return
		}
		// released
		if d.longFired {
			return
		}
		held := at.Sub(d.downAt)
		switch {
		case d.double < 0:
			d.emit(Short, d.downAt, held)
		case d.second:
			d.emit(Double, d.firstAt, held)
			d.pending, d.second = false, false
		default:
			d.pending, d.firstAt, d.upAt = true, d.downAt, at
		}
	case d.stable && !d.longFired && !d.ignore && !t.Before(d.downAt.Add(d.long)):
		if d.second {
			d.emit(Short, d.firstAt, d.upAt.Sub(d.firstAt))
			d.pending, d.second = false, false
		}
		d.emit(Long, d.downAt, d.long)
		d.longFired = true
	case d.pending && !d.stable && !d.raw:
		d.emit(Short, d.firstAt, d.upAt.Sub(d.firstAt))
		d.pending = false
	}
}

func (d *Decoder) emit(k Kind, at time.Time, held time.Duration) {
	d.out = append(d.out, Press{Kind: k, At: at, Held: held})
}

// Pop returns the oldest decoded press not yet returned.
func (d *Decoder) Pop() (Press, bool) {
	if len(d.out) == 0 {
		return Press{}, false
	}
	p := d.out[0]
	d.out = d.out[1:]
	return p, true
}
