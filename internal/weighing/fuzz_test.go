package weighing

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"weighin/internal/config"
)

// FuzzPipeline feeds random conversion sequences (each 5 bytes: a time step
// of 0–255 ms and a 24-bit count, or a tare) and checks the detector's
// invariants after every conversion:
//   - never stable (or empty) while the window's spread exceeds the threshold;
//   - empty is within the zero band, stable outside it;
//   - since the start or the last tare, the zero has moved by at most
//     zero_track_g_per_s × the time elapsed;
//   - a change is only reported for a decided state; numbers are finite.
func FuzzPipeline(f *testing.F) {
	seed := func(steps ...[2]int) []byte {
		var b []byte
		for _, s := range steps {
			b = append(b, byte(s[0]))
			b = binary.LittleEndian.AppendUint32(b, uint32(s[1]))[:len(b)+4]
		}
		return b
	}
	var flat, step, spikes [][2]int
	for i := range 30 {
		flat = append(flat, [2]int{100, 8000 + i%3})
		step = append(step, [2]int{100, 8000 + 420*500*(i/15)})
		v := 8000 + 420*100
		if i%7 == 3 {
			v = 0x7FFFFF
		}
		spikes = append(spikes, [2]int{12, v})
	}
	f.Add(uint8(10), seed(flat...))
	f.Add(uint8(10), seed(step...))
	f.Add(uint8(80), seed(spikes...))
	f.Fuzz(func(t *testing.T, rate uint8, data []byte) {
		sc := config.Default().Scale
		sc.Rate = 10
		if rate%2 == 1 {
			sc.Rate = 80
		}
		o := FromConfig(sc, 8000, 420)
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		var now, since time.Duration
		zero := 0.0
		for len(data) >= 5 {
			dt := time.Duration(data[0]) * time.Millisecond
			word := binary.LittleEndian.Uint32(data[1:5])
			data = data[5:]
			if word>>24 == 0xFF {
				// Tare, then go on without the zero-rate check for it.
				p.Tare()
				zero, since = p.zero, now
				continue
			}
			v := int32(word<<8) >> 8 // sign-extend 24 bits
			now += dt
			z0 := p.zero
			r, changed := p.Add(now, v)
			if changed && r.State == Empty {
				// Zero on return: back to empty after a load, the zero may
				// jump, by no more than the zero band.
				if jump := math.Abs(p.zero - z0); jump > o.ZeroBandG+o.ZeroTrackGPerS*dt.Seconds()+1e-9 {
					t.Fatalf("zero jumped %.4f g on return to empty, beyond the %.1f g zero band", jump, o.ZeroBandG)
				}
				zero, since = p.zero, now
			}
			if changed && r.State == Undecided {
				t.Fatalf("change reported while undecided: %+v", r)
			}
			if math.IsNaN(r.Grams) || math.IsInf(r.Grams, 0) || math.IsNaN(r.Zero) {
				t.Fatalf("non-finite reading %+v", r)
			}
			if r.Stable != (r.State == Empty || r.State == Stable) {
				t.Fatalf("Stable %v with state %s", r.Stable, r.State)
			}
			if r.Stable && !r.Rejected && r.Spread > r.Threshold {
				t.Fatalf("stable while the spread %.3f g exceeds the threshold %.3f g: %+v", r.Spread, r.Threshold, r)
			}
			if !r.Rejected && r.State == Empty && math.Abs(r.Grams) > o.ZeroBandG+1e-9 {
				t.Fatalf("empty at %.3f g, beyond the zero band", r.Grams)
			}
			if !r.Rejected && r.State == Stable && math.Abs(r.Grams) <= o.ZeroBandG {
				t.Fatalf("stable at %.3f g, inside the zero band", r.Grams)
			}
			if moved := math.Abs(p.zero - zero); moved > o.ZeroTrackGPerS*(now-since).Seconds()+1e-9 {
				t.Fatalf("zero moved %.4f g in %v", moved, now-since)
			}
		}
	})
}
