package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"sync"
)

// ErrBadYUYV is returned (wrapped) by EncodeYUYV for a size or buffer that
// does not describe a packed YUYV 4:2:2 image.
var ErrBadYUYV = errors.New("camera: bad YUYV frame")

// YUYVToYCbCr converts a packed YUYV (YUY2, V4L2_PIX_FMT_YUYV) image of
// width×height pixels into dst, a 4:2:2 image.YCbCr of the same size, with no
// colour conversion: Y, Cb and Cr samples are copied as they are. A nil or
// wrongly sized dst is replaced by a new image, which is returned.
func YUYVToYCbCr(dst *image.YCbCr, yuyv []byte, width, height int) (*image.YCbCr, error) {
	return yuyvToYCbCr(dst, yuyv, width, height, 2*width)
}

func yuyvToYCbCr(dst *image.YCbCr, yuyv []byte, width, height, stride int) (*image.YCbCr, error) {
	if err := checkYUYV(len(yuyv), width, height, stride); err != nil {
		return nil, err
	}
	if dst == nil || dst.Rect.Dx() != width || dst.Rect.Dy() != height || dst.SubsampleRatio != image.YCbCrSubsampleRatio422 {
		dst = image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio422)
	}
	cw := width / 2
	for y := range height {
		src := yuyv[y*stride : y*stride+2*width]
		yrow := dst.Y[y*dst.YStride : y*dst.YStride+width]
		cbrow := dst.Cb[y*dst.CStride : y*dst.CStride+cw]
		crrow := dst.Cr[y*dst.CStride : y*dst.CStride+cw]
		for x := range cw {
			s := src[4*x : 4*x+4 : 4*x+4]
			yrow[2*x] = s[0]
			cbrow[x] = s[1]
			yrow[2*x+1] = s[2]
			crrow[x] = s[3]
		}
	}
	return dst, nil
}

// encoderPool keeps encoders (tables, blocks, output buffer) between calls.
var encoderPool = sync.Pool{New: func() any { return new(yuyvEncoder) }}

// EncodeYUYV encodes a packed YUYV 4:2:2 image (V4L2_PIX_FMT_YUYV) of
// width×height pixels as a baseline JPEG at the given quality (1–100) and
// appends it to dst. The JPEG keeps the camera's 4:2:2 sampling and carries
// the standard Huffman tables; samples go from the YUYV rows into the DCT
// as they are, with no RGB round trip and no intermediate image. It is the
// software path for cameras that offer no MJPEG, and safe for concurrent
// use.
func EncodeYUYV(dst *bytes.Buffer, yuyv []byte, width, height, quality int) error {
	return encodeYUYV(dst, yuyv, width, height, 2*width, quality)
}

func checkYUYV(n, width, height, stride int) error {
	if width <= 0 || height <= 0 || width%2 != 0 || width > 65535 || height > 65535 {
		return fmt.Errorf("%w: size %dx%d (width must be even, both 1–65535)", ErrBadYUYV, width, height)
	}
	if stride < 2*width {
		return fmt.Errorf("%w: line stride %d for width %d", ErrBadYUYV, stride, width)
	}
	if need := stride*(height-1) + 2*width; n < need {
		return fmt.Errorf("%w: %d bytes for %dx%d, need %d", ErrBadYUYV, n, width, height, need)
	}
	return nil
}

func encodeYUYV(dst *bytes.Buffer, yuyv []byte, width, height, stride, quality int) error {
	if quality < 1 || quality > 100 {
		return fmt.Errorf("%w: JPEG quality %d outside 1–100", ErrBadYUYV, quality)
	}
	if err := checkYUYV(len(yuyv), width, height, stride); err != nil {
		return err
	}
	e := encoderPool.Get().(*yuyvEncoder)
	defer encoderPool.Put(e)
	e.setQuality(quality)
	e.out = e.out[:0]
	e.encode(yuyv, width, height, stride)
	dst.Write(e.out)
	return nil
}
