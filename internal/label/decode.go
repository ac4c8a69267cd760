package label

import (
	"image"
	"math"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/oned"
)

// Barcode formats reported by Decode, as gozxing names them.
const (
	FormatCode128    = "CODE_128"
	FormatQR         = "QR_CODE"
	FormatDataMatrix = "DATA_MATRIX"
	FormatEAN13      = "EAN_13"
	FormatUPCA       = "UPC_A"
)

// Barcode is one decoded symbol.
type Barcode struct {
	// Format is one of the Format constants.
	Format string `json:"format"`
	// Text is the decoded content as the symbology defines it (UPC-A as
	// 12 digits, unlike zbarimg which reports it as a 13-digit EAN-13).
	Text string `json:"text"`
}

// linearAngles are the extra rotations (degrees) tried for 1D symbols when
// no Code 128, QR code or Data Matrix is found: a linear symbol reads up to
// about ±12° from the scan direction, so these (each also turned by 90°)
// extend the upright and 90° passes to slanted labels.
var linearAngles = []float64{20, -20}

// maxDepth bounds the search for several linear symbols of one kind in one
// image (each found symbol splits the image into four regions).
const maxDepth = 3

// Decode finds the barcodes in a luma plane: Code 128, EAN-13 and UPC-A
// (several of each, in the four right-angle orientations, and slanted when
// no Code 128, QR code or Data Matrix is found), QR codes (several) and one
// Data Matrix. gozxing's
// "try harder" mode is on. A linear symbol counts only when it decodes on
// two separate groups of rows (see confirmed).
// The result is sorted by format, then text, without duplicates; an image
// with no barcode gives an empty slice.
func Decode(g *image.Gray) []Barcode {
	found := map[Barcode]bool{}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	// EAN-8 and UPC-E are left out: they do not appear on shipping labels,
	// and their short patterns match fragments of other symbols and text.
	upcHints := map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER:       true,
		gozxing.DecodeHintType_POSSIBLE_FORMATS: []gozxing.BarcodeFormat{gozxing.BarcodeFormat_EAN_13, gozxing.BarcodeFormat_UPC_A},
	}

	linear := func(img *image.Gray, sharpen bool) int {
		n := 0
		plane := threshold(img, sharpen)
		n += decodeLinear(img, plane, img.Rect, oned.NewCode128Reader(), hints, found, 0)
		n += decodeLinear(img, plane, img.Rect, oned.NewMultiFormatUPCEANReader(upcHints), upcHints, found, 0)
		return n
	}
	if bm, err := bitmap(g); err == nil {
		if rs, err := qrcode.NewQRCodeMultiReader().DecodeMultiple(bm, hints); err == nil {
			for _, r := range rs {
				add(found, r)
			}
		}
		if r, err := datamatrix.NewDataMatrixReader().Decode(bm, hints); err == nil {
			add(found, r)
		}
	}

	r90 := rotate90(g)
	linear(g, false)
	linear(r90, false)
	if !hasFormat(found, FormatCode128) {
		// Focus blur merges thin bars: try again on sharpened rows.
		linear(g, true)
		linear(r90, true)
	}
	if !hasTrackingSymbol(found) {
		// No symbol that could carry a tracking number (a product code at
		// most): the label may be held at a slant.
		for _, a := range linearAngles {
			rg := rotate(g, a)
			if linear(rg, false)+linear(rotate90(rg), false) > 0 {
				break
			}
		}
	}

	out := make([]Barcode, 0, len(found))
	for b := range found {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Format != out[j].Format {
			return out[i].Format < out[j].Format
		}
		return out[i].Text < out[j].Text
	})
	return out
}

// hasFormat reports whether found holds a symbol of format f.
func hasFormat(found map[Barcode]bool, f string) bool {
	for b := range found {
		if b.Format == f {
			return true
		}
	}
	return false
}

// hasTrackingSymbol reports whether found holds a Code 128, QR code or
// Data Matrix: the symbologies that carry tracking numbers.
func hasTrackingSymbol(found map[Barcode]bool) bool {
	for b := range found {
		switch b.Format {
		case FormatCode128, FormatQR, FormatDataMatrix:
			return true
		}
	}
	return false
}

func add(found map[Barcode]bool, r *gozxing.Result) bool {
	if r.GetText() == "" {
		return false
	}
	b := Barcode{Format: r.GetBarcodeFormat().String(), Text: r.GetText()}
	if found[b] {
		return false
	}
	found[b] = true
	return true
}

func bitmap(g *image.Gray) (*gozxing.BinaryBitmap, error) {
	// A sub-image's Pix starts at its Rect.Min.
	w, h := g.Rect.Dx(), g.Rect.Dy()
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, g.Stride, h, 0, 0, w, h, false)
	if err != nil {
		return nil, err
	}
	return gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
}

// decodeLinear finds one symbol in img with r, then looks again in the
// regions left of, right of, above and below it, as zxing's
// GenericMultipleBarcodeReader does. It returns the number of new symbols.
func decodeLinear(img *image.Gray, plane *bitPlane, b image.Rectangle, r gozxing.Reader, hints map[gozxing.DecodeHintType]any, found map[Barcode]bool, depth int) int {
	if b.Dx() < 40 || b.Dy() < 20 {
		return 0
	}
	bm, err := linearBitmap(img, plane, b)
	if err != nil {
		return 0
	}
	res, err := r.Decode(bm, hints)
	r.Reset()
	if err != nil {
		return 0
	}
	pts := res.GetResultPoints()
	if len(pts) == 0 {
		return 0
	}
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		if p == nil {
			continue
		}
		minX, maxX = math.Min(minX, p.GetX()), math.Max(maxX, p.GetX())
		minY, maxY = math.Min(minY, p.GetY()), math.Max(maxY, p.GetY())
	}
	// Result points are relative to the sub-image's origin.
	x0, x1 := b.Min.X+int(minX), b.Min.X+int(maxX)
	y0, y1 := b.Min.Y+int(minY), b.Min.Y+int(maxY)
	n := 0
	if confirmed(img, plane, b, r, hints, res.GetText(), y0, y1) && add(found, res) {
		n++
	}
	if depth >= maxDepth {
		return n
	}
	for _, sub := range []image.Rectangle{
		image.Rect(b.Min.X, b.Min.Y, x0, b.Max.Y),
		image.Rect(x1, b.Min.Y, b.Max.X, b.Max.Y),
		image.Rect(b.Min.X, b.Min.Y, b.Max.X, y0),
		image.Rect(b.Min.X, y1, b.Max.X, b.Max.Y),
	} {
		sub = sub.Intersect(b)
		if sub.Empty() || sub == b {
			continue
		}
		n += decodeLinear(img, plane, sub, r, hints, found, depth+1)
	}
	return n
}

// confirmed reports whether text decodes again from a band of rows above
// or below the rows [y0, y1] that found it. A linear symbol is tall, so a
// real one reads on other rows too; a misread (a row that crossed text or
// another symbol and happened to satisfy a weak check digit) does not.
func confirmed(img *image.Gray, plane *bitPlane, b image.Rectangle, r gozxing.Reader, hints map[gozxing.DecodeHintType]any, text string, y0, y1 int) bool {
	for _, band := range []image.Rectangle{
		image.Rect(b.Min.X, y1+confirmGap, b.Max.X, y1+confirmGap+confirmRows),
		image.Rect(b.Min.X, y0-confirmGap-confirmRows, b.Max.X, y0-confirmGap),
	} {
		band = band.Intersect(b)
		if band.Dy() < confirmRows {
			continue
		}
		bm, err := linearBitmap(img, plane, band)
		if err != nil {
			continue
		}
		res, err := r.Decode(bm, hints)
		r.Reset()
		if err == nil && res.GetText() == text {
			return true
		}
	}
	return false
}

// confirmGap and confirmRows place the confirmation bands: confirmRows rows
// starting confirmGap rows away from the row that decoded.
const confirmGap, confirmRows = 4, 6

// rotate90 returns g turned 90° clockwise, with its origin at (0,0).
func rotate90(g *image.Gray) *image.Gray {
	b := g.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		row := g.Pix[(y+b.Min.Y-g.Rect.Min.Y)*g.Stride:]
		for x := 0; x < w; x++ {
			// (x, y) goes to (h-1-y, x).
			out.Pix[x*out.Stride+h-1-y] = row[x]
		}
	}
	return out
}

// rotate returns g turned by deg degrees (counter-clockwise for positive
// angles, in image coordinates with y down: clockwise on screen) about its
// centre, on a canvas large enough to hold it, filled with white.
func rotate(g *image.Gray, deg float64) *image.Gray {
	b := g.Rect
	w, h := float64(b.Dx()), float64(b.Dy())
	sin, cos := math.Sincos(deg * math.Pi / 180)
	nw := int(math.Ceil(math.Abs(w*cos) + math.Abs(h*sin)))
	nh := int(math.Ceil(math.Abs(w*sin) + math.Abs(h*cos)))
	out := image.NewGray(image.Rect(0, 0, nw, nh))
	cx, cy := w/2, h/2
	ncx, ncy := float64(nw)/2, float64(nh)/2
	for y := 0; y < nh; y++ {
		dy := float64(y) + 0.5 - ncy
		for x := 0; x < nw; x++ {
			dx := float64(x) + 0.5 - ncx
			// Inverse rotation: where in the source does (x, y) come from?
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			out.Pix[y*out.Stride+x] = sample(g, sx, sy)
		}
	}
	return out
}

// sample reads g at a fractional position with bilinear interpolation;
// outside the image it is white.
func sample(g *image.Gray, x, y float64) uint8 {
	b := g.Rect
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	if x0 < 0 || y0 < 0 || x0+1 >= b.Dx() || y0+1 >= b.Dy() {
		return 255
	}
	fx, fy := x-float64(x0), y-float64(y0)
	p := g.Pix[y0*g.Stride+x0:]
	q := g.Pix[(y0+1)*g.Stride+x0:]
	top := float64(p[0])*(1-fx) + float64(p[1])*fx
	bot := float64(q[0])*(1-fx) + float64(q[1])*fx
	return uint8(top*(1-fy) + bot*fy + 0.5)
}
