//go:build aloopguest

// The tests in this file run inside the qemu guest that
// drivers/camera/kerneltest boots (make test-kernel), beside vivid: the
// kernel's snd-aloop (pcm_substreams=1) is card "Loopback"; what is played
// into hw:Loopback,0 is captured from hw:Loopback,1. Lines starting with
// "RESULT " go to the host on the second serial port; raw PCM goes out on
// the virtio disk from AUDIO_DISK_OFFSET on.

package audio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"weighin/drivers/audio/audiotest"
)

var resultsTTY = sync.OnceValues(func() (*os.File, error) {
	return os.OpenFile("/dev/ttyS1", os.O_WRONLY|syscall.O_NOCTTY, 0)
})

func result(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("RESULT "+format+"\n", args...)
	os.Stdout.WriteString(line)
	tty, err := resultsTTY()
	if err == nil {
		_, err = tty.WriteString(line)
	}
	if err != nil {
		t.Fatalf("results port: %v", err)
	}
}

const (
	toneHz    = 880
	toneAmp   = 0.5
	toneLevel = 0.1 // onset threshold, of full scale
)

func loopback(t *testing.T) (capture, playback string) {
	t.Helper()
	c, err := Resolve("/", "hw:Loopback,1", "")
	if err != nil {
		t.Fatalf("the loopback's capture side: %v", err)
	}
	return c, strings.Replace(c, "D1c", "D0p", 1)
}

// play writes data into the playback side, then starts it: the first
// sample sounds at the returned moment (midway through the START ioctl).
func play(t *testing.T, path string, rate int, data []byte) (*pcm, time.Time) {
	t.Helper()
	p, err := openPCM(path, streamPlayback, pcmParams{rate: rate, channels: 1, period: 20 * time.Millisecond, buffer: time.Duration(len(data)/2+rate/5) * time.Second / time.Duration(rate)})
	if err != nil {
		t.Fatal(err)
	}
	if p.rate != rate || p.buffer < len(data)/2 {
		t.Fatalf("playback at %d Hz with a ring of %d frames, want %d Hz and %d", p.rate, p.buffer, rate, len(data)/2)
	}
	for off := 0; off < len(data); {
		n, err := p.transfer(data[off:])
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("playback write: %v", err)
		}
		off += 2 * n
	}
	t0 := time.Now()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	return p, t0.Add(t1.Sub(t0) / 2)
}

// capture reads blocks until stop is closed.
func capture(c *Capture, stop chan struct{}) (<-chan []Block, <-chan error) {
	out, errc := make(chan []Block, 1), make(chan error, 1)
	go func() {
		var bs []Block
		for {
			select {
			case <-stop:
				out <- bs
				errc <- nil
				return
			default:
			}
			b, err := c.Read(context.Background())
			if err != nil {
				out <- bs
				errc <- err
				return
			}
			bs = append(bs, b)
		}
	}()
	return out, errc
}

// timeOf is the capture time of sample i of the blocks' concatenation.
func timeOf(bs []Block, i int) time.Time {
	for _, b := range bs {
		if i < b.Frames() {
			return b.At.Add(time.Duration(i) * time.Second / time.Duration(b.Format.Rate))
		}
		i -= b.Frames()
	}
	return time.Time{}
}

// sampleAt is the index of the sample captured at time at.
func sampleAt(bs []Block, at time.Time) int {
	n := 0
	for _, b := range bs {
		if end := b.At.Add(b.Duration()); at.Before(end) {
			return n + int(at.Sub(b.At)*time.Duration(b.Format.Rate)/time.Second)
		}
		n += b.Frames()
	}
	return -1
}

func TestAloopTone(t *testing.T) {
	capPath, playPath := loopback(t)
	c, err := Open(Opts{Path: capPath, Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rate := c.Format().Rate
	if rate != 16000 {
		t.Fatalf("loopback capture at %d Hz", rate)
	}
	t.Logf("capture %s: %d Hz, period %d, ring %d frames", capPath, rate, c.Period(), c.Buffer())
	stop := make(chan struct{})
	blocks, errc := capture(c, stop)

	time.Sleep(400 * time.Millisecond)
	burst := append(audiotest.Tone(rate, toneHz, toneAmp, rate*4/10), make([]byte, 2*rate*6/10)...)
	p, toneAt := play(t, playPath, rate, burst)
	time.Sleep(1300 * time.Millisecond)
	p.close()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	bs, err := <-blocks, <-errc
	if err != nil {
		t.Fatalf("capture: %v", err)
	}

	var data []byte
	var maxStep time.Duration
	for i, b := range bs {
		if b.Lost != 0 || b.Format != c.Format() {
			t.Errorf("block %d: lost %d, format %+v", i, b.Lost, b.Format)
		}
		if i > 0 {
			step := b.At.Sub(bs[i-1].At.Add(bs[i-1].Duration()))
			maxStep = max(maxStep, step.Abs())
		}
		data = append(data, b.Data...)
	}
	s := audiotest.Samples(data)
	onset := audiotest.Onset(s, toneLevel)
	if onset < 0 {
		t.Fatalf("no tone in %d captured samples (%d blocks)", len(s), len(bs))
	}
	heard := timeOf(bs, onset)
	off := heard.Sub(toneAt)
	freq := audiotest.Frequency(s[onset:min(len(s), onset+rate*3/10)], rate, 100, 4000)
	t.Logf("%d blocks, largest step between blocks %v; tone played at %v, heard at sample %d (%v): %v off, %d Hz",
		len(bs), maxStep, toneAt.Format("05.000000"), onset, heard.Format("05.000000"), off, freq)
	if off.Abs() > 40*time.Millisecond {
		t.Errorf("the tone's onset is %v from when it was played; want within 40 ms", off)
	}
	if freq < toneHz-5 || freq > toneHz+5 {
		t.Errorf("tone at %d Hz, want %d", freq, toneHz)
	}
	result(t, "aloop_blocks=%d aloop_rate=%d aloop_period=%d aloop_ring=%d aloop_onset_off_us=%d aloop_freq=%d aloop_block_step_max_us=%d",
		len(bs), rate, c.Period(), c.Buffer(), off.Microseconds(), freq, maxStep.Microseconds())
	// The raw samples for the host, with where the tone should start by the
	// blocks' own timestamps.
	result(t, "aloop_tone_sample=%d", sampleAt(bs, toneAt))
	writeArtifact(t, "aloop.s16", data)
}

// TestAloopOverrun stalls the reader longer than the kernel's ring: the
// read after it meets EPIPE, restarts the stream, and the next block counts
// the hole in Lost.
func TestAloopOverrun(t *testing.T) {
	capPath, _ := loopback(t)
	c, err := Open(Opts{Path: capPath, Rate: 16000, Buffer: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rate := c.Format().Rate
	var last Block
	for range 5 {
		if last, err = c.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ring := time.Duration(c.Buffer()) * time.Second / time.Duration(rate)
	stall := ring + 400*time.Millisecond
	time.Sleep(stall)
	var b Block
	for i := 0; b.Lost == 0; i++ {
		if i == 50 {
			t.Fatalf("no block with Lost in 50 after a %v stall over a %v ring (xruns %d)", stall, ring, c.Xruns())
		}
		if b, err = c.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lost := time.Duration(b.Lost) * time.Second / time.Duration(rate)
	t.Logf("stall %v over a %v ring: %d xrun(s), %d frames (%v) lost, next block %v after the last before",
		stall, ring, c.Xruns(), b.Lost, lost, b.At.Sub(last.At.Add(last.Duration())))
	if c.Xruns() != 1 {
		t.Errorf("%d xruns, want 1", c.Xruns())
	}
	// Everything from the end of the last block read to the restart is
	// gone: at least the stall less what was waiting, at most the stall and
	// the time a loaded guest takes to come back.
	if lost < stall-ring || lost > stall+time.Second {
		t.Errorf("lost %v after a %v stall", lost, stall)
	}
	result(t, "aloop_stall_ms=%d aloop_lost_ms=%d aloop_xruns=%d", stall.Milliseconds(), lost.Milliseconds(), c.Xruns())
}

// writeArtifact writes data to the raw disk at AUDIO_DISK_OFFSET and
// prints where it is.
func writeArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	off, err := strconv.ParseInt(os.Getenv("AUDIO_DISK_OFFSET"), 10, 64)
	if err != nil {
		t.Fatalf("AUDIO_DISK_OFFSET: %v (this test runs in the guest of drivers/camera/kerneltest)", err)
	}
	disk, err := os.OpenFile("/dev/vda", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("disk: %v", err)
	}
	defer disk.Close()
	if _, err := disk.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := disk.Sync(); err != nil {
		t.Fatal(err)
	}
	result(t, "artifact=%s offset=%d bytes=%d", name, off, len(data))
}
