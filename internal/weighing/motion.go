package weighing

import (
	"math"
	"time"
)

// reversals finds the turning points of the smoothed signal (with
// hysteresis of two thresholds) and classifies each swing between two of
// them: a bounce (a swing of a quarter of the load or more: the parcel left
// the platform and came back), a hand (turning points at least handGap and
// four conversions apart, the swing not smaller than 70 % of the one before:
// a hand sways at 0.3–4 Hz and keeps swaying), or else a ring (a platform
// rings at 6 Hz and more, and decays). It remembers when each was last
// seen.
type reversals struct {
	dir      int // +1 rising, -1 falling, 0 not started
	ext      float64
	extT     time.Duration
	prev     float64 // last turning point
	prevT    time.Duration
	havePrev bool
	// lastSwing is the size of the last swing between turning points.
	lastSwing  float64
	lastHand   time.Duration
	hand       bool
	lastRing   time.Duration
	ring       bool
	lastBounce time.Duration
	bounce     bool
	// period is the conversion period: at 10 SPS a ring aliases into slow
	// reversals, so a hand needs turning points four conversions apart.
	period time.Duration
}

// handGap is the shortest time between two turning points of a hand's
// motion.
const handGap = 150 * time.Millisecond

// add feeds a smoothed value y (gross grams) at t with hysteresis h and the
// current load (for the bounce rule).
func (r *reversals) add(t time.Duration, y, h, load float64) {
	switch {
	case r.dir == 0:
		// Start as rising; the first reversal sets the real direction.
		r.dir, r.ext, r.extT = 1, y, t
		return
	case r.dir > 0 && y >= r.ext, r.dir < 0 && y <= r.ext:
		r.ext, r.extT = y, t
		return
	case math.Abs(y-r.ext) <= h:
		return
	}
	// A turning point at (extT, ext).
	if r.havePrev {
		gap := r.extT - r.prevT
		swing := math.Abs(r.ext - r.prev)
		// A ring decays; a hand keeps swaying.
		sustained := r.lastSwing == 0 || swing >= 0.7*r.lastSwing
		switch {
		case swing >= 0.25*math.Abs(load):
			r.lastBounce, r.bounce = t, true
		case gap >= max(handGap, 4*r.period) && sustained:
			r.lastHand, r.hand = t, true
		default:
			r.lastRing, r.ring = t, true
		}
		r.lastSwing = swing
	}
	r.prev, r.prevT, r.havePrev = r.ext, r.extT, true
	r.dir = -r.dir
	r.ext, r.extT = y, t
}

// handRecent reports whether hand-like motion was seen within d before t.
func (r *reversals) handRecent(t, d time.Duration) bool {
	return r.hand && t-r.lastHand < d
}

// bounceRecent reports whether a bounce was seen within d before t.
func (r *reversals) bounceRecent(t, d time.Duration) bool {
	return r.bounce && t-r.lastBounce < d
}

// handFactor: after hand-like motion the readings must agree over this
// many configured windows (or the noise's window, if longer).
const handFactor = 1.4

func (p *Pipeline) handSpan() time.Duration {
	return max(time.Duration(handFactor*float64(p.o.Window)), p.window)
}

// fastSpan is the newest part of the window that may decide stability right
// after a step: 40 % of the window, at least four conversions (3.5 periods,
// so a chip whose oscillator runs fast does not put five in it): at 10 SPS
// four of the window's five. Never shorter than the mean's accuracy needs
// (on a noisy cell that is the whole window).
func (p *Pipeline) fastSpan() time.Duration {
	return max(p.window*2/5, 7*p.period/2, min(p.need, p.window))
}

// fastPath reports whether the newest part of the window may decide
// stability on its own. Never after hand-like motion (within four windows)
// or within a window of a bounce. Otherwise yes while a step from another
// weight (a set-down, a removal: a spread of 20 thresholds) is within the
// window, or twice the fast part if that is longer (at 10 SPS), or while the platform rings down (fast reversals
// within the last window) with a spread within 4 thresholds. Any other
// motion (a hand pressing a few grams) needs the whole window. Once steady
// on the fast part, the fast part goes on deciding until the whole window
// holds only conversions from the steady time.
func (p *Pipeline) fastPath(t time.Duration, whole, fast summary) bool {
	if !fast.Full || p.rev.handRecent(t, 4*p.window) || p.rev.bounceRecent(t, p.window) {
		return false
	}
	if (p.state == Stable || p.state == Empty) && t <= p.fastUntil {
		// Steady since the fast part decided: keep judging on it until the
		// whole window holds only conversions from then on, so the switch
		// does not flicker the state.
		return true
	}
	thr := p.Threshold(whole.Mean - p.zero)
	if p.det.summary(max(p.window, 2*p.fastSpan())).Spread() >= 20*thr {
		return true
	}
	return p.rev.ring && t-p.rev.lastRing <= p.window && whole.Spread() <= 4*thr
}
