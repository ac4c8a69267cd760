package audio

import (
	"math"
	"time"
)

// clock stamps captured blocks: the time of a block's first sample, on the
// monotonic clock, from when a read completed and how many frames were
// still waiting in the kernel then. A read can only complete late (the
// scheduler, a busy CPU), never early, so each read gives a time of the
// stream's frame 0 that is at most too late; the clock keeps the earliest
// (the lower envelope), letting it rise at most slew (relative) to follow a
// device clock slower than the system's. Blocks stamped by one clock follow
// each other without gaps, as their samples do.
type clock struct {
	rate   int
	frames int64     // frames stamped since the stream started
	zero   time.Time // estimated capture time of frame 0
	ok     bool
	last   time.Time // the last stamp given
}

// slew bounds how fast the estimate of frame 0 may move later: 500 ppm,
// five times the tolerance of a USB audio clock.
const slew = 500e-6

func (c *clock) dur(frames int64) time.Duration {
	return time.Duration(frames) * time.Second / time.Duration(c.rate)
}

// stamp returns the time of the first of n frames just read, when waiting
// frames were still in the kernel's buffer at now.
func (c *clock) stamp(now time.Time, n, waiting int) time.Time {
	zero := now.Add(-c.dur(c.frames + int64(n) + int64(waiting)))
	switch {
	case !c.ok || zero.Before(c.zero):
		c.zero, c.ok = zero, true
	default:
		if up := time.Duration(float64(c.dur(int64(n))) * slew); zero.After(c.zero.Add(up)) {
			c.zero = c.zero.Add(up)
		} else {
			c.zero = zero
		}
	}
	at := c.zero.Add(c.dur(c.frames))
	// Stamps only go forward (the recorder drops a block that goes back):
	// when the estimate moves back by more than a block, this block
	// starts 1 ms after the last, and the next takes the new estimate.
	if c.ok && c.frames > 0 && !at.After(c.last) {
		at = c.last.Add(time.Millisecond)
	}
	c.last = at
	c.frames += int64(n)
	return at
}

// reset forgets the stream (after an xrun the device restarts).
func (c *clock) reset() { c.frames, c.ok = 0, false }

// lostFrames is how many frames at rate fit between the end of the last
// block and the start of the next: the frames an xrun or a replug lost.
func lostFrames(lastEnd, next time.Time, rate int) int {
	if lastEnd.IsZero() || !next.After(lastEnd) {
		return 0
	}
	return int(math.Round(next.Sub(lastEnd).Seconds() * float64(rate)))
}
