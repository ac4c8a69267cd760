package recorder

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// recordToMemory makes a small recording with a mark, in memory.
func recordToMemory(tb testing.TB) []byte {
	tb.Helper()
	js := smallJPEGs(tb)
	f := &syncFile{}
	cfg := testConfig()
	cfg.PreRoll = 0
	r, err := New(cfg, Options{BlockWhenFull: true, Create: func(string) (File, error) { return f, nil }})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	if err := r.Start("unused"); err != nil {
		tb.Fatal(err)
	}
	base := time.Now()
	for i := range 12 {
		// Tiny frames keep the seed corpus small; Analyze does not decode.
		r.Push(cameraFrame(js[0][:64+i], i, base.Add(time.Duration(i)*70*time.Millisecond)))
		if i == 5 {
			r.Mark(time.Time{}, "seed mark")
		}
	}
	if _, err := r.Stop(ctx); err != nil {
		tb.Fatal(err)
	}
	return f.buf.Bytes()
}

// FuzzAnalyze feeds Analyze random and damaged files: it never panics and
// its statistics stay sane.
func FuzzAnalyze(f *testing.F) {
	valid := recordToMemory(f)
	f.Add(valid)
	for _, n := range []int{0, 4, 40, 200, len(valid) / 2, len(valid) - 1} {
		f.Add(valid[:n])
	}
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/3] ^= 0x40
	f.Add(flipped)
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		const thr = 50 * time.Millisecond
		s, err := AnalyzeReader(bytes.NewReader(data), "f.mkv", thr)
		if err != nil {
			if s.Frames != 0 || len(s.Files) != 0 {
				t.Fatalf("error %v with stats %+v", err, s)
			}
			return
		}
		if s.Frames < 0 || s.Duration < 0 || s.MaxGap < 0 || len(s.Files) != 1 || s.Files[0].Frames != s.Frames {
			t.Fatalf("insane stats %+v", s)
		}
		if int64(len(s.Gaps)) > max(s.Frames-1, 0) {
			t.Fatalf("%d gaps among %d frames", len(s.Gaps), s.Frames)
		}
		for _, g := range s.Gaps {
			if g.Gap <= thr || g.Gap > s.MaxGap || g.At < 0 {
				t.Fatalf("gap %+v (threshold %v, max %v)", g, thr, s.MaxGap)
			}
		}
		for _, m := range s.Marks {
			if m.At < 0 {
				t.Fatalf("mark %+v before the start", m)
			}
		}
		if int64(len(data)) != s.Files[0].Bytes {
			t.Fatalf("bytes %d, file %d", s.Files[0].Bytes, len(data))
		}
	})
}

// TestAnalyzeSeedFile checks the fuzz seed itself: the in-memory recording
// analyses to exactly what was written.
func TestAnalyzeSeedFile(t *testing.T) {
	data := recordToMemory(t)
	s, err := AnalyzeReader(bytes.NewReader(data), "seed.mkv", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Frames != 12 || s.Duration != 12*70*time.Millisecond || len(s.Gaps) != 11 || len(s.Marks) != 1 ||
		s.Marks[0].At != 350*time.Millisecond || !s.Files[0].Complete {
		t.Errorf("stats %+v", s)
	}
	if _, err := AnalyzeReader(bytes.NewReader([]byte("RIFF....AVI LIST")), "x.avi", time.Second); err != ErrNotMatroska {
		t.Errorf("AVI: %v, want ErrNotMatroska", err)
	}
}
