package label

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"weighin/drivers/camera"
)

var t0 = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

func frame(t testing.TB, name string, seq uint64, at time.Duration) camera.Frame {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(labelDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return camera.Frame{Data: data, Seq: seq, Time: t0.Add(at), Width: 1280, Height: 720}
}

// stripDHT removes every DHT segment from a baseline JPEG's header, as many
// UVC cameras send their MJPEG frames.
func stripDHT(t testing.TB, b []byte) []byte {
	t.Helper()
	out := append([]byte(nil), b[:2]...)
	i := 2
	for i+4 <= len(b) {
		m := b[i+1]
		n := int(b[i+2])<<8 | int(b[i+3])
		if m == 0xDA { // SOS: the rest is scan data
			return append(out, b[i:]...)
		}
		if m != 0xC4 {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	t.Fatal("no SOS")
	return nil
}

func newSel(t *testing.T, o Options) *Selector {
	t.Helper()
	if o.Window == 0 {
		o.Window = 5 * time.Second
	}
	s, err := NewSelector(o, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func codes(ws []Warning) []string {
	var c []string
	for _, w := range ws {
		c = append(c, w.Code)
	}
	return c
}

func TestSelectorPicksSharpestDecodable(t *testing.T) {
	s := newSel(t, Options{})
	for i, name := range []string{"cn-ems-blur2.jpg", "cn-ems-clean.jpg", "cn-ems-blur1.jpg", "cn-ems-far.jpg"} {
		if _, err := s.Offer(frame(t, name, uint64(i), time.Duration(i)*200*time.Millisecond)); err != nil {
			t.Fatalf("offer %s: %v", name, err)
		}
	}
	st, warns := s.Best()
	if st.Seq != 1 || st.Trigger || len(warns) != 0 {
		t.Fatalf("Best = seq %d trigger %v warnings %v, want the clean frame (seq 1) without warnings", st.Seq, st.Trigger, warns)
	}
	tr, err := ChooseTracking(st.Barcodes, nil)
	if err != nil || tr.Number != "LX123456785CN" {
		t.Errorf("tracking %+v, %v; want LX123456785CN", tr, err)
	}
}

// TestSelectorSkipsSharpFrameWithoutBarcode: a sharp frame with no barcode
// (the label not yet in view) loses to a less sharp one that decodes.
func TestSelectorPrefersDecodable(t *testing.T) {
	s := newSel(t, Options{})
	plain := noise(t, 1280, 720)
	if _, err := s.Offer(camera.Frame{Data: plain, Seq: 0, Time: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Offer(frame(t, "ups-blur1.jpg", 1, time.Second)); err != nil {
		t.Fatal(err)
	}
	st, warns := s.Best()
	if st.Seq != 1 || len(st.Barcodes) == 0 {
		t.Fatalf("Best = seq %d barcodes %v (warnings %v), want seq 1 with barcodes", st.Seq, st.Barcodes, warns)
	}
}

// noise is a sharp JPEG with no barcode: random grey texture.
func noise(t testing.TB, w, h int) []byte {
	g := image.NewGray(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range g.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		g.Pix[i] = uint8(96 + x%64)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSelectorFallbackToTrigger(t *testing.T) {
	s := newSel(t, Options{})
	first := camera.Frame{Data: noise(t, 320, 240), Seq: 7, Time: t0.Add(10 * time.Millisecond)}
	for i := range 5 {
		f := first
		f.Seq += uint64(i)
		f.Time = first.Time.Add(time.Duration(i) * 300 * time.Millisecond)
		if _, err := s.Offer(f); err != nil {
			t.Fatal(err)
		}
	}
	st, warns := s.Best()
	if !st.Trigger || st.Seq != 7 || !bytes.Equal(st.JPEG, first.Data) {
		t.Errorf("Best = seq %d trigger %v, want the trigger frame (seq 7)", st.Seq, st.Trigger)
	}
	if got := codes(warns); len(got) == 0 || got[0] != WarnNoBarcode {
		t.Errorf("warnings %v, want %s first", got, WarnNoBarcode)
	}
}

func TestSelectorNoFrames(t *testing.T) {
	s := newSel(t, Options{})
	if _, err := s.Offer(frame(t, "cn-ems-clean.jpg", 0, -time.Millisecond)); !errors.Is(err, ErrOutsideWindow) {
		t.Errorf("frame before the trigger: %v, want ErrOutsideWindow", err)
	}
	if _, err := s.Offer(frame(t, "cn-ems-clean.jpg", 1, 5*time.Second+time.Millisecond)); !errors.Is(err, ErrOutsideWindow) {
		t.Errorf("frame after the window: %v, want ErrOutsideWindow", err)
	}
	st, warns := s.Best()
	if st.JPEG != nil || len(warns) != 1 || warns[0].Code != WarnNoFrames {
		t.Errorf("Best = %d bytes, %v; want nothing and %s", len(st.JPEG), warns, WarnNoFrames)
	}
}

func TestSelectorSampleInterval(t *testing.T) {
	s := newSel(t, Options{SampleInterval: 100 * time.Millisecond})
	steps := []struct {
		at      time.Duration
		skipped bool
	}{{0, false}, {33 * time.Millisecond, true}, {66 * time.Millisecond, true}, {100 * time.Millisecond, false}, {133 * time.Millisecond, true}, {250 * time.Millisecond, false}}
	for i, st := range steps {
		_, err := s.Offer(frame(t, "ups-clean.jpg", uint64(i), st.at))
		if errors.Is(err, ErrSkipped) != st.skipped || (err != nil && !errors.Is(err, ErrSkipped)) {
			t.Errorf("frame at %v: %v, skipped want %v", st.at, err, st.skipped)
		}
	}
	if !s.Done(t0.Add(5*time.Second)) || s.Done(t0.Add(4*time.Second)) {
		t.Error("Done does not follow the window")
	}
}

// TestSelectorMissingHuffman: MJPEG frames without DHT are scored, and the
// still handed out carries the standard tables so any decoder opens it.
func TestSelectorMissingHuffman(t *testing.T) {
	f := frame(t, "yunexpress-clean.jpg", 0, 0)
	f.Data = stripDHT(t, f.Data)
	if _, err := jpeg.Decode(bytes.NewReader(f.Data)); err == nil {
		t.Fatal("stripped JPEG still decodes: the test does not test")
	}
	s := newSel(t, Options{})
	if _, err := s.Offer(f); err != nil {
		t.Fatalf("offer: %v", err)
	}
	st, warns := s.Best()
	if len(warns) != 0 || len(st.Barcodes) == 0 {
		t.Fatalf("Best: barcodes %v warnings %v", st.Barcodes, warns)
	}
	if _, err := jpeg.Decode(bytes.NewReader(st.JPEG)); err != nil {
		t.Errorf("still does not decode: %v", err)
	}
}

func TestSelectorWarnings(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		want []string
	}{
		{"clean", "ups-clean.jpg", Options{}, nil},
		{"too dim for a strict minimum", "ups-dim.jpg", Options{MinMean: 100}, []string{WarnDark}},
		{"bright", "ups-clean.jpg", Options{MaxMean: 150}, []string{WarnBright}},
		{"glare", "ups-glare.jpg", Options{}, []string{WarnBright}},
		{"sharpness", "ups-blur1.jpg", Options{MinSharpness: 5000}, []string{WarnBlurry}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSel(t, tc.opts)
			if _, err := s.Offer(frame(t, tc.file, 0, 0)); err != nil {
				t.Fatal(err)
			}
			st, warns := s.Best()
			got := codes(warns)
			if st.Trigger {
				t.Fatalf("fell back to the trigger frame: %v", warns)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %v, want %v", warns, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("warnings %v, want %v", warns, tc.want)
				}
			}
		})
	}
}

func TestSelectorBadFrame(t *testing.T) {
	s := newSel(t, Options{})
	if _, err := s.Offer(camera.Frame{Data: []byte("not a jpeg"), Time: t0}); !errors.Is(err, ErrDecode) {
		t.Fatalf("garbage frame: %v, want ErrDecode", err)
	}
	if _, err := s.Offer(frame(t, "ups-clean.jpg", 1, time.Second)); err != nil {
		t.Fatal(err)
	}
	st, warns := s.Best()
	if st.Seq != 1 || len(warns) != 1 || warns[0].Code != WarnUndecodable {
		t.Errorf("Best = seq %d, %v; want seq 1 and %s", st.Seq, warns, WarnUndecodable)
	}
}

func TestNewSelectorOptions(t *testing.T) {
	for _, o := range []Options{{}, {Window: time.Second, MinMean: 200, MaxMean: 100}, {Window: time.Second, MaxClipped: 2}, {Window: -1}} {
		if _, err := NewSelector(o, t0); err == nil {
			t.Errorf("NewSelector(%+v) accepted", o)
		}
	}
}
