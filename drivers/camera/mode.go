package camera

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/blackjack/webcam"
)

// V4L2 pixel formats the driver uses (fourcc codes of videodev2.h).
const (
	// FormatMJPEG is V4L2_PIX_FMT_MJPEG ("MJPG"): frames are JPEGs already.
	FormatMJPEG webcam.PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	// FormatYUYV is V4L2_PIX_FMT_YUYV ("YUYV"): packed 4:2:2, encoded to
	// JPEG in software.
	FormatYUYV webcam.PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
)

// ErrNoFormat is returned when the camera offers no format the driver can
// use for the configured choice (MJPEG, YUYV, or either for "auto").
var ErrNoFormat = errors.New("camera: no usable format")

// FourCC returns the four-character code of a pixel format, e.g. "MJPG".
func FourCC(f webcam.PixelFormat) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// Want is what the configuration asks for (config.Camera's fields).
type Want struct {
	// Format is "auto", "mjpeg" or "yuyv".
	Format string
	// Width, Height and FPS are the MJPEG mode.
	Width, Height, FPS int
	// FallbackWidth, FallbackHeight and FallbackFPS are the YUYV mode,
	// small enough for the Pi to encode every frame.
	FallbackWidth, FallbackHeight, FallbackFPS int
}

// Size is a frame size in pixels.
type Size struct{ Width, Height int }

// Caps is what a camera offers: the frame sizes of each pixel format, and
// the frame intervals of each format at a size. Rates may lack a size, for
// drivers that do not enumerate intervals.
type Caps struct {
	Sizes map[webcam.PixelFormat][]webcam.FrameSize
	Rates map[FormatSize][]webcam.FrameRate
}

// FormatSize keys Caps.Rates.
type FormatSize struct {
	Format webcam.PixelFormat
	Size
}

// Mode is the capture mode chosen for a camera.
type Mode struct {
	Format webcam.PixelFormat
	Size
	// IntervalNum/IntervalDen is the frame interval in seconds (1/30 for
	// 30 frames per second).
	IntervalNum, IntervalDen uint32
	// RateListed is false when the camera listed no frame intervals for the
	// size and the configured rate is merely requested.
	RateListed bool
}

// FPS returns the mode's frame rate.
func (m Mode) FPS() float64 {
	if m.IntervalNum == 0 {
		return 0
	}
	return float64(m.IntervalDen) / float64(m.IntervalNum)
}

// String returns e.g. "MJPG 1280x720 @ 30 fps".
func (m Mode) String() string {
	return fmt.Sprintf("%s %dx%d @ %.4g fps", FourCC(m.Format), m.Width, m.Height, m.FPS())
}

// Choose picks the capture mode: MJPEG at the wanted size and rate when
// offered (format "auto" or "mjpeg"), else YUYV at the fallback size and
// rate (format "auto" or "yuyv"). Of the sizes offered it takes the exact
// one, else the smallest that covers the wanted size, else the largest; of
// the rates, the exact one, else the slowest above it, else the fastest
// below it. It is pure: the caller lists the camera's capabilities.
func Choose(w Want, c Caps) (Mode, error) {
	_, hasMJPEG := c.Sizes[FormatMJPEG]
	_, hasYUYV := c.Sizes[FormatYUYV]
	var f webcam.PixelFormat
	switch w.Format {
	case "mjpeg":
		if !hasMJPEG {
			return Mode{}, fmt.Errorf("%w: format mjpeg configured, camera offers %s", ErrNoFormat, offered(c))
		}
		f = FormatMJPEG
	case "yuyv":
		if !hasYUYV {
			return Mode{}, fmt.Errorf("%w: format yuyv configured, camera offers %s", ErrNoFormat, offered(c))
		}
		f = FormatYUYV
	case "auto", "":
		switch {
		case hasMJPEG:
			f = FormatMJPEG
		case hasYUYV:
			f = FormatYUYV
		default:
			return Mode{}, fmt.Errorf("%w: neither MJPG nor YUYV offered, camera offers %s", ErrNoFormat, offered(c))
		}
	default:
		return Mode{}, fmt.Errorf("camera: format %q: must be auto, mjpeg or yuyv", w.Format)
	}
	target, fps := Size{w.Width, w.Height}, w.FPS
	if f == FormatYUYV {
		target, fps = Size{w.FallbackWidth, w.FallbackHeight}, w.FallbackFPS
	}
	if target.Width <= 0 || target.Height <= 0 || fps <= 0 {
		return Mode{}, fmt.Errorf("camera: wanted mode %dx%d @ %d fps is not positive", target.Width, target.Height, fps)
	}
	size, err := ChooseSize(c.Sizes[f], target)
	if err != nil {
		return Mode{}, fmt.Errorf("camera: %s: %w", FourCC(f), err)
	}
	m := Mode{Format: f, Size: size}
	m.IntervalNum, m.IntervalDen, m.RateListed = ChooseRate(c.Rates[FormatSize{f, size}], fps)
	return m, nil
}

func offered(c Caps) string {
	var names []string
	for f := range c.Sizes {
		names = append(names, FourCC(f))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "nothing"
	}
	return fmt.Sprint(names)
}

// fit returns the size of a stepwise (or continuous) range nearest to want:
// clamped to the range and rounded to its step.
func fit(fs webcam.FrameSize, want Size) Size {
	one := func(lo, hi, step uint32, v int) int {
		if hi == 0 { // continuous range reported empty by the library: any size
			return v
		}
		x := min(max(v, int(lo)), int(hi))
		if step > 1 {
			k := int(math.Round(float64(x-int(lo)) / float64(step)))
			x = min(int(lo)+k*int(step), int(hi))
		}
		return x
	}
	return Size{one(fs.MinWidth, fs.MaxWidth, fs.StepWidth, want.Width),
		one(fs.MinHeight, fs.MaxHeight, fs.StepHeight, want.Height)}
}

// Candidates lists the concrete sizes a list of frame sizes stands for,
// given the wanted size: each discrete size, and for a stepwise range the
// size in it nearest to want. Sizes with a zero side are left out.
func Candidates(sizes []webcam.FrameSize, want Size) []Size {
	var out []Size
	for _, fs := range sizes {
		s := Size{int(fs.MaxWidth), int(fs.MaxHeight)}
		if fs.StepWidth != 0 || fs.StepHeight != 0 || fs.MaxWidth == 0 {
			s = fit(fs, want)
		}
		if s.Width > 0 && s.Height > 0 {
			out = append(out, s)
		}
	}
	return out
}

// ChooseSize picks from the offered sizes: the wanted one, else the smallest
// (by area) that covers it in both directions, else the largest.
func ChooseSize(sizes []webcam.FrameSize, want Size) (Size, error) {
	cands := Candidates(sizes, want)
	if len(cands) == 0 {
		return Size{}, fmt.Errorf("%w: no frame sizes listed", ErrNoFormat)
	}
	area := func(s Size) int { return s.Width * s.Height }
	var best Size
	covering := false
	for _, s := range cands {
		if s == want {
			return s, nil
		}
		covers := s.Width >= want.Width && s.Height >= want.Height
		switch {
		case covers && (!covering || area(s) < area(best)):
			best, covering = s, true
		case !covers && !covering && area(s) > area(best):
			best = s
		}
	}
	return best, nil
}

// ChooseRate picks a frame interval for the wanted rate from those offered
// at a size: the exact rate, else the slowest faster one, else the fastest
// slower one; inside a stepwise range, 1/fps itself. With nothing offered it
// returns 1/fps and listed=false.
func ChooseRate(rates []webcam.FrameRate, fps int) (num, den uint32, listed bool) {
	type cand struct {
		num, den uint32
	}
	var cands []cand
	wantIv := 1 / float64(fps)
	for _, r := range rates {
		if r.StepNumerator == 0 && r.StepDenominator == 0 {
			if r.MinNumerator != 0 && r.MinDenominator != 0 {
				cands = append(cands, cand{r.MinNumerator, r.MinDenominator})
			}
			continue
		}
		if r.MinDenominator == 0 || r.MaxDenominator == 0 {
			continue
		}
		lo := float64(r.MinNumerator) / float64(r.MinDenominator)
		hi := float64(r.MaxNumerator) / float64(r.MaxDenominator)
		switch {
		case wantIv >= lo && wantIv <= hi:
			cands = append(cands, cand{1, uint32(fps)})
		case wantIv < lo:
			cands = append(cands, cand{r.MinNumerator, r.MinDenominator})
		default:
			cands = append(cands, cand{r.MaxNumerator, r.MaxDenominator})
		}
	}
	if len(cands) == 0 {
		return 1, uint32(fps), false
	}
	rate := func(c cand) float64 { return float64(c.den) / float64(c.num) }
	want := float64(fps)
	var best cand
	faster := false
	for _, c := range cands {
		r := rate(c)
		if math.Abs(r-want) < 1e-9 {
			return c.num, c.den, true
		}
		switch {
		case best.num == 0:
			best, faster = c, r > want
		case r > want && (!faster || r < rate(best)):
			best, faster = c, true
		case r < want && !faster && r > rate(best):
			best = c
		}
	}
	return best.num, best.den, true
}
