package sheet

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // the stills
	"image/png"
	"os"
	"time"

	"github.com/go-pdf/fpdf"
	xdraw "golang.org/x/image/draw"
	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"weighin/internal/verdict"
)

// Fonts are the TrueType files the PDF embeds.
type Fonts struct {
	Sans, SansBold, Mono string
	// CJK is a plain TrueType font with the Chinese glyphs.
	CJK string
}

// DebianFonts are the fonts of Debian's fonts-dejavu-core and
// fonts-droid-fallback.
var DebianFonts = Fonts{
	Sans:     "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	SansBold: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	Mono:     "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
	CJK:      "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// pngDPI is the PNG's resolution: A4 at 150 dpi is 1240×1754 pixels.
const pngDPI = 150

// Plot draws the weight over the session (grams against video time), the
// marks as dashed vertical lines with their labels, the item steps as
// points and the weigh-in moment, into a w×h mm PNG at dpi.
func Plot(in Input, w, h float64, dpi int) ([]byte, error) {
	p := plot.New()
	p.X.Label.Text = "video time (s)"
	p.Y.Label.Text = "weight (g)"
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, 0, len(in.Weights))
	maxG := 0.0
	for _, pt := range in.Weights {
		xys = append(xys, plotter.XY{X: pt.T.Seconds(), Y: pt.Grams})
		maxG = max(maxG, pt.Grams)
	}
	if len(xys) > 0 {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("sheet: plot: %w", err)
		}
		l.Color = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add("weight", l)
	}
	top := max(maxG*1.12, 10)
	p.Y.Min, p.Y.Max = 0, top
	vline := func(at time.Duration, c color.Color, dashed bool) *plotter.Line {
		l, _ := plotter.NewLine(plotter.XYs{{X: at.Seconds(), Y: 0}, {X: at.Seconds(), Y: top}})
		l.Color = c
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		return l
	}
	if in.WeighinAt > 0 || len(xys) > 0 {
		l := vline(in.WeighinAt, color.RGBA{G: 0x90, A: 0xff}, false)
		p.Add(l)
		p.Legend.Add("weigh-in frame", l)
	}
	var labels plotter.XYLabels
	for i, m := range in.Marks {
		l := vline(m.At, color.RGBA{R: 0xc0, G: 0x30, B: 0x30, A: 0xff}, true)
		p.Add(l)
		if i == 0 {
			p.Legend.Add("mark", l)
		}
		labels.XYs = append(labels.XYs, plotter.XY{X: m.At.Seconds(), Y: top * (0.96 - 0.06*float64(i%3))})
		labels.Labels = append(labels.Labels, " "+m.Label)
	}
	if len(labels.XYs) > 0 {
		ls, err := plotter.NewLabels(labels)
		if err == nil {
			for i := range ls.TextStyle {
				ls.TextStyle[i].Font.Size = vg.Points(8)
			}
			p.Add(ls)
		}
	}
	if len(in.Steps) > 0 {
		var pts plotter.XYs
		for _, s := range in.Steps {
			g := 0.0
			for _, w := range in.Weights {
				if w.T <= s.At {
					g = w.Grams
				}
			}
			pts = append(pts, plotter.XY{X: s.At.Seconds(), Y: g})
		}
		sc, err := plotter.NewScatter(pts)
		if err == nil {
			sc.Color = color.RGBA{R: 0xe0, G: 0x80, A: 0xff}
			sc.Radius = vg.Points(3.5)
			p.Add(sc)
			p.Legend.Add("item step", sc)
		}
	}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	c := vgimg.NewWith(vgimg.UseWH(vg.Millimeter*vg.Length(w), vg.Millimeter*vg.Length(h)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("sheet: plot: %w", err)
	}
	return buf.Bytes(), nil
}

// vgFont is the PNG's font for a box.
func vgFont(size float64, bold, mono bool) font.Face {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if mono {
		f.Variant = "Mono"
	}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return font.DefaultCache.Lookup(f, f.Size)
}

// PNG renders the sheet as a 1240×1754 PNG (A4 at 150 dpi), the claim left
// to the PDF.
func PNG(in Input) ([]byte, error) {
	measure := func(s string, size float64, bold, mono bool) float64 {
		f := vgFont(size, bold, mono)
		return float64(f.Width(s) / vg.Millimeter)
	}
	boxes := Layout(in, measure)
	c := vgimg.NewWith(vgimg.UseWH(vg.Millimeter*PageW, vg.Millimeter*PageH), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	// vg's origin is the bottom left.
	at := func(x, y float64) vg.Point {
		return vg.Point{X: vg.Length(x) * vg.Millimeter, Y: vg.Length(PageH-y) * vg.Millimeter}
	}
	for _, b := range boxes {
		if b.PDFOnly {
			continue
		}
		switch b.Kind {
		case KindText, KindMono:
			c.SetColor(color.Black)
			c.FillString(vgFont(b.Size, b.Bold, b.Kind == KindMono), at(b.X, b.Y), b.Text)
		case KindRule:
			c.SetColor(color.Gray{Y: 0x99})
			c.SetLineWidth(vg.Points(0.5))
			var p vg.Path
			p.Move(at(b.X, b.Y))
			p.Line(at(b.X+b.W, b.Y))
			c.Stroke(p)
		case KindImage, KindPlot:
			data := b.Image
			if b.Kind == KindPlot {
				var err error
				if data, err = Plot(in, b.W, b.H, pngDPI); err != nil {
					return nil, err
				}
			}
			if data == nil {
				c.SetColor(color.Black)
				c.FillString(vgFont(9, false, false), at(b.X+2, b.Y+b.H/2), b.Text)
				continue
			}
			img, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("sheet: image for %q: %w", b.Text, err)
			}
			x, y, w, h := fit(b, img.Bounds().Dx(), img.Bounds().Dy())
			px := func(mm float64) int { return int(mm / 25.4 * pngDPI) }
			dst := image.Rect(px(x), px(y), px(x+w), px(y+h))
			xdraw.ApproxBiLinear.Scale(c.Image(), dst, img, img.Bounds(), xdraw.Src, nil)
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, c.Image()); err != nil {
		return nil, fmt.Errorf("sheet: png: %w", err)
	}
	if buf.Len() > MaxBytes {
		return nil, fmt.Errorf("sheet: png is %d bytes, over the %d cap", buf.Len(), MaxBytes)
	}
	return buf.Bytes(), nil
}

// fit centres an image of w×h pixels in box b, keeping its aspect.
func fit(b Box, w, h int) (x, y, fw, fh float64) {
	fw, fh = b.W, b.W*float64(h)/float64(w)
	if fh > b.H {
		fw, fh = b.H*float64(w)/float64(h), b.H
	}
	return b.X + (b.W-fw)/2, b.Y + (b.H-fh)/2, fw, fh
}

// PDF renders the sheet with the claim as an A4 PDF: one page, or a second
// for a claim too long to be read on the first. The notes say
// what was left out (the Chinese claim without the CJK font).
func PDF(in Input, fonts Fonts, created time.Time) ([]byte, []string, error) {
	ttf := map[string][]byte{}
	for _, f := range []string{fonts.Sans, fonts.SansBold, fonts.Mono} {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("sheet: font %s (Debian package fonts-dejavu-core): %w", f, err)
		}
		ttf[f] = data
	}
	var notes []string
	cjkData, err := os.ReadFile(fonts.CJK)
	cjk := err == nil
	if !cjk {
		notes = append(notes, fmt.Sprintf("Chinese claim left out of the PDF: font %s (Debian package fonts-droid-fallback): %v", fonts.CJK, err))
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCreator("weighin", true)
	pdf.SetTitle("Weigh-in evidence sheet "+in.Result.SessionID, true)
	pdf.AddUTF8FontFromBytes("sans", "", ttf[fonts.Sans])
	pdf.AddUTF8FontFromBytes("sans", "B", ttf[fonts.SansBold])
	pdf.AddUTF8FontFromBytes("mono", "", ttf[fonts.Mono])
	if cjk {
		pdf.AddUTF8FontFromBytes("cjk", "", cjkData)
	}
	if err := pdf.Error(); err != nil {
		return nil, nil, fmt.Errorf("sheet: pdf fonts: %w", err)
	}
	setFont := func(size float64, bold, mono, han bool) {
		switch {
		case han:
			pdf.SetFont("cjk", "", size)
		case mono:
			pdf.SetFont("mono", "", size)
		case bold:
			pdf.SetFont("sans", "B", size)
		default:
			pdf.SetFont("sans", "", size)
		}
	}
	// A line of the Chinese claim mixes Han characters (the CJK font) with
	// Latin letters and digits, which Droid Sans Fallback lacks: each run
	// is set in its own font.
	measure := func(s string, size float64, bold, mono bool) float64 {
		w := 0.0
		for _, r := range runs(s, cjk) {
			setFont(size, bold, mono, r.han)
			w += pdf.GetStringWidth(r.text)
		}
		return w
	}
	text := func(x, y float64, s string, size float64, bold, mono bool) {
		for _, r := range runs(s, cjk) {
			setFont(size, bold, mono, r.han)
			pdf.Text(x, y, r.text)
			x += pdf.GetStringWidth(r.text)
		}
	}
	pdf.AddPage()
	boxes := Layout(in, measure)
	n, page := 0, 1
	for _, b := range boxes {
		if b.Page > page {
			pdf.AddPage()
			page = b.Page
		}
		switch b.Kind {
		case KindText, KindMono:
			if b.CJK && !cjk {
				continue
			}
			text(b.X, b.Y, b.Text, b.Size, b.Bold, b.Kind == KindMono)
		case KindRule:
			pdf.SetDrawColor(0x99, 0x99, 0x99)
			pdf.SetLineWidth(0.2)
			pdf.Line(b.X, b.Y, b.X+b.W, b.Y)
		case KindImage, KindPlot:
			data, typ := b.Image, "JPG"
			if b.Kind == KindPlot {
				var err error
				if data, err = Plot(in, b.W, b.H, 200); err != nil {
					return nil, nil, err
				}
				typ = "PNG"
			}
			if data == nil {
				setFont(9, false, false, false)
				pdf.Text(b.X+2, b.Y+b.H/2, b.Text)
				continue
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				return nil, nil, fmt.Errorf("sheet: image for %q: %w", b.Text, err)
			}
			n++
			name := fmt.Sprintf("img%d", n)
			pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(data))
			x, y, w, h := fit(b, cfg.Width, cfg.Height)
			pdf.ImageOptions(name, x, y, w, h, false, fpdf.ImageOptions{ImageType: typ}, 0, "")
		}
	}
	if !cjk {
		if _, zh := verdict.SplitMessage(in.Claim); zh != "" {
			setFont(8, false, false, false)
			pdf.Text(margin, PageH-margin, "(Chinese claim not shown: font fonts-droid-fallback missing; see dispute.txt)")
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, nil, fmt.Errorf("sheet: pdf: %w", err)
	}
	if buf.Len() > MaxBytes {
		return nil, nil, fmt.Errorf("sheet: pdf is %d bytes, over the %d cap", buf.Len(), MaxBytes)
	}
	return buf.Bytes(), notes, nil
}

type run struct {
	text string
	han  bool
}

// runs cuts s into runs of wide (CJK) characters and others; without the
// CJK font it is one run.
func runs(s string, cjk bool) []run {
	if !cjk {
		return []run{{text: s}}
	}
	var out []run
	for _, r := range s {
		han := isWide(r)
		if n := len(out); n > 0 && out[n-1].han == han {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, run{text: string(r), han: han})
	}
	return out
}
