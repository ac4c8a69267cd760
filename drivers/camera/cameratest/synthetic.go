package cameratest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"weighin/drivers/camera"
)

// Opts configures a Synthetic source; zero fields take the default in
// brackets.
type Opts struct {
	// Width and Height in pixels [640, 480]; both even.
	Width, Height int
	// FPS is the frame rate [15].
	FPS int
	// Quality is the JPEG quality, 1–100 [80].
	Quality int
	// Loop is the number of distinct frames encoded up front and replayed
	// in a loop, so that the source costs next to no CPU [2·FPS: a 2 s
	// loop]. Each shows its loop index and offset in the loop.
	Loop int
	// Live draws and encodes every frame as it is delivered, with the
	// frame's sequence number and wall-clock time in it (costs an encode
	// per frame).
	Live bool
	// UnplugAfter makes Next report camera.ErrUnplugged after this many
	// frames, as a camera pulled out of its socket [0: never].
	UnplugAfter int
}

func (o Opts) withDefaults() (Opts, error) {
	if o.Width == 0 {
		o.Width = 640
	}
	if o.Height == 0 {
		o.Height = 480
	}
	if o.FPS == 0 {
		o.FPS = 15
	}
	if o.Quality == 0 {
		o.Quality = 80
	}
	if o.Loop == 0 {
		o.Loop = 2 * o.FPS
	}
	var errs []error
	if o.Width < 16 || o.Height < 16 || o.Width%2 != 0 || o.Height%2 != 0 || o.Width > 4096 || o.Height > 4096 {
		errs = append(errs, fmt.Errorf("cameratest: size %dx%d: want even sides of 16–4096", o.Width, o.Height))
	}
	if o.FPS < 1 || o.FPS > 240 {
		errs = append(errs, fmt.Errorf("cameratest: fps %d: want 1–240", o.FPS))
	}
	if o.Quality < 1 || o.Quality > 100 {
		errs = append(errs, fmt.Errorf("cameratest: quality %d: want 1–100", o.Quality))
	}
	if o.Loop < 1 || o.Loop > 3600 {
		errs = append(errs, fmt.Errorf("cameratest: loop of %d frames: want 1–3600", o.Loop))
	}
	if o.UnplugAfter < 0 {
		errs = append(errs, fmt.Errorf("cameratest: unplug after %d frames is negative", o.UnplugAfter))
	}
	return o, errors.Join(errs...)
}

// Synthetic is a paced source of real JPEG frames showing a test pattern.
// Its moving parts (a bar that slides along, the caption with the frame
// number) stay in its top-left corner (CornerW × CornerH of the frame),
// outside the default platform region (the central 60 %), so that a
// motion check of the platform sees a still scene; SetHand puts a moving
// hand there.
type Synthetic struct {
	opts   Opts
	pace   pacer
	loop   [][]byte
	img    *image.YCbCr
	buf    bytes.Buffer
	seq    uint64
	drops  int64
	closed bool

	// showMu guards the image on show (see Show), set from other
	// goroutines.
	showMu    sync.Mutex
	showData  []byte
	showUntil time.Time

	// hand is on while SetHand(true): frames are drawn live with a hand
	// swaying over the platform.
	hand atomic.Bool
}

// CornerW and CornerH are the top-left corner of the frame, as shares of its
// width and height, that holds the synthetic pattern's moving parts.
const (
	CornerW = 0.45
	CornerH = 0.15
)

// SetHand puts a hand on the platform (on) or takes it away: while on,
// every frame is drawn live with a skin-toned hand that sways over the
// centre of the frame at about 1.5 Hz by a tenth of the frame's width, as
// a hand resting on a parcel never keeps quite still. Safe to call while
// another goroutine is in Next.
func (s *Synthetic) SetHand(on bool) { s.hand.Store(on) }

// NewSynthetic makes a source; in loop mode it encodes the loop now. The
// first frame is due at once, the next 1/FPS later.
func NewSynthetic(opts Opts) (*Synthetic, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Synthetic{opts: o, img: image.NewYCbCr(image.Rect(0, 0, o.Width, o.Height), image.YCbCrSubsampleRatio420)}
	if !o.Live {
		for i := range o.Loop {
			at := time.Duration(i) * time.Second / time.Duration(o.FPS)
			b, err := s.render(i, fmt.Sprintf("loop %d/%d  +%06.3fs", i, o.Loop, at.Seconds()))
			if err != nil {
				return nil, err
			}
			s.loop = append(s.loop, b)
		}
	}
	s.pace = pacer{start: time.Now(), interval: time.Second / time.Duration(o.FPS)}
	return s, nil
}

// Opener returns a camera.OpenFunc making a new Synthetic per open, for a
// camera.Reconnector.
func Opener(opts Opts) camera.OpenFunc {
	return func(context.Context) (camera.Source, error) {
		s, err := NewSynthetic(opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// render draws frame n of the pattern with a caption and encodes it.
func (s *Synthetic) render(n int, caption string) ([]byte, error) {
	w, h := s.opts.Width, s.opts.Height
	m := s.img
	// Background: a still diagonal luma ramp, chroma bands.
	cw, ch := int(CornerW*float64(w)), int(CornerH*float64(h))
	for y := range h {
		row := m.Y[y*m.YStride : y*m.YStride+w]
		for x := range row {
			row[x] = uint8(40 + (x+y)%176)
		}
	}
	for y := range (h + 1) / 2 {
		cb := m.Cb[y*m.CStride : y*m.CStride+(w+1)/2]
		cr := m.Cr[y*m.CStride : y*m.CStride+(w+1)/2]
		for x := range cb {
			cb[x] = uint8(96 + 64*((x*8/len(cb))%2))
			cr[x] = uint8(96 + 64*((y*6/((h+1)/2))%2))
		}
	}
	// A bright bar that moves across the corner by a few pixels per frame.
	bx := (n * 6) % cw
	for y := range ch {
		for x := bx; x < min(bx+w/32+2, cw); x++ {
			m.Y[y*m.YStride+x] = 235
		}
	}
	// Caption, scaled up from the 7×13 bitmap font.
	scale := max(1, w/320)
	txt := image.NewAlpha(image.Rect(0, 0, 7*len(caption), 13))
	d := font.Drawer{Dst: txt, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, 10)}
	d.DrawString(caption)
	x0, y0 := 8, 8
	corner := image.Rect(0, 0, cw, ch)
	box := image.Rect(x0-2, y0-2, x0+txt.Rect.Dx()*scale+2, y0+13*scale+2).Intersect(corner)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			m.Y[m.YOffset(x, y)] = 16
			m.Cb[m.COffset(x, y)] = 128
			m.Cr[m.COffset(x, y)] = 128
		}
	}
	for y := 0; y < 13*scale && y0+y < ch; y++ {
		for x := 0; x < txt.Rect.Dx()*scale && x0+x < cw; x++ {
			if txt.AlphaAt(x/scale, y/scale).A > 127 {
				m.Y[(y0+y)*m.YStride+x0+x] = 235
			}
		}
	}
	if s.hand.Load() {
		drawHand(m, n, s.opts.FPS)
	}
	s.buf.Reset()
	if err := jpeg.Encode(&s.buf, m, &jpeg.Options{Quality: s.opts.Quality}); err != nil {
		return nil, fmt.Errorf("cameratest: encode: %w", err)
	}
	return bytes.Clone(s.buf.Bytes()), nil
}

// Next waits until the next frame is due and returns it. A caller that is
// late skips frames (see Dropped). After Opts.UnplugAfter frames it returns
// an error wrapping camera.ErrUnplugged and the source is closed.
func (s *Synthetic) Next(ctx context.Context) (camera.Frame, error) {
	if s.closed {
		return camera.Frame{}, camera.ErrClosed
	}
	if s.opts.UnplugAfter > 0 && s.seq >= uint64(s.opts.UnplugAfter) {
		s.closed = true
		return camera.Frame{}, fmt.Errorf("%w: synthetic camera after %d frames", camera.ErrUnplugged, s.seq)
	}
	tick, skipped, err := s.pace.wait(ctx)
	if err != nil {
		return camera.Frame{}, err
	}
	now := time.Now()
	s.drops += skipped
	data := s.shown(now) // a label held up to the camera hides the pattern
	switch {
	case data != nil:
	case s.opts.Live || s.hand.Load():
		data, err = s.render(int(tick), fmt.Sprintf("#%06d %s", s.seq, now.Format("15:04:05.000")))
		if err != nil {
			return camera.Frame{}, err
		}
	default:
		data = bytes.Clone(s.loop[tick%int64(len(s.loop))])
	}
	f := camera.Frame{Data: data, Seq: s.seq, Time: now, Width: s.opts.Width, Height: s.opts.Height}
	s.seq++
	return f, nil
}

// Dropped returns the number of frames skipped because Next was called late.
func (s *Synthetic) Dropped() int64 { return s.drops }

// Close ends the source; Next then returns camera.ErrClosed.
func (s *Synthetic) Close() error {
	s.closed = true
	return nil
}

// YUYVPattern returns a packed YUYV frame of width×height with a pattern
// that depends on n: input for benchmarks of camera.EncodeYUYV.
func YUYVPattern(width, height, n int) []byte {
	b := make([]byte, width*height*2)
	for y := range height {
		row := b[y*width*2 : (y+1)*width*2]
		for x := 0; x+1 < width; x += 2 {
			i := 2 * x
			row[i] = uint8(16 + (x+y+n)%220)
			row[i+1] = uint8(64 + (y*128/height+n)%128)
			row[i+2] = uint8(16 + (x+1+y+n)%220)
			row[i+3] = uint8(192 - (x*128/width)%128)
		}
	}
	return b
}

// drawHand draws frame n's hand: a palm (an ellipse of a fifth of the
// frame's height) with four fingers, skin-toned, its centre swaying
// sideways around the frame's centre at 1.5 Hz by a tenth of the width.
func drawHand(m *image.YCbCr, n, fps int) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	phase := 2 * math.Pi * 1.5 * float64(n) / float64(fps)
	cx := float64(w)/2 + 0.1*float64(w)*math.Sin(phase)
	cy := float64(h) / 2
	rx, ry := 0.09*float64(w), 0.1*float64(h)
	in := func(x, y float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		if dx*dx+dy*dy <= 1 {
			return true
		}
		// Four fingers above the palm.
		for f := range 4 {
			fx := cx - rx*0.75 + float64(f)*rx*0.5
			if math.Abs(x-fx) < rx*0.18 && y < cy && y > cy-ry*2.1 {
				return true
			}
		}
		return false
	}
	for y := int(cy - 2.2*ry); y < int(cy+ry)+1; y++ {
		for x := int(cx - rx - 1); x < int(cx+rx)+2; x++ {
			if x < 0 || y < 0 || x >= w || y >= h || !in(float64(x), float64(y)) {
				continue
			}
			m.Y[m.YOffset(x, y)] = 170
			m.Cb[m.COffset(x, y)] = 105
			m.Cr[m.COffset(x, y)] = 160
		}
	}
}
