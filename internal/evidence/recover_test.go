package evidence

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/result"
)

func TestRecoverInterrupted(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{StationID: "bench"})
	first := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))

	s, err := st.Begin(t0.Add(time.Hour), true, "LP1")
	if err != nil {
		t.Fatal(err)
	}
	// The weigh-in is known before the opening is filmed.
	cp := sampleResult(result.VerdictUnderweight)
	cp.Continuity = result.Continuity{}
	cp.Marks = []result.Mark{{TS: 0.8, File: "video.mkv", Label: "damage"}}
	if err := s.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	// The recorder had flushed two thirds of the video when the power went.
	video, label := fixtures(t)
	cut := video[:len(video)*2/3]
	os.WriteFile(filepath.Join(s.Dir(), "video.mkv"), cut, 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "label.jpg"), label, 0o644)
	os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n100,6850"), 0o644)
	// A temporary file of an atomic write in progress.
	os.WriteFile(filepath.Join(s.Dir(), ".unsealed.json.tmp-123"), []byte("{"), 0o644)
	// A Begin cut short for the next session.
	os.Mkdir(filepath.Join(state, SessionsDir, ".000003-unsynced.tmp-begin"), 0o750)

	// Power cut: the store is abandoned; the next start opens a new one.
	st2 := openStore(t, state, Options{StationID: "bench"})
	if p := st2.Pending(); !slices.Equal(p, []string{s.ID()}) {
		t.Fatalf("Pending: got %v, want [%s]", p, s.ID())
	}
	if _, err := os.Stat(filepath.Join(state, SessionsDir, ".000003-unsynced.tmp-begin")); !errors.Is(err, os.ErrNotExist) {
		t.Error("half-made session directory not removed at Open")
	}
	rep, _ := VerifyBundle(s.Dir(), VerifyOptions{})
	if rep.OK() || rep.State != "unsealed" || !mentions(rep, UnsealedFile) {
		t.Fatalf("verify of an unsealed bundle: %+v", rep)
	}
	if _, err := st2.Begin(t0.Add(2*time.Hour), true, ""); !errors.Is(err, ErrRecoveryPending) {
		t.Fatalf("Begin before Recover: got %v, want ErrRecoveryPending", err)
	}

	// The video is playable to the cut: ffprobe decodes frames from it.
	var probed int64
	analyze := func(dir string, checkpoint result.Result) (result.Result, error) {
		n, err := ffprobeFrames(t, filepath.Join(dir, "video.mkv"))
		if err != nil {
			return checkpoint, err
		}
		probed = n
		checkpoint.Continuity = result.Continuity{Frames: n, DurationS: float64(n-1) / 10, MeanFPS: 10, MaxGapMS: 100}
		return checkpoint, nil
	}
	outs, err := st2.Recover(analyze)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 {
		t.Fatalf("Recover sealed %d sessions, want 1", len(outs))
	}
	r := outs[0]
	if !r.Interrupted || r.Verdict != result.VerdictUnderweight || len(r.Marks) != 1 || r.SessionID != s.ID() {
		t.Errorf("recovered result: %+v", r)
	}
	if probed < 5 || probed >= 30 || r.Continuity.Frames != probed {
		t.Errorf("frames in the cut video: ffprobe %d, result %d (whole file has 30)", probed, r.Continuity.Frames)
	}
	t.Logf("cut video: %d of 30 frames playable", probed)
	if r.ChainHead != st2.Head() || r.ManifestSHA256 != st2.Head() {
		t.Errorf("recovered result chain fields %q %q, head %q", r.ManifestSHA256, r.ChainHead, st2.Head())
	}
	rep, _ = VerifyBundle(s.Dir(), VerifyOptions{Key: st.PublicKey()})
	if !rep.OK() {
		t.Fatalf("recovered bundle does not verify: %v", rep.Problems)
	}
	if !slices.ContainsFunc(rep.Findings, func(f string) bool { return strings.Contains(f, "interrupted") }) {
		t.Errorf("findings lack the interruption: %v", rep.Findings)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), ".unsealed.json.tmp-123")); err == nil {
		t.Error("temporary file left in the sealed bundle")
	}
	// weight.csv is sealed as written, cut line included.
	data, _ := os.ReadFile(filepath.Join(s.Dir(), "weight.csv"))
	if !strings.HasSuffix(string(data), "100,6850") {
		t.Errorf("weight.csv changed: %q", data)
	}

	// The station goes on, chained to the recovered bundle.
	next := sealOne(t, st2, t0.Add(2*time.Hour), true, sampleResult(result.VerdictMatch))
	if next.Seq != 3 {
		t.Errorf("next seq %d, want 3", next.Seq)
	}
	c, err := VerifyChain(state, ChainOptions{Head: next.ChainHead})
	if err != nil || !c.OK() || len(c.Bundles) != 3 {
		t.Fatalf("chain after recovery: %v %+v", err, c)
	}
	_ = first
}

func TestRecoverAnalyzerFailsKeepsCheckpoint(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	s, _ := st.Begin(t0, false, "")
	cp := sampleResult(result.VerdictEmpty)
	s.Checkpoint(cp)
	st2 := openStore(t, state, Options{})
	outs, err := st2.Recover(func(string, result.Result) (result.Result, error) {
		return result.Result{}, errors.New("no video")
	})
	if err != nil || len(outs) != 1 {
		t.Fatal(err)
	}
	if outs[0].Tracking != cp.Tracking {
		t.Errorf("tracking %q, want the checkpoint's %q", outs[0].Tracking, cp.Tracking)
	}
	if outs[0].Verdict != result.VerdictEmpty || !outs[0].Interrupted || outs[0].ClockSynced {
		t.Errorf("got %+v", outs[0])
	}
}

// TestRecoverSealCutShort: the power went after manifest.json was renamed
// into place but before the signature files: the seal is completed as it
// was, not turned into an interrupted session.
func TestRecoverSealCutShort(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	out := sealOne(t, st, t0.Add(time.Hour), true, sampleResult(result.VerdictOverweight))
	dir := filepath.Join(state, SessionsDir, out.SessionID)
	for _, n := range []string{ManifestSigFile, SumsFile, SumsSigFile} {
		os.Remove(filepath.Join(dir, n))
	}
	os.WriteFile(filepath.Join(dir, UnsealedFile), []byte(`{"type":"unsealed","result":{}}`), 0o644)

	st2 := openStore(t, state, Options{})
	outs, err := st2.Recover(nil)
	if err != nil || len(outs) != 1 {
		t.Fatal(err, outs)
	}
	if outs[0].ManifestSHA256 != out.ManifestSHA256 || outs[0].Interrupted || outs[0].Verdict != result.VerdictOverweight {
		t.Errorf("completed seal: got %+v, want manifest %s", outs[0], out.ManifestSHA256)
	}
	rep, _ := VerifyBundle(dir, VerifyOptions{})
	if !rep.OK() {
		t.Fatal(rep.Problems)
	}
}

// TestRecoverFailedSeal: a Seal that fails (here: a size mismatch) leaves
// the session unsealed; Recover seals it and the station goes on.
func TestRecoverFailedSeal(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	s, _ := st.Begin(t0, true, "")
	writeFiles(t, s, nil)
	if _, err := s.Seal(sampleResult(result.VerdictMatch), FileEntry{Name: "video.mkv", Bytes: 1, SHA256: strings.Repeat("a", 64)}); !errors.Is(err, ErrBadFile) {
		t.Fatalf("Seal: %v", err)
	}
	if _, err := st.Begin(t0, true, ""); !errors.Is(err, ErrSessionOpen) {
		t.Fatalf("Begin after failed seal: %v", err)
	}
	outs, err := st.Recover(nil)
	if err != nil || len(outs) != 1 || !outs[0].Interrupted {
		t.Fatal(err, outs)
	}
	if _, err := s.Seal(sampleResult(result.VerdictMatch)); !errors.Is(err, ErrSealed) {
		t.Fatalf("Seal after Recover: %v", err)
	}
	rep, _ := VerifyBundle(s.Dir(), VerifyOptions{})
	if !rep.OK() {
		t.Fatal(rep.Problems)
	}
	sealOne(t, st, t0.Add(time.Hour), true, sampleResult(result.VerdictMatch))
}

// TestRecoverQuarantinesForeignEntries: a stray subdirectory or a file with
// a reserved name in an unsealed bundle must not keep it unsealed (and the
// station unable to record) forever: recovery moves them to the quarantine,
// deleting nothing, and seals.
func TestRecoverQuarantinesForeignEntries(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	s, err := st.Begin(t0, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw\n0,1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "sub", "note.txt"), []byte("kept"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "outcome-001.json"), []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seal(sampleResult(result.VerdictMatch)); !errors.Is(err, ErrBadFile) {
		t.Fatalf("Seal with foreign entries: %v, want ErrBadFile", err)
	}
	res, err := st.Recover(nil)
	if err != nil || len(res) != 1 || !res[0].Interrupted {
		t.Fatalf("Recover = %+v, %v; want one interrupted session", res, err)
	}
	q := filepath.Join(state, QuarantineDir, s.ID())
	if data, err := os.ReadFile(filepath.Join(q, "sub", "note.txt")); err != nil || string(data) != "kept" {
		t.Errorf("quarantined subdirectory: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(q, "outcome-001.json")); err != nil {
		t.Errorf("quarantined file: %v", err)
	}
	rep, err := VerifyBundle(s.Dir(), VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("recovered bundle does not verify: %v %+v", err, rep)
	}
	if _, err := st.Begin(t0.Add(time.Hour), true, ""); err != nil {
		t.Errorf("Begin after recovery: %v", err)
	}
}
