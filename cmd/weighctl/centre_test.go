package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/result"
)

// TestVerifyAddenda: an outcome addendum, then an addendum of another kind
// with a file, and `weighctl verify` passes; a changed, missing or unlisted
// file fails it, naming the file.
func TestVerifyAddenda(t *testing.T) {
	state := t.TempDir()
	at := time.Date(2026, 11, 28, 5, 10, 0, 0, time.UTC)
	st, err := evidence.Open(state, slog.New(slog.NewTextHandler(io.Discard, nil)),
		evidence.Options{Clock: func() (time.Time, bool) { return at, true }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Begin(at.Add(-48*time.Hour), true, "LP1")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n"), 0o644)
	res, err := s.Seal(result.Result{Verdict: result.VerdictUnderweight, StopReason: result.StopButton})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(state, res.Bundle)
	if _, err := st.RecordOutcome(res.SessionID, evidence.Outcome{Status: evidence.StatusEscalated}, at, true); err != nil {
		t.Fatal(err)
	}
	tmp, _ := st.TempDir()
	p := filepath.Join(tmp, "claim")
	os.WriteFile(p, []byte("The claim, written again.\n"), 0o600)
	if _, err := st.AddAddendum(dir, evidence.KindClaim, map[string]string{"reason": "buyer's correction"},
		[]evidence.AddendumFile{{Name: "dispute-2.txt", Path: p}}); err != nil {
		t.Fatal(err)
	}

	verify := func(d string) (int, string) {
		var o, e bytes.Buffer
		code := run(context.Background(), []string{"verify", d}, &o, &e)
		return code, o.String() + e.String()
	}
	code, out := verify(dir)
	if code != exitOK {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	for _, want := range []string{"addendum-001-outcome.json: escalated", "addendum-002-claim.json: claim, 1 file(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		name, file string
		tamper     func(d string)
	}{
		{"changed", "dispute-2.txt", func(d string) {
			os.WriteFile(filepath.Join(d, "dispute-2.txt"), []byte("The claim, written AGAIN.\n"), 0o644)
		}},
		{"missing", "dispute-2.txt", func(d string) { os.Remove(filepath.Join(d, "dispute-2.txt")) }},
		{"unlisted", "extra.txt", func(d string) { os.WriteFile(filepath.Join(d, "extra.txt"), []byte("x"), 0o644) }},
		{"addendum missing", "addendum-001-outcome.json", func(d string) { os.Remove(filepath.Join(d, "addendum-001-outcome.json")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), filepath.Base(dir))
			if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			tc.tamper(cp)
			code, out := verify(cp)
			if code != exitProblem || !strings.Contains(out, "FAIL "+tc.file) {
				t.Fatalf("exit %d, want %d naming %s:\n%s", code, exitProblem, tc.file, out)
			}
		})
	}
}

// TestShowStopReason: weighctl show prints why the recording ended, and
// says so when a schema-1 result does not record it.
func TestShowStopReason(t *testing.T) {
	for _, tc := range []struct {
		res  result.Result
		want string
	}{
		{result.Result{Schema: 2, StopReason: result.StopInactivity}, "stopped    inactivity: no weight change for session.inactivity_stop"},
		{result.Result{Schema: 2, StopReason: result.StopShutdown}, "stopped    shutdown: weighd was stopped"},
		{result.Result{Schema: 2, StopReason: result.StopInterrupted, Interrupted: true}, "stopped    interrupted: cut by a crash"},
		{result.Result{Schema: 1}, "stopped    - (not recorded in result schema 1)"},
	} {
		var out bytes.Buffer
		printBundle(&out, evidence.Bundle{BundleInfo: evidence.BundleInfo{State: "sealed", Result: tc.res}})
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("show of %+v lacks %q:\n%s", tc.res, tc.want, out.String())
		}
	}
}
