package motion

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
	"weighin/internal/config"
)

// scene is a test picture: a gradient with a few hard-edged shapes, as
// YCbCr 4:2:0.
func scene(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			v := 30 + (x*150)/w + (y*40)/h
			if (x/40+y/30)%3 == 0 {
				v = 230
			}
			if x > w/3 && x < w/2 && y > h/4 && y < h/2 {
				v = 5
			}
			m.Y[m.YOffset(x, y)] = uint8(v)
		}
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(90+i%60), uint8(200-i%80)
	}
	return m
}

func encode(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stripDHT removes the DHT segments, as UVC cameras send their frames.
func stripDHT(t testing.TB, b []byte) []byte {
	t.Helper()
	out := append([]byte(nil), b[:2]...)
	pos := 2
	for pos+4 <= len(b) {
		m := b[pos+1]
		n := int(b[pos+2])<<8 | int(b[pos+3])
		if m != 0xC4 {
			out = append(out, b[pos:pos+2+n]...)
		}
		pos += 2 + n
		if m == 0xDA {
			return append(out, b[pos:]...)
		}
	}
	t.Fatal("no SOS")
	return nil
}

// ffmpegJPEG has ffmpeg's own MJPEG encoder write a frame of its test
// pattern (a third party's JPEG writer, with restart markers when sliced).
func ffmpegJPEG(t testing.TB, size, pixfmt string, slices int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "f.jpg")
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=1", "-frames:v", "1", "-pix_fmt", pixfmt}
	if slices > 1 {
		args = append(args, "-threads", "4", "-slices", "4")
	}
	if b, err := exec.Command("ffmpeg", append(args, out)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg, in the Makefile's DEBS): %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The DC path gives the grid a full decode does: block means within the
// rounding of the IDCT.
func TestBlocksMatchesFullDecode(t *testing.T) {
	var yuyv bytes.Buffer
	if err := camera.EncodeYUYV(&yuyv, cameratest.YUYVPattern(320, 240, 3), 320, 240, 80); err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range gray.Pix {
		x, y := i%200, i/200
		gray.Pix[i] = uint8(20 + x + y/2)
		if (x/25+y/20)%2 == 0 {
			gray.Pix[i] = 220
		}
	}
	syn, err := cameratest.NewSynthetic(cameratest.Opts{Width: 320, Height: 240, Loop: 1})
	if err != nil {
		t.Fatal(err)
	}
	synFrame, err := syn.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		frame []byte
		// std: the frame uses the standard tables, so it may also be sent
		// without them (as UVC cameras do).
		std bool
	}{
		{"image/jpeg 4:2:0 q80", encode(t, scene(320, 240), 80), true},
		{"image/jpeg 4:2:0 q30, odd size", encode(t, scene(333, 247), 30), true},
		{"image/jpeg grey", encode(t, gray, 90), true},
		{"station YUYV encoder 4:2:2", yuyv.Bytes(), true},
		{"synthetic camera", synFrame.Data, true},
		{"ffmpeg 4:2:2 sliced, restart markers", ffmpegJPEG(t, "320x240", "yuvj422p", 4), false},
		{"ffmpeg 4:2:0 odd size, optimised tables", ffmpegJPEG(t, "330x250", "yuvj420p", 1), false},
		{"ffmpeg 4:4:4, optimised tables", ffmpegJPEG(t, "320x240", "yuvj444p", 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frames := [][]byte{c.frame}
			if c.std {
				frames = append(frames, stripDHT(t, c.frame))
			}
			for _, f := range frames {
				fast, err := dcBlocks(camera.EnsureHuffman(f))
				if err != nil {
					t.Fatalf("DC path: %v", err)
				}
				slow, err := decodeBlocks(f)
				if err != nil {
					t.Fatalf("full decode: %v", err)
				}
				if fast.W != slow.W || fast.H != slow.H {
					t.Fatalf("DC grid %dx%d, full decode %dx%d", fast.W, fast.H, slow.W, slow.H)
				}
				worst, sum := 0, 0
				for i := range fast.Y {
					d := int(fast.Y[i]) - int(slow.Y[i])
					sum += d * d
					worst = max(worst, d, -d)
				}
				rms := math.Sqrt(float64(sum) / float64(len(fast.Y)))
				// Hard edges ring past 0 or 255 in the full decode and are clipped
				// there, which moves a block mean by a few levels.
				if worst > 10 || rms > 1 {
					t.Errorf("DC grid differs from the decoded block means: worst %d levels, rms %.2f", worst, rms)
				}
			}
		})
	}
}

func TestBlocksRefusesDamage(t *testing.T) {
	good := encode(t, scene(64, 48), 80)
	for _, bad := range [][]byte{nil, []byte("not a jpeg"), good[:len(good)/2], good[:200]} {
		if _, err := Blocks(bad); err == nil {
			t.Errorf("Blocks accepted %d bytes of damage", len(bad))
		}
	}
	// A progressive (or other) SOF is left to the full decoder.
	prog := bytes.Clone(good)
	i := bytes.Index(prog, []byte{0xFF, 0xC0})
	prog[i+1] = 0xC2
	if _, err := dcBlocks(prog); err == nil {
		t.Error("the DC path read a progressive SOF")
	}
}

func grid(w, h int, v func(x, y int) int) Grid {
	g := Grid{W: w, H: h, Y: make([]uint8, w*h)}
	for y := range h {
		for x := range w {
			g.Y[y*w+x] = uint8(max(0, min(255, v(x, y))))
		}
	}
	return g
}

func TestCompare(t *testing.T) {
	base := grid(80, 60, func(x, y int) int { return 40 + x + y })
	cases := []struct {
		name string
		b    Grid
		hand bool
	}{
		{"same", base, false},
		{"lights up by 30 levels", grid(80, 60, func(x, y int) int { return 70 + x + y }), false},
		{"a hand over the parcel", grid(80, 60, func(x, y int) int {
			if x > 30 && x < 45 && y > 20 && y < 40 {
				return 200
			}
			return 40 + x + y
		}), true},
		{"a label held up, filling the frame", grid(80, 60, func(x, y int) int {
			if x > 5 && x < 75 && y > 5 && y < 55 {
				return 240 - 100*((x/3)%2)
			}
			return 40 + x + y
		}), false},
		{"motion in the top corner only", grid(80, 60, func(x, y int) int {
			if y < 8 && x < 30 {
				return 250
			}
			return 40 + x + y
		}), false},
	}
	for _, c := range cases {
		ch, err := Compare(base, c.b, DefaultRegion, 12)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Hand(0.03) != c.hand {
			t.Errorf("%s: change %+v, hand %v, want %v", c.name, ch, ch.Hand(0.03), c.hand)
		}
	}
	if _, err := Compare(base, grid(8, 6, func(x, y int) int { return 0 }), DefaultRegion, 12); err == nil {
		t.Error("grids of two sizes compared")
	}
	for _, r := range []Region{{0.5, 0.5, 0.6, 0.3}, {-0.1, 0, 0.5, 0.5}, {0, 0, 0.01, 0.5}, {math.NaN(), 0, 1, 1}} {
		if r.Validate() == nil {
			t.Errorf("region %v accepted", r)
		}
	}
	if DefaultRegion.Validate() != nil {
		t.Error("the default region is refused")
	}
	if r, err := RegionFrom(config.Default().Camera.PlatformRegion); err != nil || r != DefaultRegion {
		t.Errorf("config's default region %v, %v; want %v", r, err, DefaultRegion)
	}
	if _, err := RegionFrom([]float64{0, 0, 1}); err == nil {
		t.Error("three numbers accepted")
	}
}

// The synthetic camera: untouched, its moving parts are outside the
// platform region (not disturbed); with a hand on the platform the weigh-in
// is disturbed; a label held up to the camera just before the press is not
// a hand.
func TestWatcherSyntheticCamera(t *testing.T) {
	label, err := cameratest.LabelJPEG("LX123456785CN", 320, 240, 80)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		setup     func(s *cameratest.Synthetic)
		disturbed bool
	}{
		{"untouched", func(*cameratest.Synthetic) {}, false},
		{"hand on the platform", func(s *cameratest.Synthetic) { s.SetHand(true) }, true},
		{"label held up before the press", func(s *cameratest.Synthetic) {
			if err := s.Show(label, 1500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := cameratest.NewSynthetic(cameratest.Opts{Width: 320, Height: 240, FPS: 15, Loop: 4})
				if err != nil {
					t.Fatal(err)
				}
				w, err := NewWatcher(Opts{}, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				// Half a second of the scene, then the case's event, then the
				// press two seconds later.
				var last time.Time
				for i := range 38 {
					if i == 8 {
						c.setup(s)
					}
					f, err := s.Next(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					w.Frame(f.Time, f.Data)
					last = f.Time
				}
				v := w.Window(last.Add(-2*time.Second), last)
				if !v.Known || v.Disturbed != c.disturbed {
					t.Errorf("verdict %+v, want disturbed %v", v, c.disturbed)
				}
				if w.Errors() != 0 {
					t.Errorf("%d frames did not decode", w.Errors())
				}
			})
		})
	}
}

func TestWatcherOpts(t *testing.T) {
	if _, err := NewWatcher(Opts{Region: Region{0, 0, 2, 2}}, time.Second); err == nil {
		t.Error("a region outside the frame accepted")
	}
	if _, err := NewWatcher(Opts{}, 0); err == nil {
		t.Error("keep 0 accepted")
	}
	w, _ := NewWatcher(Opts{}, time.Second)
	if v := w.WeighIn(time.Now(), 500*time.Millisecond); v.Known || v.Disturbed {
		t.Errorf("no frames: %+v", v)
	}
	// One frame per interval is kept; a damaged one is counted and never
	// compared.
	t0 := time.Unix(100, 0)
	good := encode(t, scene(64, 48), 80)
	if !w.Frame(t0, good) || w.Frame(t0.Add(100*time.Millisecond), good) || !w.Frame(t0.Add(200*time.Millisecond), []byte("junk")) || !w.Frame(t0.Add(400*time.Millisecond), good) {
		t.Error("frames kept at the wrong interval")
	}
	if v := w.Window(t0, t0.Add(time.Second)); v.Samples != 0 || w.Errors() != 1 {
		t.Errorf("a damaged frame between two good ones: %+v, %d errors", v, w.Errors())
	}
	w.Frame(t0.Add(600*time.Millisecond), good)
	if v := w.Window(t0, t0.Add(time.Second)); v.Samples != 1 || v.Disturbed {
		t.Errorf("two equal frames: %+v", v)
	}
	if LookBack(500*time.Millisecond) != time.Second || LookBack(2*time.Second) != 4*time.Second {
		t.Error("LookBack")
	}
}

func TestParseRegion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Region
		err  string
	}{
		{"0.2,0.2,0.6,0.6", DefaultRegion, ""},
		{" 0, 0.5 ,1,0.5", Region{0, 0.5, 1, 0.5}, ""},
		{"0.5,0.5,0.6,0.3", Region{}, "x+w, y+h at most 1"},
		{"0.1,0.1,0.01,0.5", Region{}, "at least 0.05"},
		{"0.1,0.1,0.5", Region{}, "want x,y,w,h"},
		{"0.1,zero,0.5,0.5", Region{}, `"zero" is not a number`},
		{"-0.1,0,0.5,0.5", Region{}, "from 0 to 1"},
	} {
		got, err := ParseRegion(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("ParseRegion(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseRegion(%q) error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
	w, err := NewWatcher(Opts{}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetRegion(Region{0.9, 0, 0.2, 0.5}); err == nil || w.Region() != DefaultRegion {
		t.Errorf("SetRegion took a region outside the frame: %v, now %v", err, w.Region())
	}
	if err := w.SetRegion(Region{0, 0, 0.5, 0.5}); err != nil || w.Region() != (Region{0, 0, 0.5, 0.5}) {
		t.Errorf("SetRegion: %v, now %v", err, w.Region())
	}
}
