// Package audiotest makes and measures test sounds for the audio tests: a
// sine burst as S16_LE, and where a tone starts and what its frequency is
// in captured samples.
package audiotest

import "math"

// Tone returns frames of a sine at freq Hz, amplitude amp (0–1 of full
// scale), as mono S16_LE, starting at phase 0.
func Tone(rate int, freq, amp float64, frames int) []byte {
	out := make([]byte, 2*frames)
	for i := range frames {
		v := int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
		out[2*i], out[2*i+1] = byte(uint16(v)), byte(uint16(v)>>8)
	}
	return out
}

// Samples decodes mono S16_LE.
func Samples(data []byte) []int16 {
	s := make([]int16, len(data)/2)
	for i := range s {
		s[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
	}
	return s
}

// Onset is the index of the first sample whose magnitude reaches level (0–1
// of full scale), or -1.
func Onset(s []int16, level float64) int {
	th := int(level * 32767)
	for i, v := range s {
		if int(v) >= th || int(v) <= -th {
			return i
		}
	}
	return -1
}

// Frequency is the frequency (Hz, to 1 Hz) between lo and hi with the most
// energy in s: the peak of an FFT over the first power-of-two samples
// (Hann window), refined by a Goertzel scan at 1 Hz steps around it.
func Frequency(s []int16, rate int, lo, hi int) int {
	n := 1
	for n*2 <= len(s) {
		n *= 2
	}
	if n < 16 {
		return 0
	}
	re, im := make([]float64, n), make([]float64, n)
	for i := range n {
		re[i] = float64(s[i]) * (0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)))
	}
	fft(re, im)
	bin := float64(rate) / float64(n)
	peak, peakP := lo, -1.0
	for k := max(1, int(float64(lo)/bin)); k < n/2 && float64(k)*bin <= float64(hi); k++ {
		if p := re[k]*re[k] + im[k]*im[k]; p > peakP {
			peak, peakP = int(math.Round(float64(k)*bin)), p
		}
	}
	best, bestP := peak, -1.0
	for f := max(lo, peak-int(bin)-1); f <= min(hi, peak+int(bin)+1); f++ {
		if p := goertzel(s, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

func goertzel(s []int16, rate, f int) float64 {
	c := 2 * math.Cos(2*math.Pi*float64(f)/float64(rate))
	var s1, s2 float64
	for _, v := range s {
		s2, s1 = s1, float64(v)+c*s1-s2
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// fft is an in-place radix-2 transform; len(re) is a power of two.
func fft(re, im []float64) {
	n := len(re)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := -2 * math.Pi / float64(size)
		for start := 0; start < n; start += size {
			for k := range size / 2 {
				c, sn := math.Cos(w*float64(k)), math.Sin(w*float64(k))
				a, b := start+k, start+k+size/2
				tr := re[b]*c - im[b]*sn
				ti := re[b]*sn + im[b]*c
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a], im[a] = re[a]+tr, im[a]+ti
			}
		}
	}
}

// RMS is the root mean square of s, 0–1 of full scale.
func RMS(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum/float64(len(s))) / 32767
}
