package label

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// ErrDecode is wrapped by errors for frames whose JPEG cannot be decoded.
var ErrDecode = errors.New("label: cannot decode frame")

// Score is what the selector measures on one frame: sharpness and exposure,
// both on the luma plane downscaled by 2 in each direction.
type Score struct {
	// Sharpness is the variance of the 4-neighbour Laplacian of the
	// downscaled luma (grey levels squared). It grows with detail and edge
	// contrast and falls with blur.
	Sharpness float64
	// Mean is the mean luma, 0–255.
	Mean float64
	// Dark and Bright are the fractions (0–1) of pixels clipped at
	// luma ≤ 5 and ≥ 250.
	Dark, Bright float64
}

// Luma returns the luma plane of img as a grey image: the Y plane of a
// YCbCr image without conversion, a copy for other models.
func Luma(img image.Image) *image.Gray {
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr:
		r := m.Rect
		return &image.Gray{Pix: m.Y[m.YOffset(r.Min.X, r.Min.Y):], Stride: m.YStride, Rect: image.Rect(0, 0, r.Dx(), r.Dy())}
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, gg, bb, _ := img.At(x, y).RGBA()
			// BT.601 luma, as JPEG uses.
			g.Pix[(y-b.Min.Y)*g.Stride+x-b.Min.X] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 24)
		}
	}
	return g
}

// DecodeLuma decodes a JPEG frame and returns its luma plane.
func DecodeLuma(data []byte) (*image.Gray, error) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return Luma(img), nil
}

// Half returns g downscaled by 2 in each direction (2×2 box average); an odd
// last row or column is dropped.
func Half(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx()/2, g.Rect.Dy()/2
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		r0 := g.Pix[(2*y)*g.Stride:]
		r1 := g.Pix[(2*y+1)*g.Stride:]
		o := out.Pix[y*out.Stride:]
		for x := 0; x < w; x++ {
			s := uint(r0[2*x]) + uint(r0[2*x+1]) + uint(r1[2*x]) + uint(r1[2*x+1])
			o[x] = uint8((s + 2) / 4)
		}
	}
	return out
}

// Measure scores a luma plane: it downscales it by 2 and computes the
// variance of the Laplacian and the exposure figures. A plane smaller than
// 6×6 pixels scores zero sharpness.
func Measure(g *image.Gray) Score {
	s := Half(g)
	w, h := s.Rect.Dx(), s.Rect.Dy()
	var sc Score
	if w == 0 || h == 0 {
		return sc
	}
	var sum, dark, bright int64
	for y := 0; y < h; y++ {
		for _, v := range s.Pix[y*s.Stride : y*s.Stride+w] {
			sum += int64(v)
			if v <= 5 {
				dark++
			} else if v >= 250 {
				bright++
			}
		}
	}
	n := float64(w * h)
	sc.Mean = float64(sum) / n
	sc.Dark = float64(dark) / n
	sc.Bright = float64(bright) / n
	if w < 3 || h < 3 {
		return sc
	}
	// Laplacian over the interior; integer sums keep it exact and fast.
	var ls, lss int64
	for y := 1; y < h-1; y++ {
		up := s.Pix[(y-1)*s.Stride:]
		row := s.Pix[y*s.Stride:]
		dn := s.Pix[(y+1)*s.Stride:]
		for x := 1; x < w-1; x++ {
			l := int64(up[x]) + int64(dn[x]) + int64(row[x-1]) + int64(row[x+1]) - 4*int64(row[x])
			ls += l
			lss += l * l
		}
	}
	m := float64((w - 2) * (h - 2))
	mean := float64(ls) / m
	sc.Sharpness = float64(lss)/m - mean*mean
	return sc
}

// MeasureJPEG decodes a JPEG frame and scores it.
func MeasureJPEG(data []byte) (Score, error) {
	g, err := DecodeLuma(data)
	if err != nil {
		return Score{}, err
	}
	return Measure(g), nil
}
