package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

var (
	// ErrUnplugged is returned by Dev.Next when the camera is gone: the
	// kernel answered ENODEV or EIO, or no frame came within the frame
	// timeout. The Dev is closed when it is returned; open a new one.
	ErrUnplugged = errors.New("camera: unplugged")
	// ErrFrameTimeout is wrapped together with ErrUnplugged when no frame
	// came within Opts.FrameTimeout (its text follows "camera: unplugged:").
	ErrFrameTimeout = errors.New("no frame within the frame timeout")
	// ErrClosed is returned by Next after Close (or after an unplug).
	ErrClosed = errors.New("camera: closed")
)

// Opts configures a camera; the zero value of each field takes the default
// of config.Camera shown in brackets.
type Opts struct {
	// Device is the V4L2 device path [/dev/video0]. A /dev/v4l/by-id/…
	// path survives replugging into another USB port.
	Device string
	// Format is "auto" (MJPEG if offered, else YUYV), "mjpeg" or "yuyv" [auto].
	Format string
	// Width, Height and FPS are the MJPEG mode [1280, 720, 30].
	Width, Height, FPS int
	// FallbackWidth, FallbackHeight and FallbackFPS are the YUYV mode,
	// encoded to JPEG on the Pi [640, 480, 15].
	FallbackWidth, FallbackHeight, FallbackFPS int
	// JPEGQuality is the software encoder's quality, 1–100 [80].
	JPEGQuality int
	// Buffers is the number of kernel buffers, 2–4 [3].
	Buffers int
	// FrameTimeout: no frame for this long counts as an unplug [2s].
	FrameTimeout time.Duration
}

// DefaultOpts is what the zero Opts stands for: the driver's own defaults
// (weighd's shipped camera section equals them; a test in internal/station
// holds the two together).
func DefaultOpts() Opts {
	o, _ := Opts{}.withDefaults()
	return o
}

func (o Opts) withDefaults() (Opts, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Device == "" {
		o.Device = "/dev/video0"
	}
	if o.Format == "" {
		o.Format = "auto"
	}
	def(&o.Width, 1280)
	def(&o.Height, 720)
	def(&o.FPS, 30)
	def(&o.FallbackWidth, 640)
	def(&o.FallbackHeight, 480)
	def(&o.FallbackFPS, 15)
	def(&o.JPEGQuality, 80)
	def(&o.Buffers, 3)
	if o.FrameTimeout == 0 {
		o.FrameTimeout = 2 * time.Second
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("camera: "+format, args...)) }
	switch o.Format {
	case "auto", "mjpeg", "yuyv":
	default:
		bad("format %q: must be auto, mjpeg or yuyv", o.Format)
	}
	for _, v := range []struct {
		name string
		v    int
	}{{"width", o.Width}, {"height", o.Height}, {"fps", o.FPS}, {"fallback width", o.FallbackWidth},
		{"fallback height", o.FallbackHeight}, {"fallback fps", o.FallbackFPS}} {
		if v.v < 0 {
			bad("%s %d is negative", v.name, v.v)
		}
	}
	if o.JPEGQuality < 1 || o.JPEGQuality > 100 {
		bad("JPEG quality %d: must be 1–100", o.JPEGQuality)
	}
	if o.Buffers < 2 || o.Buffers > 4 {
		bad("buffers %d: must be 2–4", o.Buffers)
	}
	if o.FrameTimeout < 0 {
		bad("frame timeout %v is negative", o.FrameTimeout)
	}
	return o, errors.Join(errs...)
}

// bufferQueue is the part of *webcam.Webcam that streaming uses.
type bufferQueue interface {
	// GetFrame dequeues a filled buffer; the slice aliases the mmap buffer.
	GetFrame() ([]byte, uint32, error)
	// ReleaseFrame queues the buffer again; the kernel may then overwrite it.
	ReleaseFrame(index uint32) error
	Close() error
}

// Stats counts what a Dev has seen since Open.
type Stats struct {
	// Frames is the number of frames delivered.
	Frames uint64
	// Skipped counts buffers that held no usable image (empty, or MJPEG
	// that is not a JPEG — some cameras deliver cut frames).
	Skipped uint64
}

// Dev is an open, streaming camera. It is not safe for concurrent use: one
// goroutine calls Next.
type Dev struct {
	opts Opts
	// cam is the open device while Open sets it up; q is the same device
	// seen through the three calls streaming needs (a fake in tests). q is
	// nil once the Dev is closed.
	cam     *webcam.Webcam
	q       bufferQueue
	fd      int
	name    string
	mode    Mode
	stride  int
	caps    Caps
	seq     uint64
	last    time.Time
	pending error
	stats   Stats
	raw     []byte
	buf     bytes.Buffer
}

// Open opens the device, chooses a mode (see Choose), sets the format, the
// frame rate and the buffer count, and starts streaming.
func Open(opts Opts) (*Dev, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cam, err := webcam.Open(o.Device)
	if err != nil {
		return nil, fmt.Errorf("camera: open %s: %w", o.Device, err)
	}
	d := &Dev{opts: o, cam: cam}
	if err := d.start(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: %s: %w", o.Device, err)
	}
	d.q = cam
	return d, nil
}

// ListCaps lists the sizes of the MJPEG and YUYV formats a camera offers, and
// the frame intervals at each size (for a stepwise range, at the sizes in it
// nearest the wanted ones).
func ListCaps(cam *webcam.Webcam, w Want) Caps {
	c := Caps{Sizes: map[webcam.PixelFormat][]webcam.FrameSize{}, Rates: map[FormatSize][]webcam.FrameRate{}}
	for f := range cam.GetSupportedFormats() {
		if f != FormatMJPEG && f != FormatYUYV {
			continue
		}
		sizes := cam.GetSupportedFrameSizes(f)
		c.Sizes[f] = sizes
		seen := map[Size]bool{}
		for _, want := range []Size{{w.Width, w.Height}, {w.FallbackWidth, w.FallbackHeight}} {
			for _, s := range Candidates(sizes, want) {
				if seen[s] {
					continue
				}
				seen[s] = true
				c.Rates[FormatSize{f, s}] = cam.GetSupportedFramerates(f, uint32(s.Width), uint32(s.Height))
			}
		}
	}
	return c
}

func (d *Dev) start() error {
	fd, err := webcamFD(d.cam)
	if err != nil {
		return err
	}
	d.fd = fd
	d.name, _ = d.cam.GetName()
	o := d.opts
	d.caps = ListCaps(d.cam, Want{o.Format, o.Width, o.Height, o.FPS, o.FallbackWidth, o.FallbackHeight, o.FallbackFPS})
	m, err := Choose(Want{o.Format, o.Width, o.Height, o.FPS, o.FallbackWidth, o.FallbackHeight, o.FallbackFPS}, d.caps)
	if err != nil {
		return err
	}
	if _, _, _, err := d.cam.SetImageFormat(m.Format, uint32(m.Width), uint32(m.Height)); err != nil {
		return fmt.Errorf("set format %v: %w", m, err)
	}
	pf, err := getFormat(fd)
	if err != nil {
		return err
	}
	if webcam.PixelFormat(pf.PixelFormat) != m.Format {
		return fmt.Errorf("%w: asked for %s, driver set %s", ErrNoFormat, FourCC(m.Format), FourCC(webcam.PixelFormat(pf.PixelFormat)))
	}
	m.Width, m.Height = int(pf.Width), int(pf.Height)
	d.stride = int(pf.BytesPerLine)
	if m.Format == FormatYUYV && d.stride < 2*m.Width {
		d.stride = 2 * m.Width
	}
	if err := d.cam.SetFramerate(float32(m.FPS())); err != nil && !errors.Is(err, unix.ENOTTY) {
		return fmt.Errorf("set frame rate %.4g: %w", m.FPS(), err)
	}
	if fps, err := d.cam.GetFramerate(); err == nil && fps > 0 {
		// Keep the listed fraction unless the driver set another rate.
		if math.Abs(float64(fps)-m.FPS()) > 0.01 {
			m.IntervalNum, m.IntervalDen = 1000, uint32(math.Round(float64(fps)*1000))
		}
	}
	d.mode = m
	if err := d.cam.SetBufferCount(uint32(o.Buffers)); err != nil {
		return err
	}
	if err := d.cam.StartStreaming(); err != nil {
		return err
	}
	d.last = time.Now()
	return nil
}

// Mode returns the capture mode in use: the size is the one the driver set.
func (d *Dev) Mode() Mode { return d.mode }

// Caps returns what the camera offered when it was opened.
func (d *Dev) Caps() Caps { return d.caps }

// Stats returns the frame counts since Open.
func (d *Dev) Stats() Stats { return d.stats }

// String names the device, its card name and mode.
func (d *Dev) String() string {
	return fmt.Sprintf("camera %s (%s) %v", d.opts.Device, d.name, d.mode)
}

// pollSlice bounds one poll(2) so that a cancelled context is noticed.
const pollSlice = 100 * time.Millisecond

// Next blocks until the next frame and returns it, copied out of the kernel
// buffer (the buffer is re-queued before Next returns). MJPEG frames are
// returned as the camera sent them (see EnsureHuffman); YUYV frames are
// encoded to JPEG. When the camera is unplugged — ENODEV or EIO, or no frame
// within Opts.FrameTimeout — the Dev is closed and the error wraps
// ErrUnplugged. A cancelled ctx returns ctx.Err() and leaves the Dev open.
func (d *Dev) Next(ctx context.Context) (Frame, error) {
	if d.q == nil {
		return Frame{}, ErrClosed
	}
	if d.pending != nil {
		err := d.pending
		d.close()
		return Frame{}, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		now := time.Now()
		left := d.opts.FrameTimeout - now.Sub(d.last)
		if left <= 0 {
			d.close()
			return Frame{}, fmt.Errorf("%w: %s: %w (%v)", ErrUnplugged, d.opts.Device, ErrFrameTimeout, d.opts.FrameTimeout)
		}
		wait := min(left, pollSlice)
		fds := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int((wait+time.Millisecond-1)/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			d.close()
			return Frame{}, fmt.Errorf("%w: %s: poll: %w", ErrUnplugged, d.opts.Device, err)
		}
		if n == 0 {
			continue
		}
		f, ok, err := d.dequeue()
		if err != nil {
			d.close()
			return Frame{}, err
		}
		if ok {
			return f, nil
		}
	}
}

func unplugErr(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EIO) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EPIPE)
}

// dequeue takes one buffer, copies it out, re-queues it and makes a frame.
// ok is false when there was no frame after all (EAGAIN) or it was skipped.
func (d *Dev) dequeue() (f Frame, ok bool, err error) {
	data, index, err := d.q.GetFrame()
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return Frame{}, false, nil
	}
	if err != nil {
		if unplugErr(err) {
			return Frame{}, false, fmt.Errorf("%w: %s: dequeue: %w", ErrUnplugged, d.opts.Device, err)
		}
		return Frame{}, false, fmt.Errorf("camera: %s: dequeue: %w", d.opts.Device, err)
	}
	t := time.Now()
	d.raw = append(d.raw[:0], data...)
	if err := d.q.ReleaseFrame(index); err != nil {
		// Keep this frame; the next call reports the failure.
		if unplugErr(err) {
			d.pending = fmt.Errorf("%w: %s: queue buffer: %w", ErrUnplugged, d.opts.Device, err)
		} else {
			d.pending = fmt.Errorf("camera: %s: queue buffer: %w", d.opts.Device, err)
		}
	}
	d.last = t
	if len(d.raw) == 0 {
		d.stats.Skipped++
		return Frame{}, false, nil
	}
	var jpg []byte
	switch d.mode.Format {
	case FormatYUYV:
		d.buf.Reset()
		if err := encodeYUYV(&d.buf, d.raw, d.mode.Width, d.mode.Height, d.stride, d.opts.JPEGQuality); err != nil {
			d.stats.Skipped++
			return Frame{}, false, nil
		}
		jpg = bytes.Clone(d.buf.Bytes())
	default:
		jpg = bytes.Clone(d.raw)
	}
	sof, err := ParseSOF(jpg)
	if err != nil {
		d.stats.Skipped++
		return Frame{}, false, nil
	}
	f = Frame{Data: jpg, Seq: d.seq, Time: t, Width: sof.Width, Height: sof.Height}
	d.seq++
	d.stats.Frames++
	return f, true, nil
}

func (d *Dev) close() error {
	if d.q == nil {
		return nil
	}
	err := d.q.Close()
	d.q, d.cam = nil, nil
	return err
}

// Close stops streaming, unmaps the buffers and closes the device. It is
// safe to call more than once; after an unplug the device is closed already.
func (d *Dev) Close() error {
	if err := d.close(); err != nil {
		return fmt.Errorf("camera: close %s: %w", d.opts.Device, err)
	}
	return nil
}
