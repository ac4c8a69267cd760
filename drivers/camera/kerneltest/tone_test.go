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

// judgeSound checks the recording of vivid and the loopback: ffprobe shows a
// video and an audio track (16 kHz mono PCM); ffmpeg decodes the audio onto
// the file's time axis (gaps filled, from time 0); the tone is found there,
// at its frequency, within 40 ms of the mark the recorder wrote for the
// moment it was played.
func judgeSound(t *testing.T, paths map[string]string, path string, kv map[string]string) {
	t.Helper()
	out, err := exec.Command(paths["ffprobe"], "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height,sample_rate,channels",
		"-of", "compact=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	streams := strings.Fields(string(out))
	t.Logf("ffprobe %s: %v", path, streams)
	var video, sound bool
	for _, st := range streams {
		video = video || strings.Contains(st, "codec_type=video") && strings.Contains(st, "width=320|height=180")
		sound = sound || st == "codec_name=pcm_s16le|codec_type=audio|sample_rate=16000|channels=1"
	}
	if !video || !sound {
		t.Errorf("%s: streams %v; want 320x180 video and 16 kHz mono PCM audio", path, streams)
	}
	kv["av_streams"] = strings.Join(streams, " ")
	// The recorder's own time for the mark: its "MARK: tone" subtitle, as
	// ffmpeg reads it (the chapters sit behind a trailing SeekHead that
	// ffmpeg does not follow in a file written for power cuts).
	srt, err := exec.Command(paths["ffmpeg"], "-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: the subtitles of %s: %v", path, err)
	}
	m := regexp.MustCompile(`(\d\d):(\d\d):(\d\d),(\d\d\d) --> [^\n]*\nMARK: tone\n`).FindStringSubmatch(string(srt))
	if m == nil {
		t.Fatalf("%s: no subtitle for the tone's mark in:\n%s", path, srt)
	}
	var hms [4]float64
	for i := range hms {
		hms[i], _ = strconv.ParseFloat(m[i+1], 64)
	}
	mark := hms[0]*3600 + hms[1]*60 + hms[2] + hms[3]/1000
	pcm, err := exec.Command(paths["ffmpeg"], "-v", "error", "-i", path, "-map", "0:a:0", "-af", "aresample=async=1:first_pts=0",
		"-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", "16000", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: decode the audio of %s: %v", path, err)
	}
	s := audiotest.Samples(pcm)
	onset := audiotest.Onset(s, 0.1)
	if onset < 0 {
		t.Fatalf("%s: no tone in the audio track (%d samples)", path, len(s))
	}
	freq := audiotest.Frequency(s[onset:min(len(s), onset+16000*3/10)], 16000, 100, 4000)
	offMs := (float64(onset)/16000 - mark) * 1000
	t.Logf("host: the audio track's tone starts at %.3f s, %d Hz; the recorder's mark at %.3f s: %.1f ms off", float64(onset)/16000, freq, mark, offMs)
	if offMs < -40 || offMs > 40 {
		t.Errorf("the tone starts %.1f ms from the recorder's mark; want within 40 ms", offMs)
	}
	if freq < 875 || freq > 885 {
		t.Errorf("tone at %d Hz in the recording, want 880", freq)
	}
	kv["av_onset_off_ms"] = strconv.FormatFloat(offMs, 'f', 1, 64)
	kv["av_freq"] = strconv.Itoa(freq)
}
