package label

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// blur applies a separable Gaussian of the given sigma to a grey image.
func blur(g *image.Gray, sigma float64) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kv := range k {
				s += kv * float64(g.Pix[y*g.Stride+min(max(x+j-rad, 0), w-1)])
			}
			tmp[y*w+x] = s / sum
		}
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kv := range k {
				s += kv * tmp[min(max(y+j-rad, 0), h-1)*w+x]
			}
			out.Pix[y*w+x] = uint8(s/sum + 0.5)
		}
	}
	return out
}

func readLuma(t testing.TB, name string) *image.Gray {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(labelDir, name))
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeLuma(data)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestSharpnessMonotonicInBlur: more blur, strictly lower score, on every
// label design.
func TestSharpnessMonotonicInBlur(t *testing.T) {
	for _, name := range []string{"cn-ems-clean.jpg", "qr-only-clean.jpg", "ups-tilt6.jpg"} {
		g := readLuma(t, name)
		prev := Measure(g).Sharpness
		for _, sigma := range []float64{0.5, 1, 1.5, 2, 3, 4, 6} {
			s := Measure(blur(g, sigma)).Sharpness
			if s >= prev {
				t.Errorf("%s: sharpness at sigma %.1f = %.1f, not below %.1f", name, sigma, s, prev)
			}
			prev = s
		}
	}
}

// TestSharpnessOrdersTestdata: the generator's blurred variants score below
// the clean ones.
func TestSharpnessOrdersTestdata(t *testing.T) {
	for _, l := range []string{"cn-ems", "ups", "yunexpress", "qr-only", "datamatrix", "two-code128"} {
		c := Measure(readLuma(t, l+"-clean.jpg")).Sharpness
		b1 := Measure(readLuma(t, l+"-blur1.jpg")).Sharpness
		b2 := Measure(readLuma(t, l+"-blur2.jpg")).Sharpness
		if !(c > b1 && b1 > b2) {
			t.Errorf("%s: clean %.0f, blur1 %.0f, blur2 %.0f: not decreasing", l, c, b1, b2)
		}
	}
}

func TestExposure(t *testing.T) {
	tests := []struct {
		name             string
		fill             uint8
		wantMean         float64
		wantDark, wantBr float64
	}{
		{"black", 0, 0, 1, 0},
		{"white", 255, 255, 0, 1},
		{"grey", 128, 128, 0, 0},
	}
	for _, tc := range tests {
		g := image.NewGray(image.Rect(0, 0, 64, 48))
		for i := range g.Pix {
			g.Pix[i] = tc.fill
		}
		sc := Measure(g)
		if sc.Mean != tc.wantMean || sc.Dark != tc.wantDark || sc.Bright != tc.wantBr || sc.Sharpness != 0 {
			t.Errorf("%s: got %+v, want mean %v dark %v bright %v sharpness 0", tc.name, sc, tc.wantMean, tc.wantDark, tc.wantBr)
		}
	}
	clean := Measure(readLuma(t, "cn-ems-clean.jpg"))
	dim := Measure(readLuma(t, "cn-ems-dim.jpg"))
	if dim.Mean >= clean.Mean/2 {
		t.Errorf("dim mean %.1f, clean %.1f: dim variant should be much darker", dim.Mean, clean.Mean)
	}
}

func TestMeasureTiny(t *testing.T) {
	for _, r := range []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 0, 5, 5), image.Rect(0, 0, 0, 0)} {
		sc := Measure(image.NewGray(r))
		if sc.Sharpness != 0 {
			t.Errorf("%v: sharpness %v, want 0", r, sc.Sharpness)
		}
	}
}

// BenchmarkMeasureJPEG720p is the per-frame cost of the selector: JPEG
// decode of a 1280×720 frame plus the score.
func BenchmarkMeasureJPEG720p(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(labelDir, "cn-ems-clean.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := MeasureJPEG(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMeasure720p is the score alone on a decoded 720p luma plane.
func BenchmarkMeasure720p(b *testing.B) {
	g := readLuma(b, "cn-ems-clean.jpg")
	for b.Loop() {
		Measure(g)
	}
}

// BenchmarkDecodeBarcodes720p is the barcode search on one 720p still.
func BenchmarkDecodeBarcodes720p(b *testing.B) {
	g := readLuma(b, "cn-ems-clean.jpg")
	for b.Loop() {
		if len(Decode(g)) == 0 {
			b.Fatal("nothing decoded")
		}
	}
}

// BenchmarkDecodeBarcodesNothing720p is the worst case: a frame in which
// nothing decodes runs every pass (sharpened rows, slanted angles).
func BenchmarkDecodeBarcodesNothing720p(b *testing.B) {
	g := readLuma(b, "cn-ems-blur3.jpg")
	for b.Loop() {
		if len(Decode(g)) != 0 {
			b.Fatal("decoded something in the heavy-blur frame")
		}
	}
}
