package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
)

// ErrBadYUYV is returned (wrapped) by EncodeYUYV for a size or buffer that
// does not describe a packed YUYV 4:2:2 image.
var ErrBadYUYV = errors.New("camera: bad YUYV frame")

// ycbcrPool keeps 4:2:2 images between calls so that encoding a stream of
// frames of one size does not allocate a new image per frame.
var ycbcrPool sync.Pool

// YUYVToYCbCr converts a packed YUYV (YUY2, V4L2_PIX_FMT_YUYV) image of
// width×height pixels into dst, a 4:2:2 image.YCbCr of the same size, with no
// colour conversion: Y, Cb and Cr samples are copied as they are. A nil or
// wrongly sized dst is replaced by a new image, which is returned.
func YUYVToYCbCr(dst *image.YCbCr, yuyv []byte, width, height int) (*image.YCbCr, error) {
	return yuyvToYCbCr(dst, yuyv, width, height, 2*width)
}

func yuyvToYCbCr(dst *image.YCbCr, yuyv []byte, width, height, stride int) (*image.YCbCr, error) {
	if width <= 0 || height <= 0 || width%2 != 0 {
		return nil, fmt.Errorf("%w: size %dx%d (width must be even and positive)", ErrBadYUYV, width, height)
	}
	if stride < 2*width {
		return nil, fmt.Errorf("%w: line stride %d for width %d", ErrBadYUYV, stride, width)
	}
	if need := stride*(height-1) + 2*width; len(yuyv) < need {
		return nil, fmt.Errorf("%w: %d bytes for %dx%d, need %d", ErrBadYUYV, len(yuyv), width, height, need)
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

// EncodeYUYV encodes a packed YUYV 4:2:2 image of width×height pixels as a
// baseline JPEG (with Huffman tables) at the given quality (1–100) and
// appends it to dst. The samples go to the encoder as image.YCbCr, with no
// round trip through RGB. It is the software path for cameras that offer no
// MJPEG, and safe for concurrent use.
func EncodeYUYV(dst *bytes.Buffer, yuyv []byte, width, height, quality int) error {
	return encodeYUYV(dst, yuyv, width, height, 2*width, quality)
}

func encodeYUYV(dst *bytes.Buffer, yuyv []byte, width, height, stride, quality int) error {
	if quality < 1 || quality > 100 {
		return fmt.Errorf("%w: JPEG quality %d outside 1–100", ErrBadYUYV, quality)
	}
	img, _ := ycbcrPool.Get().(*image.YCbCr)
	img, err := yuyvToYCbCr(img, yuyv, width, height, stride)
	if err != nil {
		return err
	}
	defer ycbcrPool.Put(img)
	if err := jpeg.Encode(dst, img, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("camera: encode YUYV %dx%d: %w", width, height, err)
	}
	return nil
}
