package evidence

import (
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"weighin/internal/result"
)

const benchVideoBytes = 16 << 20

// benchStore opens a store with a 16 MiB "video" kept outside the sessions,
// hard-linked into each session so setting up a session costs little.
func benchStore(b *testing.B) (*Store, string, FileEntry) {
	b.Helper()
	state := b.TempDir()
	st, err := Open(state, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	video := filepath.Join(state, "video.src")
	data := make([]byte, benchVideoBytes)
	rand.Read(data)
	if err := os.WriteFile(video, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return st, video, FileEntry{Name: "video.mkv", Bytes: int64(len(data)), SHA256: sha256Hex(data)}
}

func benchSession(b *testing.B, st *Store, video string, i int) *Session {
	s, err := st.Begin(t0.Add(time.Duration(i)*time.Second), true, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Link(video, filepath.Join(s.Dir(), "video.mkv")); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,1,0.00,1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSealPrecomputed: Begin + Seal with the video's hash given by the
// recorder (fsyncs, manifest, signatures) — the station's path.
func BenchmarkSealPrecomputed(b *testing.B) {
	st, video, entry := benchStore(b)
	i := 0
	for b.Loop() {
		s := benchSession(b, st, video, i)
		if _, err := s.Seal(sampleResult(result.VerdictMatch), entry); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSealHashing: the same with Seal reading and hashing the 16 MiB
// video itself (what Recover does).
func BenchmarkSealHashing(b *testing.B) {
	st, video, _ := benchStore(b)
	b.SetBytes(benchVideoBytes)
	i := 0
	for b.Loop() {
		s := benchSession(b, st, video, i)
		if _, err := s.Seal(sampleResult(result.VerdictMatch)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyBundle verifies a bundle with a 16 MiB video.
func BenchmarkVerifyBundle(b *testing.B) {
	st, video, entry := benchStore(b)
	s := benchSession(b, st, video, 0)
	if _, err := s.Seal(sampleResult(result.VerdictMatch), entry); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchVideoBytes)
	for b.Loop() {
		r, err := VerifyBundle(s.Dir(), VerifyOptions{})
		if err != nil || !r.OK() {
			b.Fatal(err, r.Problems)
		}
	}
}
