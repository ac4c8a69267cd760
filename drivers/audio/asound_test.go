package audio

import (
	"testing"
	"unsafe"
)

// The kernel's sizes and offsets (include/uapi/sound/asound.h as built for
// LP64 and ILP32 Linux): a wrong layout sends the wrong ioctl number, which
// the kernel refuses with ENOTTY, or misplaces a field.
func TestLayout(t *testing.T) {
	var hp hwParams
	var sw swParams
	type want struct {
		hw, sw, xferi, fifo, sync, availMin, boundary, proto uintptr
		hwParams, swParams, readi, writei, delay             uintptr
	}
	w := want{608, 136, 24, 536, 544, 16, 64, 72, 0xc2604111, 0xc0884113, 0x80184151, 0x40184150, 0x80084121}
	if unsafe.Sizeof(uintptr(0)) == 4 { // arm, 386
		w = want{604, 104, 12, 536, 540, 12, 36, 40, 0xc25c4111, 0xc0684113, 0x800c4151, 0x400c4150, 0x80044121}
	}
	got := want{
		unsafe.Sizeof(hp), unsafe.Sizeof(sw), unsafe.Sizeof(xferi{}),
		unsafe.Offsetof(hp.fifoSize), unsafe.Offsetof(hp.sync), unsafe.Offsetof(sw.availMin), unsafe.Offsetof(sw.boundary), unsafe.Offsetof(sw.proto),
		ioctlHwParams, ioctlSwParams, ioctlReadIFrames, ioctlWriteIFrames, ioctlDelay,
	}
	if got != w {
		t.Errorf("layout %+v\nwant   %+v", got, w)
	}
	// Offsets the same on every architecture.
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"masks", unsafe.Offsetof(hp.masks), 4},
		{"mres", unsafe.Offsetof(hp.mres), 100},
		{"intervals", unsafe.Offsetof(hp.intervals), 260},
		{"ires", unsafe.Offsetof(hp.ires), 404},
		{"rmask", unsafe.Offsetof(hp.rmask), 512},
		{"HW_REFINE", ioctlHwRefine, w.hwParams - 1},
		{"PREPARE", ioctlPrepare, 0x4140},
		{"START", ioctlStart, 0x4142},
		{"DROP", ioctlDrop, 0x4143},
		{"HW_FREE", ioctlHwFree, 0x4112},
	} {
		if c.got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestParams(t *testing.T) {
	hp := baseParams()
	if !hp.mask(paramAccess).has(accessRWInterleaved) || hp.mask(paramAccess).has(0) {
		t.Errorf("access mask %v", hp.mask(paramAccess))
	}
	if hp.mask(paramFormat).bits[0] != 1<<formatS16LE {
		t.Errorf("format mask %v", hp.mask(paramFormat))
	}
	hp.set(paramRate, 16000)
	if hp.value(paramRate) != 16000 || hp.intervals[paramRate-firstInterval] != (sndInterval{16000, 16000, intervalInteger}) {
		t.Errorf("rate interval %+v", hp.interval(paramRate))
	}
	if hp.value(paramPeriodSize) != 0 {
		t.Errorf("an open interval has a value: %d", hp.value(paramPeriodSize))
	}
	// [320, 321) is 320.
	*hp.interval(paramPeriodSize) = sndInterval{320, 321, intervalOpenMax}
	if hp.value(paramPeriodSize) != 320 {
		t.Errorf("[320, 321): %d", hp.value(paramPeriodSize))
	}
}

func TestMono(t *testing.T) {
	// Two stereo frames: (1000, 3000), (-2, -4).
	in := []byte{0xe8, 0x03, 0xb8, 0x0b, 0xfe, 0xff, 0xfc, 0xff}
	got := mono(in, 2)
	want := []byte{0xd0, 0x07, 0xfd, 0xff} // 2000, -3
	if string(got) != string(want) {
		t.Errorf("mono %v, want %v", got, want)
	}
	one := []byte{1, 2, 3, 4}
	if m := mono(one, 1); string(m) != string(one) || &m[0] == &one[0] {
		t.Errorf("mono of mono must be an equal copy: %v", m)
	}
}
