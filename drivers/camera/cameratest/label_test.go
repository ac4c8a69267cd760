package cameratest

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"weighin/internal/label"
)

// TestLabelJPEGDecodes has internal/label read the rendered labels at the
// camera sizes the station uses, and zbarimg confirm them.
func TestLabelJPEGDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatal("zbarimg not found: install Debian package zbar-tools (make deps)")
	}
	tests := []struct {
		tracking string
		w, h, q  int
	}{
		{"LB123456789CN", 640, 480, 80},
		{"LB123456789CN", 1280, 720, 85},
		{"LX123456785CN", 320, 240, 80},
		{"1Z999AA10123456784", 640, 480, 60},
		{"YT2412345678901234", 1920, 1080, 80},
		{"9400111899223100012345", 320, 240, 90},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%dx%d", tt.tracking, tt.w, tt.h), func(t *testing.T) {
			data, err := LabelJPEG(tt.tracking, tt.w, tt.h, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != tt.w || cfg.Height != tt.h {
				t.Fatalf("JPEG config %+v, %v; want %dx%d", cfg, err, tt.w, tt.h)
			}
			g, err := label.DecodeLuma(data)
			if err != nil {
				t.Fatal(err)
			}
			codes := label.Decode(g)
			if len(codes) != 1 || codes[0].Format != label.FormatCode128 || codes[0].Text != tt.tracking {
				t.Fatalf("decoded %+v, want one Code 128 %q", codes, tt.tracking)
			}
			cmd := exec.Command(zbar, "-q", "--raw", "-Sdisable", "-Scode128.enable", "-")
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil || strings.TrimSpace(string(out)) != tt.tracking {
				t.Errorf("zbarimg: %q, %v; want %q", out, err, tt.tracking)
			}
		})
	}
}

func TestLabelJPEGErrors(t *testing.T) {
	tests := []struct {
		name, tracking string
		w, h           int
		want           string
	}{
		{"empty", "", 640, 480, "1–40 characters"},
		{"too long", strings.Repeat("A", 41), 640, 480, "1–40 characters"},
		{"control byte", "LB12\n345", 640, 480, "byte 4 is not printable"},
		{"odd size", "LB123456789CN", 641, 480, "even sides"},
		{"too narrow", strings.Repeat("ZQ", 20), 64, 48, "too narrow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LabelJPEG(tt.tracking, tt.w, tt.h, 80)
			if !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LabelJPEG = %v, want ErrLabel with %q", err, tt.want)
			}
		})
	}
}

// TestSyntheticShow: the label replaces the pattern for the duration, the
// frames keep counting, and the pattern comes back.
func TestSyntheticShow(t *testing.T) {
	lbl, err := LabelJPEG("LB123456789CN", 320, 240, 80)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSynthetic(Opts{Width: 320, Height: 240, FPS: 10, Loop: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		// Show from another goroutine while Next runs, as the station's API
		// does (the race detector watches).
		go func() {
			time.Sleep(250 * time.Millisecond)
			if err := s.Show(lbl, 300*time.Millisecond); err != nil {
				t.Error(err)
			}
		}()
		for i := range 10 {
			f, err := s.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			at := f.Time.Sub(start)
			if f.Seq != uint64(i) || at != time.Duration(i)*100*time.Millisecond {
				t.Errorf("frame %d: seq %d at %v", i, f.Seq, at)
			}
			// Shown from 250 ms to 550 ms: the frames at 300, 400, 500 ms.
			showing := at > 250*time.Millisecond && at < 550*time.Millisecond
			if got := bytes.Equal(f.Data, lbl); got != showing {
				t.Errorf("frame %d at %v shows the label: %v, want %v", i, at, got, showing)
			}
			if showing {
				f.Data[100] ^= 0xFF // the caller owns the bytes
			}
		}
		if err := s.Show(lbl, 0); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Next(t.Context()); bytes.Equal(f.Data, lbl) {
			t.Error("a show of 0 s still shows the label")
		}
	})
	s, _ := NewSynthetic(Opts{Width: 320, Height: 240})
	big, _ := LabelJPEG("LB123456789CN", 640, 480, 80)
	for _, tt := range []struct {
		data []byte
		d    time.Duration
		want string
	}{{big, time.Second, "the camera 320x240"}, {[]byte("not a jpeg"), time.Second, "not a JPEG"}, {lbl, -time.Second, "negative"}} {
		if err := s.Show(tt.data, tt.d); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Show = %v, want ErrLabel with %q", err, tt.want)
		}
	}
}
