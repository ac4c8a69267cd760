//go:build aloopguest

// The tests in this file run inside the qemu guest that
// drivers/camera/kerneltest boots (make test-kernel), beside vivid: the
// kernel's snd-aloop (pcm_substreams=1) is card "Loopback"; what is played
// into hw:Loopback,0 is captured from hw:Loopback,1. Lines starting with
// "RESULT " go to the host on the second serial port; raw PCM goes out on
// the virtio disk from AUDIO_DISK_OFFSET on.

package audio_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"weighin/drivers/audio"
	"weighin/drivers/audio/audiotest"
	"weighin/drivers/camera"
	"weighin/drivers/camera/kerneltest/guest"
	"weighin/internal/config"
	"weighin/internal/recorder"
)

const (
	toneHz    = 880
	toneAmp   = 0.5
	toneLevel = 0.1 // onset threshold, of full scale
)

func loopback(t *testing.T) (capture, playback string) {
	t.Helper()
	c, err := audio.Resolve("/", "hw:Loopback,1", "")
	if err != nil {
		t.Fatalf("the loopback's capture side: %v", err)
	}
	return c, strings.Replace(c, "D1c", "D0p", 1)
}

// play writes data into the playback side, then starts it: the first
// sample sounds at the returned moment (midway through the START ioctl).
func play(t *testing.T, path string, rate int, data []byte) (*audio.Playback, time.Time) {
	t.Helper()
	p, err := audio.OpenPlayback(path, rate, time.Duration(len(data)/2+rate/5)*time.Second/time.Duration(rate))
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate() != rate || p.Ring() < len(data)/2 {
		t.Fatalf("playback at %d Hz with a ring of %d frames, want %d Hz and %d", p.Rate(), p.Ring(), rate, len(data)/2)
	}
	for off := 0; off < len(data); {
		n, err := p.Write(data[off:])
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("playback write: %v", err)
		}
		off += 2 * n
	}
	t0 := time.Now()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	return p, t0.Add(t1.Sub(t0) / 2)
}

// capture reads blocks and sends them on until stop is closed; the error
// channel then says how it ended.
func capture(c *audio.Capture, stop chan struct{}) (<-chan audio.Block, <-chan error) {
	out, errc := make(chan audio.Block, 512), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			b, err := c.Read(context.Background())
			if err != nil {
				errc <- err
				return
			}
			out <- b
		}
	}()
	return out, errc
}

// timeOf is the capture time of sample i of the blocks' concatenation.
func timeOf(bs []audio.Block, i int) time.Time {
	for _, b := range bs {
		if i < b.Frames() {
			return b.At.Add(time.Duration(i) * time.Second / time.Duration(b.Format.Rate))
		}
		i -= b.Frames()
	}
	return time.Time{}
}

// sampleAt is the index of the sample captured at time at.
func sampleAt(bs []audio.Block, at time.Time) int {
	n := 0
	for _, b := range bs {
		if end := b.At.Add(b.Duration()); at.Before(end) {
			return n + int(at.Sub(b.At)*time.Duration(b.Format.Rate)/time.Second)
		}
		n += b.Frames()
	}
	return -1
}

// TestAloopTone records vivid's frames and the loopback's sound through the
// daemon's recorder while a tone burst is played into the loopback, and
// marks the moment it was played: the raw blocks put the tone's onset within
// 40 ms of that moment here, and the host finds it again in the file's
// audio track against the file's chapter for the mark.
func TestAloopTone(t *testing.T) {
	capPath, playPath := loopback(t)
	c, err := audio.Open(audio.Opts{Path: capPath, Rate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rate := c.Format().Rate
	if rate != 16000 {
		t.Fatalf("loopback capture at %d Hz", rate)
	}
	t.Logf("capture %s: %d Hz, period %d, ring %d frames", capPath, rate, c.Period(), c.Buffer())
	cam, err := camera.Open(camera.Opts{Device: "/dev/video0", Format: "auto",
		FallbackWidth: 320, FallbackHeight: 180, FallbackFPS: 30, JPEGQuality: 75, Buffers: 3, FrameTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("vivid: %v", err)
	}
	defer cam.Close()

	rcfg := config.Default().Recorder
	rcfg.PreRoll = time.Second
	rec, err := recorder.New(rcfg, recorder.Options{AudioFormat: c.Format()})
	if err != nil {
		t.Fatal(err)
	}
	recCtx, recCancel := context.WithCancel(context.Background())
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Run(recCtx) }()
	defer func() { recCancel(); <-recDone }()

	// Frames and blocks go to the recorder from one goroutine, as the
	// station's loop does (the recorder is not safe for concurrent pushes).
	stop := make(chan struct{})
	blocks, errc := capture(c, stop)
	frames := make(chan camera.Frame, 64)
	camDone := make(chan error, 1)
	go func() {
		for {
			f, err := cam.Next(recCtx)
			if err != nil {
				camDone <- err
				return
			}
			select {
			case frames <- f:
			case <-stop:
				camDone <- nil
				return
			}
		}
	}()
	var bs []audio.Block
	nframes := 0
	feed := func(d time.Duration) {
		t.Helper()
		until := time.After(d)
		for {
			select {
			case f := <-frames:
				rec.Push(f)
				nframes++
			case b := <-blocks:
				bs = append(bs, b)
				rec.PushAudio(b)
			case <-until:
				return
			}
		}
	}
	feed(time.Second) // pre-roll
	recDir := t.TempDir()
	if err := rec.Start(recDir); err != nil {
		t.Fatal(err)
	}
	feed(time.Second)
	burst := append(audiotest.Tone(rate, toneHz, toneAmp, rate*4/10), make([]byte, 2*rate*6/10)...)
	p, toneAt := play(t, playPath, rate, burst)
	if err := rec.Mark(toneAt, "tone"); err != nil {
		t.Fatal(err)
	}
	feed(1300 * time.Millisecond)
	p.Close()
	feed(300 * time.Millisecond)
	close(stop)
	// The capture goroutine ends after its next block.
	for done := false; !done; {
		select {
		case b := <-blocks:
			bs = append(bs, b)
			rec.PushAudio(b)
		case err := <-errc:
			if err != nil {
				t.Fatalf("capture: %v", err)
			}
			done = true
		case f := <-frames:
			rec.Push(f)
			nframes++
		}
	}
	for len(blocks) > 0 {
		b := <-blocks
		bs = append(bs, b)
		rec.PushAudio(b)
	}
	if err := <-camDone; err != nil {
		t.Errorf("vivid: %v", err)
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	rs, err := rec.Stop(stopCtx)
	if err != nil {
		t.Fatalf("recorder stop: %v", err)
	}
	t.Logf("recorder: %d frames, audio %+v, marks %+v", rs.Frames, rs.Audio, rs.Marks)

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
	t.Logf("%d blocks, %d frames, largest step between blocks %v; tone played at %v, heard at sample %d (%v): %v off, %d Hz",
		len(bs), nframes, maxStep, toneAt.Format("05.000000"), onset, heard.Format("05.000000"), off, freq)
	if off.Abs() > 40*time.Millisecond {
		t.Errorf("the tone's onset is %v from when it was played; want within 40 ms", off)
	}
	if freq < toneHz-5 || freq > toneHz+5 {
		t.Errorf("tone at %d Hz, want %d", freq, toneHz)
	}
	if len(rs.Files) != 1 || rs.Audio.Samples == 0 || len(rs.Marks) != 1 {
		t.Fatalf("recording: files %+v, audio %+v, marks %+v", rs.Files, rs.Audio, rs.Marks)
	}
	guest.Result(t, "aloop_blocks=%d aloop_rate=%d aloop_period=%d aloop_ring=%d aloop_onset_off_us=%d aloop_freq=%d aloop_block_step_max_us=%d",
		len(bs), rate, c.Period(), c.Buffer(), off.Microseconds(), freq, maxStep.Microseconds())
	guest.Result(t, "av_frames=%d av_audio_samples=%d av_audio_missing_ms=%d av_audio_gaps=%d",
		rs.Frames, rs.Audio.Samples, rs.Audio.Missing.Milliseconds(), len(rs.Audio.Gaps))
	// The raw samples for the host, with where the tone should start by the
	// blocks' own timestamps; then the recording.
	guest.Result(t, "aloop_tone_sample=%d", sampleAt(bs, toneAt))
	writeArtifact(t, "aloop.s16", data)
	mkv, err := os.ReadFile(filepath.Join(recDir, rs.Files[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "av.mkv", mkv)
}

// TestAloopOverrun stalls the reader longer than the kernel's ring: the
// read after it meets EPIPE, restarts the stream, and the next block counts
// the hole in Lost.
func TestAloopOverrun(t *testing.T) {
	capPath, _ := loopback(t)
	c, err := audio.Open(audio.Opts{Path: capPath, Rate: 16000, Buffer: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rate := c.Format().Rate
	var last audio.Block
	for range 5 {
		if last, err = c.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ring := time.Duration(c.Buffer()) * time.Second / time.Duration(rate)
	stall := ring + 400*time.Millisecond
	time.Sleep(stall)
	var b audio.Block
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
	guest.Result(t, "aloop_stall_ms=%d aloop_lost_ms=%d aloop_xruns=%d", stall.Milliseconds(), lost.Milliseconds(), c.Xruns())
}

// diskOff is where the next artifact goes on the raw disk; 0: not yet
// read from AUDIO_DISK_OFFSET.
var diskOff int64

// writeArtifact writes data to the raw disk from AUDIO_DISK_OFFSET on and
// prints where it is.
func writeArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	if diskOff == 0 {
		var err error
		if diskOff, err = strconv.ParseInt(os.Getenv("AUDIO_DISK_OFFSET"), 10, 64); err != nil || diskOff <= 0 {
			t.Fatalf("AUDIO_DISK_OFFSET: %q %v (this test runs in the guest of drivers/camera/kerneltest)", os.Getenv("AUDIO_DISK_OFFSET"), err)
		}
	}
	off := diskOff
	diskOff += int64(len(data)+4095) / 4096 * 4096
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
	guest.Result(t, "artifact=%s offset=%d bytes=%d", name, off, len(data))
}
