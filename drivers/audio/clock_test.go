package audio

import (
	"testing"
	"time"
)

// Reads that complete late (scheduling) never move the stamps later than
// the earliest evidence; consecutive blocks follow each other exactly.
func TestClockLowerEnvelope(t *testing.T) {
	const rate = 16000
	c := clock{rate: rate}
	t0 := time.Now() // capture time of frame 0
	period := 320    // 20 ms
	late := []time.Duration{15 * time.Millisecond, 2 * time.Millisecond, 30 * time.Millisecond, 0, 9 * time.Millisecond, 0}
	var prevEnd time.Time
	for i, l := range late {
		// Block i's last frame was captured at t0 + (i+1)·20 ms; the read
		// returns l later, with nothing more waiting.
		now := t0.Add(time.Duration(i+1) * 20 * time.Millisecond).Add(l)
		at := c.stamp(now, period, 0)
		want := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if err := at.Sub(want); err < 0 || err > 15*time.Millisecond {
			t.Errorf("block %d stamped %v from its true time", i, err)
		}
		// After the read on time (block 3) the stamps stay true but for
		// the slew a late read allows (500 ppm of 20 ms per block).
		if i >= 3 && at.Sub(want).Abs() > time.Duration(i-3)*10*time.Microsecond {
			t.Errorf("block %d: after a read on time, stamped %v off", i, at.Sub(want))
		}
		// Blocks follow each other but where an earlier read showed the
		// stamps late (blocks 1 and 3 move back).
		if step := at.Sub(prevEnd); i > 0 && i != 1 && i != 3 && step.Abs() > 10*time.Microsecond {
			t.Errorf("block %d starts %v after the previous block's end", i, step)
		}
		prevEnd = at.Add(20 * time.Millisecond)
	}
	// Frames still waiting in the ring are counted back too.
	c = clock{rate: rate}
	if at := c.stamp(t0.Add(100*time.Millisecond), period, 1280); at != t0 {
		t.Errorf("with 80 ms waiting: %v from the true time", at.Sub(t0))
	}
}

// A device clock 300 ppm slower than the system's: the estimate follows it
// up within the slew.
func TestClockFollowsSlowDevice(t *testing.T) {
	const rate = 16000
	c := clock{rate: rate}
	t0 := time.Now()
	var at time.Time
	for i := range 3000 { // 60 s
		trueEnd := t0.Add(time.Duration(float64(time.Duration(i+1)*20*time.Millisecond) * (1 + 300e-6)))
		at = c.stamp(trueEnd, 320, 0)
	}
	trueStart := t0.Add(time.Duration(float64(2999*20*time.Millisecond) * (1 + 300e-6)))
	if d := at.Sub(trueStart).Abs(); d > time.Millisecond {
		t.Errorf("after 60 s at -300 ppm: %v off", d)
	}
}

func TestLostFrames(t *testing.T) {
	t0 := time.Now()
	for _, c := range []struct {
		gap  time.Duration
		want int
	}{{0, 0}, {-5 * time.Millisecond, 0}, {time.Second, 16000}, {830 * time.Millisecond, 13280}, {31 * time.Microsecond, 0}, {32 * time.Microsecond, 1}} {
		if got := lostFrames(t0, t0.Add(c.gap), 16000); got != c.want {
			t.Errorf("gap %v: %d frames, want %d", c.gap, got, c.want)
		}
	}
	if lostFrames(time.Time{}, t0, 16000) != 0 {
		t.Error("no previous block, yet frames lost")
	}
}

// A first read 50 ms late, then reads on time: the estimate moves back by
// more than a block, yet no stamp goes back.
func TestClockNeverBack(t *testing.T) {
	c := clock{rate: 16000}
	t0 := time.Now()
	a := c.stamp(t0.Add(70*time.Millisecond), 320, 0)
	b := c.stamp(t0.Add(40*time.Millisecond), 320, 0)
	d := c.stamp(t0.Add(60*time.Millisecond), 320, 0)
	e := c.stamp(t0.Add(80*time.Millisecond), 320, 0)
	if b.Sub(a) != time.Millisecond || d.Sub(b) != time.Millisecond {
		t.Errorf("stamps %v, %v after the previous, want 1ms each", b.Sub(a), d.Sub(b))
	}
	// Once the true time has passed the last stamp, blocks are true again.
	if e != t0.Add(60*time.Millisecond) {
		t.Errorf("fourth stamp %v from the true time", e.Sub(t0.Add(60*time.Millisecond)))
	}
}
