package recorder

import (
	"bufio"
	"bytes"
	"testing"
)

func TestVintRoundTrip(t *testing.T) {
	tests := []struct {
		n    uint64
		want []byte
	}{
		{0, []byte{0x80}},
		{1, []byte{0x81}},
		{126, []byte{0xFE}},
		{127, []byte{0x40, 0x7F}}, // 0xFF would mean "unknown"
		{128, []byte{0x40, 0x80}},
		{16382, []byte{0x7F, 0xFE}},
		{16383, []byte{0x20, 0x3F, 0xFF}},
		{1<<56 - 2, []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE}},
	}
	for _, tt := range tests {
		got := appendSize(nil, tt.n)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("appendSize(%d) = % x, want % x", tt.n, got, tt.want)
		}
		if sizeLen(tt.n) != len(tt.want) {
			t.Errorf("sizeLen(%d) = %d, want %d", tt.n, sizeLen(tt.n), len(tt.want))
		}
		e := &ebmlReader{br: bufio.NewReader(bytes.NewReader(got)), size: int64(len(got))}
		v, unknown, err := e.vint(false)
		if err != nil || unknown || v != tt.n {
			t.Errorf("vint(% x) = %d, %v, %v; want %d", got, v, unknown, err, tt.n)
		}
	}
	e := &ebmlReader{br: bufio.NewReader(bytes.NewReader(unknownSize8[:])), size: 8}
	if _, unknown, err := e.vint(false); err != nil || !unknown {
		t.Errorf("unknown size: %v, %v", unknown, err)
	}
}

func TestElements(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"uint 0", appendUint(nil, idTrackNumber, 0), []byte{0xD7, 0x81, 0x00}},
		{"uint 1000000", appendUint(nil, idTimestampScale, 1000000), []byte{0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40}},
		{"string", appendString(nil, idCodecID, "V_MJPEG"), append([]byte{0x86, 0x87}, "V_MJPEG"...)},
		{"master", appendMaster(nil, idVideo, []byte{0xB0, 0x81, 0x01}), []byte{0xE0, 0x83, 0xB0, 0x81, 0x01}},
		{"4-byte id", appendID(nil, idSegment), []byte{0x18, 0x53, 0x80, 0x67}},
		{"float", appendFloat(nil, idDuration, 1), []byte{0x44, 0x89, 0x88, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: % x, want % x", tt.name, tt.got, tt.want)
		}
	}
}

func TestSizeClass(t *testing.T) {
	for n := 1; n < 8<<20; n += 1 + n/97 {
		cls, c := sizeClass(n)
		if c < n || (n > 4096 && float64(c) > float64(n)*1.125+1) {
			t.Fatalf("sizeClass(%d) = %d: capacity not within 1/8 above", n, c)
		}
		if cls2, c2 := sizeClass(c); cls2 != cls || c2 != c {
			t.Fatalf("sizeClass(%d) = %d,%d but sizeClass(%d) = %d,%d", n, cls, c, c, cls2, c2)
		}
	}
	var p bufPool
	p.max = 2
	b := p.get(120000)
	p.put(b)
	if b2 := p.get(119000); &b2[:1][0] != &b[:1][0] {
		t.Error("a buffer of the same class was not reused")
	}
}
