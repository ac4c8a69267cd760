package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"weighin/drivers/audio"
	"weighin/internal/api"
)

// TestMicrophone: weighd --sim's microphone delivers 20 ms blocks of a
// 440 Hz tone at −20 dBFS, contiguous and stamped on the monotonic clock
// when captured (not later than delivered), with a click at a press, and
// reports samples a stalled reader lost.
func TestMicrophone(t *testing.T) {
	hw, s := openSim(t)
	if hw.Audio == nil || hw.AudioName != "synthetic" {
		t.Fatalf("no simulated microphone: %+v", hw.Audio)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pcm []byte
	var prev audio.Block
	for i := range 25 { // half a second
		b, err := hw.Audio.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Format != (audio.Format{Rate: 16000, Channels: 1}) || b.Frames() != 320 || b.At.Add(b.Duration()).After(time.Now()) {
			t.Fatalf("block %d: %v, %d frames, at %v (now %v)", i, b.Format, b.Frames(), b.At, time.Now())
		}
		if i > 0 && (b.At.Sub(prev.At) != 20*time.Millisecond || b.Lost != 0) {
			t.Fatalf("block %d at +%v after the last, lost %d", i, b.At.Sub(prev.At), b.Lost)
		}
		if lvl := b.LevelDBFS(); lvl < -23.5 || lvl > -22.5 { // a sine at 0.1 of full scale: −23 dBFS RMS
			t.Errorf("block %d level %.1f dBFS", i, lvl)
		}
		pcm = append(pcm, b.Data...)
		prev = b
	}
	// 440 Hz: 220 rising zero crossings in half a second.
	if n := risingZeros(pcm); n < 219 || n > 221 {
		t.Errorf("%d rising zero crossings in 0.5 s, want 220 (440 Hz)", n)
	}
	go func() { _ = s.Command(ctx, api.CmdSimPress, "short") }()
	var clicked bool
	for range 10 {
		b, err := hw.Audio.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if peak(b.Data) > 0.5 {
			clicked = true
			break
		}
	}
	if !clicked {
		t.Error("no click within 200 ms of the press")
	}
	time.Sleep(800 * time.Millisecond) // the reader stalls past the 500 ms buffer
	b, err := hw.Audio.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Lost < 16000*200/1000 {
		t.Errorf("after a 800 ms stall: lost %d frames", b.Lost)
	}
}

func sample(d []byte, i int) int16 { return int16(uint16(d[2*i]) | uint16(d[2*i+1])<<8) }

func risingZeros(d []byte) int {
	n := 0
	for i := 1; i < len(d)/2; i++ {
		if sample(d, i-1) < 0 && sample(d, i) >= 0 {
			n++
		}
	}
	return n
}

// peak is the largest magnitude, as a fraction of full scale.
func peak(d []byte) float64 {
	var p float64
	for i := range len(d) / 2 {
		p = max(p, math.Abs(float64(sample(d, i)))/32768)
	}
	return p
}
