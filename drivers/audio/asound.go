package audio

import (
	"unsafe"

	"github.com/blackjack/webcam/ioctl"
)

// The kernel's PCM interface (include/uapi/sound/asound.h), the few parts
// the capture uses. C's unsigned long (snd_pcm_uframes_t) and long
// (snd_pcm_sframes_t) are uintptr/intptr here: 8 bytes with 8-byte alignment
// on amd64 and arm64, 4 and 4 on arm and 386, so the structs take the
// kernel's layout on each (sizes held by asound_test.go: hw_params 608/604,
// sw_params 136/104, xferi 24/12).

// hw_params indices (SNDRV_PCM_HW_PARAM_*): the masks first, then the
// intervals, numbered on from 8.
const (
	paramAccess    = 0
	paramFormat    = 1
	paramSubformat = 2

	paramSampleBits  = 8
	paramFrameBits   = 9
	paramChannels    = 10
	paramRate        = 11
	paramPeriodTime  = 12
	paramPeriodSize  = 13
	paramPeriodBytes = 14
	paramPeriods     = 15
	paramBufferTime  = 16
	paramBufferSize  = 17
	paramBufferBytes = 18
	paramTickTime    = 19

	firstInterval = paramSampleBits
	lastInterval  = paramTickTime
	lastMask      = paramSubformat
)

const (
	accessRWInterleaved = 3 // SNDRV_PCM_ACCESS_RW_INTERLEAVED
	formatS16LE         = 2 // SNDRV_PCM_FORMAT_S16_LE
	subformatStd        = 0 // SNDRV_PCM_SUBFORMAT_STD

	streamPlayback = 0
	streamCapture  = 1
)

// sndMask is struct snd_mask: a 256-bit set.
type sndMask struct {
	bits [8]uint32
}

func (m *sndMask) only(v uint) {
	*m = sndMask{}
	m.bits[v/32] = 1 << (v % 32)
}

func (m *sndMask) has(v uint) bool { return m.bits[v/32]&(1<<(v%32)) != 0 }

// sndInterval is struct snd_interval; flags holds the bitfields openmin (bit
// 0), openmax (1), integer (2) and empty (3).
type sndInterval struct {
	min, max uint32
	flags    uint32
}

const (
	intervalOpenMin = 1 << 0
	intervalOpenMax = 1 << 1
	intervalInteger = 1 << 2
	intervalEmpty   = 1 << 3
)

// hwParams is struct snd_pcm_hw_params.
type hwParams struct {
	flags     uint32
	masks     [lastMask + 1]sndMask
	mres      [5]sndMask
	intervals [lastInterval - firstInterval + 1]sndInterval
	ires      [9]sndInterval
	rmask     uint32
	cmask     uint32
	info      uint32
	msbits    uint32
	rateNum   uint32
	rateDen   uint32
	fifoSize  uintptr
	sync      [16]byte
	reserved  [48]byte
}

// any sets every mask full and every interval open-ended, as
// snd_pcm_hw_params_any does before a refine.
func (p *hwParams) any() {
	*p = hwParams{}
	for i := range p.masks {
		for j := range p.masks[i].bits {
			p.masks[i].bits[j] = ^uint32(0)
		}
	}
	for i := range p.intervals {
		p.intervals[i] = sndInterval{min: 0, max: ^uint32(0)}
	}
	p.rmask = ^uint32(0)
	p.info = ^uint32(0)
}

func (p *hwParams) mask(param int) *sndMask { return &p.masks[param] }

func (p *hwParams) interval(param int) *sndInterval { return &p.intervals[param-firstInterval] }

// set narrows an interval to one integer value.
func (p *hwParams) set(param int, v uint32) {
	*p.interval(param) = sndInterval{min: v, max: v, flags: intervalInteger}
}

// setRange narrows an interval to [lo, hi].
func (p *hwParams) setRange(param int, lo, hi uint32) {
	*p.interval(param) = sndInterval{min: lo, max: hi, flags: intervalInteger}
}

// value is an interval's single value once refined (min == max), else 0.
func (p *hwParams) value(param int) uint32 {
	in := p.interval(param)
	if in.min == in.max || (in.max == in.min+1 && in.flags&intervalOpenMax != 0) {
		return in.min
	}
	return 0
}

// swParams is struct snd_pcm_sw_params.
type swParams struct {
	tstampMode       int32
	periodStep       uint32
	sleepMin         uint32
	availMin         uintptr
	xferAlign        uintptr
	startThreshold   uintptr
	stopThreshold    uintptr
	silenceThreshold uintptr
	silenceSize      uintptr
	boundary         uintptr
	proto            uint32
	tstampType       uint32
	reserved         [56]byte
}

// xferi is struct snd_xferi, the argument of READI/WRITEI_FRAMES. C's
// long (snd_pcm_sframes_t) is Go's int: pointer-sized on every Linux port.
type xferi struct {
	result int
	buf    uintptr
	frames uintptr
}

// The PCM ioctls ('A').
var (
	ioctlHwRefine     = ioctl.IoRW('A', 0x10, unsafe.Sizeof(hwParams{}))
	ioctlHwParams     = ioctl.IoRW('A', 0x11, unsafe.Sizeof(hwParams{}))
	ioctlHwFree       = ioctl.Io('A', 0x12)
	ioctlSwParams     = ioctl.IoRW('A', 0x13, unsafe.Sizeof(swParams{}))
	ioctlDelay        = ioctl.IoR('A', 0x21, unsafe.Sizeof(int(0)))
	ioctlPrepare      = ioctl.Io('A', 0x40)
	ioctlStart        = ioctl.Io('A', 0x42)
	ioctlDrop         = ioctl.Io('A', 0x43)
	ioctlWriteIFrames = ioctl.IoW('A', 0x50, unsafe.Sizeof(xferi{}))
	ioctlReadIFrames  = ioctl.IoR('A', 0x51, unsafe.Sizeof(xferi{}))
)
