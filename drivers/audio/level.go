package audio

import "math"

// LevelDBFS is the block's RMS level in dB relative to full scale (a
// full-scale sine reads −3 dBFS); silence and an empty block read −120.
func (b Block) LevelDBFS() float64 {
	n := len(b.Data) / 2
	if n == 0 {
		return -120
	}
	var sum float64
	for i := range n {
		v := float64(int16(uint16(b.Data[2*i])|uint16(b.Data[2*i+1])<<8)) / 32768
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(n))
	if rms <= 1e-6 {
		return -120
	}
	return max(20*math.Log10(rms), -120)
}
