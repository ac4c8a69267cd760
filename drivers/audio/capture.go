package audio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrUnplugged is returned by Capture.Read when the microphone is gone
	// (the kernel answered ENODEV/EIO/EBADFD, or no samples came within the
	// read timeout). The Capture is closed; open a new one.
	ErrUnplugged = errors.New("audio: unplugged")
	// ErrClosed is returned by Read after Close or after an unplug.
	ErrClosed = errors.New("audio: closed")
)

// Opts configures a capture.
type Opts struct {
	// Path is the capture PCM node, /dev/snd/pcmC<card>D<device>c (see
	// Resolve for the names the configuration takes).
	Path string
	// Rate is the wanted sample rate [16000]; a device that does not offer
	// it runs at the nearest it does, and the blocks' Format says so.
	Rate int
	// Period is the length of a block, at least [20ms].
	Period time.Duration
	// Buffer is the kernel's ring, at least [500ms]: how long the reader
	// may stall before an overrun loses sound.
	Buffer time.Duration
	// ReadTimeout: no samples for this long counts as an unplug [2s].
	ReadTimeout time.Duration
}

func (o Opts) withDefaults() Opts {
	if o.Rate == 0 {
		o.Rate = 16000
	}
	if o.Period == 0 {
		o.Period = 20 * time.Millisecond
	}
	if o.Buffer == 0 {
		o.Buffer = 500 * time.Millisecond
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 2 * time.Second
	}
	return o
}

// Capture is an open, running microphone: mono S16_LE blocks of one
// period each, stamped on the monotonic clock. It is a Source. A stereo-only
// device is mixed down to mono.
type Capture struct {
	p       *pcm
	opts    Opts
	format  Format
	clock   clock
	buf     []byte // one period as the device delivers it
	lastEnd time.Time
	xruns   int
	lost    bool // an xrun since the last block
}

// Open opens and starts the capture PCM at o.Path.
func Open(o Opts) (*Capture, error) {
	o = o.withDefaults()
	if o.Rate < 8000 || o.Rate > 48000 {
		return nil, fmt.Errorf("audio: rate %d Hz outside 8000–48000", o.Rate)
	}
	p, err := openPCM(o.Path, streamCapture, pcmParams{rate: o.Rate, channels: 1, period: o.Period, buffer: o.Buffer})
	if err != nil {
		return nil, err
	}
	c := &Capture{p: p, opts: o, format: Format{Rate: p.rate, Channels: 1}}
	c.clock.rate = p.rate
	c.buf = make([]byte, p.period*2*p.channels)
	if err := p.start(); err != nil {
		p.close()
		return nil, err
	}
	return c, nil
}

// Format is the format of the blocks Read returns.
func (c *Capture) Format() Format { return c.format }

// Period and Buffer are the kernel's period and ring, in frames.
func (c *Capture) Period() int { return c.p.period }

// Buffer is the kernel's ring in frames.
func (c *Capture) Buffer() int { return c.p.buffer }

// Xruns counts the overruns so far.
func (c *Capture) Xruns() int { return c.xruns }

// Read returns the next block (one period). An overrun restarts the stream
// and shows as Lost frames on the next block; an unplug closes the Capture
// and returns ErrUnplugged.
func (c *Capture) Read(ctx context.Context) (Block, error) {
	if c.p == nil || c.p.fd < 0 {
		return Block{}, ErrClosed
	}
	deadline := time.Now().Add(c.opts.ReadTimeout)
	got := 0
	for got < c.p.period {
		if err := ctx.Err(); err != nil {
			return Block{}, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			c.Close()
			return Block{}, fmt.Errorf("%w: %s: no samples for %v", ErrUnplugged, c.p.path, c.opts.ReadTimeout)
		}
		if _, err := c.p.wait(min(left, 100*time.Millisecond)); err != nil {
			c.Close()
			return Block{}, fmt.Errorf("%w: %s: poll: %v", ErrUnplugged, c.p.path, err)
		}
		n, err := c.p.transfer(c.buf[got*2*c.p.channels:])
		switch {
		case err == nil:
			got += n
		case errors.Is(err, unix.EAGAIN):
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.ESTRPIPE):
			// Overrun (or a suspend): the samples in the ring are gone.
			// Start again; the next block's Lost counts the hole.
			c.xruns++
			c.lost = true
			got = 0
			c.clock.reset()
			if err := c.p.prepare(); err != nil {
				c.Close()
				return Block{}, fmt.Errorf("%w: %v", ErrUnplugged, err)
			}
			if err := c.p.start(); err != nil {
				c.Close()
				return Block{}, fmt.Errorf("%w: %v", ErrUnplugged, err)
			}
		case gone(err):
			c.Close()
			return Block{}, fmt.Errorf("%w: %s: %v", ErrUnplugged, c.p.path, err)
		default:
			c.Close()
			return Block{}, fmt.Errorf("audio: %s: read: %w", c.p.path, err)
		}
	}
	waiting, err := c.p.delay()
	now := time.Now()
	if err != nil || waiting < 0 {
		waiting = 0
	}
	b := Block{At: c.clock.stamp(now, got, waiting), Format: c.format, Data: mono(c.buf[:got*2*c.p.channels], c.p.channels)}
	if c.lost {
		b.Lost = max(1, lostFrames(c.lastEnd, b.At, c.format.Rate))
		c.lost = false
	}
	c.lastEnd = b.At.Add(b.Duration())
	return b, nil
}

// Close stops the capture; Read then returns ErrClosed.
func (c *Capture) Close() error {
	if c.p == nil {
		return nil
	}
	return c.p.close()
}

// mono returns a new slice of S16_LE mono samples: the channels' mean when
// the device delivers more than one.
func mono(data []byte, channels int) []byte {
	if channels <= 1 {
		return append([]byte(nil), data...)
	}
	fb := 2 * channels
	out := make([]byte, len(data)/fb*2)
	for i := range len(data) / fb {
		sum := 0
		for ch := range channels {
			o := i*fb + 2*ch
			sum += int(int16(uint16(data[o]) | uint16(data[o+1])<<8))
		}
		v := uint16(int16(sum / channels))
		out[2*i], out[2*i+1] = byte(v), byte(v>>8)
	}
	return out
}
