package recorder

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"weighin/drivers/camera"
)

// TestPowerCut cuts a finished recording with sound at 20 random offsets:
// every frame and every audio block lying wholly before the cut still
// decodes, and Analyze counts exactly those frames and blocks.
func TestPowerCut(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	r := runRecorder(t, cfg, Options{BlockWhenFull: true})
	av := newAV(t, 16000)
	av.until(r, 30)
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := 30; i < 330; i++ {
		r.SetInfo(time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), float64(i), true, "ORD-CUT")
		av.until(r, i+1)
	}
	if _, err := stop(t, r); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, FileName(0))
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	ps := packets(t, full)
	aps := audioPackets(t, full)
	pcm := decodePCM(t, full, false)
	if len(aps) < 500 {
		t.Fatalf("%d audio packets, want 10 s of 20 ms blocks", len(aps))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		cut := ps[0].pos + rng.Int64N(int64(len(data))-ps[0].pos)
		whole := 0
		for _, p := range ps {
			if p.pos+p.size <= cut {
				whole++
			}
		}
		var wholeA, wholeBytes int64
		for _, p := range aps {
			if p.pos+p.size <= cut {
				wholeA++
				wholeBytes += p.size
			}
		}
		t.Run(fmt.Sprintf("cut%02d@%d", i, cut), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cut.mkv")
			// head -c, as the brief says: the real tool makes the cut.
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("head", "-c", fmt.Sprint(cut), full)
			cmd.Stdout = out
			if err := cmd.Run(); err != nil {
				t.Fatalf("head -c: %v", err)
			}
			out.Close()
			got := ffprobeLoose(t, path)
			// A frame cut in half may still be handed to the decoder.
			if got < int64(whole) || got > int64(whole)+1 {
				t.Errorf("ffprobe decodes %d frames; %d lie wholly before the cut", got, whole)
			}
			dec := exec.Command(tool(t, "ffmpeg"), "-v", "error", "-i", path, "-map", "0:v:0",
				"-frames:v", fmt.Sprint(whole), "-f", "null", "-")
			msg, err := dec.CombinedOutput()
			// The demuxer notes the cut; nothing else may be reported.
			msg = bytes.TrimSpace(bytes.ReplaceAll(msg, []byte("File ended prematurely"), nil))
			if i := bytes.Index(msg, []byte("[matroska,webm @ ")); i >= 0 && bytes.HasSuffix(msg, []byte("]")) {
				msg = msg[:i]
			}
			if err != nil || len(bytes.TrimSpace(msg)) > 0 {
				t.Errorf("ffmpeg decoding the %d whole frames: %v\n%s", whole, err, msg)
			}
			// Every whole audio block decodes, as recorded (a block cut
			// in half may be handed to the decoder too).
			sound := decodePCM(t, path, true)
			if n := int64(len(sound)); n < wholeBytes || n > wholeBytes+int64(2*av.block) || n > int64(len(pcm)) || !bytes.Equal(sound, pcm[:n]) {
				t.Errorf("ffmpeg decodes %d bytes of audio (equal to the recording's: %v); %d lie in whole blocks before the cut",
					n, bytes.Equal(sound, pcm[:min(n, int64(len(pcm)))]), wholeBytes)
			}
			an, err := Analyze(path, cfg.GapThreshold)
			if err != nil {
				t.Fatal(err)
			}
			if an.Audio.Blocks != wholeA || an.Audio.Samples != wholeBytes/2 || len(an.Audio.Gaps) != 0 {
				t.Errorf("Analyze: %d audio blocks, %d samples, gaps %v; want %d whole blocks, %d samples, no gap",
					an.Audio.Blocks, an.Audio.Samples, an.Audio.Gaps, wholeA, wholeBytes/2)
			}
			if an.Frames != int64(whole) || an.Files[0].Complete {
				t.Errorf("Analyze: %d frames, complete %v; want %d, incomplete", an.Frames, an.Files[0].Complete, whole)
			}
			if whole > 1 && an.Duration != ps[whole-1].pts+(ps[whole-1].pts-ps[whole-2].pts) {
				t.Errorf("Analyze duration %v; last whole frame at %v", an.Duration, ps[whole-1].pts)
			}
		})
	}
}

// limitFile is a file on a disk that fills up after limit bytes: the write
// that crosses the limit writes what fits and fails with ENOSPC.
type limitFile struct {
	*os.File
	mu    sync.Mutex
	limit int64
	n     int64
}

func (f *limitFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	room := f.limit - f.n
	if int64(len(p)) <= room {
		n, err := f.File.Write(p)
		f.n += int64(n)
		return n, err
	}
	n, err := f.File.Write(p[:max(room, 0)])
	f.n += int64(n)
	if err == nil {
		err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func checkFailedRecording(t *testing.T, r *Recorder, path string, pushed int) Stats {
	t.Helper()
	st, err := stop(t, r)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Stop after the disk filled: err %v, want ENOSPC", err)
	}
	if len(st.Files) != 1 || st.Files[0].Complete {
		t.Errorf("files %+v, want one incomplete", st.Files)
	}
	if st.Frames == 0 || st.Frames+st.Dropped[DropWriteFailed]+st.Dropped[DropQueueFull] != int64(pushed) {
		t.Errorf("stats %+v: frames + dropped != %d pushed", st, pushed)
	}
	got := ffprobeLoose(t, path)
	an, err := Analyze(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if an.Frames != st.Frames || got < st.Frames || got > st.Frames+1 {
		t.Errorf("file so far: ffprobe %d frames, Analyze %d, Stop %d", got, an.Frames, st.Frames)
	}
	if fileSize(t, path) != st.Files[0].Bytes {
		t.Errorf("file has %d bytes, stats %d", fileSize(t, path), st.Files[0].Bytes)
	}
	return st
}

// TestDiskFull: a write failure ends the recording with an error value;
// the file so far plays; the next recording works.
func TestDiskFull(t *testing.T) {
	js := smallJPEGs(t)
	for _, limit := range []int64{20000, 300000, 300007} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			dir := t.TempDir()
			var fail bool = true
			r := runRecorder(t, testConfig(), Options{Create: func(p string) (File, error) {
				f, err := createFile(p)
				if err != nil || !fail {
					return f, err
				}
				return &limitFile{File: f.(*os.File), limit: limit}, nil
			}})
			base := time.Now()
			if err := r.Start(dir); err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				pushFrames(r, js, base, i, i+1, fps30)
				time.Sleep(time.Millisecond) // a camera's pace, so the queue never fills
			}
			checkFailedRecording(t, r, filepath.Join(dir, FileName(0)), 100)
			fail = false
			dir2 := t.TempDir()
			if err := r.Start(dir2); err != nil {
				t.Fatal(err)
			}
			pushFrames(r, js, base, 100, 130, fps30)
			st, err := stop(t, r)
			if err != nil || st.Frames == 0 {
				t.Fatalf("next recording: %+v, %v", st, err)
			}
			if got := ffprobe(t, filepath.Join(dir2, FileName(0))).frames(t); got != st.Frames {
				t.Errorf("next recording: ffprobe %d frames, stats %d", got, st.Frames)
			}
		})
	}
}

// TestTmpfsFull fills a real 2 MiB tmpfs.
func TestTmpfsFull(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
		t.Fatalf("internal/recorder: mounting a 2 MiB tmpfs needs root (CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	r := runRecorder(t, testConfig(), Options{})
	js := smallJPEGs(t)
	base := time.Now()
	if err := r.Start(mnt); err != nil {
		t.Fatal(err)
	}
	const n = 600 // about 5 MB: more than fits
	for i := range n {
		pushFrames(r, js, base, i, i+1, fps30)
		time.Sleep(200 * time.Microsecond)
	}
	st := checkFailedRecording(t, r, filepath.Join(mnt, FileName(0)), n)
	t.Logf("tmpfs full after %d frames, %d bytes", st.Frames, st.Files[0].Bytes)
	// The next recording works once there is room again.
	if err := os.Rename(filepath.Join(mnt, FileName(0)), filepath.Join(t.TempDir(), "kept.mkv")); err != nil {
		// Cross-device: copy out, then remove.
		os.Remove(filepath.Join(mnt, FileName(0)))
	}
	dir := filepath.Join(mnt, "next")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	pushFrames(r, js, base, n, n+60, fps30)
	st2, err := stop(t, r)
	if err != nil || st2.Frames != 60 {
		t.Fatalf("next recording: %+v, %v", st2, err)
	}
	if got := ffprobe(t, filepath.Join(dir, FileName(0))).frames(t); got != 60 {
		t.Errorf("next recording: ffprobe %d frames, want 60", got)
	}
}

// stallFile blocks every write until release is closed: a stalled SD card.
type stallFile struct {
	*os.File
	release chan struct{}
}

func (f *stallFile) Write(p []byte) (int, error) {
	<-f.release
	return f.File.Write(p)
}

// TestSlowCardDropsNotBlocks: with the writer stalled, Push never blocks;
// frames beyond the queue are dropped and counted, and the hole shows as
// a gap.
func TestSlowCardDropsNotBlocks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	release := make(chan struct{})
	r := runRecorder(t, cfg, Options{QueueFrames: 16, Create: func(p string) (File, error) {
		f, err := createFile(p)
		if err != nil {
			return nil, err
		}
		return &stallFile{File: f.(*os.File), release: release}, nil
	}})
	js := smallJPEGs(t)
	base := time.Now()
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	pushed := make(chan struct{})
	go func() {
		pushFrames(r, js, base, 0, 200, fps30)
		close(pushed)
	}()
	select {
	case <-pushed:
	case <-time.After(20 * time.Second):
		t.Fatal("Push blocked on a stalled writer")
	}
	close(release)
	for deadline := time.Now().Add(20 * time.Second); len(r.q) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("writer did not drain its queue")
		}
	}
	for i := 200; i < 230; i++ {
		pushFrames(r, js, base, i, i+1, fps30)
		time.Sleep(2 * time.Millisecond) // a camera's pace
	}
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	drops := st.Dropped[DropQueueFull]
	if drops < 150 || st.Frames+drops != 230 {
		t.Errorf("frames %d, dropped %v; want ≥ 150 dropped, 230 in all", st.Frames, st.Dropped)
	}
	// The drops usually make one hole; on a loaded machine the writer may
	// take a frame here and there in the middle and split it. The gaps
	// must account for the dropped frames, but for the few that fell in
	// holes too short to count as a gap (under the gap threshold; seen: 3
	// of 176): 90 % of them.
	var holes time.Duration
	for _, g := range st.Gaps {
		holes += g.Gap
	}
	if len(st.Gaps) == 0 || holes < time.Duration(drops)*fps30*9/10 {
		t.Errorf("gaps %+v, want them to cover %d dropped frames; %+v", st.Gaps, drops, st)
	}
	if got := ffprobe(t, filepath.Join(dir, FileName(0))).frames(t); got != st.Frames {
		t.Errorf("ffprobe %d frames, stats %d", got, st.Frames)
	}
}

// syncFile records, at each fsync, how many bytes were on "disk".
type syncFile struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	syncs  []syncPoint
	closed bool
}

type syncPoint struct {
	at time.Time
	n  int
}

func (f *syncFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *syncFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, syncPoint{time.Now(), f.buf.Len()})
	return nil
}

func (f *syncFile) Close() error { f.closed = true; return nil }

// TestSyncInterval: the file is fsynced every sync_interval of wall-clock
// time, and what was fsynced holds every frame pushed before that fsync —
// a power cut loses at most sync_interval.
func TestSyncInterval(t *testing.T) {
	js := smallJPEGs(t)
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.PreRoll = 0
		f := &syncFile{}
		r := runRecorder(t, cfg, Options{Create: func(string) (File, error) { return f, nil }})
		start := time.Now()
		if err := r.Start("/nonexistent-not-used"); err != nil {
			t.Fatal(err)
		}
		var pushedAt []time.Time
		for i := range 300 { // 10 s at 30 fps
			now := time.Now()
			pushedAt = append(pushedAt, now)
			r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: now, Width: 320, Height: 240})
			time.Sleep(fps30)
		}
		synctest.Wait()
		f.mu.Lock()
		syncs := append([]syncPoint(nil), f.syncs...)
		data := append([]byte(nil), f.buf.Bytes()...)
		f.mu.Unlock()
		if len(syncs) < 9 {
			t.Fatalf("%d fsyncs in 10 s with sync_interval %v", len(syncs), cfg.SyncInterval)
		}
		prev := start
		for _, sp := range syncs {
			if d := sp.at.Sub(prev); d > cfg.SyncInterval {
				t.Errorf("fsync %v after the previous one, interval %v", d, cfg.SyncInterval)
			}
			prev = sp.at
			an, err := AnalyzeReader(bytes.NewReader(data[:sp.n]), "synced", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			for _, at := range pushedAt {
				if !at.After(sp.at) {
					want++
				}
			}
			if an.Frames != want {
				t.Errorf("fsync at %v holds %d frames; %d were pushed by then", sp.at.Sub(start), an.Frames, want)
			}
		}
		if _, err := stop(t, r); err != nil {
			t.Fatal(err)
		}
		if !f.closed {
			t.Error("file not closed")
		}
	})
}

// TestRotationCreateFails: when the next file cannot be created the
// recording ends with that error; the finished file stays complete.
func TestRotationCreateFails(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.PreRoll = 0
	cfg.MaxFileDuration = time.Second
	r := runRecorder(t, cfg, Options{BlockWhenFull: true, Create: func(p string) (File, error) {
		if filepath.Base(p) == FileName(1) {
			return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EDQUOT}
		}
		return createFile(p)
	}})
	js := smallJPEGs(t)
	if err := r.Start(dir); err != nil {
		t.Fatal(err)
	}
	pushFrames(r, js, time.Now(), 0, 60, fps30)
	st, err := stop(t, r)
	if !errors.Is(err, syscall.EDQUOT) {
		t.Fatalf("Stop: %v, want EDQUOT", err)
	}
	if len(st.Files) != 1 || !st.Files[0].Complete || st.Frames != 31 || st.Dropped[DropWriteFailed] != 29 { // frame 30 is at 999.99 ms
		t.Errorf("stats %+v", st)
	}
	if got := ffprobe(t, filepath.Join(dir, FileName(0))).frames(t); got != 31 {
		t.Errorf("ffprobe %d frames, want 31", got)
	}
}

// TestAnalyzeOtherMuxers: Analyze also reads Matroska written by ffmpeg
// and by mkvmerge (known-size clusters, Info Duration).
func TestAnalyzeOtherMuxers(t *testing.T) {
	dir := t.TempDir()
	ff := filepath.Join(dir, "ffmpeg.mkv")
	if out, err := exec.Command(tool(t, "ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
		"-t", "2", "-c:v", "mjpeg", ff).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	s, err := Analyze(ff, 100*time.Millisecond)
	if err != nil || s.Frames != 50 || s.Duration != 2*time.Second || len(s.Gaps) != 0 {
		t.Errorf("ffmpeg's file: %+v, %v; want 50 frames, 2s", s, err)
	}

	// Our file remuxed by mkvmerge.
	r := runRecorder(t, testConfig(), Options{BlockWhenFull: true})
	js := smallJPEGs(t)
	ours := filepath.Join(dir, "ours")
	os.Mkdir(ours, 0o755)
	if err := r.Start(ours); err != nil {
		t.Fatal(err)
	}
	pushFrames(r, js, time.Now(), 0, 90, fps30)
	st, err := stop(t, r)
	if err != nil {
		t.Fatal(err)
	}
	mm := filepath.Join(dir, "mkvmerge.mkv")
	if out, err := exec.Command(tool(t, "mkvmerge"), "-q", "-o", mm, filepath.Join(ours, FileName(0))).CombinedOutput(); err != nil {
		t.Fatalf("mkvmerge: %v\n%s", err, out)
	}
	s, err = Analyze(mm, 100*time.Millisecond)
	if err != nil || s.Frames != st.Frames || (s.Duration-st.Duration).Abs() > 40*time.Millisecond {
		t.Errorf("mkvmerge's remux: %+v, %v; want %d frames, %v", s, err, st.Frames, st.Duration)
	}
}
