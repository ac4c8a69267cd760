package motion

import (
	"bytes"
	"context"
	"image/jpeg"
	"runtime"
	"syscall"
	"testing"
	"time"

	"weighin/drivers/camera/cameratest"
)

// threadCPU is the CPU time of the calling OS thread (user + system).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchFrame(b *testing.B, w, h, q int) []byte {
	b.Helper()
	s, err := cameratest.NewSynthetic(cameratest.Opts{Width: w, Height: h, Quality: q, Loop: 1})
	if err != nil {
		b.Fatal(err)
	}
	s.SetHand(true)
	f, err := s.Next(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return f.Data
}

// benchCPU runs fn per frame and reports the CPU time of the benchmark's
// thread per frame (it holds on a busy machine, where ns/op does not) and
// the share of one core the check takes at 5 sampled frames per second.
func benchCPU(b *testing.B, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		fn()
	}
	if cpu := threadCPU() - c0; cpu > 0 {
		per := cpu / time.Duration(b.N)
		b.ReportMetric(float64(per.Microseconds()), "µs-cpu/frame")
		b.ReportMetric(per.Seconds()*5*100, "%core@5fps")
	}
}

// BenchmarkBlocks is the motion check's cost per sampled frame: the DC
// path of Blocks and a Compare with the previous grid. Baseline:
// BenchmarkFullDecode (image/jpeg), which the check would need without the
// DC path.
func BenchmarkBlocks(b *testing.B) {
	for _, c := range []struct {
		name    string
		w, h, q int
	}{{"720p-q93", 1280, 720, 93}, {"480p-q80", 640, 480, 80}} {
		frame := benchFrame(b, c.w, c.h, c.q)
		prev, err := Blocks(frame)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			benchCPU(b, func() {
				g, err := Blocks(frame)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Compare(prev, g, DefaultRegion, 12); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkFullDecode(b *testing.B) {
	for _, c := range []struct {
		name    string
		w, h, q int
	}{{"720p-q93", 1280, 720, 93}, {"480p-q80", 640, 480, 80}} {
		frame := benchFrame(b, c.w, c.h, c.q)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			benchCPU(b, func() {
				if _, err := jpeg.Decode(bytes.NewReader(frame)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
