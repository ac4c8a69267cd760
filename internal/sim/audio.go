package sim

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"weighin/drivers/audio"
)

// Simulated microphone: a 440 Hz tone peaking at −20 dBFS (−23 dBFS RMS),
// and a click (a 5 ms
// burst at −3 dBFS) at each button press, in 20 ms blocks paced by the
// monotonic clock and stamped on it, as the ALSA driver stamps its blocks.
const (
	micTone   = 440.0
	micToneA  = 0.1 // −20 dBFS
	micClickA = 0.7 // −3 dBFS
	micClick  = 5 * time.Millisecond
	micBlock  = 20 * time.Millisecond
	// micBuffer is how far the reader may fall behind before samples are
	// lost (as the kernel ring of the real driver): they are reported in
	// the next block's Lost.
	micBuffer = 500 * time.Millisecond
)

// mic is the simulated microphone, an audio.Source.
type mic struct {
	format audio.Format
	start  time.Time
	next   int64 // the next sample frame's index
	click  atomic.Int64
	clickN int64 // click samples still to play
}

func newMic(rate int) *mic {
	return &mic{format: audio.Format{Rate: rate, Channels: 1}, start: time.Now()}
}

// press asks for a click in the next block.
func (m *mic) press() { m.click.Add(1) }

func (m *mic) at(i int64) time.Time {
	return m.start.Add(time.Duration(i * int64(time.Second) / int64(m.format.Rate)))
}

// Read blocks until the next 20 ms have been "captured" and returns them.
func (m *mic) Read(ctx context.Context) (audio.Block, error) {
	n := int64(m.format.Rate) * int64(micBlock) / int64(time.Second)
	lost := 0
	if behind := time.Since(m.at(m.next)); behind > micBuffer { // the reader stalled: an overrun
		skip := int64(behind-micBuffer/2) * int64(m.format.Rate) / int64(time.Second)
		m.next += skip
		lost = int(skip)
	}
	end := m.at(m.next + n)
	if d := time.Until(end); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return audio.Block{}, ctx.Err()
		case <-t.C:
		}
	}
	if m.click.Swap(0) > 0 {
		m.clickN = int64(m.format.Rate) * int64(micClick) / int64(time.Second)
	}
	data := make([]byte, 2*n)
	for j := range n {
		i := m.next + j
		v := micToneA * math.Sin(2*math.Pi*micTone*float64(i)/float64(m.format.Rate))
		if m.clickN > 0 {
			v = micClickA
			if m.clickN%2 == 0 {
				v = -micClickA
			}
			m.clickN--
		}
		s := int16(math.Round(v * 32767))
		data[2*j], data[2*j+1] = byte(uint16(s)), byte(uint16(s)>>8)
	}
	b := audio.Block{At: m.at(m.next), Data: data, Format: m.format, Lost: lost}
	m.next += n
	return b, nil
}
