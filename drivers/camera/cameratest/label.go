package cameratest

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ErrLabel is wrapped by the errors of LabelJPEG and Show.
var ErrLabel = errors.New("cameratest: label")

// labelQuiet is the quiet zone each side of the barcode, in modules.
const labelQuiet = 10

// LabelJPEG draws a camera frame of width×height showing a shipping label
// held up to the camera: a white label on a grey background with an address
// block, a Code 128 barcode of tracking as wide as the label allows (whole
// pixels per module, a quiet zone of 10 modules each side) and the number
// printed under it; encoded as a 4:2:0 JPEG at quality (1–100) like the
// synthetic frames. tracking is printable ASCII of 1–40 characters. It
// fails when the frame is too narrow for one pixel per module.
func LabelJPEG(tracking string, width, height, quality int) ([]byte, error) {
	o, err := Opts{Width: width, Height: height, Quality: quality}.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLabel, err)
	}
	if n := len(tracking); n < 1 || n > 40 {
		return nil, fmt.Errorf("%w: tracking %q: want 1–40 characters", ErrLabel, tracking)
	}
	for i := range len(tracking) {
		if c := tracking[i]; c < 0x20 || c > 0x7e {
			return nil, fmt.Errorf("%w: tracking %q: byte %d is not printable ASCII", ErrLabel, tracking, i)
		}
	}
	bm, err := oned.NewCode128Writer().Encode(tracking, gozxing.BarcodeFormat_CODE_128, 1, 1,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		return nil, fmt.Errorf("%w: encode Code 128 %q: %w", ErrLabel, tracking, err)
	}
	w, h := o.Width, o.Height
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	// Grey background (a desk) with a gentle deterministic shading.
	for y := range h {
		row := m.Y[y*m.YStride : y*m.YStride+w]
		for x := range row {
			row[x] = uint8(100 + 30*(x+y)/(w+h))
		}
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 124, 130
	}
	// The label: nearly the frame's width, so that the barcode gets as many
	// pixels per module as possible.
	mx, my := max(4, w/40), max(4, h/24)
	lbl := image.Rect(mx, my, w-mx, h-my)
	fillY(m, lbl, 245)
	for _, r := range []image.Rectangle{ // a thin border, as printed labels have
		{lbl.Min, image.Pt(lbl.Max.X, lbl.Min.Y+1)}, {image.Pt(lbl.Min.X, lbl.Max.Y-1), lbl.Max},
		{lbl.Min, image.Pt(lbl.Min.X+1, lbl.Max.Y)}, {image.Pt(lbl.Max.X-1, lbl.Min.Y), lbl.Max},
	} {
		fillY(m, r, 40)
	}
	modules := bm.GetWidth()
	pad := max(2, lbl.Dx()/60)
	mod := (lbl.Dx() - 2*pad) / (modules + 2*labelQuiet)
	if mod < 1 {
		return nil, fmt.Errorf("%w: a frame %d px wide is too narrow for the %d modules of %q", ErrLabel, w, modules+2*labelQuiet, tracking)
	}
	scale := max(1, w/640)
	line := 15 * scale
	y := lbl.Min.Y + pad
	for _, s := range []string{"SHIP TO: JANE DOE", "12 EXAMPLE ROAD, LEEDS LS1 4AB", "UNITED KINGDOM"} {
		drawText(m, s, lbl.Min.X+pad+2*scale, y, scale, lbl)
		y += line
	}
	y += line / 2
	// Barcode: centred, about 40 % of the label's height.
	bh := max(24, lbl.Dy()*2/5)
	if y+bh+line+pad > lbl.Max.Y {
		bh = max(8, lbl.Max.Y-pad-line-y)
	}
	bx := lbl.Min.X + (lbl.Dx()-modules*mod)/2
	for i := range modules {
		if bm.Get(i, 0) {
			fillY(m, image.Rect(bx+i*mod, y, bx+(i+1)*mod, y+bh), 16)
		}
	}
	y += bh + 2*scale
	tw := 7 * scale * len(tracking)
	drawText(m, tracking, lbl.Min.X+(lbl.Dx()-tw)/2, y, scale, lbl)
	y += line + line/2
	for _, s := range []string{"FROM: AGENT WAREHOUSE, GUANGZHOU CN", "WEIGHT 2.35 KG"} {
		if y+line > lbl.Max.Y-pad {
			break
		}
		drawText(m, s, lbl.Min.X+pad+2*scale, y, scale, lbl)
		y += line
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: o.Quality}); err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrLabel, err)
	}
	return buf.Bytes(), nil
}

// fillY sets the luma of r (clipped to the image) to v.
func fillY(m *image.YCbCr, r image.Rectangle, v uint8) {
	r = r.Intersect(m.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := m.Y[y*m.YStride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			row[x] = v
		}
	}
}

// drawText draws s in dark luma with its top left at (x0, y0), the 7×13
// bitmap font scaled by scale, clipped to clip.
func drawText(m *image.YCbCr, s string, x0, y0, scale int, clip image.Rectangle) {
	txt := image.NewAlpha(image.Rect(0, 0, 7*len(s), 13))
	d := font.Drawer{Dst: txt, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, 10)}
	d.DrawString(s)
	clip = clip.Intersect(m.Rect)
	for y := range 13 * scale {
		for x := range txt.Rect.Dx() * scale {
			if p := image.Pt(x0+x, y0+y); p.In(clip) && txt.AlphaAt(x/scale, y/scale).A > 127 {
				m.Y[p.Y*m.YStride+p.X] = 30
			}
		}
	}
}

// Show makes the source deliver data, a JPEG of the source's frame size
// (a label held up to the camera, see LabelJPEG), as every frame for the
// next d; the normal pattern resumes after that. The frames keep their own
// sequence numbers and times. A later Show replaces an earlier one; d of 0
// ends a show. Safe to call while another goroutine is in Next.
func (s *Synthetic) Show(data []byte, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: show for a negative duration %v", ErrLabel, d)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: show: not a JPEG: %w", ErrLabel, err)
	}
	if cfg.Width != s.opts.Width || cfg.Height != s.opts.Height {
		return fmt.Errorf("%w: show: image is %dx%d, the camera %dx%d", ErrLabel, cfg.Width, cfg.Height, s.opts.Width, s.opts.Height)
	}
	s.showMu.Lock()
	defer s.showMu.Unlock()
	s.showData = bytes.Clone(data)
	s.showUntil = time.Now().Add(d)
	return nil
}

// shown returns a copy of the image on show at now, or nil.
func (s *Synthetic) shown(now time.Time) []byte {
	s.showMu.Lock()
	defer s.showMu.Unlock()
	if s.showData == nil || !now.Before(s.showUntil) {
		return nil
	}
	return bytes.Clone(s.showData)
}
