package recorder

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
)

// avStream is a synthetic camera and microphone: frames at 30 fps and
// 20 ms audio blocks of a 440 Hz tone, each block pushed once its last
// sample is captured (as a driver delivers it), interleaved with the
// frames in the order they would arrive.
type avStream struct {
	base    time.Time
	format  audio.Format
	block   int // sample frames per block
	js      [][]byte
	frame   int // next frame
	sample  int64
	skipped map[int]bool // audio block indices not delivered (a gap)
	lost    map[int]int  // Lost reported with a block
	blocks  []audio.Block
}

func newAV(t testing.TB, rate int) *avStream {
	return &avStream{base: time.Now(), format: audio.Format{Rate: rate, Channels: 1}, block: rate / 50,
		js: smallJPEGs(t), skipped: map[int]bool{}, lost: map[int]int{}}
}

// tone is sample i of the stream.
func tone(i int64, rate int) int16 {
	return int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
}

func (s *avStream) blockAt(k int) audio.Block {
	first := int64(k) * int64(s.block)
	d := make([]byte, 2*s.block)
	for j := range s.block {
		binary.LittleEndian.PutUint16(d[2*j:], uint16(tone(first+int64(j), s.format.Rate)))
	}
	return audio.Block{At: s.base.Add(samplesDuration(first, s.format.Rate)), Data: d, Format: s.format, Lost: s.lost[k]}
}

// until pushes everything captured before frame n.
func (s *avStream) until(r *Recorder, n int) {
	for ; s.frame < n; s.frame++ {
		ft := s.base.Add(time.Duration(s.frame) * fps30)
		for {
			k := int(s.sample / int64(s.block))
			b := s.blockAt(k)
			if b.At.Add(b.Duration()).After(ft) {
				break
			}
			s.sample += int64(s.block)
			if s.skipped[k] {
				continue
			}
			s.blocks = append(s.blocks, b)
			r.PushAudio(b)
		}
		r.Push(camera.Frame{Data: s.js[s.frame%len(s.js)], Seq: uint64(s.frame), Time: ft, Width: 320, Height: 240})
	}
}

// pcmFrom is the audio the file should hold: the delivered blocks from t0
// (the first frame's time) on, the first one cut there.
func (s *avStream) pcmFrom(t0 time.Time) []byte {
	var out []byte
	for _, b := range s.blocks {
		if !b.At.Add(b.Duration()).After(t0) {
			continue
		}
		d := b.Data
		if at := t0.Sub(b.At); at > 0 {
			skip := (int64(at)*int64(b.Format.Rate) + int64(time.Second) - 1) / int64(time.Second)
			d = d[2*skip:]
		}
		out = append(out, d...)
	}
	return out
}

// decodePCM decodes a file's audio track to raw S16_LE with ffmpeg,
// tolerating the messages of a cut file when loose.
func decodePCM(t testing.TB, path string, loose bool) []byte {
	t.Helper()
	cmd := exec.Command(tool(t, "ffmpeg"), "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decoding the audio of %s: %v\n%s", path, err, stderr.String())
	}
	msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), "File ended prematurely", ""))
	if i := strings.Index(msg, "[matroska,webm @ "); loose && i >= 0 && strings.HasSuffix(msg, "]") {
		msg = msg[:i]
	}
	if msg != "" {
		t.Errorf("ffmpeg decoding the audio of %s complained:\n%s", path, stderr.String())
	}
	return out
}

// audioPackets lists the audio packets of a file with ffprobe.
func audioPackets(t testing.TB, path string) []packet {
	t.Helper()
	out, err := exec.Command(tool(t, "ffprobe"), "-v", "error", "-select_streams", "a:0",
		"-show_entries", "packet=pts_time,duration_time,size,pos", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe audio packets %s: %v", path, err)
	}
	return parsePackets(t, string(out))
}

// TestAudioTrack records pre-roll and live frames and sound with a gap and
// an overrun, and has ffprobe and ffmpeg judge the audio track: the
// samples as pushed from the first frame on, each block at its capture
// time on the video's clock; Stop and Analyze agree on its continuity.
func TestAudioTrack(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	s := newAV(t, 16000)
	for k := 200; k < 205; k++ { // 100 ms missing at 4 s
		s.skipped[k] = true
	}
	s.lost[205] = 1600
	s.until(r, 90) // 3 s, 2 of them pre-roll
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	s.until(r, 210)
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName(0))
	p := ffprobe(t, path)
	var a *probeStream
	for i := range p.Streams {
		if p.Streams[i].CodecType == "audio" {
			a = &p.Streams[i]
		}
	}
	if a == nil || a.CodecName != "pcm_s16le" {
		t.Fatalf("streams %+v: want a pcm_s16le audio stream", p.Streams)
	}
	first := s.base.Add(29 * fps30) // the oldest pre-roll frame
	want := s.pcmFrom(first)
	got := decodePCM(t, path, false)
	if !bytes.Equal(got, want) {
		t.Errorf("decoded %d bytes of audio, want the %d pushed from the first frame on", len(got), len(want))
	}
	// Each block at its capture time (whole ms) on the video's axis.
	aps := audioPackets(t, path)
	var wantBlocks int
	for _, b := range s.blocks {
		if b.At.Add(b.Duration()).After(first) {
			wantBlocks++
		}
	}
	if len(aps) != wantBlocks {
		t.Fatalf("%d audio packets, want %d", len(aps), wantBlocks)
	}
	for i, ap := range aps[1:] {
		b := s.blocks[len(s.blocks)-wantBlocks+1+i]
		if wantPTS := b.At.Sub(first).Round(time.Millisecond); ap.pts != wantPTS {
			t.Fatalf("audio packet %d at %v, its block was captured at %v", i+1, ap.pts, wantPTS)
		}
	}
	au := st.Audio
	if au.Format != s.format || au.Samples != int64(len(want)/2) || au.Blocks != int64(wantBlocks) ||
		au.Lost != 1600 || len(au.Gaps) != 1 || au.Gaps[0].Gap != 100*time.Millisecond || au.Missing != 100*time.Millisecond ||
		au.Gaps[0].At != s.base.Add(4*time.Second).Sub(first).Round(time.Millisecond) {
		t.Errorf("audio stats %+v", au)
	}
	an, err := Analyze(path, cfg.GapThreshold)
	if err != nil {
		t.Fatal(err)
	}
	an.Audio.Lost, an.Audio.Dropped = au.Lost, au.Dropped
	if fmt.Sprint(an.Audio) != fmt.Sprint(au) || an.Files[0].AudioSamples != au.Samples {
		t.Errorf("Analyze audio %+v\nStop audio    %+v", an.Audio, au)
	}
	if an.Frames != st.Frames || an.Duration != st.Duration {
		t.Errorf("Analyze %d frames %v, Stop %d %v", an.Frames, an.Duration, st.Frames, st.Duration)
	}
	info := mkvinfo(t, path)
	for _, w := range []string{"Codec ID: A_PCM/INT/LIT", "Sampling frequency: 16000", "Channels: 1", "Bit depth: 16"} {
		if !strings.Contains(info, w) {
			t.Errorf("mkvinfo output lacks %q", w)
		}
	}
}

// TestAudioRotation: the sound runs on across rotated files without a
// sample lost or a gap: each file after the first starts where the last
// one's sound ended, and the files' audio decoded one after the other is
// the sound pushed.
func TestAudioRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	cfg.MaxFileBytes = 300 << 10
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	s := newAV(t, 48000)
	s.until(r, 10) // before Start: not recorded (no pre-roll)
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	s.until(r, 250)
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) < 3 {
		t.Fatalf("%d files, want at least 3", len(st.Files))
	}
	var all []byte
	var samples int64
	for _, f := range st.Files {
		path := filepath.Join(dir, f.Name)
		pcm := decodePCM(t, path, false)
		an, err := Analyze(path, cfg.GapThreshold)
		if err != nil {
			t.Fatal(err)
		}
		if an.Audio.Samples != f.AudioSamples || int64(len(pcm)) != 2*f.AudioSamples || len(an.Audio.Gaps) != 0 {
			t.Errorf("%s: Analyze %d samples, gaps %v; decoded %d bytes; Stop %d samples", f.Name, an.Audio.Samples, an.Audio.Gaps, len(pcm), f.AudioSamples)
		}
		if fileSize(t, path) > cfg.MaxFileBytes {
			t.Errorf("%s: %d bytes, limit %d", f.Name, fileSize(t, path), cfg.MaxFileBytes)
		}
		all = append(all, pcm...)
		samples += f.AudioSamples
	}
	want := s.pcmFrom(s.base.Add(10 * fps30))
	// The blocks queued after the last frame before Stop are written too.
	if !bytes.Equal(all, want) || samples != st.Audio.Samples || len(st.Audio.Gaps) != 0 || st.Audio.Lost != 0 || len(st.Audio.Dropped) != 0 {
		t.Errorf("files hold %d bytes of sound (equal: %v), want %d; stats %+v", len(all), bytes.Equal(all, want), len(want), st.Audio)
	}
}

// TestAudioDiskFull: a write failure counts the audio blocks that did not
// reach the file as dropped; what the statistics say is in the file is.
func TestAudioDiskFull(t *testing.T) {
	dir := t.TempDir()
	r := runRecorder(t, testConfig(), Options{AudioFormat: audio.Format{Rate: 16000, Channels: 1}, Create: func(p string) (File, error) {
		f, err := createFile(p)
		if err != nil {
			return f, err
		}
		return &limitFile{File: f.(*os.File), limit: 200007}, nil
	}})
	s := newAV(t, 16000)
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		s.until(r, i+1)
		time.Sleep(time.Millisecond) // a camera's pace, so the queue never fills
	}
	st := checkFailedRecording(t, r, filepath.Join(dir, FileName(0)), 100)
	an, err := Analyze(filepath.Join(dir, FileName(0)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var pushed int64
	for _, b := range s.blocks {
		pushed += int64(b.Frames())
	}
	a := st.Audio
	if a.Samples == 0 || an.Audio.Samples != a.Samples || a.Samples+a.Dropped[DropWriteFailed]+a.Dropped[DropQueueFull] != pushed {
		t.Errorf("audio: Stop %+v, Analyze %d samples; %d pushed", a, an.Audio.Samples, pushed)
	}
}
