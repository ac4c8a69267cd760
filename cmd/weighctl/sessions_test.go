package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/verdict"
)

// testState is a state directory with two sealed bundles (the demo's
// underweight parcel, then a match) and a configuration naming it.
type testState struct {
	dir, config string
	under       result.Result // sealed, as published
	match       result.Result
	underClaim  string
}

func sealed(t *testing.T, store *evidence.Store, at time.Time, tracking string, in verdict.Input, order string) (result.Result, string) {
	t.Helper()
	o, err := verdict.Evaluate(verdict.DefaultParams(), in)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Begin(at, true, tracking)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,8000,0.00,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := result.Result{Tracking: tracking, OrderRef: order, StartedAt: at.Format(time.RFC3339), ClockSynced: true, StopReason: result.StopButton,
		Continuity: result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 30, MaxGapMS: 40}}
	o.Apply(&res)
	if o.Verdict != result.VerdictMatch {
		res.Marks = []result.Mark{{TS: 4.2, File: "video.mkv", Label: "mark 1"}}
	}
	res.SessionID, res.Seq = s.ID(), s.Seq()
	msg, err := verdict.Compose(res, verdict.DisputeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res.Dispute = msg.String()
	if err := os.WriteFile(filepath.Join(s.Dir(), "dispute.txt"), []byte(res.Dispute), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := s.Seal(res)
	if err != nil {
		t.Fatal(err)
	}
	return out, res.Dispute
}

func newTestState(t *testing.T) *testState {
	t.Helper()
	dir := t.TempDir()
	store, err := evidence.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), evidence.Options{StationID: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testState{dir: dir, config: filepath.Join(dir, "weighd.yaml")}
	label := 2350.0
	items := []verdict.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}
	ts.under, ts.underClaim = sealed(t, store, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), "LB123456789CN",
		verdict.Input{LabelG: &label, MeasuredG: 1840, MeasuredStable: true, Items: items}, "KB-1")
	label2 := 700.0
	ts.match, _ = sealed(t, store, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), "LB999CN",
		verdict.Input{LabelG: &label2, MeasuredG: 698, MeasuredStable: true}, "KB-2")
	cfg := "state_dir: " + dir + "\napi:\n  socket: " + filepath.Join(dir, "nobody.sock") + "\n"
	if err := os.WriteFile(ts.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return ts
}

func (ts *testState) registerItems(t *testing.T) {
	t.Helper()
	db, err := registry.Open(filepath.Join(ts.dir, registry.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	label := 2350.0
	if err := db.AddParcel(context.Background(), registry.Parcel{Tracking: "LB123456789CN", OrderRef: "KB-1", LabelG: &label,
		Items: []registry.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsOffline(t *testing.T) {
	ts := newTestState(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string // session ids, in order
		text  string
		isDoc bool
	}{
		{name: "all", want: []string{ts.under.SessionID, ts.match.SessionID}},
		{name: "by verdict", args: []string{"--verdict", "underweight"}, want: []string{ts.under.SessionID}},
		{name: "by tracking, any case", args: []string{"--tracking", "lb999cn"}, want: []string{ts.match.SessionID}},
		{name: "by order", args: []string{"--order", "KB-1"}, want: []string{ts.under.SessionID}},
		{name: "since a date", args: []string{"--since", "2026-11-21"}, want: []string{ts.match.SessionID}},
		{name: "since later", args: []string{"--since", "2026-12-01T00:00:00Z"}, want: nil},
		{name: "bad verdict", args: []string{"--verdict", "light"}, code: exitUsage},
		{name: "bad date", args: []string{"--since", "yesterday"}, code: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCtl(t, append([]string{"sessions", "--json", "--config", ts.config}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			if code != exitOK {
				return
			}
			if !strings.Contains(errs, "weighd is not running; read "+filepath.Join(ts.dir, "sessions")) {
				t.Errorf("stderr %q does not say the bundles were read", errs)
			}
			var list []registry.Session
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var ids []string
			for _, s := range list {
				ids = append(ids, s.SessionID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("sessions %q = %q, want %q", tc.args, ids, tc.want)
			}
		})
	}
	code, out, _ := runCtl(t, "sessions", "--config", ts.config)
	if code != exitOK || !strings.Contains(out, "underweight  3     -510 g") || !strings.Contains(out, "LB999CN") {
		t.Errorf("sessions table (exit %d):\n%s", code, out)
	}
}

// TestSessionsRegistry: with a registry.db in the state directory and no
// weighd, the index is read (it holds only what was indexed).
func TestSessionsRegistry(t *testing.T) {
	ts := newTestState(t)
	db, err := registry.Open(filepath.Join(ts.dir, registry.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.IndexSession(context.Background(), ts.match); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs := runCtl(t, "sessions", "--config", ts.config)
	if code != exitOK || !strings.Contains(errs, registry.FileName) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, ts.match.SessionID) || strings.Contains(out, ts.under.SessionID) {
		t.Errorf("sessions from the registry:\n%s", out)
	}
}

func TestSessionsAPI(t *testing.T) {
	f, sock := startFake(t)
	d := -510.0
	f.sessions = []registry.Session{{SessionID: "000003-20261126T051000Z-LB1", Seq: 3, StartedAt: "2026-11-26T05:10:00Z",
		Tracking: "LB1", OrderRef: "KB-9", Verdict: "underweight", Tier: 3, DeltaG: &d, Outcome: "complete"}}
	code, out, errs := runCtl(t, "sessions", "--tracking", "LB1", "--order", "KB-9", "--since", "2026-11-01", "--socket", sock, "--config", noConfig)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := []string{"sessions?order:KB-9,since:2026-11-01T00:00:00Z,tracking:LB1"}
	if got := f.requests(); !slices.Equal(got, want) {
		t.Errorf("weighd received %q, want %q", got, want)
	}
	if !strings.Contains(out, "000003-20261126T051000Z-LB1") || !strings.Contains(out, "-510 g") {
		t.Errorf("output:\n%s", out)
	}
}

func TestShow(t *testing.T) {
	ts := newTestState(t)
	tests := []struct {
		name string
		arg  string
		code int
		want []string
	}{
		{name: "by seq", arg: "1", want: []string{"(sealed)", "verdict    underweight, tier 3", "missing? #1 Leather jacket (505 g, residual +5 g)",
			"weight     measured 1840 g stable, label 2350 g (resolution 10 g), delta -510 g (-21.7 %)", "mark       0:04 video.mkv mark 1",
			"files      allowed_signers, dispute.txt, weight.csv"}},
		{name: "by name", arg: ts.match.SessionID, want: []string{"verdict    match, tier 0", "order KB-2"}},
		{name: "by path", arg: filepath.Join(ts.dir, ts.match.Bundle), want: []string{"verdict    match"}},
		{name: "by prefix", arg: "000002", want: []string{"verdict    match"}},
		{name: "no such session", arg: "9", code: exitUsage},
		{name: "ambiguous prefix", arg: "00000", code: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCtl(t, "show", tc.arg, "--config", ts.config)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("show %s lacks %q:\n%s", tc.arg, w, out)
				}
			}
		})
	}
	code, out, _ := runCtl(t, "show", "1", "--json", "--config", ts.config)
	var doc struct {
		State  string        `json:"state"`
		Result result.Result `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK || doc.State != "sealed" || doc.Result.Tier != 3 {
		t.Errorf("show --json: exit %d, %v, %+v", code, err, doc)
	}
	// A damaged manifest: shown, exit 1.
	if err := os.WriteFile(filepath.Join(ts.dir, ts.match.Bundle, evidence.ManifestFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCtl(t, "show", "2", "--config", ts.config)
	if code != exitProblem || !strings.Contains(out, "(damaged)") {
		t.Errorf("damaged bundle: exit %d:\n%s", code, out)
	}
}

func TestDispute(t *testing.T) {
	ts := newTestState(t)
	code, out, errs := runCtl(t, "dispute", "1", "--config", ts.config)
	if code != exitOK || out != ts.underClaim {
		t.Fatalf("dispute without overrides (exit %d, %s):\n%s\nwant the sealed claim:\n%s", code, errs, out, ts.underClaim)
	}
	jsonOf := func(args ...string) (int, map[string]any, string) {
		code, out, errs := runCtl(t, append([]string{"dispute", "--json", "--config", ts.config}, args...)...)
		var v map[string]any
		if code == exitOK {
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		return code, v, errs
	}
	// Without a registry the weigh-in verdict is kept and the tier decided
	// again from it and the issue.
	code, v, errs := jsonOf("1", "--issue", "damaged_cosmetic")
	if code != exitOK || v["tier"] != 3.0 || v["issue_type"] != "damaged_cosmetic" || !strings.Contains(errs, "kept from the bundle") {
		t.Errorf("--issue damaged_cosmetic without items: exit %d, %v, stderr %q", code, v, errs)
	}
	code, v, _ = jsonOf("2", "--issue", "damaged_functional")
	if code != exitOK || v["tier"] != 2.0 || !strings.Contains(v["en"].(string), "damaged") {
		t.Errorf("match + damaged_functional: exit %d, %v", code, v)
	}
	code, v, _ = jsonOf("2", "--issue", "wrong_item")
	if code != exitOK || v["tier"] != 3.0 {
		t.Errorf("match + wrong_item: exit %d, %v", code, v)
	}
	code, v, _ = jsonOf("1", "--tier", "2", "--solution", "full_refund")
	if code != exitOK || v["tier"] != 2.0 || !strings.Contains(v["en"].(string), "a full refund") || !strings.Contains(v["zh"].(string), "全额退款") {
		t.Errorf("--tier 2 --solution full_refund: exit %d, %v", code, v)
	}
	// With the items registered, the verdict is evaluated again.
	ts.registerItems(t)
	code, v, errs = jsonOf("1", "--issue", "missing_item")
	if code != exitOK || v["verdict"] != "underweight" || v["tier"] != 3.0 || errs != "" || !strings.Contains(v["en"].(string), "Leather jacket (505 g)") {
		t.Errorf("with items: exit %d, %v, stderr %q", code, v, errs)
	}
	for _, bad := range [][]string{{"1", "--tier", "4"}, {"1", "--issue", "lost"}, {"1", "--solution", "money"}, {}, {"77"}} {
		if code, _, _ := runCtl(t, append([]string{"dispute", "--config", ts.config}, bad...)...); code != exitUsage {
			t.Errorf("dispute %q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}

func TestOutcome(t *testing.T) {
	ts := newTestState(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{name: "resolved partial refund", args: []string{"1", "resolved", "--resolution", "partial_refund", "--amount", "40", "--currency", "usd", "--note", "refund for the jacket"},
			out: "recorded addendum-001-outcome.json"},
		{name: "refused", args: []string{"1", "refused"}, out: "retention keeps this bundle (verdict underweight)"},
		{name: "match resolved", args: []string{"2", "resolved", "--resolution", "replacement"}, out: "retention may reduce this bundle"},
		{name: "resolved without resolution", args: []string{"1", "resolved"}, code: exitUsage},
		{name: "partial refund without amount", args: []string{"1", "resolved", "--resolution", "partial_refund"}, code: exitUsage},
		{name: "amount without currency", args: []string{"1", "resolved", "--resolution", "refund", "--amount", "5"}, code: exitUsage},
		{name: "bad status", args: []string{"1", "won"}, code: exitUsage},
		// Issue 13: the note under the one text rule (weighctl writes it
		// directly, so the MQTT parser never sees it).
		{name: "note with a line separator", args: []string{"1", "escalated", "--note", "ok\u2028Proposed Solution: full refund"}, code: exitUsage},
		{name: "note with a bidi override", args: []string{"1", "escalated", "--note", "a\u202eb"}, code: exitUsage},
		{name: "note as a formula", args: []string{"1", "escalated", "--note", "=1+1"}, code: exitUsage},
		{name: "no such session", args: []string{"42", "refused"}, code: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCtl(t, append([]string{"outcome", "--config", ts.config}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errs)
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("stdout %q lacks %q", out, tc.out)
			}
		})
	}
	code, out, errs := runCtl(t, "outcome", "2", "escalated", "--json", "--note", "seller silent", "--config", ts.config)
	var a evidence.Addendum
	err := json.Unmarshal([]byte(out), &a)
	if o, _ := a.Outcome(); err != nil || code != exitOK || a.N != 2 || o.Status != "escalated" || a.SessionID != ts.match.SessionID {
		t.Errorf("outcome --json: exit %d, %v, %+v (stderr %q)", code, err, a, errs)
	}
	rep, err := evidence.VerifyBundle(filepath.Join(ts.dir, ts.under.Bundle), evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Outcomes) != 2 || rep.Outcomes[0].Outcome.Resolution != "partial_refund" || rep.Outcomes[1].Outcome.Status != "refused" {
		t.Errorf("verify after two outcomes: ok %v, problems %v, outcomes %+v", rep.OK(), rep.Problems, rep.Outcomes)
	}

	// While weighd records, the store is left alone.
	f, sock := startFake(t)
	f.status.SessionState = "recording"
	code, _, errs = runCtl(t, "outcome", "1", "escalated", "--config", ts.config, "--socket", sock)
	if code != exitProblem || !strings.Contains(errs, "weighd is recording a session") {
		t.Errorf("outcome while recording: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, ts.under.Bundle, evidence.AddendumFileName(3, evidence.KindOutcome))); err == nil {
		t.Error("an outcome was written while weighd was recording")
	}
}
