// Package recordertest makes realistic MJPEG frames for the recorder's
// tests and benchmark: detailed images (texture, edges, a moving block and
// sensor-like noise) encoded with image/jpeg, so frame sizes and their
// variation resemble a real camera's (≈120 KB at 1280×720, quality 80).
package recordertest

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"time"

	"weighin/drivers/camera"
)

// JPEGs returns n distinct JPEG images of w×h at the given quality; the
// same seed gives the same images.
func JPEGs(n, w, h, quality int, seed uint64) ([][]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([][]byte, 0, n)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range n {
		paint(img, i, rng)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
			return nil, fmt.Errorf("recordertest: encode: %w", err)
		}
		out = append(out, buf.Bytes())
	}
	return out, nil
}

// paint draws frame i: a textured scene, a block that moves with i, and noise.
func paint(img *image.YCbCr, i int, rng *rand.Rand) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	bx, by := (i*37)%max(1, w-w/5), (i*23)%max(1, h-h/5)
	for y := range h {
		for x := range w {
			v := 110 + 50*math.Sin(float64(x)/17+float64(y)/29) + 30*math.Sin(float64(x*y)/4000)
			if (x/40+y/40)%2 == 0 {
				v += 25
			}
			if x >= bx && x < bx+w/5 && y >= by && y < by+h/5 {
				v = 230 - v/3
			}
			v += rng.NormFloat64() * 3.4
			img.Y[y*img.YStride+x] = clamp(v)
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			img.Cb[y*img.CStride+x] = clamp(128 + 30*math.Sin(float64(x)/23) + rng.NormFloat64()*3)
			img.Cr[y*img.CStride+x] = clamp(128 + 30*math.Cos(float64(y)/19) + rng.NormFloat64()*3)
		}
	}
}

func clamp(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// Frames returns count camera frames that cycle through jpegs, numbered
// from seq 0 and spaced by interval from start.
func Frames(jpegs [][]byte, count int, start time.Time, interval time.Duration, w, h int) []camera.Frame {
	out := make([]camera.Frame, count)
	for i := range out {
		out[i] = camera.Frame{Data: jpegs[i%len(jpegs)], Seq: uint64(i), Time: start.Add(time.Duration(i) * interval), Width: w, Height: h}
	}
	return out
}
