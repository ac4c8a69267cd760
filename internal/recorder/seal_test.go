package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSealHeader: after SealHeader, ffprobe reports the duration up front
// and finds the Tags through the SeekHead; the digest is the file's.
func TestSealHeader(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	base := time.Now()
	pushFrames(r, js, base, 0, 40, fps30)
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	pushFrames(r, js, base, 40, 200, fps30)
	if err := r.Mark(time.Time{}, "seal"); err != nil {
		t.Fatal(err)
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName(0))
	before := ffprobe(t, path)
	if before.Format.Duration != "" {
		t.Errorf("unsealed file: ffprobe found a duration %q", before.Format.Duration)
	}
	digest, err := SealHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); digest != hex.EncodeToString(sum[:]) || int64(len(data)) != st.Files[0].Bytes {
		t.Errorf("digest %s, file %x (%d bytes, was %d)", digest, sum, len(data), st.Files[0].Bytes)
	}
	p := ffprobe(t, path)
	if d := p.duration(t); (d - st.Duration).Abs() > time.Millisecond {
		t.Errorf("sealed: ffprobe duration %v, want %v", d, st.Duration)
	}
	if got := p.frames(t); got != st.Frames {
		t.Errorf("sealed: ffprobe %d frames, want %d", got, st.Frames)
	}
	if tag := p.video(t).Tags["DURATION"]; !strings.HasPrefix(tag, "00:00:06.") {
		t.Errorf("sealed: video DURATION tag %q (Tags found through the SeekHead)", tag)
	}
	info := mkvinfo(t, path)
	for _, s := range []string{"Seek head", "Duration: 00:00:06.", "Chapter string: seal"} {
		if !strings.Contains(info, s) {
			t.Errorf("mkvinfo lacks %q", s)
		}
	}
	an, err := Analyze(path, cfg.GapThreshold)
	if err != nil || an.Frames != st.Frames || an.Duration != st.Duration {
		t.Errorf("Analyze after sealing: %+v, %v", an, err)
	}
	again, err := SealHeader(path)
	if err != nil || again != digest {
		t.Errorf("sealing twice: %s, %v; want %s", again, err, digest)
	}

	// A cut file gets the duration of its whole frames.
	cut := filepath.Join(t.TempDir(), "cut.mkv")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Analyze(cut, cfg.GapThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SealHeader(cut); err != nil {
		t.Fatal(err)
	}
	if d := ffprobeFormatDuration(t, cut); (d - want.Duration).Abs() > time.Millisecond {
		t.Errorf("sealed cut file: ffprobe duration %v, want %v", d, want.Duration)
	}

	// Not our file.
	other := filepath.Join(t.TempDir(), "other.mkv")
	os.WriteFile(other, []byte{0x1A, 0x45, 0xDF, 0xA3, 0x88, 0x42, 0x82, 0x85, 'w', 'e', 'b', 'm', 0}, 0o644)
	if _, err := SealHeader(other); !errors.Is(err, ErrNoReserve) {
		t.Errorf("sealing a foreign file: %v", err)
	}
}
