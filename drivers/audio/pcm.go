package audio

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pcm is an open PCM substream, configured for interleaved S16_LE
// read/write access (the RW_INTERLEAVED path of alsa-lib's hw plugin and of
// tinyalsa, without either).
type pcm struct {
	fd       int
	path     string
	stream   int // streamCapture or streamPlayback
	rate     int // frames per second, as the device runs
	channels int // channels as the device delivers them
	period   int // frames per period (the wake-up unit)
	buffer   int // frames in the kernel's ring
}

// pcmParams is what openPCM asks the kernel for.
type pcmParams struct {
	rate     int
	channels int
	period   time.Duration // wanted period, at least
	buffer   time.Duration // wanted ring, at least
}

// nearRates lists the rates tried when the wanted one is not offered, in
// the order they are tried after it (USB microphones offer a few discrete
// rates, often 16 and 48 kHz).
var nearRates = []int{48000, 16000, 32000, 44100, 24000, 22050, 11025, 8000}

func openPCM(path string, stream int, want pcmParams) (*pcm, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("audio: open %s: %w", path, err)
	}
	p := &pcm{fd: fd, path: path, stream: stream}
	if err := p.configure(want); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return p, nil
}

func (p *pcm) ioctl(req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(p.fd), req, uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// base is the parameter space with access, format and subformat fixed.
func baseParams() *hwParams {
	var hp hwParams
	hp.any()
	hp.mask(paramAccess).only(accessRWInterleaved)
	hp.mask(paramFormat).only(formatS16LE)
	hp.mask(paramSubformat).only(subformatStd)
	return &hp
}

func (p *pcm) refine(hp *hwParams) error {
	return p.ioctl(ioctlHwRefine, unsafe.Pointer(hp))
}

// configure negotiates the hardware parameters (channels: the wanted count,
// else the fewest offered; rate: the wanted one, else the nearest of
// nearRates offered), then the software parameters, and prepares the
// stream.
func (p *pcm) configure(want pcmParams) error {
	hp := baseParams()
	if err := p.refine(hp); err != nil {
		return fmt.Errorf("audio: %s does not offer interleaved S16_LE: %w", p.path, err)
	}
	chans := hp.interval(paramChannels)
	channels := want.channels
	if uint32(channels) < chans.min || uint32(channels) > chans.max {
		channels = int(chans.min)
	}
	rate := 0
	tried := []int{want.rate}
	for _, r := range nearRates {
		if r != want.rate {
			tried = append(tried, r)
		}
	}
	for _, r := range tried {
		t := baseParams()
		t.set(paramChannels, uint32(channels))
		t.set(paramRate, uint32(r))
		if p.refine(t) == nil {
			rate = r
			break
		}
	}
	if rate == 0 {
		r := hp.interval(paramRate)
		return fmt.Errorf("audio: %s offers %d–%d Hz at %d channel(s), none of %v", p.path, r.min, r.max, channels, tried)
	}
	period := max(1, int(want.period*time.Duration(rate)/time.Second))
	buffer := max(2*period, int(want.buffer*time.Duration(rate)/time.Second))
	hp = baseParams()
	hp.set(paramChannels, uint32(channels))
	hp.set(paramRate, uint32(rate))
	hp.setRange(paramPeriodSize, uint32(period), uint32(2*period))
	hp.setRange(paramBufferSize, uint32(buffer), uint32(2*buffer))
	if err := p.refine(hp); err != nil {
		// A device with small limits: take what it has.
		hp = baseParams()
		hp.set(paramChannels, uint32(channels))
		hp.set(paramRate, uint32(rate))
	}
	// HW_PARAMS chooses within what is left: the smallest period, the
	// largest buffer (so at most twice the wanted one).
	if err := p.ioctl(ioctlHwParams, unsafe.Pointer(hp)); err != nil {
		return fmt.Errorf("audio: %s: set %d Hz, %d channel(s): %w", p.path, rate, channels, err)
	}
	p.rate, p.channels = rate, channels
	p.period, p.buffer = int(hp.value(paramPeriodSize)), int(hp.value(paramBufferSize))
	if p.period <= 0 || p.buffer < p.period {
		return fmt.Errorf("audio: %s: kernel chose period %d, buffer %d frames", p.path, p.period, p.buffer)
	}
	sw := swParams{
		periodStep: 1,
		availMin:   uintptr(p.period),
		// Capture starts with START; playback when the ring is full (or
		// with START).
		startThreshold: uintptr(p.buffer),
		stopThreshold:  uintptr(p.buffer),
	}
	if err := p.ioctl(ioctlSwParams, unsafe.Pointer(&sw)); err != nil {
		return fmt.Errorf("audio: %s: software parameters: %w", p.path, err)
	}
	return p.prepare()
}

func (p *pcm) prepare() error {
	if err := p.ioctl(ioctlPrepare, nil); err != nil {
		return fmt.Errorf("audio: %s: prepare: %w", p.path, err)
	}
	return nil
}

func (p *pcm) start() error {
	if err := p.ioctl(ioctlStart, nil); err != nil {
		return fmt.Errorf("audio: %s: start: %w", p.path, err)
	}
	return nil
}

// delay is the frames between the application and the hardware: for
// capture, captured and not yet read.
func (p *pcm) delay() (int, error) {
	var d int
	err := p.ioctl(ioctlDelay, unsafe.Pointer(&d))
	return d, err
}

// transfer reads (capture) or writes (playback) up to len(buf)/frameBytes
// frames; it returns the frames moved or the kernel's errno (EAGAIN: none
// ready, EPIPE: xrun, ESTRPIPE: suspended, ENODEV: gone).
func (p *pcm) transfer(buf []byte) (int, error) {
	fb := 2 * p.channels
	x := xferi{buf: uintptr(unsafe.Pointer(unsafe.SliceData(buf))), frames: uintptr(len(buf) / fb)}
	req := ioctlReadIFrames
	if p.stream == streamPlayback {
		req = ioctlWriteIFrames
	}
	if err := p.ioctl(req, unsafe.Pointer(&x)); err != nil {
		return 0, err
	}
	return x.result, nil
}

// wait polls until the substream is ready (avail_min frames) or timeout.
func (p *pcm) wait(timeout time.Duration) (bool, error) {
	ev := int16(unix.POLLIN)
	if p.stream == streamPlayback {
		ev = unix.POLLOUT
	}
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: ev}}
	n, err := unix.Poll(fds, int((timeout+time.Millisecond-1)/time.Millisecond))
	if errors.Is(err, unix.EINTR) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

func (p *pcm) close() error {
	if p.fd < 0 {
		return nil
	}
	p.ioctl(ioctlDrop, nil)
	p.ioctl(ioctlHwFree, nil)
	err := unix.Close(p.fd)
	p.fd = -1
	return err
}

// gone reports whether an errno means the device went away.
func gone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EBADFD) || errors.Is(err, unix.EIO) || errors.Is(err, unix.ENXIO)
}
