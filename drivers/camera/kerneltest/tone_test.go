//go:build kernel

package kerneltest

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"weighin/drivers/audio/audiotest"
)

// judgeTone checks the raw samples the guest captured from snd-aloop: ffprobe
// reads them as 16 kHz mono S16_LE; the tone is found again here (its
// frequency and onset), and its onset lies within 40 ms of where the
// blocks' own timestamps put the moment it was played.
func judgeTone(t *testing.T, ffprobe, path string, kv map[string]string) {
	t.Helper()
	rate, _ := strconv.Atoi(kv["aloop_rate"])
	out, err := exec.Command(ffprobe, "-v", "error", "-f", "s16le", "-ar", kv["aloop_rate"], "-ac", "1",
		"-show_entries", "stream=codec_name,sample_rate,channels,duration", "-of", "default=noprint_wrappers=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	info := strings.Join(strings.Fields(string(out)), " ")
	t.Logf("ffprobe %s: %s", path, info)
	if !regexp.MustCompile(`codec_name=pcm_s16le sample_rate=16000 channels=1`).MatchString(info) {
		t.Errorf("ffprobe %s: %s, want 16 kHz mono pcm_s16le", path, info)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := audiotest.Samples(data)
	onset := audiotest.Onset(s, 0.1)
	want, _ := strconv.Atoi(kv["aloop_tone_sample"])
	if onset < 0 || rate == 0 {
		t.Fatalf("no tone in %s (%d samples, rate %d)", path, len(s), rate)
	}
	freq := audiotest.Frequency(s[onset:min(len(s), onset+rate*3/10)], rate, 100, 4000)
	offMs := float64(onset-want) * 1000 / float64(rate)
	t.Logf("host: tone at sample %d, %d Hz; played at sample %d by the blocks' timestamps: %.1f ms off", onset, freq, want, offMs)
	if offMs < -40 || offMs > 40 {
		t.Errorf("the tone starts %.1f ms from where it was played; want within 40 ms", offMs)
	}
	if freq < 875 || freq > 885 {
		t.Errorf("tone at %d Hz, want 880", freq)
	}
	kv["host_onset_off_ms"] = strconv.FormatFloat(offMs, 'f', 1, 64)
}
