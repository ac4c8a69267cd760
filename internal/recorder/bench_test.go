package recorder

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/recorder/recordertest"
)

var (
	hdOnce sync.Once
	hd     [][]byte
	hdErr  error
)

// hdJPEGs are 1280×720 frames of about 120 kB, like the lead's camera.
func hdJPEGs(tb testing.TB) [][]byte {
	tb.Helper()
	hdOnce.Do(func() { hd, hdErr = recordertest.JPEGs(3, 1280, 720, 80, 11) })
	if hdErr != nil {
		tb.Fatal(hdErr)
	}
	return hd
}

// nullFile hashes nothing and keeps nothing: it measures the recorder alone.
type nullFile struct{ n int64 }

func (f *nullFile) Write(p []byte) (int, error) { f.n += int64(len(p)); return len(p), nil }
func (f *nullFile) Sync() error                 { return nil }
func (f *nullFile) Close() error                { return nil }

// TestAllocsPerFrame: recording costs at most one amortised allocation per
// frame (hashing, subtitles and clusters included).
func TestAllocsPerFrame(t *testing.T) {
	js := hdJPEGs(t)
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true, Create: func(string) (File, error) { return &nullFile{}, nil }})
	base := time.Now()
	wall := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	i := 0
	push := func() {
		tm := base.Add(time.Duration(i) * fps30)
		r.SetInfo(wall.Add(tm.Sub(base)), 1234.5, true, "ORD-1")
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: tm, Width: 1280, Height: 720})
		i++
	}
	for range 200 { // fill the pre-roll
		push()
	}
	if err := r.Start(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	for range 200 { // warm the pool
		push()
	}
	allocs := amortisedAllocs(3000, push)
	if _, err := stop(t, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("%.3f allocations per frame while recording", allocs)
	if allocs > 1 {
		t.Errorf("%.3f allocations per frame, want ≤ 1", allocs)
	}
	idle := amortisedAllocs(3000, push)
	t.Logf("%.3f allocations per frame while idle (pre-roll only)", idle)
	if idle > 1 {
		t.Errorf("%.3f allocations per idle frame, want ≤ 1", idle)
	}
}

// amortisedAllocs is testing.AllocsPerRun without its rounding down to a
// whole number: the mean heap allocations per call of f over n calls.
func amortisedAllocs(n int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}

// BenchmarkRecord measures Push → writer → file (in the page cache) with
// SHA-256 and the subtitle track, on 720p frames.
func BenchmarkRecord(b *testing.B) {
	js := hdJPEGs(b)
	r, err := New(testConfig(), Options{BlockWhenFull: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	if err := r.Start(b.TempDir()); err != nil {
		b.Fatal(err)
	}
	base := time.Now()
	b.SetBytes(int64(len(js[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tm := base.Add(time.Duration(i) * fps30)
		r.SetInfo(tm, 1234.5, true, "ORD-1")
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: tm, Width: 1280, Height: 720})
		i++
	}
	if _, err := r.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPreRoll measures Push while idle: copy into the ring.
func BenchmarkPreRoll(b *testing.B) {
	js := hdJPEGs(b)
	r, err := New(testConfig(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	base := time.Now()
	b.SetBytes(int64(len(js[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: base.Add(time.Duration(i) * fps30), Width: 1280, Height: 720})
		i++
	}
}

// BenchmarkAnalyze parses a 10 s 720p recording from memory.
func BenchmarkAnalyze(b *testing.B) {
	js := hdJPEGs(b)
	f := &syncFile{}
	r, err := New(testConfig(), Options{BlockWhenFull: true, Create: func(string) (File, error) { return f, nil }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	if err := r.Start("unused"); err != nil {
		b.Fatal(err)
	}
	pushFrames(r, js, time.Now(), 0, 300, fps30)
	if _, err := r.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	data := f.buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := AnalyzeReader(bytes.NewReader(data), "bench.mkv", 200*time.Millisecond)
		if err != nil || s.Frames != 300 {
			b.Fatalf("%d frames, %v", s.Frames, err)
		}
	}
}
