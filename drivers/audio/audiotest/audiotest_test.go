package audiotest

import "testing"

func TestToneMeasured(t *testing.T) {
	const rate = 16000
	silence := make([]byte, 2*1234)
	s := Samples(append(silence, Tone(rate, 880, 0.5, rate/4)...))
	if o := Onset(s, 0.1); o < 1234 || o > 1234+3 {
		t.Errorf("onset %d, want 1234 (+ the few samples the sine takes to rise)", o)
	}
	if f := Frequency(s[1234:], rate, 100, 4000); f < 878 || f > 882 {
		t.Errorf("frequency %d Hz, want 880", f)
	}
	if r := RMS(s[1234:]); r < 0.34 || r > 0.36 {
		t.Errorf("RMS %.3f, want 0.5/√2", r)
	}
	if Onset(Samples(silence), 0.1) != -1 || RMS(nil) != 0 {
		t.Error("silence has an onset or a level")
	}
}

func TestFrequencies(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		for _, f := range []float64{150, 440, 880, 1000, 1234, 3000} {
			if got := Frequency(Samples(Tone(rate, f, 0.3, rate*3/10)), rate, 100, 4000); got != int(f) {
				t.Errorf("%d Hz: %v Hz tone measured at %d", rate, f, got)
			}
		}
	}
}
