package camera

import (
	"math/bits"
)

// The software JPEG encoder for YUYV frames: baseline, 4:2:2 (the camera's
// own chroma sampling, so chroma needs no resampling), the K.1 quantisation
// tables scaled by quality as libjpeg and image/jpeg scale them, and the
// K.3 Huffman tables. Blocks are read straight from the packed YUYV rows.
// Quantisation multiplies by a reciprocal instead of dividing: 32-bit ARM
// before ARMv7VE has no divide instruction.

// unzig maps zig-zag order to natural order.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// k1Quant are the tables of ISO/IEC 10918-1 Annex K.1 (luminance,
// chrominance), in zig-zag order.
var k1Quant = [2][64]uint8{
	{
		16, 11, 12, 14, 12, 10, 16, 14,
		13, 14, 18, 17, 16, 19, 24, 40,
		26, 24, 22, 22, 24, 49, 35, 37,
		29, 40, 58, 51, 61, 60, 57, 51,
		56, 55, 64, 72, 92, 78, 64, 68,
		87, 69, 55, 56, 80, 109, 81, 87,
		95, 98, 103, 104, 103, 62, 77, 113,
		121, 112, 100, 120, 92, 101, 103, 99,
	},
	{
		17, 18, 18, 24, 21, 24, 47, 26,
		26, 47, 99, 66, 56, 66, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// huffLUT[t][v] holds the code for value v of table t (0 luminance DC,
// 1 luminance AC, 2 chrominance DC, 3 chrominance AC): length in the top 8
// bits, code in the low 24.
var huffLUT = buildHuffLUT()

func buildHuffLUT() (lut [4][256]uint32) {
	for t, spec := range k3Tables {
		code, k := uint32(0), 0
		for n, cnt := range spec.counts {
			for range cnt {
				lut[t][spec.values[k]] = uint32(n+1)<<24 | code
				code++
				k++
			}
			code <<= 1
		}
	}
	return lut
}

// yuyvEncoder holds the tables for one quality and the output being built.
type yuyvEncoder struct {
	quality int
	quant   [2][64]uint8 // zig-zag order, as written in DQT
	// recip and half quantise natural-order coefficient i of table t:
	// |c| / (8·q) rounded = (|c| + half) · recip >> 32.
	recip [2][64]uint32
	half  [2][64]uint32
	out   []byte
	acc   uint32 // bit accumulator, MSB first
	nacc  uint32
	blk   [4]block
}

func (e *yuyvEncoder) setQuality(q int) {
	if e.quality == q {
		return
	}
	e.quality = q
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	for t := range 2 {
		for z := range 64 {
			v := (int(k1Quant[t][z])*scale + 50) / 100
			v = min(max(v, 1), 255)
			e.quant[t][z] = uint8(v)
			d := uint32(8 * v) // the DCT's output is scaled by 8
			n := unzig[z]
			e.recip[t][n] = uint32((uint64(1)<<32 + uint64(d) - 1) / uint64(d))
			e.half[t][n] = d / 2
		}
	}
}

// emit appends the low n bits of v (n ≤ 16) to the entropy-coded data,
// stuffing a zero byte after every 0xFF.
func (e *yuyvEncoder) emit(v, n uint32) {
	e.acc |= v << (32 - e.nacc - n)
	e.nacc += n
	for e.nacc >= 8 {
		b := byte(e.acc >> 24)
		e.out = append(e.out, b)
		if b == 0xFF {
			e.out = append(e.out, 0)
		}
		e.acc <<= 8
		e.nacc -= 8
	}
}

func (e *yuyvEncoder) emitHuff(t int, v uint8) {
	x := huffLUT[t][v]
	e.emit(x&0xFFFFFF, x>>24)
}

// emitValue codes a run of zeros and a nonzero (or DC) value: the Huffman
// code of run<<4|size, then size bits of the value.
func (e *yuyvEncoder) emitValue(t int, run uint32, v int32) {
	a, b := v, v
	if a < 0 {
		a, b = -v, v-1
	}
	size := uint32(bits.Len32(uint32(a)))
	e.emitHuff(t, uint8(run<<4|size))
	if size > 0 {
		e.emit(uint32(b)&(1<<size-1), size)
	}
}

// quantise returns coefficient c divided by the table's step, rounded to
// nearest.
func quantise(c int32, recip, half uint32) int32 {
	if c >= 0 {
		hi, _ := bits.Mul32(uint32(c)+half, recip)
		return int32(hi)
	}
	hi, _ := bits.Mul32(uint32(-c)+half, recip)
	return -int32(hi)
}

// writeBlock codes one block (natural order, samples 0–255) and returns its
// quantised DC value.
func (e *yuyvEncoder) writeBlock(b *block, t int, prevDC int32) int32 {
	fdct(b)
	recip, half := &e.recip[t], &e.half[t]
	dc := quantise(b[0], recip[0], half[0])
	e.emitValue(2*t, 0, dc-prevDC)
	ac := 2*t + 1
	run := uint32(0)
	for z := 1; z < 64; z++ {
		n := unzig[z]
		v := quantise(b[n], recip[n], half[n])
		if v == 0 {
			run++
			continue
		}
		for run > 15 {
			e.emitHuff(ac, 0xF0)
			run -= 16
		}
		e.emitValue(ac, run, v)
		run = 0
	}
	if run > 0 {
		e.emitHuff(ac, 0x00)
	}
	return dc
}

func (e *yuyvEncoder) header(width, height int) {
	e.out = append(e.out, 0xFF, mSOI)
	// DQT: two 8-bit tables.
	e.out = append(e.out, 0xFF, 0xDB, 0, 2+2*65)
	for t := range 2 {
		e.out = append(e.out, byte(t))
		e.out = append(e.out, e.quant[t][:]...)
	}
	// SOF0: 8 bits, 3 components; Y 2×1 sampled, Cb and Cr 1×1 (4:2:2).
	e.out = append(e.out, 0xFF, 0xC0, 0, 17, 8, byte(height>>8), byte(height), byte(width>>8), byte(width), 3,
		1, 0x21, 0, 2, 0x11, 1, 3, 0x11, 1)
	e.out = append(e.out, standardDHT...)
	// SOS: the three components, tables 0/0, 1/1, 1/1; spectral 0–63.
	e.out = append(e.out, 0xFF, mSOS, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// encode codes a packed YUYV image as a JPEG appended to e.out.
func (e *yuyvEncoder) encode(yuyv []byte, width, height, stride int) {
	e.header(width, height)
	e.acc, e.nacc = 0, 0
	var dcY, dcCb, dcCr int32
	lastX := width - 1   // last pixel column
	lastC := width/2 - 1 // last chroma pair
	for my := 0; my < height; my += 8 {
		for mx := 0; mx < width; mx += 16 {
			yl, yr, cb, cr := &e.blk[0], &e.blk[1], &e.blk[2], &e.blk[3]
			interior := mx+16 <= width
			for r := range 8 {
				row := yuyv[min(my+r, height-1)*stride:]
				o := 8 * r
				if interior {
					p := row[2*mx : 2*mx+32 : 2*mx+32]
					for k := range 4 {
						q := p[4*k : 4*k+4 : 4*k+4]
						yl[o+2*k] = int32(q[0])
						yl[o+2*k+1] = int32(q[2])
						cb[o+k] = int32(q[1])
						cr[o+k] = int32(q[3])
					}
					for k := range 4 {
						q := p[16+4*k : 16+4*k+4 : 16+4*k+4]
						yr[o+2*k] = int32(q[0])
						yr[o+2*k+1] = int32(q[2])
						cb[o+4+k] = int32(q[1])
						cr[o+4+k] = int32(q[3])
					}
					continue
				}
				// Right edge: repeat the last column.
				for k := range 16 {
					x := min(mx+k, lastX)
					v := int32(row[2*x])
					if k < 8 {
						yl[o+k] = v
					} else {
						yr[o+k-8] = v
					}
				}
				for k := range 8 {
					c := min(mx/2+k, lastC)
					cb[o+k] = int32(row[4*c+1])
					cr[o+k] = int32(row[4*c+3])
				}
			}
			dcY = e.writeBlock(yl, 0, dcY)
			dcY = e.writeBlock(yr, 0, dcY)
			dcCb = e.writeBlock(cb, 1, dcCb)
			dcCr = e.writeBlock(cr, 1, dcCr)
		}
	}
	// Pad the last byte with 1 bits, then EOI.
	if e.nacc > 0 {
		e.emit(1<<(8-e.nacc)-1, 8-e.nacc)
	}
	e.out = append(e.out, 0xFF, mEOI)
}
