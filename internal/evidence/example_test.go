package evidence_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/result"
)

// Example shows a session from start to verification.
func Example() {
	state, _ := os.MkdirTemp("", "weighin-example-")
	defer os.RemoveAll(state)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	store, err := evidence.Open(state, log, evidence.Options{StationID: "bench"})
	if err != nil {
		fmt.Println(err)
		return
	}
	started := time.Date(2026, 11, 26, 5, 10, 0, 0, time.UTC)
	s, err := store.Begin(started, true, "LP00123456789CN")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The recorder writes into s.Dir(); here, just the weight log.
	os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n"), 0o644)
	res, err := s.Seal(result.Result{Verdict: result.VerdictMatch, StopReason: result.StopButton,
		Continuity: result.Continuity{Frames: 31, DurationS: 3, MeanFPS: 10, MaxGapMS: 100}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.SessionID, res.Bundle)
	fmt.Println("chain head is this manifest:", res.ChainHead == res.ManifestSHA256)

	rep, err := evidence.VerifyBundle(filepath.Join(state, res.Bundle), evidence.VerifyOptions{Key: store.PublicKey()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.State, "ok:", rep.OK())
	for _, f := range rep.Files {
		fmt.Println(" ", f.Name, f.Status)
	}
	// Output:
	// 000001-20261126T051000Z-LP00123456789CN sessions/000001-20261126T051000Z-LP00123456789CN
	// chain head is this manifest: true
	// sealed ok: true
	//   allowed_signers ok
	//   weight.csv ok
}

func ExampleProtectedBecause() {
	match := result.Result{Verdict: result.VerdictMatch}
	fmt.Printf("%q\n", evidence.ProtectedBecause(match, nil))
	fmt.Printf("%q\n", evidence.ProtectedBecause(result.Result{Verdict: result.VerdictUnderweight}, nil))
	fmt.Printf("%q\n", evidence.ProtectedBecause(match, &evidence.Outcome{Status: evidence.StatusEscalated}))
	// Output:
	// ""
	// "verdict underweight"
	// "open outcome (escalated)"
}

func ExampleContinuityFindings() {
	res := result.Result{Continuity: result.Continuity{
		Frames: 281, DurationS: 10, MeanFPS: 28, MaxGapMS: 850,
		Gaps: []result.Gap{{AtS: 7.25, File: "video.mkv", GapMS: 850}},
	}}
	for _, f := range evidence.ContinuityFindings(res) {
		fmt.Println(f)
	}
	// Output:
	// 1 gap(s) in the video; longest 850 ms at 7.2 s in video.mkv
}

func ExampleSessionDirName() {
	at := time.Date(2026, 11, 26, 5, 10, 0, 0, time.UTC)
	fmt.Println(evidence.SessionDirName(12, at, true, "LP 0012-3456/789 CN"))
	fmt.Println(evidence.SessionDirName(13, at, false, ""))
	// Output:
	// 000012-20261126T051000Z-LP0012-3456789CN
	// 000013-unsynced
}

// ExampleStore_AddAddendum adds an outcome and then an export, with its
// file, to a sealed bundle: one numbered, signed chain of addenda that
// VerifyBundle checks with every file they list.
func ExampleStore_AddAddendum() {
	state, _ := os.MkdirTemp("", "weighin-example-")
	defer os.RemoveAll(state)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	store, err := evidence.Open(state, log, evidence.Options{Clock: func() (time.Time, bool) { return at, true }})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := store.Begin(at.Add(-24*time.Hour), true, "")
	res, err := s.Seal(result.Result{Verdict: result.VerdictUnderweight, StopReason: result.StopInactivity})
	if err != nil {
		fmt.Println(err)
		return
	}
	bundle := filepath.Join(state, res.Bundle)

	// An outcome: the body is the Outcome.
	o, err := store.AddAddendum(bundle, evidence.KindOutcome, evidence.Outcome{Status: evidence.StatusEscalated}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// An export: finish the file under TempDir, then hand it over; it is
	// moved into the bundle and listed with its size and SHA-256.
	tmp, _ := store.TempDir()
	clip := filepath.Join(tmp, "clip-in-progress")
	os.WriteFile(clip, []byte("the exported clip"), 0o600)
	e, err := store.AddAddendum(bundle, evidence.KindExport,
		map[string]string{"command": "ffmpeg -ss 3 -i video-000.mkv clip.mp4"},
		[]evidence.AddendumFile{{Name: "export-clip.mp4", Path: clip}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.FileName(), e.FileName(), e.Files[0].Name, e.Files[0].Bytes)

	rep, _ := evidence.VerifyBundle(bundle, evidence.VerifyOptions{Key: store.PublicKey()})
	fmt.Println("ok:", rep.OK())
	for _, a := range rep.Addenda {
		fmt.Println(" ", a.N, a.Kind, len(a.Files), "file(s)")
	}
	// Output:
	// addendum-001-outcome.json addendum-002-export.json export-clip.mp4 17
	// ok: true
	//   1 outcome 0 file(s)
	//   2 export 1 file(s)
}
