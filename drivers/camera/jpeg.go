package camera

import (
	"errors"
	"fmt"
)

// ErrBadJPEG is returned (wrapped, with the offset and reason) for data that
// is not a well-formed baseline or progressive JPEG.
var ErrBadJPEG = errors.New("camera: bad JPEG")

// JPEG marker codes (ISO/IEC 10918-1, Table B.1).
const (
	mSOI = 0xD8
	mEOI = 0xD9
	mSOS = 0xDA
	mDHT = 0xC4
	mDAC = 0xCC
	mJPG = 0xC8
	mTEM = 0x01
)

// SOF is what a JPEG frame header (SOFn marker) says about the image.
type SOF struct {
	// Marker is the SOF marker code, 0xC0 (baseline) … 0xCF.
	Marker byte
	// Precision is the sample precision in bits (8 for camera MJPEG).
	Precision int
	// Width and Height are the image size in pixels.
	Width, Height int
	// Components is the number of colour components (3 for YCbCr, 1 grey).
	Components int
}

// segment is one marker segment of a JPEG header.
type segment struct {
	marker byte
	off    int // offset of the 0xFF of the marker
	end    int // offset just past the segment (marker + length field + payload)
}

func badJPEG(off int, format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrBadJPEG, off, fmt.Sprintf(format, args...))
}

func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != mDHT && m != mJPG && m != mDAC
}

// nextSegment reads the marker segment that starts at b[off] (fill bytes
// 0xFF before a marker are allowed). It does not follow entropy-coded data.
func nextSegment(b []byte, off int) (segment, error) {
	i := off
	if i >= len(b) {
		return segment{}, badJPEG(i, "truncated: no marker")
	}
	if b[i] != 0xFF {
		return segment{}, badJPEG(i, "expected a marker, found 0x%02x", b[i])
	}
	for i < len(b) && b[i] == 0xFF {
		i++
	}
	if i >= len(b) {
		return segment{}, badJPEG(off, "truncated marker")
	}
	m := b[i]
	if m == 0 {
		return segment{}, badJPEG(i-1, "stuffed byte 0xFF00 outside entropy-coded data")
	}
	start := i - 1
	i++
	if m == mSOI || m == mEOI || m == mTEM || (m >= 0xD0 && m <= 0xD7) {
		return segment{marker: m, off: start, end: i}, nil
	}
	if i+2 > len(b) {
		return segment{}, badJPEG(start, "truncated length of marker 0x%02x", m)
	}
	n := int(b[i])<<8 | int(b[i+1])
	if n < 2 {
		return segment{}, badJPEG(start, "marker 0x%02x has length %d", m, n)
	}
	if i+n > len(b) {
		return segment{}, badJPEG(start, "marker 0x%02x length %d runs past the end (%d bytes)", m, n, len(b))
	}
	return segment{marker: m, off: start, end: i + n}, nil
}

// header walks the marker segments from SOI up to and including the first
// SOS and calls fn for each. It returns the segment list's SOS.
func header(b []byte, fn func(s segment) error) (segment, error) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != mSOI {
		return segment{}, badJPEG(0, "no SOI marker")
	}
	off := 2
	for {
		s, err := nextSegment(b, off)
		if err != nil {
			return segment{}, err
		}
		switch s.marker {
		case mSOI:
			return segment{}, badJPEG(s.off, "second SOI before SOS")
		case mEOI:
			return segment{}, badJPEG(s.off, "EOI before SOS")
		}
		if fn != nil {
			if err := fn(s); err != nil {
				return segment{}, err
			}
		}
		if s.marker == mSOS {
			return s, nil
		}
		off = s.end
	}
}

// ParseSOF returns the frame header of a JPEG: the real image size, read from
// the SOFn marker segment rather than from what a driver was asked for.
func ParseSOF(jpeg []byte) (SOF, error) {
	var sof SOF
	found := false
	_, err := header(jpeg, func(s segment) error {
		if !isSOF(s.marker) || found {
			return nil
		}
		p := jpeg[s.off+4 : s.end]
		if len(p) < 6 {
			return badJPEG(s.off, "SOF segment of %d bytes, need at least 6", len(p))
		}
		sof = SOF{
			Marker:     s.marker,
			Precision:  int(p[0]),
			Height:     int(p[1])<<8 | int(p[2]),
			Width:      int(p[3])<<8 | int(p[4]),
			Components: int(p[5]),
		}
		if len(p) < 6+3*sof.Components {
			return badJPEG(s.off, "SOF lists %d components in %d bytes", sof.Components, len(p))
		}
		if sof.Width == 0 || sof.Height == 0 {
			return badJPEG(s.off, "SOF size %dx%d (height from DNL is not supported)", sof.Width, sof.Height)
		}
		if sof.Components == 0 {
			return badJPEG(s.off, "SOF with no components")
		}
		found = true
		return nil
	})
	if err != nil {
		return SOF{}, err
	}
	if !found {
		return SOF{}, badJPEG(0, "no SOF marker before SOS")
	}
	return sof, nil
}

// HasHuffman reports whether the JPEG header defines Huffman tables (a DHT
// segment before the first scan).
func HasHuffman(jpeg []byte) (bool, error) {
	has := false
	_, err := header(jpeg, func(s segment) error {
		if s.marker == mDHT {
			has = true
		}
		return nil
	})
	return has, err
}

// EnsureHuffman returns the JPEG with the standard Huffman tables (ISO/IEC
// 10918-1 Annex K.3, the tables UVC cameras assume when they omit them)
// inserted just before the first SOS marker, when its header has no DHT
// segment. A JPEG that already has tables is returned as is (the same slice).
// Data whose header cannot be parsed is also returned unchanged: the decoder
// that follows reports it. A new slice is allocated when tables are added.
func EnsureHuffman(jpeg []byte) []byte {
	has := false
	sos, err := header(jpeg, func(s segment) error {
		if s.marker == mDHT {
			has = true
		}
		return nil
	})
	if err != nil || has {
		return jpeg
	}
	out := make([]byte, 0, len(jpeg)+len(standardDHT))
	out = append(out, jpeg[:sos.off]...)
	out = append(out, standardDHT...)
	out = append(out, jpeg[sos.off:]...)
	return out
}

// JPEGLen returns the length of the complete JPEG at the start of b: from
// SOI through EOI, following the entropy-coded data of every scan (stuffed
// 0xFF00 bytes and RSTn markers are part of it). It is how a stream of
// concatenated JPEGs (an MJPEG file) is split into frames.
func JPEGLen(b []byte) (int, error) {
	sos, err := header(b, nil)
	if err != nil {
		return 0, err
	}
	i, err := scanEntropy(b, sos.end)
	if err != nil {
		return 0, err
	}
	// After entropy-coded data come more segments (the tables and SOS of a
	// progressive image's next scan) or EOI.
	for {
		s, err := nextSegment(b, i)
		if err != nil {
			return 0, err
		}
		switch s.marker {
		case mEOI:
			return s.end, nil
		case mSOI:
			return 0, badJPEG(s.off, "SOI inside an image")
		case mSOS:
			if i, err = scanEntropy(b, s.end); err != nil {
				return 0, err
			}
		default:
			i = s.end
		}
	}
}

// scanEntropy returns the offset of the first marker after the
// entropy-coded data that starts at off.
func scanEntropy(b []byte, off int) (int, error) {
	for i := off; i+1 < len(b); i++ {
		if b[i] != 0xFF {
			continue
		}
		m := b[i+1]
		if m == 0 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF {
			// Stuffed byte, restart marker, or fill byte before a marker.
			if m != 0xFF {
				i++
			}
			continue
		}
		return i, nil
	}
	return 0, badJPEG(len(b), "truncated entropy-coded data (no EOI)")
}
