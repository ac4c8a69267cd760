//go:build vividguest

// The tests in this file run inside the qemu guest that
// drivers/camera/kerneltest boots (make test-kernel): the kernel's vivid
// driver is /dev/video0, a raw virtio disk (/dev/vda) carries the recording
// out, and lines starting with "RESULT " are read by the host.

package camera_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/blackjack/webcam"
	"github.com/blackjack/webcam/ioctl"

	"weighin/drivers/camera"
	"weighin/drivers/camera/kerneltest/guest"
	"weighin/internal/config"
	"weighin/internal/recorder"
)

// v4l2QueryCtrl mirrors struct v4l2_queryctrl.
type v4l2QueryCtrl struct {
	id, typ                  uint32
	name                     [32]byte
	min, max, step, defaultV int32
	flags                    uint32
	reserved                 [2]uint32
}

var vidiocQueryCtrl = ioctl.IoRW(uintptr('V'), 36, unsafe.Sizeof(v4l2QueryCtrl{}))

// findControl returns the id of the control with the given name; the
// library's GetControls leaves button controls (like vivid's Disconnect) out.
func findControl(path, name string) (uint32, error) {
	fd, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer fd.Close()
	id := uint32(0)
	for {
		q := v4l2QueryCtrl{id: id | 0x80000000}
		if err := ioctl.Ioctl(fd.Fd(), vidiocQueryCtrl, uintptr(unsafe.Pointer(&q))); err != nil {
			return 0, fmt.Errorf("control %q not found on %s (last error %v)", name, path, err)
		}
		n := strings.TrimRight(string(q.name[:]), "\x00")
		if n == name {
			return q.id, nil
		}
		id = q.id
	}
}

// unplug acts out a USB unplug on vivid: the device node disappears (as
// udev removes it) and the driver fails every call on open descriptors with
// ENODEV (vivid's "Disconnect" button, pressed through a second
// descriptor). The node goes first: vivid re-registers the device when its
// last user closes after a Disconnect, which a real unplug never does, and
// the Reconnector must not find it again before the "replug" (rmmod and a
// fresh insmod).
func unplug(path string, id uint32) error {
	w, err := webcam.Open(path)
	if err != nil {
		return err
	}
	defer w.Close()
	if err := os.Remove(path); err != nil {
		return err
	}
	return w.SetControl(webcam.ControlID(id), 0)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}

// grep returns the lines of a file that contain s.
func grep(path, s string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// fdsTo lists this process's file descriptors whose target contains s.
func fdsTo(s string) string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.Contains(l, s) {
			out = append(out, e.Name()+"->"+l)
		}
	}
	return fmt.Sprint(out)
}

// eventLog records the Reconnector's opens and closes.
type eventLog struct {
	mu  sync.Mutex
	log []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, time.Now().Format("05.000")+" "+fmt.Sprintf(format, args...))
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.log, "; ")
}

type loggedSource struct {
	camera.Source
	l *eventLog
}

func (s loggedSource) Next(ctx context.Context) (camera.Frame, error) {
	f, err := s.Source.Next(ctx)
	if err != nil {
		s.l.add("next: %v (fds %s)", err, fdsTo("video"))
	}
	return f, err
}

func (s loggedSource) Close() error {
	err := s.Source.Close()
	s.l.add("close: %v (fds %s)", err, fdsTo("video"))
	return err
}

func (l *eventLog) opener(open camera.OpenFunc) camera.OpenFunc {
	return func(ctx context.Context) (camera.Source, error) {
		src, err := open(ctx)
		if err != nil {
			l.add("open: %v", err)
			return nil, err
		}
		l.add("open: ok (fds %s)", fdsTo("video"))
		return loggedSource{src, l}, nil
	}
}

func guestOpts() camera.Opts {
	return camera.Opts{
		Device: "/dev/video0", Format: "auto",
		FallbackWidth: 320, FallbackHeight: 180, FallbackFPS: 30,
		JPEGQuality: 75, Buffers: 3, FrameTimeout: 10 * time.Second,
	}
}

func TestVividNegotiation(t *testing.T) {
	d, err := camera.Open(guestOpts())
	if err != nil {
		t.Fatalf("open vivid: %v", err)
	}
	defer d.Close()
	caps := d.Caps()
	for f, sizes := range caps.Sizes {
		var s []string
		for _, fs := range sizes {
			s = append(s, fs.GetString())
		}
		t.Logf("offered %s: %v", camera.FourCC(f), s)
	}
	if _, ok := caps.Sizes[camera.FormatMJPEG]; ok {
		t.Errorf("vivid offers MJPEG? caps %v", caps.Sizes)
	}
	m := d.Mode()
	if m.Format != camera.FormatYUYV || m.Width != 320 || m.Height != 180 || m.FPS() != 30 {
		t.Errorf("mode %v, want YUYV 320x180 @ 30 fps", m)
	}
	guest.Result(t, "mode=%s", strings.ReplaceAll(m.String(), " ", "_"))
	f, err := d.Next(context.Background())
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if f.Width != 320 || f.Height != 180 {
		t.Errorf("frame SOF size %dx%d, want 320x180", f.Width, f.Height)
	}
	img, err := jpeg.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("first frame does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 180 {
		t.Errorf("first frame decodes to %v", b)
	}
	// A cancelled context ends Next but leaves the device streaming.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v", err)
	}
	if f2, err := d.Next(context.Background()); err != nil || f2.Seq != f.Seq+1 {
		t.Errorf("after a cancelled Next: seq %d, %v; want %d", f2.Seq, err, f.Seq+1)
	}
	// MJPEG is refused on a camera that has none.
	o := guestOpts()
	o.Format = "mjpeg"
	if d2, err := camera.Open(o); !errors.Is(err, camera.ErrNoFormat) {
		if d2 != nil {
			d2.Close()
		}
		t.Errorf("open with format mjpeg: err %v, want ErrNoFormat", err)
	}
}

// TestVividFrameTimeout runs vivid at 1 frame/s with a 300 ms frame timeout:
// the driver reports an unplug by timeout and closes the device.
func TestVividFrameTimeout(t *testing.T) {
	o := guestOpts()
	o.FallbackFPS, o.FrameTimeout = 1, 300*time.Millisecond
	d, err := camera.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Mode().FPS() != 1 {
		t.Fatalf("mode %v, want 1 fps", d.Mode())
	}
	start := time.Now()
	for i := 0; ; i++ {
		_, err := d.Next(context.Background())
		if err == nil {
			if i == 3 {
				t.Fatal("3 frames at 1 fps without a timeout of 300 ms")
			}
			continue
		}
		if !errors.Is(err, camera.ErrUnplugged) || !errors.Is(err, camera.ErrFrameTimeout) {
			t.Fatalf("err %v, want ErrUnplugged and ErrFrameTimeout", err)
		}
		t.Logf("timeout reported after %v: %v", time.Since(start), err)
		break
	}
	if _, err := d.Next(context.Background()); !errors.Is(err, camera.ErrClosed) {
		t.Errorf("after the timeout: %v, want ErrClosed", err)
	}
	if fds := fdsTo("video"); fds != "[]" {
		t.Errorf("device still open after the timeout: %s", fds)
	}
}

// continuity summarises frame times the way the recorder's statistics do.
type continuity struct {
	frames   int
	duration time.Duration
	maxGap   time.Duration
	gaps     int // gaps longer than 200 ms
}

func measure(frames []camera.Frame) continuity {
	c := continuity{frames: len(frames)}
	if len(frames) < 2 {
		return c
	}
	c.duration = frames[len(frames)-1].Time.Sub(frames[0].Time)
	for i := 1; i < len(frames); i++ {
		g := frames[i].Time.Sub(frames[i-1].Time)
		c.maxGap = max(c.maxGap, g)
		if g > 200*time.Millisecond {
			c.gaps++
		}
	}
	return c
}

func fps(frames []camera.Frame) float64 {
	if len(frames) < 2 {
		return 0
	}
	return float64(len(frames)-1) / frames[len(frames)-1].Time.Sub(frames[0].Time).Seconds()
}

// checkOrder fails unless sequence numbers go up by one and times increase.
func checkOrder(t *testing.T, frames []camera.Frame) {
	t.Helper()
	for i := 1; i < len(frames); i++ {
		a, b := frames[i-1], frames[i]
		if b.Seq != a.Seq+1 {
			t.Errorf("frame %d: seq %d after %d", i, b.Seq, a.Seq)
		}
		if !b.Time.After(a.Time) {
			t.Errorf("frame %d: time %v not after %v", i, b.Time, a.Time)
		}
		if b.Width != 320 || b.Height != 180 {
			t.Errorf("frame %d: SOF size %dx%d", i, b.Width, b.Height)
		}
	}
}

// writeArtifact appends data to the raw disk the host reads back, and
// prints where it is.
func writeArtifact(t *testing.T, disk *os.File, off *int64, name string, data []byte) {
	t.Helper()
	if _, err := disk.WriteAt(data, *off); err != nil {
		t.Fatalf("write %s to disk: %v", name, err)
	}
	if err := disk.Sync(); err != nil {
		t.Fatalf("sync disk: %v", err)
	}
	guest.Result(t, "artifact=%s offset=%d bytes=%d", name, *off, len(data))
	*off += int64(len(data)+4095) / 4096 * 4096
}

func TestVividCaptureReplug(t *testing.T) {
	ko, koArgs := os.Getenv("VIVID_KO"), strings.Fields(os.Getenv("VIVID_ARGS"))
	if ko == "" {
		t.Fatal("VIVID_KO is not set: this test runs in the guest of drivers/camera/kerneltest")
	}
	disk, err := os.OpenFile("/dev/vda", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("recording disk: %v", err)
	}
	defer disk.Close()
	ctrl, err := findControl("/dev/video0", "Disconnect")
	if err != nil {
		t.Fatal(err)
	}

	var events eventLog
	r := &camera.Reconnector{
		Open:    events.opener(camera.DevOpener(guestOpts())),
		Backoff: camera.Backoff{Min: 50 * time.Millisecond, Max: 400 * time.Millisecond},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ch := make(chan camera.Frame, 512)
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(f camera.Frame) {
			select {
			case ch <- f:
			case <-ctx.Done():
			}
		})
	}()
	defer func() { cancel(); <-done }()

	// The recording goes through the daemon's recorder (Matroska, continuity
	// statistics) into the guest's RAM, then onto the raw disk.
	rcfg := config.Default().Recorder
	rcfg.PreRoll, rcfg.GapThreshold = time.Second, 200*time.Millisecond
	rec, err := recorder.New(rcfg, recorder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recCtx, recCancel := context.WithCancel(context.Background())
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Run(recCtx) }()
	defer func() { recCancel(); <-recDone }()
	recDir := t.TempDir()
	recording := false

	var all []camera.Frame
	take := func(n int, within time.Duration) []camera.Frame {
		t.Helper()
		var got []camera.Frame
		timer := time.NewTimer(within)
		defer timer.Stop()
		for len(got) < n {
			select {
			case f := <-ch:
				got = append(got, f)
				rec.Push(f)
				if !recording {
					// The first frame is pre-roll: it gives the file its size.
					if err := rec.Start(recDir); err != nil {
						t.Fatalf("recorder start: %v", err)
					}
					recording = true
				}
			case <-timer.C:
				t.Fatalf("got %d of %d frames within %v (stats %+v)", len(got), n, within, r.Stats())
			}
		}
		all = append(all, got...)
		return got
	}

	const before, after = 75, 45
	first := take(before, 60*time.Second)
	checkOrder(t, first)
	rate := fps(first)
	t.Logf("captured %d frames at %.2f fps", len(first), rate)

	if st := r.Stats(); st.Losses != 0 || st.Opens != 1 {
		t.Fatalf("camera lost before the unplug: %+v (events %s)", st, events.String())
	}
	// Unplug: the driver must report it and close the device.
	tUnplug := time.Now()
	if err := unplug("/dev/video0", ctrl); err != nil {
		t.Fatalf("press Disconnect: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Losses == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no loss reported 10 s after Disconnect (stats %+v)", r.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := r.Stats()
	if !errors.Is(st.LastErr, camera.ErrUnplugged) {
		t.Errorf("loss error %v, want ErrUnplugged", st.LastErr)
	}
	t.Logf("unplug reported after %v: %v", st.LastLoss.Sub(tUnplug), st.LastErr)
	guest.Result(t, "unplug_detect_ms=%d", st.LastLoss.Sub(tUnplug).Milliseconds())
	// Frames dequeued before the disconnect may still be in the channel.
	for len(ch) > 0 {
		f := <-ch
		all = append(all, f)
		rec.Push(f)
	}

	// Replug: unload vivid (possible only once every fd is closed) and load
	// it again; devtmpfs makes a new /dev/video0.
	var rmErr error
	tries := 0
	for rmStart := time.Now(); time.Since(rmStart) < 20*time.Second; tries++ {
		if rmErr = run("rmmod", "vivid"); rmErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rmErr != nil {
		t.Errorf("module: %s", grep("/proc/modules", "vivid"))
		t.Errorf("our video fds and maps: %s %s", fdsTo("video"), grep("/proc/self/maps", "video"))
		t.Errorf("source events: %s; stats %+v", events.String(), r.Stats())
		t.Fatalf("driver did not let go of the device: %v", rmErr)
	}
	t.Logf("rmmod vivid after %d failed tries", tries)
	if err := run("insmod", append([]string{ko}, koArgs...)...); err != nil {
		t.Fatal(err)
	}
	tReplug := time.Now()
	second := take(after, 60*time.Second)
	checkOrder(t, second)
	replug := second[0].Time.Sub(tReplug)
	lastBefore := all[len(all)-after-1]
	replugGap := second[0].Time.Sub(lastBefore.Time)
	if second[0].Seq != lastBefore.Seq+1 {
		t.Errorf("seq after replug %d, before %d", second[0].Seq, lastBefore.Seq)
	}
	st = r.Stats()
	if st.Opens != 2 || st.Losses != 1 {
		t.Errorf("stats %+v: want 2 opens, 1 loss", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	done <- nil

	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	rs, err := rec.Stop(stopCtx)
	if err != nil {
		t.Fatalf("recorder stop: %v", err)
	}
	c := measure(all)
	t.Logf("frames %d, %.2f fps, replug to first frame %v, max gap %v", len(all), rate, replug, c.maxGap)
	t.Logf("recorder: %d frames in %d file(s), %v, %.2f fps mean, max gap %v, gaps %+v, dropped %v",
		rs.Frames, len(rs.Files), rs.Duration, rs.MeanFPS(), rs.MaxGap, rs.Gaps, rs.Dropped)
	guest.Result(t, "frames=%d", len(all))
	guest.Result(t, "fps=%.2f", rate)
	guest.Result(t, "replug_to_frame_ms=%d", replug.Milliseconds())
	guest.Result(t, "max_gap_ms=%d gaps=%d duration_ms=%d", c.maxGap.Milliseconds(), c.gaps, c.duration.Milliseconds())
	guest.Result(t, "rec_frames=%d rec_files=%d rec_max_gap_ms=%d rec_gaps=%d rec_mean_fps=%.2f rec_duration_ms=%d",
		rs.Frames, len(rs.Files), rs.MaxGap.Milliseconds(), len(rs.Gaps), rs.MeanFPS(), rs.Duration.Milliseconds())
	guest.Result(t, "open_failures=%d", st.Failures)
	guest.Result(t, "replug_gap_ms=%d", replugGap.Milliseconds())
	found := false
	for _, g := range rs.Gaps {
		if g.Gap == replugGap {
			found = true
		}
	}
	if !found {
		t.Errorf("the recorder's gaps %+v do not show the replug gap of %v", rs.Gaps, replugGap)
	}
	if rs.Frames != int64(len(all)) || len(rs.Gaps) != c.gaps || rs.MaxGap != c.maxGap {
		t.Errorf("recorder statistics (%d frames, gaps %v, max %v) disagree with the frames (%d, %d gaps, max %v)",
			rs.Frames, rs.Gaps, rs.MaxGap, len(all), c.gaps, c.maxGap)
	}

	var off int64
	for _, fi := range rs.Files {
		data, err := os.ReadFile(filepath.Join(recDir, fi.Name))
		if err != nil {
			t.Fatal(err)
		}
		writeArtifact(t, disk, &off, fi.Name, data)
	}
	var stream []byte
	for _, f := range all {
		stream = append(stream, f.Data...)
	}
	writeArtifact(t, disk, &off, "frames.mjpeg", stream)
}
