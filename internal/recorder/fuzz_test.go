package recorder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
)

// recordToMemory makes a small recording with a mark, in memory.
func recordToMemory(tb testing.TB) []byte {
	tb.Helper()
	js := smallJPEGs(tb)
	f := &syncFile{}
	cfg := testConfig()
	cfg.PreRoll = 0
	r, err := New(cfg, Options{BlockWhenFull: true, AudioFormat: audio.Format{Rate: 8000, Channels: 1}, Create: func(string) (File, error) { return f, nil }})
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
		r.PushAudio(audio.Block{At: base.Add(time.Duration(i) * 70 * time.Millisecond), Data: make([]byte, 2*8*70), Format: audio.Format{Rate: 8000, Channels: 1}})
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
		a := s.Audio
		if a.Samples < 0 || a.Blocks < 0 || a.Missing < 0 || s.Files[0].AudioSamples != a.Samples || int64(len(a.Gaps)) > max(a.Blocks-1, 0) {
			t.Fatalf("insane audio stats %+v", a)
		}
		for _, g := range a.Gaps {
			if g.Gap <= AudioGapThreshold || g.Gap > a.MaxGap {
				t.Fatalf("audio gap %+v (max %v)", g, a.MaxGap)
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
		s.Marks[0].At != 350*time.Millisecond || !s.Files[0].Complete ||
		s.Audio.Blocks != 12 || s.Audio.Samples != 12*560 || len(s.Audio.Gaps) != 0 || s.Audio.Format != (audio.Format{Rate: 8000, Channels: 1}) {
		t.Errorf("stats %+v", s)
	}
	if _, err := AnalyzeReader(bytes.NewReader([]byte("RIFF....AVI LIST")), "x.avi", time.Second); err != ErrNotMatroska {
		t.Errorf("AVI: %v, want ErrNotMatroska", err)
	}
}

// FuzzRecorderOps drives the Recorder with random sequences of Push
// (normal, duplicate, back in time, empty), Start, Mark and Stop, into
// in-memory files, and checks the invariants: every frame handed over while
// recording is written, dropped or a duplicate; the statistics agree with
// what Analyze finds in the files; nothing panics or hangs.
func FuzzRecorderOps(f *testing.F) {
	f.Add([]byte{0, 10, 0, 10, 5, 0, 10, 6, 0, 10, 7})
	f.Add([]byte{5, 0, 200, 8, 30, 16, 0, 24, 5, 0, 255, 0, 255, 0, 255, 6, 7, 7, 5, 7})
	f.Add([]byte{0, 1, 0, 1, 0, 1, 5, 32, 1, 6, 6, 6, 0, 250, 0, 250, 0, 250, 0, 250, 7})
	f.Fuzz(recorderOps)
}

func recorderOps(t *testing.T, ops []byte) {
	{
		if len(ops) > 400 {
			ops = ops[:400]
		}
		cfg := testConfig()
		cfg.PreRoll = time.Second
		cfg.MaxFileBytes = 64 << 10
		cfg.MaxFileDuration = time.Second
		var mu sync.Mutex
		files := map[string]*syncFile{}
		r, err := New(cfg, Options{QueueFrames: 32, Create: func(p string) (File, error) {
			mu.Lock()
			defer mu.Unlock()
			if files[p] != nil {
				return nil, os.ErrExist
			}
			files[p] = &syncFile{}
			return files[p], nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		defer func() {
			cancel()
			<-done
		}()

		payload := bytes.Repeat([]byte{0xFF, 0xD8, 0x42}, 400)
		base := time.Unix(1000, 0)
		var seq uint64
		now := base
		recording, sessions := false, 0
		var handed, marks int64
		check := func() {
			ctx, cancelStop := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancelStop()
			st, err := r.Stop(ctx)
			if err != nil {
				t.Fatalf("Stop: %v", err)
			}
			var dropped int64
			for _, n := range st.Dropped {
				dropped += n
			}
			if st.Frames+dropped+st.Duplicated != handed {
				t.Fatalf("frames %d + dropped %d + duplicated %d != %d handed over", st.Frames, dropped, st.Duplicated, handed)
			}
			if int64(len(st.Marks)) != marks {
				t.Fatalf("%d marks, %d made", len(st.Marks), marks)
			}
			var frames, samples int64
			var dur time.Duration
			mu.Lock()
			defer mu.Unlock()
			for _, fi := range st.Files {
				sf := files[filepath.Join(fmt.Sprint("s", sessions), fi.Name)]
				if sf == nil {
					t.Fatalf("no file %s", fi.Name)
				}
				an, err := AnalyzeReader(bytes.NewReader(sf.buf.Bytes()), fi.Name, time.Hour)
				if err != nil && fi.Frames > 0 {
					t.Fatalf("%s: %v", fi.Name, err)
				}
				if an.Frames != fi.Frames || int64(sf.buf.Len()) != fi.Bytes || an.Audio.Samples != fi.AudioSamples {
					t.Fatalf("%s: Analyze %d frames, %d bytes; stats %+v", fi.Name, an.Frames, sf.buf.Len(), fi)
				}
				if fi.Frames > 0 && an.Duration != fi.Duration {
					t.Fatalf("%s: Analyze %v, stats %v", fi.Name, an.Duration, fi.Duration)
				}
				frames += fi.Frames
				dur += fi.Duration
				samples += fi.AudioSamples
			}
			if samples != st.Audio.Samples {
				t.Fatalf("files hold %d sample frames; stats %+v", samples, st.Audio)
			}
			if frames != st.Frames || dur != st.Duration {
				t.Fatalf("files hold %d frames over %v; stats %d over %v", frames, dur, st.Frames, st.Duration)
			}
			recording = false
		}
		for i := 0; i < len(ops); i++ {
			op := ops[i]
			arg := byte(0)
			if i+1 < len(ops) {
				arg = ops[i+1]
			}
			switch op % 8 {
			case 4: // an audio block at the last frame's time
				i++
				rate := 8000
				if op>>5 == 7 { // a replugged microphone at another rate
					rate = 16000
				}
				n := 1 + int(arg)%64*8
				r.PushAudio(audio.Block{At: now.Add(-time.Duration(n) * time.Second / time.Duration(rate)), Data: payload[:2*n+int(op>>5)%2], Format: audio.Format{Rate: rate, Channels: 1}, Lost: int(op >> 7)})
			case 0, 1, 2, 3:
				i++
				data := payload[:50+int(arg)]
				switch op >> 5 {
				case 1: // duplicate
				case 2: // back in time
					seq++
					now = now.Add(-time.Duration(arg) * time.Millisecond)
				case 3:
					seq++
					data = nil
				default:
					seq++
					now = now.Add(time.Duration(arg) * 2 * time.Millisecond)
				}
				if recording {
					handed++
				}
				r.Push(camera.Frame{Data: data, Seq: seq, Time: now, Width: 320, Height: 240})
			case 5:
				if recording {
					if err := r.Start("x"); !errors.Is(err, ErrRecording) {
						t.Fatalf("Start while recording: %v", err)
					}
					continue
				}
				n, _, _ := r.PreRoll()
				sessions++
				if err := r.Start(fmt.Sprint("s", sessions)); err != nil {
					t.Fatalf("Start: %v", err)
				}
				recording, handed, marks = true, int64(n), 0
			case 6:
				err := r.Mark(time.Time{}, "m")
				switch {
				case recording && err == nil:
					marks++
				case recording && errors.Is(err, ErrQueueFull):
				case !recording && errors.Is(err, ErrNotRecording):
				default:
					t.Fatalf("Mark (recording %v): %v", recording, err)
				}
			case 7:
				if recording {
					check()
				} else if _, err := r.Stop(context.Background()); !errors.Is(err, ErrNotRecording) {
					t.Fatalf("Stop while idle: %v", err)
				}
			}
		}
		if recording {
			check()
		}
	}
}
