package motion

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"weighin/drivers/camera"
)

// Grid is a frame's luma at one value per 8×8 block: the block's mean
// brightness, 0–255, row by row. It is what the motion check compares.
type Grid struct {
	// W and H are the grid's size in blocks (the frame's size / 8, rounded
	// up).
	W, H int
	Y    []uint8
}

// At returns the block at column x, row y.
func (g Grid) At(x, y int) uint8 { return g.Y[y*g.W+x] }

// ErrUnsupported: the JPEG is not baseline Huffman with one interleaved
// scan; Blocks then decodes it in full instead (as after any error of the
// DC path).
var ErrUnsupported = errors.New("motion: not a baseline single-scan JPEG")

// Blocks returns the luma grid of a JPEG frame. For the baseline JPEGs
// cameras send (and the station's own YUYV encoder writes) it reads only
// the DC coefficients: the entropy-coded data is Huffman-decoded to find
// each block's DC difference, the AC coefficients are skipped, and no
// inverse DCT, upsampling or colour conversion is done. The DC coefficient
// of a block, dequantised, is 8 × (its mean − 128). Frames without Huffman
// tables get the standard ones (camera.EnsureHuffman). Any other JPEG
// (progressive, several scans) is decoded with image/jpeg and averaged per
// block, which gives the same grid at several times the cost.
func Blocks(frame []byte) (Grid, error) {
	g, err := dcBlocks(camera.EnsureHuffman(frame))
	if err != nil {
		// Not baseline, or damaged in a way image/jpeg may still cope with.
		return decodeBlocks(frame)
	}
	return g, nil
}

// decodeBlocks is the slow path: a full decode, then block means.
func decodeBlocks(frame []byte) (Grid, error) {
	img, err := jpeg.Decode(bytes.NewReader(camera.EnsureHuffman(frame)))
	if err != nil {
		return Grid{}, fmt.Errorf("motion: decode: %w", err)
	}
	b := img.Bounds()
	var y func(x, y int) uint8
	switch m := img.(type) {
	case *image.YCbCr:
		y = func(px, py int) uint8 { return m.Y[m.YOffset(px, py)] }
	case *image.Gray:
		y = func(px, py int) uint8 { return m.Pix[m.PixOffset(px, py)] }
	default:
		y = func(px, py int) uint8 {
			r, g, bl, _ := img.At(px, py).RGBA()
			yy, _, _ := colorYCbCr(r, g, bl)
			return yy
		}
	}
	g := Grid{W: (b.Dx() + 7) / 8, H: (b.Dy() + 7) / 8}
	g.Y = make([]uint8, g.W*g.H)
	for by := range g.H {
		for bx := range g.W {
			sum, n := 0, 0
			for py := b.Min.Y + by*8; py < min(b.Min.Y+by*8+8, b.Max.Y); py++ {
				for px := b.Min.X + bx*8; px < min(b.Min.X+bx*8+8, b.Max.X); px++ {
					sum += int(y(px, py))
					n++
				}
			}
			g.Y[by*g.W+bx] = uint8((sum + n/2) / n)
		}
	}
	return g, nil
}

func colorYCbCr(r, g, b uint32) (uint8, uint8, uint8) {
	yy := (19595*r + 38470*g + 7471*b + 1<<15) >> 24
	return uint8(yy), 0, 0
}

// huff is a Huffman table: a 9-bit lookup for short codes and the
// canonical code ranges for the rest (ISO/IEC 10918-1, F.2.2.3).
type huff struct {
	lut     [1 << lutBits]uint16 // length<<8 | value; 0: longer than lutBits
	maxcode [18]int32            // largest code of each length, -1 if none
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	defined bool
}

const lutBits = 9

func buildHuff(counts [16]uint8, vals []uint8) (huff, error) {
	var h huff
	h.vals = vals
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		h.valptr[l], h.mincode[l] = k, code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			for i := range n {
				c := code + i
				if c >= 1<<l {
					return h, errors.New("motion: bad Huffman table: too many codes")
				}
				if l <= lutBits {
					shift := lutBits - l
					for j := range int32(1) << shift {
						h.lut[c<<shift|j] = uint16(l)<<8 | uint16(vals[k+i])
					}
				}
			}
			h.maxcode[l] = code + n - 1
		}
		code = (code + n) << 1
		k += n
	}
	h.maxcode[17] = 1<<30 - 1
	h.defined = true
	return h, nil
}

// bits reads the entropy-coded segment: bytes with 0xFF00 unstuffed; at a
// marker it supplies zero bits and notes it.
type bits struct {
	b      []byte
	pos    int
	acc    uint64
	n      uint
	marker bool
	pad    int // zero bytes supplied past a marker or the end
}

func (r *bits) fill() {
	for r.n <= 56 {
		var c byte
		switch {
		case r.marker || r.pos >= len(r.b):
			r.pad++
		case r.b[r.pos] != 0xFF:
			c = r.b[r.pos]
			r.pos++
		case r.pos+1 < len(r.b) && r.b[r.pos+1] == 0:
			c = 0xFF
			r.pos += 2
		default:
			r.marker = true
			r.pad++
		}
		r.acc = r.acc<<8 | uint64(c)
		r.n += 8
	}
}

func (r *bits) get(k uint) int32 {
	if r.n < k {
		r.fill()
	}
	r.n -= k
	return int32(r.acc>>r.n) & (1<<k - 1)
}

func (r *bits) decode(h *huff) (uint8, error) {
	if r.n < 16 {
		r.fill()
	}
	if e := h.lut[(r.acc>>(r.n-lutBits))&(1<<lutBits-1)]; e != 0 {
		r.n -= uint(e >> 8)
		return uint8(e), nil
	}
	for l := lutBits + 1; l <= 16; l++ {
		code := int32(r.acc>>(r.n-uint(l))) & (1<<l - 1)
		if code <= h.maxcode[l] {
			r.n -= uint(l)
			return h.vals[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, errors.New("motion: bad Huffman code")
}

// extend is ISO/IEC 10918-1's EXTEND: a value of s bits to its signed
// value.
func extend(v int32, s uint8) int32 {
	if v < 1<<(s-1) {
		return v - 1<<s + 1
	}
	return v
}

// restart skips to after the next RSTn marker and clears the bit buffer.
func (r *bits) restart() error {
	r.acc, r.n, r.marker, r.pad = 0, 0, false, 0
	for i := r.pos; i+1 < len(r.b); i++ {
		if r.b[i] == 0xFF && r.b[i+1] >= 0xD0 && r.b[i+1] <= 0xD7 {
			r.pos = i + 2
			return nil
		}
	}
	return errors.New("motion: missing restart marker")
}

type component struct {
	id, h, v, tq int
	td, ta       int
	pred         int32
}

// dcBlocks reads the DC coefficients of a baseline JPEG (see Blocks).
func dcBlocks(b []byte) (Grid, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return Grid{}, fmt.Errorf("motion: %w: no SOI", camera.ErrBadJPEG)
	}
	var (
		q       [4]int32 // DC quantiser of each table
		dc, ac  [4]huff
		comps   []component
		w, hgt  int
		ri      int
		sofSeen bool
	)
	pos := 2
	for {
		for pos < len(b) && b[pos] == 0xFF && pos+1 < len(b) && b[pos+1] == 0xFF {
			pos++
		}
		if pos+4 > len(b) || b[pos] != 0xFF {
			return Grid{}, fmt.Errorf("%w: offset %d: expected a marker", camera.ErrBadJPEG, pos)
		}
		m := b[pos+1]
		n := int(b[pos+2])<<8 | int(b[pos+3])
		if n < 2 || pos+2+n > len(b) {
			return Grid{}, fmt.Errorf("%w: offset %d: marker 0x%02x of length %d", camera.ErrBadJPEG, pos, m, n)
		}
		seg := b[pos+4 : pos+2+n]
		pos += 2 + n
		switch {
		case m == 0xDB: // DQT
			for len(seg) > 0 {
				pq, tq := seg[0]>>4, int(seg[0]&15)
				size := 65
				if pq == 1 {
					size = 129
				}
				if tq > 3 || len(seg) < size {
					return Grid{}, fmt.Errorf("%w: bad DQT", camera.ErrBadJPEG)
				}
				if pq == 1 {
					q[tq] = int32(seg[1])<<8 | int32(seg[2])
				} else {
					q[tq] = int32(seg[1])
				}
				seg = seg[size:]
			}
		case m == 0xC4: // DHT
			for len(seg) > 0 {
				if len(seg) < 17 {
					return Grid{}, fmt.Errorf("%w: bad DHT", camera.ErrBadJPEG)
				}
				tc, th := seg[0]>>4, int(seg[0]&15)
				var counts [16]uint8
				total := 0
				for i := range 16 {
					counts[i] = seg[1+i]
					total += int(seg[1+i])
				}
				if th > 3 || tc > 1 || len(seg) < 17+total || total > 256 {
					return Grid{}, fmt.Errorf("%w: bad DHT", camera.ErrBadJPEG)
				}
				h, err := buildHuff(counts, seg[17:17+total])
				if err != nil {
					return Grid{}, err
				}
				if tc == 0 {
					dc[th] = h
				} else {
					ac[th] = h
				}
				seg = seg[17+total:]
			}
		case m == 0xDD: // DRI
			if len(seg) < 2 {
				return Grid{}, fmt.Errorf("%w: bad DRI", camera.ErrBadJPEG)
			}
			ri = int(seg[0])<<8 | int(seg[1])
		case m == 0xC0 || m == 0xC1: // baseline or extended sequential, Huffman
			if len(seg) < 6 || seg[0] != 8 {
				return Grid{}, fmt.Errorf("%w: bad SOF (or not 8-bit)", ErrUnsupported)
			}
			hgt, w = int(seg[1])<<8|int(seg[2]), int(seg[3])<<8|int(seg[4])
			nf := int(seg[5])
			if nf < 1 || nf > 4 || len(seg) < 6+3*nf || w == 0 || hgt == 0 {
				return Grid{}, fmt.Errorf("%w: bad SOF", camera.ErrBadJPEG)
			}
			for i := range nf {
				c := seg[6+3*i:]
				comps = append(comps, component{id: int(c[0]), h: int(c[1] >> 4), v: int(c[1] & 15), tq: int(c[2] & 3)})
				if comps[i].h < 1 || comps[i].h > 4 || comps[i].v < 1 || comps[i].v > 4 {
					return Grid{}, fmt.Errorf("%w: bad sampling factors", camera.ErrBadJPEG)
				}
			}
			sofSeen = true
		case m >= 0xC2 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return Grid{}, fmt.Errorf("%w: SOF 0x%02x", ErrUnsupported, m)
		case m == 0xDA: // SOS
			if !sofSeen {
				return Grid{}, fmt.Errorf("%w: SOS before SOF", camera.ErrBadJPEG)
			}
			ns := int(seg[0])
			if ns != len(comps) || len(seg) < 1+2*ns {
				return Grid{}, fmt.Errorf("%w: a scan of %d of %d components", ErrUnsupported, ns, len(comps))
			}
			for i := range ns {
				id, t := int(seg[1+2*i]), seg[2+2*i]
				if comps[i].id != id {
					return Grid{}, fmt.Errorf("%w: scan components out of order", ErrUnsupported)
				}
				comps[i].td, comps[i].ta = int(t>>4)&3, int(t&15)&3
				if !dc[comps[i].td].defined || !ac[comps[i].ta].defined {
					return Grid{}, fmt.Errorf("%w: scan uses an undefined Huffman table", camera.ErrBadJPEG)
				}
			}
			return scanDC(b[pos:], comps, q, &dc, &ac, w, hgt, ri)
		case m == 0xD9:
			return Grid{}, fmt.Errorf("%w: EOI before a scan", camera.ErrBadJPEG)
		}
	}
}

func scanDC(data []byte, comps []component, q [4]int32, dc, ac *[4]huff, w, hgt, ri int) (Grid, error) {
	hmax, vmax := 1, 1
	for _, c := range comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	if len(comps) == 1 {
		// One component: the MCU is one block, whatever its factors.
		comps[0].h, comps[0].v, hmax, vmax = 1, 1, 1, 1
	}
	mx, my := (w+8*hmax-1)/(8*hmax), (hgt+8*vmax-1)/(8*vmax)
	y := comps[0]
	gw, gh := mx*y.h, my*y.v
	full := make([]uint8, gw*gh)
	r := bits{b: data}
	q0 := q[y.tq]
	mcus := mx * my
	for i := range mcus {
		if ri > 0 && i > 0 && i%ri == 0 {
			if err := r.restart(); err != nil {
				return Grid{}, err
			}
			for c := range comps {
				comps[c].pred = 0
			}
		}
		bx0, by0 := (i%mx)*y.h, (i/mx)*y.v
		for c := range comps {
			cp := &comps[c]
			for k := range cp.h * cp.v {
				s, err := r.decode(&dc[cp.td])
				if err != nil {
					return Grid{}, err
				}
				if s > 11 {
					return Grid{}, fmt.Errorf("%w: DC size %d", camera.ErrBadJPEG, s)
				}
				if s > 0 {
					cp.pred += extend(r.get(uint(s)), s)
				}
				for j := 1; j < 64; j++ {
					rs, err := r.decode(&ac[cp.ta])
					if err != nil {
						return Grid{}, err
					}
					run, size := int(rs>>4), uint(rs&15)
					if size == 0 {
						if run != 15 {
							break // end of block
						}
						j += 15
						continue
					}
					j += run
					r.get(size)
				}
				if c == 0 {
					v := cp.pred * q0 // 8 × (mean − 128), rounded to the nearest
					if v >= 0 {
						v = 128 + (v+4)/8
					} else {
						v = 128 - (-v+4)/8
					}
					full[(by0+k/cp.h)*gw+bx0+k%cp.h] = uint8(max(0, min(255, v)))
				}
			}
		}
		if r.pad*8 > int(r.n) { // zero bits past the data were used
			return Grid{}, fmt.Errorf("%w: entropy-coded data ends after %d of %d MCUs", camera.ErrBadJPEG, i, mcus)
		}
	}
	g := Grid{W: (w + 7) / 8, H: (hgt + 7) / 8}
	if len(comps) > 1 && y.h < hmax {
		g.W = (w*y.h/hmax + 7) / 8
	}
	if len(comps) > 1 && y.v < vmax {
		g.H = (hgt*y.v/vmax + 7) / 8
	}
	g.Y = make([]uint8, g.W*g.H)
	for row := range g.H {
		copy(g.Y[row*g.W:(row+1)*g.W], full[row*gw:row*gw+g.W])
	}
	return g, nil
}
