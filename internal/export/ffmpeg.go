package export

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FFmpegPackage is the Debian (and Raspberry Pi OS) package that ships
// ffmpeg and ffprobe.
const FFmpegPackage = "ffmpeg"

// ErrNoFFmpeg is returned when ffmpeg or ffprobe cannot be found.
var ErrNoFFmpeg = errors.New("export: ffmpeg not found")

// Tools are the ffmpeg and ffprobe programs.
type Tools struct {
	FFmpeg, FFprobe string
	// Version is ffmpeg's first -version line ("ffmpeg version 5.1.6-0+deb12u1 …").
	Version string
	// v4l2 holds the outcome of the hardware encoder's probe, made once
	// per Tools from FindTools.
	v4l2 *probeOnce
}

type probeOnce struct {
	once sync.Once
	err  error
}

// FindTools locates ffmpeg and ffprobe: the given paths, else on PATH.
// A missing one is an ErrNoFFmpeg error that names the package.
func FindTools(ffmpeg, ffprobe string) (Tools, error) {
	var t Tools
	for _, x := range []struct {
		name string
		dst  *string
		want string
	}{{"ffmpeg", &t.FFmpeg, ffmpeg}, {"ffprobe", &t.FFprobe, ffprobe}} {
		p := x.want
		if p == "" {
			p = x.name
		}
		found, err := exec.LookPath(p)
		if err != nil {
			return Tools{}, fmt.Errorf("%w: %s (%v): install the Debian package %s (sudo apt-get install %s)", ErrNoFFmpeg, p, err, FFmpegPackage, FFmpegPackage)
		}
		*x.dst = found
	}
	out, err := exec.Command(t.FFmpeg, "-hide_banner", "-version").Output()
	if err != nil {
		return Tools{}, fmt.Errorf("%w: %s -version: %v", ErrNoFFmpeg, t.FFmpeg, err)
	}
	t.Version, _, _ = strings.Cut(string(out), "\n")
	t.Version = strings.TrimSpace(t.Version)
	t.v4l2 = &probeOnce{}
	return t, nil
}

// Progress is one report of a running export.
type Progress struct {
	// Part and Parts number the output file being written (from 1).
	Part, Parts int
	// Done is how much of the whole export's time axis is encoded; Total
	// its length.
	Done, Total time.Duration
	// Speed is ffmpeg's speed (1.0 = real time).
	Speed float64
}

// Percent is Done as a share of Total, 0–100.
func (p Progress) Percent() float64 {
	if p.Total <= 0 {
		return 0
	}
	return min(100, 100*p.Done.Seconds()/p.Total.Seconds())
}

// ETA is the time left at the current speed, 0 when unknown.
func (p Progress) ETA() time.Duration {
	if p.Speed <= 0 {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / p.Speed)
}

// parseProgress reads ffmpeg's -progress output (key=value lines, a block
// ending in progress=continue|end) and calls fn with the encoded time and
// speed at the end of every block.
func parseProgress(r io.Reader, fn func(done time.Duration, speed float64)) {
	sc := bufio.NewScanner(r)
	var done time.Duration
	var speed float64
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "out_time_us":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				done = time.Duration(n) * time.Microsecond
			}
		case "speed":
			if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "x"), 64); err == nil {
				speed = f
			}
		case "progress":
			if fn != nil {
				fn(done, speed)
			}
		}
	}
}

// runOpts are the settings of one ffmpeg or ffprobe run.
type runOpts struct {
	dir string
	// idle runs the program at the lowest CPU priority (nice 19) and the
	// idle I/O class, so an export never competes with capture.
	idle     bool
	progress func(done time.Duration, speed float64)
	stdout   io.Writer
}

// ErrFFmpeg is wrapped by a failed ffmpeg or ffprobe run; the message ends
// with the tail of its diagnostics.
var ErrFFmpeg = errors.New("export: ffmpeg failed")

// run runs prog with args. The child is killed when ctx ends and when this
// process dies (PR_SET_PDEATHSIG), so no encoder outlives an export.
func run(ctx context.Context, prog string, args []string, o runOpts) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = o.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	var pr *os.File
	if o.progress != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		pr = r
		cmd.ExtraFiles = []*os.File{w} // fd 3: -progress pipe:3
		defer w.Close()
	}
	if o.stdout != nil {
		cmd.Stdout = o.stdout
	}
	// The child inherits the priority of the thread that forks it, and its
	// parent-death signal fires when that thread ends: one locked thread,
	// lowered to idle, starts the child and waits for it, then exits with
	// its goroutine (it is never unlocked, so the runtime discards it).
	errc := make(chan error, 1)
	progDone := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if o.idle {
			_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 19)
			// ioprio_set(IOPRIO_WHO_PROCESS, this thread, IOPRIO_CLASS_IDLE)
			_, _, _ = unix.Syscall(unix.SYS_IOPRIO_SET, 1, uintptr(unix.Gettid()), 3<<13)
		}
		if err := cmd.Start(); err != nil {
			errc <- err
			return
		}
		if cmd.ExtraFiles != nil {
			cmd.ExtraFiles[0].Close()
		}
		if pr != nil {
			go func() {
				parseProgress(pr, o.progress)
				pr.Close()
				close(progDone)
			}()
		} else {
			close(progDone)
		}
		errc <- cmd.Wait()
	}()
	err := <-errc
	if pr != nil && cmd.Process == nil {
		pr.Close()
	} else {
		<-progDone
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("export: %s stopped: %w", progName(prog), ctx.Err())
		}
		return fmt.Errorf("%w: %s: %v: %s", ErrFFmpeg, progName(prog), err, stderr.String())
	}
	return nil
}

func progName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// tailBuffer keeps the last 2 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = append(t.b[:0], t.b[len(t.b)-2048:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(bytes.ToValidUTF8(t.b, nil))) }

// Encoders.
const (
	EncoderAuto = "auto"
	EncoderV4L2 = "h264_v4l2m2m"
	EncoderX264 = "libx264"
)

// ChooseEncoder applies the encoder policy: "libx264" or "h264_v4l2m2m" as
// asked; "auto" takes h264_v4l2m2m when ffmpeg has it and a one-second
// probe encode succeeds (a Raspberry Pi up to the 4 has the hardware),
// else libx264. The reason says why.
func ChooseEncoder(ctx context.Context, t Tools, want string) (enc, reason string, err error) {
	switch want {
	case EncoderX264:
		return EncoderX264, "configured", nil
	case EncoderV4L2:
		if err := probeV4L2(ctx, t); err != nil {
			return "", "", fmt.Errorf("export: encoder h264_v4l2m2m configured but unusable: %w", err)
		}
		return EncoderV4L2, "configured", nil
	case EncoderAuto, "":
		if err := probeV4L2(ctx, t); err != nil {
			return EncoderX264, "h264_v4l2m2m unusable (" + firstLine(err.Error()) + ")", nil
		}
		return EncoderV4L2, "h264_v4l2m2m probe encode succeeded", nil
	}
	return "", "", fmt.Errorf("export: unknown encoder %q (auto, h264_v4l2m2m or libx264)", want)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// probeV4L2 encodes one second of a test pattern with h264_v4l2m2m, once
// per Tools.
func probeV4L2(ctx context.Context, t Tools) error {
	if t.v4l2 == nil {
		return probeV4L2Once(ctx, t)
	}
	t.v4l2.once.Do(func() { t.v4l2.err = probeV4L2Once(ctx, t) })
	return t.v4l2.err
}

func probeV4L2Once(ctx context.Context, t Tools) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, t.FFmpeg, []string{"-hide_banner", "-encoders"}, runOpts{stdout: &out}); err != nil {
		return err
	}
	if !strings.Contains(out.String(), EncoderV4L2) {
		return errors.New("not in this ffmpeg")
	}
	return run(ctx, t.FFmpeg, []string{"-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-t", "1", "-vf", "format=yuv420p", "-c:v", EncoderV4L2, "-b:v", "1M", "-level", "31", "-f", "null", "-"}, runOpts{})
}
