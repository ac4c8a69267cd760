package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/recorder"
	"weighin/internal/recorder/recordertest"
	"weighin/internal/result"
)

var vfT0 = time.Date(2026, 11, 26, 5, 10, 0, 0, time.UTC)

// vfRecord runs the real recorder into dir: frames at 10 fps, with a hole of
// holeMS after frame 20 when holeMS > 0. It returns the statistics.
func vfRecord(t *testing.T, dir string, frames int, holeMS int) recorder.Stats {
	t.Helper()
	rec, err := recorder.New(config.Default().Recorder, recorder.Options{BlockWhenFull: true, AudioFormat: audio.Format{Rate: 8000, Channels: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	jpegs, err := recordertest.JPEGs(3, 160, 120, 70, 1)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1000, 0)
	if err := rec.Start(dir); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		d := time.Duration(i) * 100 * time.Millisecond
		if holeMS > 0 && i > 20 {
			d += time.Duration(holeMS-100) * time.Millisecond
		}
		rec.SetInfo(vfT0.Add(d), 1612.4, true, "KB-12345")
		rec.Push(camera.Frame{Data: jpegs[i%3], Seq: uint64(i), Time: start.Add(d), Width: 160, Height: 120})
		// 100 ms of sound from the frame on (silence: only its count and
		// its time are verified); the hole is in the sound too.
		rec.PushAudio(audio.Block{At: start.Add(d), Data: make([]byte, 2*800), Format: audio.Format{Rate: 8000, Channels: 1}})
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	st, err := rec.Stop(sctx)
	if err != nil {
		t.Fatalf("recorder stop: %v", err)
	}
	cancel()
	<-done
	return st
}

// vfSession runs one whole session as the daemon does: Begin, record, the
// other files, Seal with the recorder's hashes and statistics.
func vfSession(t *testing.T, st *evidence.Store, at time.Time, verdict string, holeMS int) result.Result {
	t.Helper()
	s, err := st.Begin(at, true, "LP00123456789CN")
	if err != nil {
		t.Fatal(err)
	}
	stats := vfRecord(t, s.Dir(), 40, holeMS)
	var files []evidence.FileEntry
	for _, f := range stats.Files {
		files = append(files, evidence.FileEntry{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	jpegs, _ := recordertest.JPEGs(1, 320, 240, 80, 2)
	for name, data := range map[string][]byte{
		"label.jpg":   jpegs[0],
		"weight.csv":  []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n100,685000,1612.40,1\n"),
		"dispute.txt": []byte("Order KB-12345 arrived 227.6 g under its label weight.\n订单 KB-12345 比标签重量轻 227.6 克。\n"),
	} {
		p, _ := s.Path(name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := result.Result{
		Verdict: verdict, OrderRef: "KB-12345", MeasuredG: 1612.4, MeasuredStable: true,
		Continuity: stats.Continuity(), Marks: stats.ResultMarks(), StopReason: result.StopButton,
	}
	out, err := s.Seal(res, files...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vfStation makes a state directory with three bundles; the second has a
// 600 ms hole in its video.
func vfStation(t *testing.T) (string, *evidence.Store, []result.Result) {
	t.Helper()
	state := t.TempDir()
	st, err := evidence.Open(state, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{StationID: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	var out []result.Result
	for i, hole := range []int{0, 600, 0} {
		out = append(out, vfSession(t, st, vfT0.Add(time.Duration(i)*time.Hour), result.VerdictMatch, hole))
	}
	return state, st, out
}

func vfRunCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"verify"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func vfBundle(state string, r result.Result) string { return filepath.Join(state, r.Bundle) }

func TestVerifyCLI(t *testing.T) {
	state, st, res := vfStation(t)
	b1, b2, b3 := vfBundle(state, res[0]), vfBundle(state, res[1]), vfBundle(state, res[2])

	if _, err := st.RecordOutcome(res[0].SessionID, evidence.Outcome{Status: evidence.StatusResolved, Resolution: evidence.ResolutionPartialRefund, Amount: vfPtr(12.5), Currency: "USD"}, vfT0.Add(48*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	t.Run("good bundles", func(t *testing.T) {
		code, out, errOut := vfRunCLI(b1, b3)
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{
			"ok    " + b1 + "  sealed, verdict match",
			"files: 5 ok",
			"addendum-001-outcome.json: resolved: partial_refund 12.5 USD (2026-11-28T05:10:00Z)",
			"video re-analysed: 40 frames",
			"audio re-analysed: 32000 samples at 8000 Hz, 4.000 s",
			"key trusted: " + filepath.Join(state, evidence.PublicKeyFile),
			st.KeyFingerprint(),
			"2 bundle(s): 0 failed integrity, 0 with continuity findings",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("continuity finding, strict", func(t *testing.T) {
		code, out, _ := vfRunCLI(b2)
		if code != exitOK || !strings.Contains(out, "finding: 1 gap(s) in the video; longest 600 ms") || !strings.Contains(out, "finding: 1 gap(s) in the sound; 500 ms missing") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		code, out, errOut := vfRunCLI("--strict", b2)
		if code != exitProblem || !strings.Contains(errOut, "continuity: 1 gap(s)") {
			t.Fatalf("--strict: exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := vfRunCLI(b1, "--json")
		var doc struct {
			OK      bool               `json:"ok"`
			Bundles []*evidence.Report `json:"bundles"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("--json output: %v\n%s", err, out)
		}
		if code != exitOK || !doc.OK || len(doc.Bundles) != 1 || doc.Bundles[0].SessionID != res[0].SessionID || doc.Bundles[0].ManifestSHA256 != res[0].ManifestSHA256 {
			t.Fatalf("exit %d, %+v", code, doc)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		cp := t.TempDir()
		vfCopyTree(t, state, cp)
		video := filepath.Join(cp, res[0].Bundle, "video-000.mkv")
		data, _ := os.ReadFile(video)
		data[len(data)/2] ^= 0x01
		os.WriteFile(video, data, 0o644)
		os.Remove(filepath.Join(cp, res[2].Bundle, "label.jpg"))
		code, out, errOut := vfRunCLI(filepath.Join(cp, res[0].Bundle), filepath.Join(cp, res[2].Bundle))
		if code != exitProblem {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, want := range []string{"video-000.mkv: sha256", "label.jpg: missing"} {
			if !strings.Contains(errOut, want) || !strings.Contains(out, "FAIL "+want[:strings.Index(want, ":")]) {
				t.Errorf("output does not name %q:\n%s\n%s", want, out, errOut)
			}
		}
		code, _, _ = vfRunCLI("--chain", cp)
		if code != exitProblem {
			t.Errorf("--chain on tampered copy: exit %d", code)
		}
	})
	t.Run("key pinning", func(t *testing.T) {
		if code, out, _ := vfRunCLI("--fingerprint", st.KeyFingerprint(), b1); code != exitOK {
			t.Errorf("right fingerprint: exit %d\n%s", code, out)
		}
		code, _, errOut := vfRunCLI("--fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b1)
		if code != exitProblem || !strings.Contains(errOut, "expected the published key") {
			t.Errorf("wrong fingerprint: exit %d %s", code, errOut)
		}
		if code, out, _ := vfRunCLI("--key", filepath.Join(b1, evidence.AllowedSignersFile), b1); code != exitOK {
			t.Errorf("--key allowed_signers: exit %d\n%s", code, out)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{},
			{"--chain", b1, b2},
			{"--head", "abc", b1},
			{"--bogus", b1},
			{filepath.Join(state, "absent")},
			{"--key", filepath.Join(state, "absent.pub"), b1},
			{"--fingerprint", "MD5:aa", b1},
			{"--key", filepath.Join(state, evidence.PublicKeyFile), "--fingerprint", st.KeyFingerprint(), b1},
		} {
			if code, _, _ := vfRunCLI(args...); code != exitUsage {
				t.Errorf("weighctl verify %q: exit %d, want %d", args, code, exitUsage)
			}
		}
		if code, _, errOut := vfRunCLI("--help"); code != exitOK || !strings.Contains(errOut, "weighctl verify --chain") {
			t.Errorf("--help: exit %d", code)
		}
	})
}

func TestVerifyChainCLI(t *testing.T) {
	state, st, res := vfStation(t)
	if code, out, errOut := vfRunCLI("--chain", state, "--head", st.Head()); code != exitOK || !strings.Contains(out, "chain: 3 bundles, head "+st.Head()) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// Retention removes the two unprotected bundles (match, no marks); the
	// chain still verifies through their tombstones.
	disk := int64(1)
	st2, err := evidence.Open(state, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{
		Retention: evidence.Retention{MinFreeBytes: 1 << 30},
		FreeSpace: func(string) (int64, error) { return disk, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st2.Enforce(vfT0.Add(10*time.Hour), true)
	if !errors.Is(err, evidence.ErrNoSpace) || len(rep.Removed) != 3 {
		t.Fatalf("Enforce: %v, removed %+v", err, rep.Removed)
	}
	code, out, errOut := vfRunCLI("--chain", filepath.Join(state, evidence.SessionsDir), "--head", st.Head())
	if code != exitOK || strings.Count(out, "tombstoned") != 3 {
		t.Fatalf("chain with tombstones: exit %d\n%s%s", code, out, errOut)
	}
	// A bundle removed without a tombstone breaks the chain, naming the
	// next bundle's manifest.
	os.RemoveAll(vfBundle(state, res[1]))
	code, out, errOut = vfRunCLI("--chain", state)
	if code != exitProblem || !strings.Contains(errOut, filepath.Join(res[2].SessionID, evidence.ManifestFile)) {
		t.Fatalf("broken chain: exit %d\n%s%s", code, out, errOut)
	}
	// The newest removed: only the published head shows it.
	os.RemoveAll(vfBundle(state, res[2]))
	if code, _, _ := vfRunCLI("--chain", state, "--head", res[2].ChainHead); code != exitProblem {
		t.Fatalf("missing newest bundle with --head: exit %d", code)
	}
}

// TestVerifyRecoveredSession: a recording cut by a power failure is sealed
// at the next start with statistics recomputed from the file by
// recorder.AnalyzeFiles (the daemon's recovery wiring); verify reports the
// interruption, and --strict fails on it.
func TestVerifyRecoveredSession(t *testing.T) {
	state := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := evidence.Open(state, log, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.Begin(vfT0, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(result.Result{Verdict: result.VerdictUnderweight, Tier: 3}); err != nil {
		t.Fatal(err)
	}
	stats := vfRecord(t, s.Dir(), 60, 0)
	// What the card held when the power went: a prefix of the file.
	video := filepath.Join(s.Dir(), stats.Files[0].Name)
	fi, _ := os.Stat(video)
	os.Truncate(video, fi.Size()*55/100)

	st2, err := evidence.Open(state, log, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gap := config.Default().Recorder.GapThreshold
	outs, err := st2.Recover(func(dir string, cp result.Result) (result.Result, error) {
		paths, err := filepath.Glob(filepath.Join(dir, "video-*.mkv"))
		if err != nil {
			return cp, err
		}
		slices.Sort(paths)
		a, err := recorder.AnalyzeFiles(paths, gap)
		if err != nil {
			return cp, err
		}
		cp.Continuity = a.Continuity()
		cp.Marks = a.ResultMarks()
		return cp, nil
	})
	if err != nil || len(outs) != 1 {
		t.Fatal(err, outs)
	}
	r := outs[0]
	t.Logf("recovered: %d of 60 frames, %.3f s", r.Continuity.Frames, r.Continuity.DurationS)
	if !r.Interrupted || r.Verdict != result.VerdictUnderweight || r.Continuity.Frames < 10 || r.Continuity.Frames >= 60 {
		t.Fatalf("recovered result: %+v", r)
	}
	code, out, _ := vfRunCLI(vfBundle(state, r))
	if code != exitOK || !strings.Contains(out, "finding: session interrupted") || !strings.Contains(out, "video re-analysed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, _, _ := vfRunCLI("--strict", vfBundle(state, r)); code != exitProblem {
		t.Fatalf("--strict on an interrupted session: exit %d", code)
	}
}

func vfCopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func vfPtr(f float64) *float64 { return &f }

// The journal witnesses every addendum: the newest outcome removed from
// its bundle, or the newest bundle's seal, fails verify (with the state
// directory) and verify --chain.
func TestVerifyJournalCLI(t *testing.T) {
	state, st, res := vfStation(t)
	for _, o := range []evidence.Outcome{{Status: evidence.StatusEscalated}, {Status: evidence.StatusResolved, Resolution: evidence.ResolutionRefund}} {
		if _, err := st.RecordOutcome(res[2].SessionID, o, vfT0.Add(48*time.Hour), true); err != nil {
			t.Fatal(err)
		}
	}
	newest := vfBundle(state, res[2])
	if code, out, errOut := vfRunCLI("--no-video", "--state-dir", state, newest); code != exitOK {
		t.Fatalf("good bundle: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"addendum-002-outcome.json", "addendum-002-outcome.sig"} {
		if err := os.Remove(filepath.Join(newest, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"--state-dir", state, newest}, {newest}, {"--chain", state}} {
		code, out, errOut := vfRunCLI(append([]string{"--no-video"}, args...)...)
		if code != exitProblem || !strings.Contains(errOut, "addendum-002-outcome.json") || !strings.Contains(errOut, "missing from its bundle") {
			t.Errorf("verify %v with the newest addendum removed: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	for _, f := range []string{evidence.ManifestFile, evidence.ManifestSigFile} {
		if err := os.Remove(filepath.Join(newest, f)); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := vfRunCLI("--no-video", "--chain", state)
	if code != exitProblem || !strings.Contains(errOut, filepath.Join(res[2].SessionID, evidence.ManifestFile)+": missing from its bundle") {
		t.Errorf("verify --chain with the newest seal removed: exit %d\n%s%s", code, out, errOut)
	}
}
