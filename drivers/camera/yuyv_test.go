package camera

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// yuyvFrame makes a packed YUYV frame with smooth gradients, and the 4:2:2
// planes it holds.
func yuyvFrame(w, h, shift int) []byte {
	b := make([]byte, w*h*2)
	for y := range h {
		for x := 0; x < w; x += 2 {
			i := y*w*2 + x*2
			b[i] = uint8(16 + (x+shift)*219/(w+shift))
			b[i+1] = uint8(64 + y*128/h)
			b[i+2] = uint8(16 + (x+1+shift)*219/(w+shift))
			b[i+3] = uint8(192 - x*128/w)
		}
	}
	return b
}

func TestYUYVToYCbCr(t *testing.T) {
	// Two rows of 4 pixels: Y0 U Y1 V per pixel pair.
	in := []byte{
		10, 100, 11, 200, 12, 101, 13, 201,
		20, 110, 21, 210, 22, 111, 23, 211,
	}
	img, err := YUYVToYCbCr(nil, in, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if img.SubsampleRatio != image.YCbCrSubsampleRatio422 {
		t.Fatalf("ratio %v, want 4:2:2", img.SubsampleRatio)
	}
	wantY := []byte{10, 11, 12, 13, 20, 21, 22, 23}
	wantCb := []byte{100, 101, 110, 111}
	wantCr := []byte{200, 201, 210, 211}
	if !bytes.Equal(img.Y, wantY) || !bytes.Equal(img.Cb, wantCb) || !bytes.Equal(img.Cr, wantCr) {
		t.Errorf("planes Y %v Cb %v Cr %v; want %v %v %v", img.Y, img.Cb, img.Cr, wantY, wantCb, wantCr)
	}
	// With a line stride larger than the width (padding is skipped).
	padded := []byte{
		10, 100, 11, 200, 12, 101, 13, 201, 0xEE, 0xEE,
		20, 110, 21, 210, 22, 111, 23, 211,
	}
	img2, err := yuyvToYCbCr(img, padded, 4, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if img2 != img || !bytes.Equal(img2.Y, wantY) || !bytes.Equal(img2.Cr, wantCr) {
		t.Errorf("strided: planes Y %v Cr %v (image reused: %v)", img2.Y, img2.Cr, img2 == img)
	}
}

func TestEncodeYUYVErrors(t *testing.T) {
	tests := []struct {
		name       string
		n, w, h, q int
	}{
		{"odd width", 3 * 2 * 2, 3, 2, 80},
		{"zero height", 0, 4, 0, 80},
		{"short buffer", 4*2*2 - 1, 4, 2, 80},
		{"quality 0", 4 * 2 * 2, 4, 2, 0},
		{"quality 101", 4 * 2 * 2, 4, 2, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeYUYV(&b, make([]byte, tt.n), tt.w, tt.h, tt.q)
			if !errors.Is(err, ErrBadYUYV) {
				t.Errorf("EncodeYUYV(%d bytes, %dx%d, q%d) = %v, want ErrBadYUYV", tt.n, tt.w, tt.h, tt.q, err)
			}
		})
	}
}

// psnr compares two planes of equal size.
func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

func TestEncodeYUYVDecodes(t *testing.T) {
	for _, sz := range []Size{{640, 480}, {320, 180}, {34, 18}} {
		w, h := sz.Width, sz.Height
		in := yuyvFrame(w, h, 7)
		src, err := YUYVToYCbCr(nil, in, w, h)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := EncodeYUYV(&b, in, w, h, 95); err != nil {
			t.Fatal(err)
		}
		sof, err := ParseSOF(b.Bytes())
		if err != nil || sof.Width != w || sof.Height != h || sof.Components != 3 {
			t.Fatalf("%dx%d: SOF %+v, %v", w, h, sof, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%dx%d: decode: %v", w, h, err)
		}
		got := img.(*image.YCbCr)
		// Luma is coded at full resolution: compare it sample by sample.
		gy := make([]byte, 0, w*h)
		for y := range h {
			gy = append(gy, got.Y[y*got.YStride:y*got.YStride+w]...)
		}
		if p := psnr(gy, src.Y); p < 38 {
			t.Errorf("%dx%d: luma PSNR %.1f dB at quality 95, want ≥ 38", w, h, p)
		}
		// Chroma: compare each decoded pixel with the source at its position.
		var ca, cb []byte
		for y := range h {
			for x := range w {
				ca = append(ca, got.Cb[got.COffset(x, y)], got.Cr[got.COffset(x, y)])
				cb = append(cb, src.Cb[src.COffset(x, y)], src.Cr[src.COffset(x, y)])
			}
		}
		if p := psnr(ca, cb); p < 35 {
			t.Errorf("%dx%d: chroma PSNR %.1f dB, want ≥ 35", w, h, p)
		}
	}
}

// threadCPU is the CPU time of the calling OS thread (user + system).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEncodeYUYV640x480 measures the software path for YUYV-only
// cameras. frames/s-core counts CPU time of the benchmark's thread, so it
// holds on a busy machine; frames/s is wall-clock.
func BenchmarkEncodeYUYV640x480(b *testing.B) {
	in := yuyvFrame(640, 480, 0)
	var out bytes.Buffer
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		out.Reset()
		if err := EncodeYUYV(&out, in, 640, 480, 80); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := threadCPU() - c0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/s-core")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(out.Len()), "jpeg-bytes")
}

func BenchmarkYUYVToYCbCr640x480(b *testing.B) {
	in := yuyvFrame(640, 480, 0)
	img, _ := YUYVToYCbCr(nil, in, 640, 480)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		img, _ = YUYVToYCbCr(img, in, 640, 480)
	}
}

// planes returns the decoded image's Y plane and its chroma sampled at every
// pixel, cropped to w×h.
func planes(t *testing.T, jpg []byte, w, h int) (y, c []byte) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	m := img.(*image.YCbCr)
	for py := range h {
		for px := range w {
			y = append(y, m.Y[m.YOffset(px, py)])
			c = append(c, m.Cb[m.COffset(px, py)], m.Cr[m.COffset(px, py)])
		}
	}
	return y, c
}

// TestEncodeYUYVAgainstImageJPEG encodes the same samples with our encoder
// and with image/jpeg, at several sizes (edges not on block boundaries) and
// qualities, and with noise that drives coefficients to their extremes.
func TestEncodeYUYVAgainstImageJPEG(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(w, h int) []byte {
		b := make([]byte, w*h*2)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	tests := []struct {
		name    string
		w, h, q int
		in      []byte
		minPSNR float64
	}{
		{"gradient 640x480 q80", 640, 480, 80, yuyvFrame(640, 480, 3), 36},
		{"gradient 50x30 q90", 50, 30, 90, yuyvFrame(50, 30, 1), 38},
		{"gradient 2x1 q75", 2, 1, 75, []byte{200, 90, 30, 160}, 30},
		{"noise 64x40 q100", 64, 40, 100, noise(64, 40), 40},
		{"noise 48x16 q1", 48, 16, 1, noise(48, 16), 0},
		{"black 32x8 q50", 32, 8, 50, make([]byte, 32*8*2), 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ours bytes.Buffer
			if err := EncodeYUYV(&ours, tt.in, tt.w, tt.h, tt.q); err != nil {
				t.Fatal(err)
			}
			if n, err := JPEGLen(ours.Bytes()); err != nil || n != ours.Len() {
				t.Fatalf("JPEGLen = %d, %v; want %d", n, err, ours.Len())
			}
			src, _ := YUYVToYCbCr(nil, tt.in, tt.w, tt.h)
			var ref bytes.Buffer
			if err := jpeg.Encode(&ref, src, &jpeg.Options{Quality: tt.q}); err != nil {
				t.Fatal(err)
			}
			oy, oc := planes(t, ours.Bytes(), tt.w, tt.h)
			ry, rc := planes(t, ref.Bytes(), tt.w, tt.h)
			var srcY, srcC []byte
			for py := range tt.h {
				for px := range tt.w {
					srcY = append(srcY, src.Y[src.YOffset(px, py)])
					srcC = append(srcC, src.Cb[src.COffset(px, py)], src.Cr[src.COffset(px, py)])
				}
			}
			py, pc := psnr(oy, srcY), psnr(oc, srcC)
			ry2, rc2 := psnr(ry, srcY), psnr(rc, srcC)
			t.Logf("PSNR vs source: ours Y %.1f C %.1f dB (%d bytes); image/jpeg Y %.1f C %.1f dB (%d bytes)", py, pc, ours.Len(), ry2, rc2, ref.Len())
			if py < tt.minPSNR || pc < tt.minPSNR {
				t.Errorf("PSNR Y %.1f, C %.1f dB; want ≥ %.0f", py, pc, tt.minPSNR)
			}
			// Same tables and DCT as image/jpeg: luma must be as good (within
			// rounding), chroma better or equal (we keep 4:2:2).
			if py < ry2-0.5 || pc < rc2-0.5 {
				t.Errorf("worse than image/jpeg: Y %.1f vs %.1f, C %.1f vs %.1f dB", py, ry2, pc, rc2)
			}
		})
	}
}

// BenchmarkImageJPEG640x480 is the reference: the same frame through
// YUYVToYCbCr and image/jpeg (which resamples to 4:2:0 per pixel).
func BenchmarkImageJPEG640x480(b *testing.B) {
	in := yuyvFrame(640, 480, 0)
	img, _ := YUYVToYCbCr(nil, in, 640, 480)
	var out bytes.Buffer
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		out.Reset()
		img, _ = YUYVToYCbCr(img, in, 640, 480)
		if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := threadCPU() - c0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/s-core")
	}
	b.ReportMetric(float64(out.Len()), "jpeg-bytes")
}

// FuzzEncodeYUYV: any samples, size and quality make a JPEG that image/jpeg
// decodes to that size, whose SOF tells that size and whose length
// JPEGLen finds.
func FuzzEncodeYUYV(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, uint8(2), uint8(1), uint8(80))
	f.Add(yuyvFrame(34, 18, 0), uint8(34), uint8(18), uint8(100))
	f.Add(bytes.Repeat([]byte{0xFF}, 64*2*9), uint8(64), uint8(9), uint8(1))
	f.Fuzz(func(t *testing.T, samples []byte, w8, h8, q8 uint8) {
		w, h, q := 2*(1+int(w8)%40), 1+int(h8)%40, 1+int(q8)%100
		in := make([]byte, w*h*2)
		for i := range in {
			if len(samples) > 0 {
				in[i] = samples[i%len(samples)] + byte(i/len(samples))
			}
		}
		var b bytes.Buffer
		if err := EncodeYUYV(&b, in, w, h, q); err != nil {
			t.Fatal(err)
		}
		if n, err := JPEGLen(b.Bytes()); err != nil || n != b.Len() {
			t.Fatalf("JPEGLen = %d, %v; want %d", n, err, b.Len())
		}
		sof, err := ParseSOF(b.Bytes())
		if err != nil || sof.Width != w || sof.Height != h {
			t.Fatalf("SOF %+v, %v; want %dx%d", sof, err, w, h)
		}
		img, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%dx%d q%d: decode: %v", w, h, q, err)
		}
		if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Fatalf("decoded %v, want %dx%d", img.Bounds(), w, h)
		}
	})
}
