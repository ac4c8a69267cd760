package camera

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
)

// testJPEG encodes a w×h gradient with image/jpeg.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stripDHT removes every DHT segment from a JPEG header, as UVC cameras send
// their MJPEG frames.
func stripDHT(t testing.TB, b []byte) []byte {
	t.Helper()
	var out []byte
	out = append(out, b[:2]...)
	off := 2
	for {
		s, err := nextSegment(b, off)
		if err != nil {
			t.Fatal(err)
		}
		if s.marker != mDHT {
			out = append(out, b[s.off:s.end]...)
		}
		off = s.end
		if s.marker == mSOS {
			return append(out, b[off:]...)
		}
	}
}

func TestStandardDHTMatchesImageJPEG(t *testing.T) {
	// image/jpeg writes the K.3 tables too, as one DHT segment.
	b := testJPEG(t, 16, 16)
	var dht []byte
	_, err := header(b, func(s segment) error {
		if s.marker == mDHT {
			dht = append(dht, b[s.off:s.end]...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dht, standardDHT) {
		t.Errorf("standard DHT (%d bytes) differs from image/jpeg's (%d bytes)", len(standardDHT), len(dht))
	}
	if len(standardDHT) != 420 {
		t.Errorf("standard DHT is %d bytes, want 420 (marker, length, 4 tables)", len(standardDHT))
	}
}

func TestEnsureHuffman(t *testing.T) {
	orig := testJPEG(t, 64, 48)
	want, err := jpeg.Decode(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	bare := stripDHT(t, orig)
	if has, err := HasHuffman(bare); err != nil || has {
		t.Fatalf("stripped JPEG: HasHuffman = %v, %v", has, err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(bare)); err == nil {
		t.Fatal("image/jpeg decoded a JPEG without Huffman tables; the test needs it to fail")
	}
	fixed := EnsureHuffman(bare)
	if len(fixed) != len(bare)+len(standardDHT) {
		t.Errorf("EnsureHuffman added %d bytes, want %d", len(fixed)-len(bare), len(standardDHT))
	}
	got, err := jpeg.Decode(bytes.NewReader(fixed))
	if err != nil {
		t.Fatalf("decode after EnsureHuffman: %v", err)
	}
	if !bytes.Equal(got.(*image.YCbCr).Y, want.(*image.YCbCr).Y) || !bytes.Equal(got.(*image.YCbCr).Cb, want.(*image.YCbCr).Cb) {
		t.Error("decoded pixels differ from the original JPEG's")
	}
	// A JPEG with tables comes back as the very same slice.
	if same := EnsureHuffman(orig); &same[0] != &orig[0] || len(same) != len(orig) {
		t.Error("EnsureHuffman copied a JPEG that had tables")
	}
	// Garbage is returned unchanged.
	junk := []byte("not a jpeg")
	if got := EnsureHuffman(junk); !bytes.Equal(got, junk) {
		t.Errorf("EnsureHuffman(junk) = %q", got)
	}
}

// seg builds a marker segment with a payload.
func seg(m byte, payload ...byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xFF, m, byte(n >> 8), byte(n)}, payload...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	soi = []byte{0xFF, mSOI}
	eoi = []byte{0xFF, mEOI}
	sos = seg(mSOS, 1, 1, 0, 0, 63, 0)
)

func sof(m byte, w, h, comps int) []byte {
	p := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for i := range comps {
		p = append(p, byte(i+1), 0x11, 0)
	}
	return seg(m, p...)
}

func TestParseSOF(t *testing.T) {
	real := testJPEG(t, 321, 179)
	tests := []struct {
		name    string
		in      []byte
		want    SOF
		wantErr string
	}{
		{"image/jpeg output", real, SOF{0xC0, 8, 321, 179, 3}, ""},
		{"baseline 1280x720", cat(soi, seg(0xE0, 'J', 'F', 'I', 'F', 0), sof(0xC0, 1280, 720, 3), sos, eoi), SOF{0xC0, 8, 1280, 720, 3}, ""},
		{"progressive grey", cat(soi, sof(0xC2, 640, 480, 1), sos, eoi), SOF{0xC2, 8, 640, 480, 1}, ""},
		{"fill bytes before markers", cat(soi, []byte{0xFF, 0xFF}, sof(0xC1, 8, 8, 3), sos), SOF{0xC1, 8, 8, 8, 3}, ""},
		{"DHT is not a SOF", cat(soi, seg(mDHT, 0), sof(0xC0, 2, 2, 3), sos), SOF{0xC0, 8, 2, 2, 3}, ""},
		{"empty", nil, SOF{}, "no SOI"},
		{"not a JPEG", []byte("GIF89a"), SOF{}, "no SOI"},
		{"no SOF", cat(soi, seg(0xE0, 1, 2), sos, eoi), SOF{}, "no SOF marker"},
		{"EOI before SOS", cat(soi, sof(0xC0, 8, 8, 3), eoi), SOF{}, "EOI before SOS"},
		{"height from DNL", cat(soi, sof(0xC0, 8, 0, 3), sos), SOF{}, "DNL"},
		{"SOF too short", cat(soi, seg(0xC0, 8, 0, 8, 0), sos), SOF{}, "need at least 6"},
		{"components missing", cat(soi, seg(0xC0, 8, 0, 8, 0, 8, 3, 1, 0x11), sos), SOF{}, "components"},
		{"length past the end", cat(soi, []byte{0xFF, 0xC0, 0x01, 0x00, 8}), SOF{}, "runs past the end"},
		{"truncated after SOI", soi, SOF{}, "truncated"},
		{"garbage between segments", cat(soi, []byte{0x12}, sof(0xC0, 8, 8, 3)), SOF{}, "expected a marker"},
		{"length below 2", cat(soi, []byte{0xFF, 0xE1, 0, 1}), SOF{}, "length 1"},
		{"second SOI", cat(soi, soi), SOF{}, "second SOI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSOF(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadJPEG) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSOF: err %v, want ErrBadJPEG containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSOF = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestJPEGLen(t *testing.T) {
	a, b := testJPEG(t, 32, 16), testJPEG(t, 8, 8)
	entropy := []byte{0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF, 0xD9}
	progressive := cat(soi, sof(0xC2, 8, 8, 1), sos, []byte{1, 2}, seg(mDHT, 0), sos, []byte{3}, eoi)
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr string
	}{
		{"one image", a, len(a), ""},
		{"first of a stream", cat(a, b, a), len(a), ""},
		{"stuffing, RST and fill bytes", cat(soi, sof(0xC0, 8, 8, 3), sos, entropy, []byte("next")), len(soi) + len(sof(0xC0, 8, 8, 3)) + len(sos) + len(entropy), ""},
		{"progressive: tables between scans", progressive, len(progressive), ""},
		{"cut in the entropy data", a[:len(a)-10], 0, "no EOI"},
		{"cut before the scan", a[:100], 0, ""},
		{"SOI inside image", cat(soi, sof(0xC0, 8, 8, 3), sos, []byte{1}, soi), 0, "SOI inside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := JPEGLen(tt.in)
			if tt.want == 0 {
				if !errors.Is(err, ErrBadJPEG) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("JPEGLen: %d, %v; want ErrBadJPEG containing %q", n, err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.want {
				t.Fatalf("JPEGLen = %d, %v; want %d", n, err, tt.want)
			}
		})
	}
}

// FuzzJPEGMarkers checks the invariants of the marker code on any input:
// no panic; JPEGLen's prefix is itself a complete JPEG; EnsureHuffman either
// leaves the data alone or adds exactly the standard tables, keeps the SOF,
// and yields data that has tables.
func FuzzJPEGMarkers(f *testing.F) {
	real := testJPEG(f, 24, 16)
	f.Add(real)
	f.Add(stripDHT(f, real))
	f.Add(cat(real, real))
	f.Add(cat(soi, sof(0xC2, 8, 8, 1), sos, []byte{1, 0xFF, 0, 0xFF, 0xD0}, seg(mDHT, 0), sos, []byte{3}, eoi))
	f.Add(cat(soi, []byte{0xFF, 0xFF}, sof(0xC0, 8, 0, 3), sos))
	f.Add([]byte{0xFF, 0xD8, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		sofIn, sofErr := ParseSOF(b)
		if n, err := JPEGLen(b); err == nil {
			if n <= 0 || n > len(b) {
				t.Fatalf("JPEGLen = %d for %d bytes", n, len(b))
			}
			if m, err := JPEGLen(b[:n]); err != nil || m != n {
				t.Fatalf("JPEGLen of its own prefix = %d, %v; want %d", m, err, n)
			}
		}
		out := EnsureHuffman(b)
		if !bytes.Equal(b, in) {
			t.Fatal("EnsureHuffman modified its input")
		}
		has, err := HasHuffman(b)
		switch {
		case err != nil || has:
			if !bytes.Equal(out, b) {
				t.Fatal("EnsureHuffman changed data that has tables or does not parse")
			}
		default:
			if len(out) != len(b)+len(standardDHT) {
				t.Fatalf("EnsureHuffman added %d bytes", len(out)-len(b))
			}
			if has2, err := HasHuffman(out); err != nil || !has2 {
				t.Fatalf("after EnsureHuffman: HasHuffman = %v, %v", has2, err)
			}
			sofOut, err := ParseSOF(out)
			if (err == nil) != (sofErr == nil) || sofOut != sofIn {
				t.Fatalf("SOF changed by EnsureHuffman: %+v %v -> %+v %v", sofIn, sofErr, sofOut, err)
			}
		}
	})
}
