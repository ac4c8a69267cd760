package label

import (
	"image"

	"github.com/makiuchi-d/gozxing"
)

// Row binarization for the linear readers. Each pixel is thresholded at the
// midpoint of the local minimum and maximum within ±rowWindow pixels on its
// row, so thin bars that blur has turned grey still count as bars; where
// the window holds less than minContrast grey levels (inside a wide bar or
// a quiet zone), the row's global midpoint decides. The plane is computed
// once per image and orientation and shared by every region searched.
const (
	rowWindow   = 7
	minContrast = 24
)

// bitPlane is a thresholded image: 1 = dark.
type bitPlane struct {
	bits   []uint8
	stride int
}

// threshold computes the bit plane of g (whose Pix starts at Rect.Min).
// With sharpen, each row is first sharpened (v + (2v − v[x−2] − v[x+2])/2),
// which restores thin bars that focus blur has merged, at the price of
// amplified noise in dim frames; Decode uses it as a second pass.
func threshold(g *image.Gray, sharpen bool) *bitPlane {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	p := &bitPlane{bits: make([]uint8, w*h), stride: w}
	const win = 2*rowWindow + 1
	// van Herk / Gil-Werman running min and max: O(w) per row.
	n := (w + win - 1) / win * win
	pmin, pmax := make([]uint8, n), make([]uint8, n)
	smin, smax := make([]uint8, n), make([]uint8, n)
	line := make([]uint8, n)
	sharp := make([]uint8, w)
	for y := 0; y < h; y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		if sharpen {
			for x := range w {
				a, b := row[max(x-2, 0)], row[min(x+2, w-1)]
				v := int(row[x]) + (2*int(row[x])-int(a)-int(b))/2
				sharp[x] = uint8(min(max(v, 0), 255))
			}
			row = sharp
		}
		lo, hi := uint8(255), uint8(0)
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
		out := p.bits[y*w : y*w+w]
		if int(hi)-int(lo) < minContrast {
			clear(out)
			continue
		}
		mid := (int(lo) + int(hi)) / 2
		copy(line, row)
		for i := w; i < n; i++ {
			line[i] = row[w-1]
		}
		for i := 0; i < n; i++ {
			if i%win == 0 {
				pmin[i], pmax[i] = line[i], line[i]
			} else {
				pmin[i], pmax[i] = min(pmin[i-1], line[i]), max(pmax[i-1], line[i])
			}
		}
		for i := n - 1; i >= 0; i-- {
			if i%win == win-1 {
				smin[i], smax[i] = line[i], line[i]
			} else {
				smin[i], smax[i] = min(smin[i+1], line[i]), max(smax[i+1], line[i])
			}
		}
		for x := 0; x < w; x++ {
			// Window [x-r, x+r] clamped to the row.
			a, b := x-rowWindow, x+rowWindow
			var l, hh uint8
			switch {
			case a < 0:
				l, hh = pmin[min(b, n-1)], pmax[min(b, n-1)]
				if b >= win {
					l, hh = min(l, smin[0]), max(hh, smax[0])
				}
			default:
				l, hh = min(smin[a], pmin[min(b, n-1)]), max(smax[a], pmax[min(b, n-1)])
			}
			t := mid
			if int(hh)-int(l) >= minContrast {
				t = (int(l) + int(hh)) / 2
			}
			if int(row[x]) < t {
				out[x] = 1
			} else {
				out[x] = 0
			}
		}
	}
	return p
}

// planeBinarizer serves rows of a region of a bitPlane to the linear
// readers; the 2D side is gozxing's hybrid binarizer, which it wraps.
type planeBinarizer struct {
	gozxing.Binarizer
	plane *bitPlane
	rect  image.Rectangle // region, in plane coordinates
}

func (b *planeBinarizer) CreateBinarizer(src gozxing.LuminanceSource) gozxing.Binarizer {
	return gozxing.NewHybridBinarizer(src)
}

func (b *planeBinarizer) GetBlackRow(y int, row *gozxing.BitArray) (*gozxing.BitArray, error) {
	w := b.rect.Dx()
	if row == nil || row.GetSize() < w {
		row = gozxing.NewBitArray(w)
	} else {
		row.Clear()
	}
	bits := b.plane.bits[(b.rect.Min.Y+y)*b.plane.stride+b.rect.Min.X:]
	for x, v := range bits[:w] {
		if v != 0 {
			row.Set(x)
		}
	}
	return row, nil
}

// linearBitmap is a bitmap of the region r of root (r in root's
// coordinates, root's origin at (0,0)) whose rows come from plane.
func linearBitmap(root *image.Gray, plane *bitPlane, r image.Rectangle) (*gozxing.BinaryBitmap, error) {
	sub := root.SubImage(r).(*image.Gray)
	w, h := r.Dx(), r.Dy()
	src, err := gozxing.NewPlanarYUVLuminanceSource(sub.Pix, sub.Stride, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewBinaryBitmap(&planeBinarizer{Binarizer: gozxing.NewHybridBinarizer(src), plane: plane, rect: r})
}
