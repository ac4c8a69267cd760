package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/recorder/recordertest"
)

const fps30 = 33333 * time.Microsecond

// TestRecordingJudgedByTools records pre-roll and live frames with weight
// updates and a mark, and has ffprobe, mkvinfo and ffmpeg judge the file.
func TestRecordingJudgedByTools(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	base := time.Now()
	wall := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	r.SetClockSynced(true)
	r.SetInfo(wall, 0, false, "")
	pushFrames(r, js, base, 0, 90, fps30) // 3 s before Start: 2 s of them are pre-roll
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := 90; i < 390; i++ { // 10 s live, weight rising
		tm := base.Add(time.Duration(i) * fps30)
		r.SetInfo(wall.Add(tm.Sub(base)), 1000+float64(i), i > 300, "ORD-4711")
		pushFrames(r, js, base, i, i+1, fps30)
		if i == 250 {
			if err := r.Mark(tm, "damage here"); err != nil {
				t.Fatal(err)
			}
		}
		if i == 300 {
			if err := r.Note(tm, "STEP: −1118.4 g", 4*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	const want = 61 + 300 // frames within 2 s before Start (inclusive) + live
	if st.Frames != want {
		t.Errorf("Stats.Frames = %d, want %d", st.Frames, want)
	}
	path := filepath.Join(dir, "video-000.mkv")
	p := ffprobe(t, path)
	if got := p.frames(t); got != want {
		t.Errorf("ffprobe nb_read_frames = %d, want %d", got, want)
	}
	v := p.video(t)
	if v.CodecName != "mjpeg" || v.Width != 320 || v.Height != 240 {
		t.Errorf("video stream %+v, want mjpeg 320x240", v)
	}
	// Expected duration: 360 intervals + the last frame's display time.
	wantDur := time.Duration(roundMS(360*fps30)+roundMS(fps30)) * time.Millisecond
	if st.Duration != wantDur {
		t.Errorf("Stats.Duration = %v, want %v", st.Duration, wantDur)
	}
	ps := packets(t, path)
	if len(ps) != want || ps[0].pts != 0 {
		t.Fatalf("ffprobe packets: %d, first at %v; want %d from 0", len(ps), ps[0].pts, want)
	}
	last := ps[len(ps)-1]
	if end := last.pts + last.dur; end != wantDur {
		t.Errorf("ffprobe: last packet ends at %v (pts %v + %v), want %v", end, last.pts, last.dur, wantDur)
	}
	info := mkvinfo(t, path)
	for _, s := range []string{"Document type: matroska", "Codec ID: V_MJPEG", "Codec ID: S_TEXT/UTF8",
		"Cues", "Chapter string: damage here", "Name: DURATION", "String: 00:00:12.033000000", "String: 361"} {
		if !strings.Contains(info, s) {
			t.Errorf("mkvinfo output lacks %q", s)
		}
	}
	sub := srt(t, path)
	for _, s := range []string{"2026-11-26 05:00:00 UTC  |  0.0 g unstable\n", "2026-11-26 05:00:12 UTC  |  13",
		" g stable  |  order ORD-4711", "g unstable  |  order ORD-4711", "MARK: damage here",
		"00:00:09,033 --> 00:00:13,033\nSTEP: −1118.4 g\n"} {
		if !strings.Contains(sub, s) {
			t.Errorf("subtitles lack %q", s)
		}
	}
	// At least two subtitle updates per second of video.
	if n := strings.Count(sub, "-->"); float64(n) < 2*wantDur.Seconds() {
		t.Errorf("%d subtitle events in %v, want at least 2 per second", n, wantDur)
	}
	// Mark: frame 250 is 250-29 = 221 frames after the first pre-roll frame;
	// the note (frame 271, 9.033 s, shown 4 s) is neither a mark nor a chapter.
	wantMark := Mark{File: "video-000.mkv", At: 221 * fps30, Label: "damage here"}
	if len(st.Marks) != 1 || st.Marks[0] != wantMark {
		t.Errorf("marks %+v, want [%+v]", st.Marks, wantMark)
	}
	// The digest is that of the file on disk.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if len(st.Files) != 1 || st.Files[0].SHA256 != hex.EncodeToString(sum[:]) || st.Files[0].Bytes != int64(len(data)) || !st.Files[0].Complete {
		t.Errorf("file info %+v; on disk %d bytes, sha256 %x", st.Files, len(data), sum)
	}
	// Analyze recomputes the same statistics from the file.
	an, err := Analyze(path, cfg.GapThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if an.Frames != st.Frames || an.Duration != st.Duration || (an.MaxGap-st.MaxGap).Abs() > time.Millisecond ||
		len(an.Gaps) != 0 || len(an.Marks) != 1 || an.Marks[0].Label != "damage here" ||
		an.Marks[0].At != wantMark.At || !an.Files[0].Complete {
		t.Errorf("Analyze = %+v\nStop    = %+v", an, st)
	}
	c := st.Continuity()
	if c.Frames != want || c.DurationS != 12.033 || c.MeanFPS < 29.9 || c.MeanFPS > 30.1 || len(c.Gaps) != 0 {
		t.Errorf("Continuity = %+v", c)
	}
	if m := st.ResultMarks(); len(m) != 1 || m[0].TS != 7.367 || m[0].File != "video-000.mkv" {
		t.Errorf("ResultMarks = %+v", m)
	}
}

// TestPreRollSpacing: frames from up to pre_roll before Start open the file
// in order, with their original (irregular) spacing.
func TestPreRollSpacing(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig() // 2 s pre-roll
	r := runRecorder(t, cfg, Options{})
	js := smallJPEGs(t)
	base := time.Now()
	// Irregular intervals: 20..70 ms, and one 400 ms gap.
	var times []time.Time
	tm := base
	for i := range 120 {
		step := time.Duration(20+(i*7)%51) * time.Millisecond
		if i == 100 {
			step = 400 * time.Millisecond
		}
		tm = tm.Add(step)
		times = append(times, tm)
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: tm, Width: 320, Height: 240})
	}
	frames, span, _ := r.PreRoll()
	if span > cfg.PreRoll {
		t.Errorf("pre-roll spans %v, more than %v", span, cfg.PreRoll)
	}
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := 120; i < 150; i++ {
		tm = tm.Add(fps30)
		times = append(times, tm)
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: tm, Width: 320, Height: 240})
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	first := len(times) - 30 - frames
	if first < 1 || times[119].Sub(times[first]) > cfg.PreRoll || times[119].Sub(times[first-1]) <= cfg.PreRoll {
		t.Fatalf("pre-roll holds %d frames, from index %d: not exactly the last %v", frames, first, cfg.PreRoll)
	}
	ps := packets(t, filepath.Join(dir, "video-000.mkv"))
	if int64(len(ps)) != st.Frames || len(ps) != frames+30 {
		t.Fatalf("%d packets, Stats.Frames %d, want %d", len(ps), st.Frames, frames+30)
	}
	for i, p := range ps {
		want := time.Duration(roundMS(times[first+i].Sub(times[first]))) * time.Millisecond
		if p.pts != want {
			t.Errorf("packet %d at %v, want %v (original spacing)", i, p.pts, want)
		}
	}
	if len(st.Gaps) != 1 || st.Gaps[0].Gap != 400*time.Millisecond {
		t.Errorf("gaps %+v, want the one 400 ms gap", st.Gaps)
	}
}

// TestPreRollMemory: the ring holds about pre_roll × rate × mean frame size.
func TestPreRollMemory(t *testing.T) {
	cfg := testConfig()
	cfg.PreRoll = 5 * time.Second
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 150000)
	base := time.Now()
	var sum, n int64
	for i := range 600 {
		// 720p-like sizes that vary by ±20 % around 120 kB.
		d := big[:120000*(80+(i*13)%41)/100]
		r.Push(camera.Frame{Data: d, Seq: uint64(i), Time: base.Add(time.Duration(i) * fps30), Width: 320, Height: 240})
		sum += int64(len(d))
		n++
	}
	frames, span, bytes := r.PreRoll()
	mean := float64(sum) / float64(n)
	bound := cfg.PreRoll.Seconds() * 30 * mean * 1.10
	t.Logf("pre-roll: %d frames over %v, %d bytes held; bound %.0f (mean frame %.0f B)", frames, span, bytes, bound, mean)
	if float64(bytes) > bound {
		t.Errorf("pre-roll holds %d bytes, more than %.0f", bytes, bound)
	}
	if frames != 151 {
		t.Errorf("pre-roll holds %d frames, want 151 (5 s at 30 fps, both ends)", frames)
	}
}

// TestRotation: size and duration limits start new files without losing a
// frame; marks name their file; each file is complete and playable.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	cfg.MaxFileBytes = 400 << 10
	cfg.MaxFileDuration = 4 * time.Second
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	base := time.Now()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	const n = 600
	for i := range n {
		// 30 fps for the first half (size limit rotates), then 5 fps (duration limit).
		tm := base.Add(time.Duration(min(i, 300)) * fps30)
		if i > 300 {
			tm = tm.Add(time.Duration(i-300) * 200 * time.Millisecond)
		}
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: tm, Width: 320, Height: 240})
		if i == 450 {
			if err := r.Mark(tm, "late"); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != n || len(st.Files) < 4 {
		t.Fatalf("frames %d in %d files, want %d in at least 4", st.Frames, len(st.Files), n)
	}
	var total int64
	var dur time.Duration
	for i, f := range st.Files {
		if f.Name != FileName(i) {
			t.Errorf("file %d named %s", i, f.Name)
		}
		path := filepath.Join(dir, f.Name)
		if sz := fileSize(t, path); sz != f.Bytes || sz > cfg.MaxFileBytes {
			t.Errorf("%s: %d bytes on disk, stats %d, limit %d", f.Name, sz, f.Bytes, cfg.MaxFileBytes)
		}
		if f.Duration > cfg.MaxFileDuration+time.Second {
			t.Errorf("%s lasts %v, limit %v", f.Name, f.Duration, cfg.MaxFileDuration)
		}
		got := ffprobe(t, path).frames(t)
		if got != f.Frames {
			t.Errorf("%s: ffprobe counts %d frames, stats %d", f.Name, got, f.Frames)
		}
		total += got
		dur += f.Duration
		if an, err := Analyze(path, cfg.GapThreshold); err != nil || an.Frames != f.Frames || an.Duration != f.Duration || !an.Files[0].Complete {
			t.Errorf("%s: Analyze %+v, %v; want %d frames, %v", f.Name, an, err, f.Frames, f.Duration)
		}
	}
	if total != n || dur != st.Duration {
		t.Errorf("files hold %d frames over %v; want %d over %v", total, dur, n, st.Duration)
	}
	// The mark at frame 450 lies in the file that holds frame 450.
	if len(st.Marks) != 1 || st.Marks[0].File == FileName(0) {
		t.Fatalf("marks %+v", st.Marks)
	}
	an, err := Analyze(filepath.Join(dir, st.Marks[0].File), cfg.GapThreshold)
	if err != nil || len(an.Marks) != 1 || an.Marks[0].At != st.Marks[0].At.Round(time.Millisecond) && an.Marks[0].At != st.Marks[0].At {
		t.Errorf("mark in %s: Analyze %+v, %v; stats %+v", st.Marks[0].File, an.Marks, err, st.Marks)
	}
	// The 5 fps part is a steady 200 ms: above no threshold of 200 ms.
	if len(st.Gaps) != 0 {
		t.Errorf("gaps %+v, want none", st.Gaps)
	}
	all, err := AnalyzeFiles(func() (p []string) {
		for _, f := range st.Files {
			p = append(p, filepath.Join(dir, f.Name))
		}
		return
	}(), cfg.GapThreshold)
	if err != nil || all.Frames != n || all.Duration != st.Duration {
		t.Errorf("AnalyzeFiles: %d frames, %v, %v; want %d, %v", all.Frames, all.Duration, err, n, st.Duration)
	}
}

// TestDroppedAndDuplicated: duplicates and frames going back in time are
// not written, and are counted.
func TestDroppedAndDuplicated(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	base := time.Now()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	push := func(seq uint64, ms int, data []byte) {
		r.Push(camera.Frame{Data: data, Seq: seq, Time: base.Add(time.Duration(ms) * time.Millisecond), Width: 320, Height: 240})
	}
	push(0, 0, js[0])
	push(1, 33, js[1])
	push(1, 33, js[1]) // duplicate
	push(2, 20, js[2]) // back in time
	push(3, 66, nil)   // empty
	push(4, 500, js[0])
	push(4, 500, js[0]) // duplicate
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 3 || st.Duplicated != 2 || st.Dropped[DropTimeBackwards] != 1 || st.Dropped[DropEmpty] != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(st.Gaps) != 1 || st.Gaps[0].Gap != 467*time.Millisecond || st.Gaps[0].At != 33*time.Millisecond {
		t.Errorf("gaps %+v, want one of 467ms at 33ms", st.Gaps)
	}
	if got := ffprobe(t, filepath.Join(dir, FileName(0))).frames(t); got != 3 {
		t.Errorf("ffprobe counts %d frames, want 3", got)
	}
	c := st.Continuity()
	if c.Duplicated != 2 || c.Dropped[DropEmpty] != 1 || c.MaxGapMS != 467 || len(c.Gaps) != 1 || c.Gaps[0].AtS != 0.033 {
		t.Errorf("Continuity %+v", c)
	}
}

// TestStateErrors: misuse is an error value, never a panic.
func TestStateErrors(t *testing.T) {
	r := runRecorder(t, testConfig(), Options{})
	ctx := context.Background()
	if _, err := r.Stop(ctx); !errors.Is(err, ErrNotRecording) {
		t.Errorf("Stop while idle: %v", err)
	}
	if err := r.Mark(time.Time{}, "x"); !errors.Is(err, ErrNotRecording) {
		t.Errorf("Mark while idle: %v", err)
	}
	if err := r.Start(filepath.Join(t.TempDir(), "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start in a missing directory: %v", err)
	}
	dir := t.TempDir()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(dir); !errors.Is(err, ErrRecording) {
		t.Errorf("second Start: %v", err)
	}
	st, err := stop(t, r)
	if err != nil || st.Frames != 0 {
		t.Errorf("empty recording: %+v, %v", st, err)
	}
	// Evidence is never overwritten.
	if err := r.Start(dir); !errors.Is(err, os.ErrExist) {
		t.Errorf("Start over an existing recording: %v", err)
	}
	if err := r.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v", err)
	}
	for _, c := range []func(*testing.T){
		func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxFileBytes = 10
			if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "max_file_bytes") {
				t.Errorf("New with max_file_bytes 10: %v", err)
			}
		},
		func(t *testing.T) {
			cfg := testConfig()
			cfg.Cluster = time.Minute
			if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "cluster") {
				t.Errorf("New with a 1 min cluster: %v", err)
			}
		},
	} {
		c(t)
	}
}

// TestRunEnds: a recording open when Run's context ends is finalised; Stop
// reports ErrRunEnded and the file is complete.
func TestRunEnds(t *testing.T) {
	dir := t.TempDir()
	r, err := New(testConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	js := smallJPEGs(t)
	base := time.Now()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	pushFrames(r, js, base, 0, 30, fps30)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := stop(t, r)
	if !errors.Is(err, ErrRunEnded) {
		t.Fatalf("Stop after Run ended: %v", err)
	}
	written := ffprobe(t, filepath.Join(dir, FileName(0))).frames(t)
	if written != st.Frames || st.Frames+st.Dropped[DropQueueFull] != 30 || !st.Files[0].Complete {
		t.Errorf("stats %+v; ffprobe %d frames", st, written)
	}
}

// TestRotationOnSizeChange: a frame of another size (the camera fell back
// to YUYV at 640×480) starts a new file, so each file has one frame size.
func TestRotationOnSizeChange(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	small := smallJPEGs(t)
	vga, err := recordertest.JPEGs(2, 640, 480, 70, 3)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		js, w, h := small, 320, 240
		if i >= 30 {
			js, w, h = vga, 640, 480
		}
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: base.Add(time.Duration(i) * fps30), Width: w, Height: h})
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 2 || st.Files[0].Frames != 30 || st.Files[1].Frames != 30 {
		t.Fatalf("files %+v, want 2 of 30 frames", st.Files)
	}
	for i, want := range [][2]int{{320, 240}, {640, 480}} {
		v := ffprobe(t, filepath.Join(dir, FileName(i))).video(t)
		if v.Width != want[0] || v.Height != want[1] || v.NbReadFrames != "30" {
			t.Errorf("%s: %dx%d, %s frames; want %dx%d, 30", FileName(i), v.Width, v.Height, v.NbReadFrames, want[0], want[1])
		}
	}
}

// TestStartAt (issue 14): a session continued after a stop records into
// the next file of its directory; the earlier file is left as it was and
// Analyze reads both in order.
func TestStartAt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	base := time.Now()
	push := func(from, n int) {
		for i := from; i < from+n; i++ {
			r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: base.Add(time.Duration(i) * fps30), Width: 320, Height: 240})
		}
	}
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	push(0, 30)
	first, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	sum0 := first.Files[0].SHA256
	if err := r.StartAt(dir, 0); err == nil {
		t.Fatal("StartAt over video-000.mkv succeeded")
	}
	if err := r.StartAt(dir, 1); err != nil {
		t.Fatal(err)
	}
	push(100, 45)
	if err := r.Mark(time.Time{}, "after the pause"); err != nil {
		t.Fatal(err)
	}
	second, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Files) != 1 || second.Files[0].Name != "video-001.mkv" || second.Frames != 45 {
		t.Fatalf("continuation: %+v, want 45 frames in video-001.mkv", second.Files)
	}
	if len(second.Marks) != 1 || second.Marks[0].File != "video-001.mkv" {
		t.Errorf("mark %+v, want it in video-001.mkv", second.Marks)
	}
	b, err := os.ReadFile(filepath.Join(dir, "video-000.mkv"))
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum0 {
		t.Errorf("video-000.mkv changed: %x, was %s", h, sum0)
	}
	st, err := AnalyzeFiles([]string{filepath.Join(dir, "video-000.mkv"), filepath.Join(dir, "video-001.mkv")}, cfg.GapThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 75 || len(st.Files) != 2 {
		t.Errorf("Analyze: %d frames in %d files, want 75 in 2", st.Frames, len(st.Files))
	}
}
