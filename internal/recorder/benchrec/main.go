// Command benchrec measures the recorder (`make bench-recorder`): on one
// stream of realistic 720p MJPEG frames it times our recorder (SHA-256 and
// the subtitle track included, fsync on its interval) and ffmpeg's stream
// copy (`ffmpeg -f mjpeg -i frames.mjpeg -c copy out.mkv`), several
// repetitions each, and prints the medians and their ratio; then the
// allocations per frame, the pre-roll's memory against its bound, what
// sound at 16 and 48 kHz adds (CPU and bytes per second), and the
// frames per second per core of the YUYV→JPEG fallback at 640×480.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/recorder"
	"weighin/internal/recorder/recordertest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchrec:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchrec", flag.ContinueOnError)
	frames := fs.Int("frames", 900, "frames in the stream (30 s at 30 fps)")
	distinct := fs.Int("distinct", 24, "distinct 720p images cycled through the stream")
	reps := fs.Int("reps", 5, "repetitions of each timed run")
	where := fs.String("dir", "", "directory for the stream and the outputs (default: the system's temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, t := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("needs %s (Debian package ffmpeg; `make deps`): %w", t, err)
		}
	}
	tmp, err := os.MkdirTemp(*where, "benchrec")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(out, "benchrec: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	jpegs, err := recordertest.JPEGs(*distinct, 1280, 720, 80, 42)
	if err != nil {
		return err
	}
	var stream bytes.Buffer
	var total int64
	for i := range *frames {
		stream.Write(jpegs[i%len(jpegs)])
		total += int64(len(jpegs[i%len(jpegs)]))
	}
	mean := float64(total) / float64(*frames)
	mjpeg := filepath.Join(tmp, "frames.mjpeg")
	if err := os.WriteFile(mjpeg, stream.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "stream: %d frames 1280x720, mean %.0f B/frame, %.1f MB, in %s\n\n", *frames, mean, float64(total)/1e6, tmp)

	// ffmpeg's stream copy into Matroska and our recorder, alternating, each
	// run starting with no dirty pages left by the one before (sync), so
	// both meet the same disk.
	cfg := config.Default().Recorder
	var ff, ffCPU, ours, oursCPU []time.Duration
	var allocs []float64
	for r := range *reps {
		syscall.Sync()
		dst := filepath.Join(tmp, fmt.Sprintf("ffmpeg-%d.mkv", r))
		t0 := time.Now()
		cmd := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "mjpeg", "-i", mjpeg, "-c", "copy", dst)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg: %v\n%s", err, msg)
		}
		ff = append(ff, time.Since(t0))
		ffCPU = append(ffCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		os.Remove(dst)

		syscall.Sync()
		dir := filepath.Join(tmp, fmt.Sprintf("ours-%d", r))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		c0 := processCPU()
		d, a, _, err := recordOnce(cfg, dir, jpegs, *frames, 0)
		if err != nil {
			return err
		}
		oursCPU = append(oursCPU, processCPU()-c0)
		ours = append(ours, d)
		allocs = append(allocs, a)
		if r == 0 {
			n, err := probeFrames(filepath.Join(dir, recorder.FileName(0)))
			if err != nil {
				return err
			}
			if n != int64(*frames) {
				return fmt.Errorf("our file holds %d frames, want %d", n, *frames)
			}
		}
		os.RemoveAll(dir)
	}
	ffMed, ourMed := median(ff), median(ours)
	ffFPS := float64(*frames) / ffMed.Seconds()
	ourFPS := float64(*frames) / ourMed.Seconds()
	fmt.Fprintf(out, "%-48s %10s %10s %10s\n", "run (median of "+strconv.Itoa(*reps)+")", "wall", "frames/s", "CPU")
	fmt.Fprintf(out, "%-48s %10v %10.0f %10v\n", "ffmpeg -f mjpeg -i frames.mjpeg -c copy out.mkv", ffMed.Round(time.Millisecond), ffFPS, median(ffCPU).Round(time.Millisecond))
	fmt.Fprintf(out, "%-48s %10v %10.0f %10v\n", "recorder (SHA-256, subtitles, fsync every 1 s)", ourMed.Round(time.Millisecond), ourFPS, median(oursCPU).Round(time.Millisecond))
	fmt.Fprintf(out, "ratio recorder / ffmpeg: %.2f (target >= 1.0)\n", ourFPS/ffFPS)
	fmt.Fprintf(out, "all runs: ffmpeg %v; recorder %v\n\n", roundAll(ff), roundAll(ours))
	fmt.Fprintf(out, "allocations per frame (whole run incl. Start/Stop): median %.3f (target <= 1)\n", medianF(allocs))

	// Pre-roll memory.
	rec, err := recorder.New(cfg, recorder.Options{})
	if err != nil {
		return err
	}
	t0 := time.Now()
	for i := range 600 {
		rec.Push(camera.Frame{Data: jpegs[i%len(jpegs)], Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Second / 30), Width: 1280, Height: 720})
	}
	n, span, held := rec.PreRoll()
	bound := cfg.PreRoll.Seconds() * 30 * mean
	fmt.Fprintf(out, "pre-roll %v at 30 fps: %d frames over %v, %.2f MB held = %.1f%% of %v x 30 fps x mean frame (%.2f MB; target <= +10%%)\n\n",
		cfg.PreRoll, n, span.Round(time.Millisecond), float64(held)/1e6, 100*float64(held)/bound, cfg.PreRoll, bound/1e6)

	if err := audioCost(out, cfg, tmp, jpegs, *frames, *reps); err != nil {
		return err
	}
	fmt.Fprintln(out)

	// The YUYV fallback.
	fps, err := yuyvRate(640, 480, 80)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "camera.EncodeYUYV 640x480 q80: %.1f frames/s per core (CPU time, one goroutine)\n", fps)
	return nil
}

// recordOnce records frames into dir as the daemon would (SetInfo and Push
// for every frame, and with rate > 0 PushAudio for every 20 ms of mono
// sound at rate), returning the wall time from the first Push to Stop's
// return, the heap allocations per frame and the bytes written.
func recordOnce(cfg config.Recorder, dir string, jpegs [][]byte, frames, rate int) (time.Duration, float64, int64, error) {
	rec, err := recorder.New(cfg, recorder.Options{BlockWhenFull: true, AudioFormat: audio.Format{Rate: rate, Channels: 1}})
	if err != nil {
		return 0, 0, 0, err
	}
	var pcm []byte // 20 ms of a tone
	if rate > 0 {
		pcm = make([]byte, 2*rate/50)
		for j := range rate / 50 {
			v := int16(3000 * math.Sin(2*math.Pi*440*float64(j)/float64(rate)))
			pcm[2*j], pcm[2*j+1] = byte(uint16(v)), byte(uint16(v)>>8)
		}
	}
	var sample int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	if err := rec.Start(dir); err != nil {
		return 0, 0, 0, err
	}
	wall := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	for i := range frames {
		t := start.Add(time.Duration(i) * time.Second / 30)
		for rate > 0 {
			at := start.Add(time.Duration(sample * int64(time.Second) / int64(rate)))
			if at.Add(20 * time.Millisecond).After(t) {
				break
			}
			rec.PushAudio(audio.Block{At: at, Data: pcm, Format: audio.Format{Rate: rate, Channels: 1}})
			sample += int64(rate / 50)
		}
		rec.SetInfo(wall.Add(t.Sub(start)), 1840+float64(i%50)/10, i%7 != 0, "ORD-BENCH")
		rec.Push(camera.Frame{Data: jpegs[i%len(jpegs)], Seq: uint64(i), Time: t, Width: 1280, Height: 720})
	}
	st, err := rec.Stop(ctx)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	cancel()
	<-done
	if err != nil {
		return 0, 0, 0, err
	}
	if st.Frames != int64(frames) || len(st.Files) != 1 || st.Files[0].SHA256 == "" {
		return 0, 0, 0, fmt.Errorf("recorded %d frames in %d files, want %d in 1", st.Frames, len(st.Files), frames)
	}
	if rate > 0 && (st.Audio.Samples < sample-int64(rate/50) || len(st.Audio.Gaps) != 0) {
		return 0, 0, 0, fmt.Errorf("recorded %d of %d audio samples, gaps %v", st.Audio.Samples, sample, st.Audio.Gaps)
	}
	return elapsed, float64(m1.Mallocs-m0.Mallocs) / float64(frames), st.Files[0].Bytes, nil
}

// audioCost records the stream without sound and with sound at 16 and
// 48 kHz, alternating, reps times each, and prints what the sound adds:
// CPU time per second of recording (medians) and bytes per second.
func audioCost(out io.Writer, cfg config.Recorder, tmp string, jpegs [][]byte, frames, reps int) error {
	rates := []int{0, 16000, 48000}
	cpu := map[int][]time.Duration{}
	size := map[int]int64{}
	for r := range reps {
		for _, rate := range rates {
			dir := filepath.Join(tmp, fmt.Sprintf("audio-%d-%d", rate, r))
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			syscall.Sync()
			c0 := processCPU()
			if _, _, n, err := recordOnce(cfg, dir, jpegs, frames, rate); err != nil {
				return err
			} else {
				size[rate] = n
			}
			cpu[rate] = append(cpu[rate], processCPU()-c0)
			os.RemoveAll(dir)
		}
	}
	secs := float64(frames) / 30
	base := median(cpu[0])
	fmt.Fprintf(out, "\naudio (mono S16_LE, 20 ms blocks, track 3), %d-frame 720p30 stream, medians of %d:\n", frames, reps)
	fmt.Fprintf(out, "%-34s %14s %16s %14s\n", "run", "CPU", "CPU added per s", "bytes added/s")
	fmt.Fprintf(out, "%-34s %14v %16s %14s\n", "recorder, no sound", base.Round(time.Millisecond), "-", "-")
	for _, rate := range rates[1:] {
		m := median(cpu[rate])
		fmt.Fprintf(out, "%-34s %14v %13.2f ms %14.0f\n", fmt.Sprintf("recorder + sound %d kHz", rate/1000), m.Round(time.Millisecond),
			float64(m-base)/float64(time.Millisecond)/secs, float64(size[rate]-size[0])/secs)
	}
	fmt.Fprintf(out, "all runs: none %v; 16 kHz %v; 48 kHz %v\n", roundAll(cpu[0]), roundAll(cpu[16000]), roundAll(cpu[48000]))
	return nil
}

func probeFrames(path string) (int64, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// yuyvRate encodes a detailed 640×480 YUYV frame for about two seconds of
// CPU time on one goroutine and returns frames per CPU-second.
func yuyvRate(w, h, quality int) (float64, error) {
	js, err := recordertest.JPEGs(1, w, h, 95, 5)
	if err != nil {
		return 0, err
	}
	img, err := jpeg.Decode(bytes.NewReader(js[0]))
	if err != nil {
		return 0, err
	}
	ycc, ok := img.(*image.YCbCr)
	if !ok {
		return 0, errors.New("test image is not YCbCr")
	}
	yuyv := make([]byte, 0, w*h*2)
	for y := range h {
		for x := 0; x < w; x += 2 {
			ci := ycc.COffset(x, y)
			yuyv = append(yuyv, ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ci], ycc.Y[ycc.YOffset(x+1, y)], ycc.Cr[ci])
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var buf bytes.Buffer
	c0 := threadCPU()
	n := 0
	for threadCPU()-c0 < 2*time.Second {
		buf.Reset()
		if err := camera.EncodeYUYV(&buf, yuyv, w, h, quality); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / (threadCPU() - c0).Seconds(), nil
}

// processCPU is this process's CPU time (user + system, all threads).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread (user + system).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	s := slices.Clone(fs)
	slices.Sort(s)
	return s[len(s)/2]
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
