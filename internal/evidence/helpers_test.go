package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/result"
)

// tWriter sends log lines to t.Log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func lookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package %s; `make deps` installs it): %v", name, pkg, err)
	}
	return p
}

var (
	fixtureOnce  sync.Once
	fixtureVideo []byte
	fixtureLabel []byte
	fixtureErr   string
)

// fixtures returns a real Matroska file of MJPEG frames (3 s at 10 fps) and a
// real JPEG, made once by ffmpeg.
func fixtures(t testing.TB) (video, label []byte) {
	t.Helper()
	ffmpeg := lookTool(t, "ffmpeg", "ffmpeg")
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evidence-fixtures-")
		if err != nil {
			fixtureErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		v := filepath.Join(dir, "v.mkv")
		l := filepath.Join(dir, "l.jpg")
		for _, args := range [][]string{
			{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "3", "-c:v", "mjpeg", "-q:v", "8", "-f", "matroska", v},
			{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", l},
		} {
			if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				fixtureErr = err.Error() + ": " + string(out)
				return
			}
		}
		fixtureVideo, _ = os.ReadFile(v)
		fixtureLabel, _ = os.ReadFile(l)
	})
	if fixtureErr != "" || len(fixtureVideo) == 0 {
		t.Fatalf("making fixtures with ffmpeg: %s", fixtureErr)
	}
	return fixtureVideo, fixtureLabel
}

func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	st, err := Open(dir, testLogger(t), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ptr(f float64) *float64 { return &f }

// sampleResult is a plausible result with continuity matching the fixture.
func sampleResult(verdict string) result.Result {
	r := result.Result{
		StationID: "bench", Tracking: "LP00123456789CN", OrderRef: "KB-12345",
		LabelG: ptr(1840), LabelResolutionG: 10, MeasuredG: 1612.4, MeasuredStable: true,
		DeltaG: ptr(-227.6), DeltaPct: ptr(-12.37), ToleranceG: 20,
		Verdict: verdict, Tier: 0, StopReason: result.StopButton,
		Continuity: result.Continuity{Frames: 30, DurationS: 2.9, MeanFPS: 10, MaxGapMS: 100},
		Dispute:    "Order KB-12345 arrived 227.6 g under its label weight.\n订单 KB-12345 比标签重量轻 227.6 克。\n",
	}
	if verdict != result.VerdictMatch {
		r.Tier = 3
	}
	return r
}

// writeFiles writes the files a session produces; video.mkv is given to
// AddFile with its precomputed hash, the others are hashed by Seal.
func writeFiles(t testing.TB, s *Session, video []byte) {
	t.Helper()
	v, label := fixtures(t)
	if video == nil {
		video = v
	}
	files := map[string][]byte{
		"video.mkv":   video,
		"label.jpg":   label,
		"weight.csv":  []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n100,685000,1612.40,1\n"),
		"dispute.txt": []byte("Order KB-12345: missing item.\n订单 KB-12345：缺少物品。\n"),
	}
	for name, data := range files {
		p, err := s.Path(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(video)
	if err := s.AddFile(FileEntry{Name: "video.mkv", Bytes: int64(len(video)), SHA256: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 11, 26, 5, 10, 0, 0, time.UTC)

// sealOne runs one whole session and returns the published result.
func sealOne(t testing.TB, st *Store, at time.Time, synced bool, res result.Result) result.Result {
	t.Helper()
	s, err := st.Begin(at, synced, res.Tracking)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	writeFiles(t, s, nil)
	out, err := s.Seal(res)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return out
}

// copyDir copies a directory tree (regular files and directories).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func flipByte(t testing.TB, path string, pos int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pos < 0 {
		pos = len(data) + pos
	}
	data[pos] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mentions reports whether some problem names file.
func mentions(r *Report, file string) bool {
	for _, p := range r.Problems {
		if p.File == file || strings.Contains(p.Reason, file) {
			return true
		}
	}
	return false
}

// ffprobeFrames counts the video frames ffprobe can decode in a file.
func ffprobeFrames(t testing.TB, path string) (int64, error) {
	ffprobe := lookTool(t, "ffprobe", "ffmpeg")
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimRight(out, ",\n"))), 10, 64)
}

func testPriv(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}
