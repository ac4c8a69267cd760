package export

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"weighin/internal/export/exporttest"
)

// TestSound: a recording with sound (issue 25) exports with AAC beside
// the H.264, as long as the picture, and in sync: a click recorded at
// video time 3.0 s (and 4.5 s, after the press) is heard in the MP4
// within 40 ms of there.
func TestSound(t *testing.T) {
	tl := testTools(t)
	clicks := []time.Duration{3 * time.Second, 4500 * time.Millisecond}
	b, err := exporttest.Make(t.TempDir(), exporttest.Spec{
		Duration: 6 * time.Second, PreRoll: 2 * time.Second, Width: 320, Height: 240, FPS: 15, Distinct: 2, Quality: 60,
		ClockSynced: true, AudioRate: 16000, Clicks: clicks,
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := b.Result.Continuity.Audio; a == nil || a.Rate != 16000 || a.Samples < 5*16000 || a.MissingMS != 0 {
		t.Fatalf("sealed continuity.audio %+v", a)
	}
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !src.Audio {
		t.Fatal("the source has no sound")
	}
	res, err := Export(ctx, tl, src, Options{Preset: PresetPhone, WorkDir: filepath.Join(t.TempDir(), "w"), NormalPriority: true})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Videos()[0]
	mi, err := Probe(ctx, tl, v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Codec != "h264" || !mi.Audio || mi.AudioCodec != "aac" {
		t.Fatalf("probe %+v, want h264 with aac", mi)
	}
	cmd := exec.Command(tl.FFmpeg, "-v", "error", "-i", v.Path, "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-f", "s16le", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pcm, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("decoding the AAC: %v\n%s", err, stderr.String())
	}
	if d := time.Duration(len(pcm)/2) * time.Second / 16000; (d - 6*time.Second).Abs() > 100*time.Millisecond {
		t.Errorf("the sound lasts %v, the picture 6 s", d)
	}
	// The clicks: the first samples over half of full scale after each
	// 0.5 s of tone (the tone is at 0.05).
	sample := func(i int) int { return int(int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)) }
	for _, c := range clicks {
		from := int((c - 500*time.Millisecond) * 16000 / time.Second)
		at := -1
		for i := from; i < len(pcm)/2 && i < from+16000; i++ {
			if s := sample(i); s > 16000 || s < -16000 {
				at = i
				break
			}
		}
		got := time.Duration(at) * time.Second / 16000
		if at < 0 || (got-c).Abs() > 40*time.Millisecond {
			t.Errorf("the click recorded at %v is heard at %v in the MP4", c, got)
		}
	}
}
