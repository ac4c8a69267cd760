package camera

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/blackjack/webcam"
	"github.com/blackjack/webcam/ioctl"
)

// The library keeps the file descriptor to itself. The driver needs it for
// two things the library lacks: poll(2) with millisecond timeouts (the
// library's WaitForFrame counts whole seconds) and VIDIOC_G_FMT (the
// library's SetImageFormat returns the size it was asked for, not the one
// the driver set). Reading an unexported field through reflect is allowed;
// a missing field (another library version) is an error at Open.
func webcamFD(w *webcam.Webcam) (int, error) {
	v := reflect.ValueOf(w).Elem().FieldByName("fd")
	if !v.IsValid() || v.Kind() != reflect.Uintptr {
		return 0, fmt.Errorf("camera: github.com/blackjack/webcam has no fd field of type uintptr (library version changed)")
	}
	return int(v.Uint()), nil
}

// v4l2Format mirrors struct v4l2_format: a type and a 200-byte union that
// is pointer-aligned (so the union starts at offset 8 on 64-bit and 4 on
// 32-bit systems, and the ioctl number encodes 208 or 204 bytes).
type v4l2Format struct {
	typ   uint32
	union struct {
		data [200 - unsafe.Sizeof(uintptr(0))]byte
		_    unsafe.Pointer
	}
}

const v4l2BufTypeVideoCapture = 1

var vidiocGFmt = ioctl.IoRW(uintptr('V'), 4, unsafe.Sizeof(v4l2Format{}))

// pixFormat is the part of struct v4l2_pix_format the driver reads.
type pixFormat struct {
	Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
}

// getFormat asks the driver for the capture format it has set.
func getFormat(fd int) (pixFormat, error) {
	f := v4l2Format{typ: v4l2BufTypeVideoCapture}
	if err := ioctl.Ioctl(uintptr(fd), vidiocGFmt, uintptr(unsafe.Pointer(&f))); err != nil {
		return pixFormat{}, fmt.Errorf("VIDIOC_G_FMT: %w", err)
	}
	d := f.union.data[:]
	le := binary.NativeEndian
	return pixFormat{
		Width: le.Uint32(d[0:]), Height: le.Uint32(d[4:]), PixelFormat: le.Uint32(d[8:]),
		Field: le.Uint32(d[12:]), BytesPerLine: le.Uint32(d[16:]), SizeImage: le.Uint32(d[20:]),
	}, nil
}
