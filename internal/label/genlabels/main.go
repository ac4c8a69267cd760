// Command genlabels writes the synthetic shipping-label images in
// testdata/labels that internal/label's tests decode: generated barcodes
// (Code 128, QR, Data Matrix, EAN-13, UPC-A) on a label layout with an
// address block and borders, photographed as a 1280×720 camera frame on
// cardboard, in clean, blurred, tilted, rotated, dim, distant and partly
// covered variants. Everything is seeded, so a run reproduces the committed
// files byte for byte (a test checks it).
//
// Usage, from the repository root:
//
//	go run ./internal/label/genlabels -out testdata/labels
//
// Besides the JPEG files it writes labels.json: for every image the label
// it shows, the variant, the barcodes printed on it, the tracking number and
// the primary symbol (the one that carries the tracking number, or the
// product code on a label without one).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/datamatrix/encoder"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Frame size of the camera (config camera.width × camera.height).
const frameW, frameH = 1280, 720

// Label size in pixels at scale 1.
const labelW, labelH = 700, 660

// JPEG quality of the written frames (a typical MJPEG camera setting).
const quality = 85

// Code is one barcode printed on a label.
type Code struct {
	Format string `json:"format"`
	Text   string `json:"text"`
}

// Image is one entry of labels.json.
type Image struct {
	File     string `json:"file"`
	Label    string `json:"label"`
	Variant  string `json:"variant"`
	Tracking string `json:"tracking"`
	Primary  Code   `json:"primary"`
	Codes    []Code `json:"codes"`
}

// Manifest is labels.json.
type Manifest struct {
	Comment string  `json:"comment"`
	Images  []Image `json:"images"`
}

// spec is one label design.
type spec struct {
	name     string
	carrier  string
	tracking string
	// main is the large symbol in the middle: Code 128, QR or Data Matrix.
	main Code
	// second is an optional second Code 128 (an agent's reference).
	second *Code
	// product is an optional EAN-13 or UPC-A at the bottom left.
	product *Code
	// corner is an optional QR or Data Matrix at the bottom right.
	corner  *Code
	to      []string
	from    []string
	weightG int
	primary Code
}

// variant is one way of photographing a label.
type variant struct {
	name  string
	angle float64 // degrees, clockwise on screen
	scale float64
	blur  float64 // Gaussian sigma in pixels
	gain  float64 // brightness multiplier
	noise float64 // Gaussian noise sigma in grey levels
	cover bool    // a thumb and a strip of tape over parts of the label
}

var variants = []variant{
	{name: "clean", scale: 1, gain: 1},
	{name: "blur1", scale: 1, gain: 1, blur: 1.0},
	{name: "blur2", scale: 1, gain: 1, blur: 1.6},
	{name: "tilt6", angle: 6, scale: 1, gain: 1},
	{name: "tilt-14", angle: -14, scale: 1, gain: 1},
	{name: "rot90", angle: 90, scale: 1, gain: 1},
	{name: "rot180", angle: 180, scale: 1, gain: 1},
	{name: "dim", scale: 1, gain: 0.35, noise: 3},
	{name: "dimblur", scale: 1, gain: 0.5, noise: 3, blur: 1.0},
	{name: "far", scale: 0.8, gain: 1, blur: 0.6},
	{name: "covered", angle: 3, scale: 1, gain: 1, cover: true},
	{name: "blur3", scale: 1, gain: 1, blur: 2.2},
	{name: "glare", angle: -4, scale: 1, gain: 1.7, noise: 2},
}

func s10(prefix string, serial int, country string) string {
	// UPU S10: 8-digit serial, check digit with weights 8 6 4 2 3 5 9 7.
	d := fmt.Sprintf("%08d", serial)
	w := []int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i := range 8 {
		sum += int(d[i]-'0') * w[i]
	}
	c := 11 - sum%11
	switch c {
	case 10:
		c = 0
	case 11:
		c = 5
	}
	return fmt.Sprintf("%s%s%d%s", prefix, d, c, country)
}

func specs() []spec {
	ems := s10("LX", 12345678, "CN")
	rr := s10("RR", 98765432, "CN")
	uv := s10("UV", 40217733, "CN")
	cp := s10("CP", 55501234, "CN")
	to := []string{"SHIP TO:", "JANE DOE", "12 EXAMPLE ROAD", "LEEDS LS1 4AB", "UNITED KINGDOM"}
	from := []string{"FROM: AGENT WAREHOUSE", "BLDG 7, 88 LOGISTICS AVE", "GUANGZHOU 510000 CN"}
	c := func(f, t string) *Code { return &Code{Format: f, Text: t} }
	return []spec{
		{name: "cn-ems", carrier: "CHINA POST EMS", tracking: ems,
			main: Code{"CODE_128", ems}, product: c("EAN_13", "6901234567892"), corner: c("QR_CODE", ems),
			to: to, from: from, weightG: 1840, primary: Code{"CODE_128", ems}},
		{name: "ups", carrier: "UPS SAVER", tracking: "1Z999AA10123456784",
			main: Code{"CODE_128", "1Z999AA10123456784"}, corner: c("DATA_MATRIX", "1Z999AA10123456784"),
			to: []string{"SHIP TO:", "MAX MUSTER", "HAUPTSTRASSE 5", "10115 BERLIN", "GERMANY"}, from: from,
			weightG: 2350, primary: Code{"CODE_128", "1Z999AA10123456784"}},
		{name: "yunexpress", carrier: "YUNEXPRESS", tracking: "YT2412345678901234",
			main: Code{"CODE_128", "YT2412345678901234"}, product: c("EAN_13", "4006381333931"),
			corner: c("QR_CODE", "TRACK YT2412345678901234 ORDER KB-77812"),
			to:     []string{"SHIP TO:", "ALEX SMITH", "400 MARKET ST APT 9", "DENVER CO 80202", "USA"}, from: from,
			weightG: 980, primary: Code{"CODE_128", "YT2412345678901234"}},
		{name: "qr-only", carrier: "CHINA POST", tracking: rr,
			main: Code{"QR_CODE", rr}, to: to, from: from, weightG: 1210, primary: Code{"QR_CODE", rr}},
		{name: "datamatrix", carrier: "CHINA POST", tracking: uv,
			main: Code{"DATA_MATRIX", uv}, product: c("UPC_A", "036000291452"),
			to: []string{"SHIP TO:", "SAM LEE", "77 RUE DES FLEURS", "69001 LYON", "FRANCE"}, from: from,
			weightG: 640, primary: Code{"DATA_MATRIX", uv}},
		{name: "two-code128", carrier: "CAINIAO / CHINA POST", tracking: cp,
			main: Code{"CODE_128", cp}, second: c("CODE_128", "KB-2024-0042"), product: c("EAN_13", "9780201379624"),
			to: to, from: from, weightG: 3120, primary: Code{"CODE_128", cp}},
	}
}

func main() {
	out := flag.String("out", "testdata/labels", "directory to write the images and labels.json into")
	flag.Parse()
	if err := writeAll(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genlabels:", err)
		os.Exit(1)
	}
}

func writeAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := Generate()
	if err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Generate renders every image and labels.json, by file name.
func Generate() (map[string][]byte, error) { return generate(nil) }

// generate renders the images keep accepts (all for nil) and the whole
// labels.json.
func generate(keep func(label, variant string) bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	m := Manifest{Comment: "generated by internal/label/genlabels; do not edit"}
	for si, s := range specs() {
		lbl, err := renderLabel(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		codes := []Code{s.main}
		for _, c := range []*Code{s.second, s.product, s.corner} {
			if c != nil {
				codes = append(codes, *c)
			}
		}
		for vi, v := range variants {
			name := s.name + "-" + v.name + ".jpg"
			if keep == nil || keep(s.name, v.name) {
				rng := rand.New(rand.NewPCG(uint64(si), uint64(vi)))
				frame := photograph(lbl, v, rng)
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, frame, &jpeg.Options{Quality: quality}); err != nil {
					return nil, err
				}
				files[name] = buf.Bytes()
			}
			m.Images = append(m.Images, Image{File: name, Label: s.name, Variant: v.name,
				Tracking: s.tracking, Primary: s.primary, Codes: codes})
		}
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	files["labels.json"] = append(js, '\n')
	return files, nil
}

// renderLabel draws the label at scale 1 in grey levels.
func renderLabel(s spec) (*image.Gray, error) {
	g := image.NewGray(image.Rect(0, 0, labelW, labelH))
	fill(g, g.Rect, 250)
	// Border and rules.
	frameRect(g, image.Rect(6, 6, labelW-6, labelH-6), 4, 20)
	fill(g, image.Rect(6, 78, labelW-6, 81), 20)
	fill(g, image.Rect(6, 246, labelW-6, 249), 20)
	text(g, 24, 20, 3, s.carrier)
	text(g, 24, 92, 1, s.from[0])
	for i, l := range s.from[1:] {
		text(g, 24, 108+i*15, 1, l)
	}
	for i, l := range s.to {
		text(g, 300, 92+i*30, 2, l)
	}
	switch s.main.Format {
	case "CODE_128":
		h := 130
		if s.second != nil {
			h = 86
		}
		w, err := linear(g, s.main, 0, 262, 3, h, labelW)
		if err != nil {
			return nil, err
		}
		_ = w
		text(g, (labelW-len(s.main.Text)*14)/2, 262+h+6, 2, s.main.Text)
		if s.second != nil {
			if _, err := linear(g, *s.second, 0, 392, 2, 40, labelW); err != nil {
				return nil, err
			}
			text(g, (labelW-len(s.second.Text)*7)/2, 436, 1, s.second.Text)
		}
	default:
		if err := matrix(g, s.main, labelW/2, 340, 7); err != nil {
			return nil, err
		}
		text(g, (labelW-len(s.main.Text)*14)/2, 420, 2, s.main.Text)
	}
	fill(g, image.Rect(6, 452, labelW-6, 455), 20)
	text(g, 250, 480, 2, fmt.Sprintf("WEIGHT: %d.%02d KG", s.weightG/1000, s.weightG%1000/10))
	text(g, 250, 515, 1, "1 OF 1    PACKET    DDU")
	if s.product != nil {
		if _, err := linear(g, *s.product, 24, 480, 2, 90, 0); err != nil {
			return nil, err
		}
		text(g, 40, 576, 1, s.product.Text)
	}
	if s.corner != nil {
		if err := matrix(g, *s.corner, labelW-110, 550, 4); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func fill(g *image.Gray, r image.Rectangle, v uint8) {
	r = r.Intersect(g.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			g.Pix[y*g.Stride+x] = v
		}
	}
}

func frameRect(g *image.Gray, r image.Rectangle, t int, v uint8) {
	fill(g, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), v)
	fill(g, image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), v)
	fill(g, image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), v)
	fill(g, image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), v)
}

// text draws s with basicfont's 7×13 face, each pixel magnified k times,
// with the top of the cell at y.
func text(g *image.Gray, x, y, k int, s string) {
	w := 7 * len(s)
	small := image.NewGray(image.Rect(0, 0, w, 13))
	fill(small, small.Rect, 255)
	d := font.Drawer{Dst: small, Src: image.NewUniform(color.Gray{0}), Face: basicfont.Face7x13,
		Dot: fixed.P(0, 11)}
	d.DrawString(s)
	for sy := 0; sy < 13; sy++ {
		for sx := 0; sx < w; sx++ {
			if small.Pix[sy*small.Stride+sx] < 128 {
				fill(g, image.Rect(x+sx*k, y+sy*k, x+sx*k+k, y+sy*k+k), 20)
			}
		}
	}
}

func format(name string) gozxing.BarcodeFormat {
	switch name {
	case "CODE_128":
		return gozxing.BarcodeFormat_CODE_128
	case "EAN_13":
		return gozxing.BarcodeFormat_EAN_13
	case "UPC_A":
		return gozxing.BarcodeFormat_UPC_A
	case "QR_CODE":
		return gozxing.BarcodeFormat_QR_CODE
	}
	return gozxing.BarcodeFormat_DATA_MATRIX
}

// linear draws a 1D symbol with m pixels per module and height h at (x, y);
// with centre > 0 it is centred in [0, centre). It returns its width.
func linear(g *image.Gray, c Code, x, y, m, h, centre int) (int, error) {
	var w gozxing.Writer
	switch c.Format {
	case "CODE_128":
		w = oned.NewCode128Writer()
	case "EAN_13":
		w = oned.NewEAN13Writer()
	case "UPC_A":
		w = oned.NewUPCAWriter()
	default:
		return 0, fmt.Errorf("no linear writer for %s", c.Format)
	}
	bm, err := w.Encode(c.Text, format(c.Format), 1, 1, map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		return 0, fmt.Errorf("encode %s %q: %w", c.Format, c.Text, err)
	}
	n := bm.GetWidth()
	if centre > 0 {
		x = (centre - n*m) / 2
	}
	// Quiet zone of 10 modules each side.
	fill(g, image.Rect(x-10*m, y, x+n*m+10*m, y+h), 255)
	for i := 0; i < n; i++ {
		if bm.Get(i, 0) {
			fill(g, image.Rect(x+i*m, y, x+i*m+m, y+h), 15)
		}
	}
	return n * m, nil
}

// matrix draws a QR code or Data Matrix with m pixels per module centred
// on (cx, cy).
func matrix(g *image.Gray, c Code, cx, cy, m int) error {
	var w gozxing.Writer
	hints := map[gozxing.EncodeHintType]any{}
	switch c.Format {
	case "QR_CODE":
		w = qrcode.NewQRCodeWriter()
		hints[gozxing.EncodeHintType_MARGIN] = 0
	case "DATA_MATRIX":
		w = datamatrix.NewDataMatrixWriter()
		hints[gozxing.EncodeHintType_DATA_MATRIX_SHAPE] = encoder.SymbolShapeHint_FORCE_SQUARE
	default:
		return fmt.Errorf("no matrix writer for %s", c.Format)
	}
	bm, err := w.Encode(c.Text, format(c.Format), 0, 0, hints)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", c.Format, c.Text, err)
	}
	bw, bh := bm.GetWidth(), bm.GetHeight()
	x0, y0 := cx-bw*m/2, cy-bh*m/2
	q := 4 * m
	fill(g, image.Rect(x0-q, y0-q, x0+bw*m+q, y0+bh*m+q), 255)
	for j := 0; j < bh; j++ {
		for i := 0; i < bw; i++ {
			if bm.Get(i, j) {
				fill(g, image.Rect(x0+i*m, y0+j*m, x0+i*m+m, y0+j*m+m), 15)
			}
		}
	}
	return nil
}

// photograph places the label on a cardboard background in a camera frame
// and applies the variant's geometry, blur, exposure, noise and covers.
func photograph(lbl *image.Gray, v variant, rng *rand.Rand) *image.RGBA {
	// Planes in float for the processing, converted once at the end.
	n := frameW * frameH
	r, gr, b := make([]float64, n), make([]float64, n), make([]float64, n)
	// Cardboard: brown with a gentle gradient and fibre noise.
	for y := range frameH {
		for x := range frameW {
			i := y*frameW + x
			shade := 1 + 0.08*math.Sin(float64(x)/210+float64(y)/330) + rng.NormFloat64()*0.015
			r[i], gr[i], b[i] = 176*shade, 136*shade, 88*shade
		}
	}
	sin, cos := math.Sincos(v.angle * math.Pi / 180)
	cx, cy := float64(frameW)/2, float64(frameH)/2
	lcx, lcy := float64(labelW)/2, float64(labelH)/2
	for y := range frameH {
		for x := range frameW {
			dx, dy := (float64(x)+0.5-cx)/v.scale, (float64(y)+0.5-cy)/v.scale
			// Inverse of a clockwise (on screen) rotation.
			sx := cos*dx + sin*dy + lcx - 0.5
			sy := -sin*dx + cos*dy + lcy - 0.5
			val, ok := bilinear(lbl, sx, sy)
			if !ok {
				continue
			}
			i := y*frameW + x
			// Paper is slightly warm white.
			r[i], gr[i], b[i] = val, val*0.98, val*0.94
		}
	}
	if v.cover {
		// A thumb over the bottom-left corner and a strip of tape across
		// the top of the main symbol's right half.
		ellipse(r, gr, b, 300, 600, 150, 110, [3]float64{205, 150, 120})
		rect(r, gr, b, image.Rect(660, 250, 1000, 300), [3]float64{196, 170, 120})
	}
	if v.blur > 0 {
		for _, p := range [][]float64{r, gr, b} {
			gaussian(p, frameW, frameH, v.blur)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, frameW, frameH))
	for i := range n {
		nz := 0.0
		if v.noise > 0 {
			nz = rng.NormFloat64() * v.noise
		}
		img.Pix[4*i] = clamp(r[i]*v.gain + nz)
		img.Pix[4*i+1] = clamp(gr[i]*v.gain + nz)
		img.Pix[4*i+2] = clamp(b[i]*v.gain + nz)
		img.Pix[4*i+3] = 255
	}
	return img
}

func bilinear(g *image.Gray, x, y float64) (float64, bool) {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	if x0 < 0 || y0 < 0 || x0+1 >= labelW || y0+1 >= labelH {
		return 0, false
	}
	fx, fy := x-float64(x0), y-float64(y0)
	p := g.Pix[y0*g.Stride+x0:]
	q := g.Pix[(y0+1)*g.Stride+x0:]
	top := float64(p[0])*(1-fx) + float64(p[1])*fx
	bot := float64(q[0])*(1-fx) + float64(q[1])*fx
	return top*(1-fy) + bot*fy, true
}

func ellipse(r, g, b []float64, cx, cy, rx, ry float64, c [3]float64) {
	for y := range frameH {
		for x := range frameW {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			if dx*dx+dy*dy <= 1 {
				i := y*frameW + x
				r[i], g[i], b[i] = c[0], c[1], c[2]
			}
		}
	}
}

func rect(r, g, b []float64, rc image.Rectangle, c [3]float64) {
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		for x := rc.Min.X; x < rc.Max.X; x++ {
			i := y*frameW + x
			// Translucent tape: mostly its own colour.
			r[i] = 0.25*r[i] + 0.75*c[0]
			g[i] = 0.25*g[i] + 0.75*c[1]
			b[i] = 0.25*b[i] + 0.75*c[2]
		}
	}
}

// gaussian blurs a plane in place with a separable kernel of radius 3σ.
func gaussian(p []float64, w, h int, sigma float64) {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(p))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kv := range k {
				xx := min(max(x+j-rad, 0), w-1)
				s += kv * p[y*w+xx]
			}
			tmp[y*w+x] = s
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kv := range k {
				yy := min(max(y+j-rad, 0), h-1)
				s += kv * tmp[yy*w+x]
			}
			p[y*w+x] = s
		}
	}
}

func clamp(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}
