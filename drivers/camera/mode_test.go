package camera

import (
	"errors"
	"testing"

	"github.com/blackjack/webcam"
)

func discrete(sizes ...Size) []webcam.FrameSize {
	var out []webcam.FrameSize
	for _, s := range sizes {
		out = append(out, webcam.FrameSize{MinWidth: uint32(s.Width), MaxWidth: uint32(s.Width), MinHeight: uint32(s.Height), MaxHeight: uint32(s.Height)})
	}
	return out
}

func rates(fps ...uint32) []webcam.FrameRate {
	var out []webcam.FrameRate
	for _, f := range fps {
		out = append(out, webcam.FrameRate{MinNumerator: 1, MaxNumerator: 1, MinDenominator: f, MaxDenominator: f})
	}
	return out
}

var defaultWant = Want{Format: "auto", Width: 1280, Height: 720, FPS: 30, FallbackWidth: 640, FallbackHeight: 480, FallbackFPS: 15}

// uvcCaps is a typical UVC webcam: MJPEG up to 1080p, YUYV at 30 fps only
// up to 640x480.
func uvcCaps() Caps {
	c := Caps{
		Sizes: map[webcam.PixelFormat][]webcam.FrameSize{
			FormatMJPEG: discrete(Size{1920, 1080}, Size{1280, 720}, Size{640, 480}),
			FormatYUYV:  discrete(Size{1280, 720}, Size{640, 480}, Size{320, 240}),
		},
		Rates: map[FormatSize][]webcam.FrameRate{},
	}
	for _, s := range []Size{{1920, 1080}, {1280, 720}, {640, 480}} {
		c.Rates[FormatSize{FormatMJPEG, s}] = rates(30, 15)
	}
	c.Rates[FormatSize{FormatYUYV, Size{1280, 720}}] = rates(10, 5)
	c.Rates[FormatSize{FormatYUYV, Size{640, 480}}] = rates(30, 20, 10)
	c.Rates[FormatSize{FormatYUYV, Size{320, 240}}] = rates(30)
	return c
}

func yuyvOnly() Caps {
	c := uvcCaps()
	delete(c.Sizes, FormatMJPEG)
	return c
}

func TestChoose(t *testing.T) {
	stepwise := Caps{Sizes: map[webcam.PixelFormat][]webcam.FrameSize{
		FormatYUYV: {{MinWidth: 48, MaxWidth: 1920, StepWidth: 16, MinHeight: 32, MaxHeight: 1080, StepHeight: 8}},
	}, Rates: map[FormatSize][]webcam.FrameRate{
		{FormatYUYV, Size{640, 480}}: {{MinNumerator: 1, MaxNumerator: 1, StepNumerator: 1, MinDenominator: 60, MaxDenominator: 1, StepDenominator: 1}},
	}}
	with := func(f func(w *Want)) Want { w := defaultWant; f(&w); return w }
	tests := []struct {
		name    string
		want    Want
		caps    Caps
		mode    Mode
		wantErr error
	}{
		{"MJPEG at the configured mode", defaultWant, uvcCaps(), Mode{FormatMJPEG, Size{1280, 720}, 1, 30, true}, nil},
		{"no MJPEG: YUYV at the fallback", with(func(w *Want) { w.FallbackFPS = 10 }), yuyvOnly(), Mode{FormatYUYV, Size{640, 480}, 1, 10, true}, nil},
		{"format yuyv forces the fallback", with(func(w *Want) { w.Format = "yuyv"; w.FallbackFPS = 20 }), uvcCaps(), Mode{FormatYUYV, Size{640, 480}, 1, 20, true}, nil},
		{"format mjpeg without MJPEG", with(func(w *Want) { w.Format = "mjpeg" }), yuyvOnly(), Mode{}, ErrNoFormat},
		{"format yuyv without YUYV", with(func(w *Want) { w.Format = "yuyv" }), Caps{Sizes: map[webcam.PixelFormat][]webcam.FrameSize{FormatMJPEG: discrete(Size{640, 480})}}, Mode{}, ErrNoFormat},
		{"neither format", defaultWant, Caps{Sizes: map[webcam.PixelFormat][]webcam.FrameSize{0x34325247: discrete(Size{640, 480})}}, Mode{}, ErrNoFormat},
		{"size not offered: smallest covering", with(func(w *Want) { w.Width, w.Height = 1024, 576 }), uvcCaps(), Mode{FormatMJPEG, Size{1280, 720}, 1, 30, true}, nil},
		{"size too big: the largest", with(func(w *Want) { w.Width, w.Height = 3840, 2160 }), uvcCaps(), Mode{FormatMJPEG, Size{1920, 1080}, 1, 30, true}, nil},
		{"rate not offered: slowest faster", with(func(w *Want) { w.FPS = 25 }), uvcCaps(), Mode{FormatMJPEG, Size{1280, 720}, 1, 30, true}, nil},
		{"rate too high: fastest slower", with(func(w *Want) { w.FPS = 60 }), uvcCaps(), Mode{FormatMJPEG, Size{1280, 720}, 1, 30, true}, nil},
		{"fallback rate not offered: slowest faster", with(func(w *Want) { w.FallbackFPS = 12 }), yuyvOnly(), Mode{FormatYUYV, Size{640, 480}, 1, 20, true}, nil},
		{"stepwise sizes and rates", with(func(w *Want) { w.FallbackFPS = 25 }), stepwise, Mode{FormatYUYV, Size{640, 480}, 1, 25, true}, nil},
		{"stepwise size rounded to the step", with(func(w *Want) { w.FallbackWidth, w.FallbackHeight = 650, 483 }), stepwise, Mode{FormatYUYV, Size{656, 480}, 1, 15, false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.want, tt.caps)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Choose(%+v) err %v, want %v", tt.want, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.mode {
				t.Fatalf("Choose(%+v) = %v (%+v), %v; want %v (%+v)", tt.want, got, got, err, tt.mode, tt.mode)
			}
		})
	}
}

func TestChooseRate(t *testing.T) {
	tests := []struct {
		name     string
		rates    []webcam.FrameRate
		fps      int
		num, den uint32
		listed   bool
	}{
		{"exact", rates(5, 15, 30), 15, 1, 15, true},
		{"none listed", nil, 24, 1, 24, false},
		{"2/25 s interval is 12.5 fps", []webcam.FrameRate{{MinNumerator: 2, MaxNumerator: 2, MinDenominator: 25, MaxDenominator: 25}}, 12, 2, 25, true},
		{"stepwise range below", []webcam.FrameRate{{MinNumerator: 1, MaxNumerator: 1, StepNumerator: 1, MinDenominator: 10, MaxDenominator: 5, StepDenominator: 1}}, 30, 1, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, d, l := ChooseRate(tt.rates, tt.fps)
			if n != tt.num || d != tt.den || l != tt.listed {
				t.Errorf("ChooseRate(%v, %d) = %d/%d %v; want %d/%d %v", tt.rates, tt.fps, n, d, l, tt.num, tt.den, tt.listed)
			}
		})
	}
}

func TestFourCC(t *testing.T) {
	if FourCC(FormatMJPEG) != "MJPG" || FourCC(FormatYUYV) != "YUYV" || FourCC(1) != "????" {
		t.Errorf("FourCC: %q %q %q", FourCC(FormatMJPEG), FourCC(FormatYUYV), FourCC(1))
	}
}
