package evidence

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// stageFile writes a finished file under the store's TempDir and returns it
// as an AddendumFile.
func stageFile(t *testing.T, st *Store, name, content string) AddendumFile {
	t.Helper()
	dir, err := st.TempDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "work-"+name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return AddendumFile{Name: name, Path: p}
}

// addendumBundle seals a bundle and adds an outcome, then an export with two
// files; it returns the state directory, the store and the bundle path.
func addendumBundle(t *testing.T) (string, *Store, string) {
	t.Helper()
	state := t.TempDir()
	clock := t0.Add(48 * time.Hour)
	st := openStore(t, state, Options{Clock: func() (time.Time, bool) { return clock, true }})
	out := sealOne(t, st, t0, true, sampleResult(result.VerdictUnderweight))
	dir := filepath.Join(state, SessionsDir, out.SessionID)
	o, err := st.RecordOutcome(out.SessionID, Outcome{Status: StatusRefused}, t0.Add(24*time.Hour), true)
	if err != nil {
		t.Fatal(err)
	}
	if o.N != 1 || o.Kind != KindOutcome || o.PreviousSHA256 != "" || o.ManifestSHA256 != out.ManifestSHA256 {
		t.Fatalf("outcome addendum: %+v", o)
	}
	files := []AddendumFile{
		stageFile(t, st, "export-clip.mp4", "not really an mp4, but bytes"),
		stageFile(t, st, "export-cmd.txt", "ffmpeg -i video-000.mkv ...\n"),
	}
	body := map[string]any{"tool": "ffmpeg", "from": []string{"video.mkv"}}
	a, err := st.AddAddendum(dir, KindExport, body, files)
	if err != nil {
		t.Fatal(err)
	}
	oData, _ := os.ReadFile(filepath.Join(dir, o.FileName()))
	if a.N != 2 || a.FileName() != "addendum-002-export.json" || a.PreviousSHA256 != sha256Hex(oData) ||
		a.RecordedAt != clock.Format(time.RFC3339) || !a.ClockSynced || len(a.Files) != 2 || a.Files[0].Name != "export-clip.mp4" {
		t.Fatalf("export addendum: %+v", a)
	}
	for _, f := range files {
		if _, err := os.Stat(f.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still at %s: AddAddendum moves files", f.Name, f.Path)
		}
		st, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s in the bundle: %v %v", f.Name, st, err)
		}
	}
	return state, st, dir
}

func TestAddendumChain(t *testing.T) {
	_, st, dir := addendumBundle(t)
	rep, err := VerifyBundle(dir, VerifyOptions{Key: st.PublicKey()})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
	if len(rep.Addenda) != 2 || rep.Addenda[1].Kind != KindExport || len(rep.Addenda[1].Files) != 2 || rep.Addenda[1].Files[1].Status != "ok" ||
		len(rep.Outcomes) != 1 || rep.Outcomes[0].Outcome.Status != StatusRefused {
		t.Fatalf("report: addenda %+v outcomes %+v", rep.Addenda, rep.Outcomes)
	}
	// A third party checks an addendum with ssh-keygen, like the manifest.
	kg := lookTool(t, "ssh-keygen", "openssh-client")
	cmd := exec.Command(kg, "-Y", "verify", "-f", AllowedSignersFile, "-I", Principal, "-n", Namespace, "-s", "addendum-002-export.sig")
	cmd.Dir = dir
	cmd.Stdin = must(os.Open(filepath.Join(dir, "addendum-002-export.json")))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Good \"weighin\" signature") {
		t.Fatalf("ssh-keygen -Y verify on the addendum: %v\n%s", err, out)
	}
	// The numbering survives a reopen, and the latest outcome is read back.
	st2 := openStore(t, filepath.Dir(filepath.Dir(dir)), Options{})
	if got := st2.List()[0].Outcome; got == nil || got.Status != StatusRefused {
		t.Errorf("latest outcome after reopen: %+v", got)
	}
	a3, err := st2.RecordOutcome(filepath.Base(dir), Outcome{Status: StatusResolved, Resolution: ResolutionRefund}, t0, true)
	if err != nil || a3.N != 3 {
		t.Fatalf("third addendum: %+v %v", a3, err)
	}
	if got := st2.List()[0]; got.Outcome == nil || got.Outcome.Status != StatusResolved || got.Protected != "verdict underweight" {
		t.Errorf("after resolving: %+v", got)
	}

	for _, tc := range []struct {
		name, file string
		tamper     func(d string)
	}{
		{"listed file changed", "export-clip.mp4", func(d string) { flipByte(t, filepath.Join(d, "export-clip.mp4"), 3) }},
		{"listed file truncated", "export-cmd.txt", func(d string) { os.Truncate(filepath.Join(d, "export-cmd.txt"), 2) }},
		{"listed file missing", "export-clip.mp4", func(d string) { os.Remove(filepath.Join(d, "export-clip.mp4")) }},
		{"unlisted file", "notes.txt", func(d string) { os.WriteFile(filepath.Join(d, "notes.txt"), []byte("x"), 0o644) }},
		{"addendum edited", "addendum-002-export.sig", func(d string) {
			p := filepath.Join(d, "addendum-002-export.json")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), `"ffmpeg"`, `"gimp"`, 1)), 0o644)
		}},
		{"addendum signature missing", "addendum-002-export.sig", func(d string) { os.Remove(filepath.Join(d, "addendum-002-export.sig")) }},
		{"first addendum removed", "addendum-001-outcome.json", func(d string) { os.Remove(filepath.Join(d, "addendum-001-outcome.json")) }},
		{"two of one number", "addendum-002-export.json", func(d string) {
			data, _ := os.ReadFile(filepath.Join(d, "addendum-003-outcome.json"))
			os.WriteFile(filepath.Join(d, "addendum-002-outcome.json"), data, 0o644)
		}},
		{"renamed to another kind", "addendum-003-claim.json", func(d string) {
			os.Rename(filepath.Join(d, "addendum-003-outcome.json"), filepath.Join(d, "addendum-003-claim.json"))
			os.Rename(filepath.Join(d, "addendum-003-outcome.sig"), filepath.Join(d, "addendum-003-claim.sig"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), filepath.Base(dir))
			copyDir(t, dir, cp)
			tc.tamper(cp)
			rep, _ := VerifyBundle(cp, VerifyOptions{})
			if rep.OK() || !mentions(rep, tc.file) {
				t.Fatalf("not detected or %s not named: %v", tc.file, rep.Problems)
			}
		})
	}
}

func TestAddendumRefusals(t *testing.T) {
	state, st, dir := addendumBundle(t)
	id := filepath.Base(dir)
	before, _ := os.ReadDir(dir)
	for _, tc := range []struct {
		name  string
		kind  string
		body  any
		file  string // a file to add, by name
		want  error
		check func(t *testing.T, f AddendumFile)
	}{
		{name: "bad kind", kind: "Export", body: map[string]int{}, want: ErrAddendum},
		{name: "kind with a dash", kind: "ex-port", body: map[string]int{}, want: ErrAddendum},
		{name: "body not an object", kind: KindClaim, body: []int{1}, want: ErrAddendum},
		{name: "nil body", kind: KindClaim, body: nil, want: ErrAddendum},
		{name: "bad outcome body", kind: KindOutcome, body: Outcome{Status: "won"}, want: ErrOutcome},
		{name: "manifest file", kind: KindExport, body: struct{}{}, file: "weight.csv", want: ErrAddendum},
		{name: "earlier addendum's file", kind: KindExport, body: struct{}{}, file: "export-clip.mp4", want: ErrAddendum},
		{name: "allowed_signers", kind: KindExport, body: struct{}{}, file: AllowedSignersFile, want: ErrAddendum},
		{name: "addendum name", kind: KindExport, body: struct{}{}, file: "addendum-009-export.json", want: ErrAddendum},
		{name: "hidden name", kind: KindExport, body: struct{}{}, file: ".x", want: ErrAddendum},
		{name: "path name", kind: KindExport, body: struct{}{}, file: "../x", want: ErrAddendum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []AddendumFile
			if tc.file != "" {
				f := stageFile(t, st, "ok.bin", "data")
				f.Name = tc.file
				files = append(files, f)
			}
			_, err := st.AddAddendum(id, tc.kind, tc.body, files)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, f := range files {
				if _, err := os.Stat(f.Path); err != nil {
					t.Errorf("refused file moved away: %v", err)
				}
			}
		})
	}
	if _, err := st.AddAddendum(filepath.Join(t.TempDir(), id), KindClaim, struct{}{}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("a bundle outside the store: %v", err)
	}
	if _, err := st.AddAddendum("000099-unsynced", KindClaim, struct{}{}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown bundle: %v", err)
	}
	dirFile := AddendumFile{Name: "d.bin", Path: t.TempDir()}
	if _, err := st.AddAddendum(id, KindExport, struct{}{}, []AddendumFile{dirFile}); !errors.Is(err, ErrAddendum) {
		t.Errorf("a directory as file: %v", err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("refusals changed the bundle: %d entries, was %d", len(after), len(before))
	}

	// A failure after the files moved in moves them back: here the
	// signature's name is taken by a stray file.
	stray := filepath.Join(dir, "addendum-003-export.sig")
	os.WriteFile(stray, []byte("stray"), 0o644)
	f := stageFile(t, st, "export-2.bin", "payload")
	if _, err := st.AddAddendum(id, KindExport, struct{}{}, []AddendumFile{f}); err == nil {
		t.Fatal("AddAddendum over a stray signature succeeded")
	}
	if data, err := os.ReadFile(f.Path); err != nil || string(data) != "payload" {
		t.Errorf("file not moved back: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "export-2.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left in the bundle after a failure: %v", err)
	}
	if data, _ := os.ReadFile(stray); string(data) != "stray" {
		t.Error("the stray file was overwritten")
	}
	os.Remove(stray)

	// Unsealed bundles take no addenda.
	s, err := st.Begin(t0.Add(time.Hour), true, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAddendum(s.ID(), KindClaim, struct{}{}, nil); !errors.Is(err, ErrNotSealed) {
		t.Errorf("unsealed bundle: %v", err)
	}
	_ = state
}

// TestAddendumCutShort: a crash after the files moved in, or between an
// addendum's signature and its document, leaves files no addendum lists:
// verify fails on them, Open moves them to quarantine and removes the lone
// signature, and the bundle verifies again.
func TestAddendumCutShort(t *testing.T) {
	state, st, dir := addendumBundle(t)
	os.WriteFile(filepath.Join(dir, "export-3.bin"), []byte("moved in, never listed"), 0o644)
	os.WriteFile(filepath.Join(dir, "addendum-004-export.sig"), []byte("sig"), 0o644)
	rep, _ := VerifyBundle(dir, VerifyOptions{})
	if rep.OK() || !mentions(rep, "export-3.bin") || !mentions(rep, "addendum-004-export.json") {
		t.Fatalf("leftovers not reported: %v", rep.Problems)
	}
	st.Close()
	openStore(t, state, Options{})
	if rep, _ := VerifyBundle(dir, VerifyOptions{}); !rep.OK() {
		t.Fatalf("after Open: %v", rep.Problems)
	}
	q := filepath.Join(state, QuarantineDir, filepath.Base(dir), "export-3.bin")
	if data, err := os.ReadFile(q); err != nil || string(data) != "moved in, never listed" {
		t.Errorf("quarantined file: %q %v", data, err)
	}
	// Files staged by an interrupted write are removed at Open.
	tmp := filepath.Join(state, TmpDir, stagePrefix+"manifest.json-123")
	os.WriteFile(tmp, []byte("half"), 0o600)
	openStore(t, state, Options{})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staged leftover still there: %v", err)
	}
}

// TestLegacyOutcomes: bundles with outcome-NNN.json from before addenda keep
// verifying, and the first addendum chains to their last outcome.
func TestLegacyOutcomes(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	out := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	dir := filepath.Join(state, SessionsDir, out.SessionID)
	prev := ""
	for n, o := range []Outcome{{Status: StatusEscalated}, {Status: StatusRefused}} {
		a := OutcomeAddendum{
			Type: TypeOutcome, Version: 1, SessionID: out.SessionID, Seq: out.Seq, N: n + 1,
			ManifestSHA256: out.ManifestSHA256, PreviousSHA256: prev,
			RecordedAt: t0.Format(time.RFC3339), ClockSynced: true, Outcome: o,
			StationKey: sshsig.MarshalAuthorizedKey(st.PublicKey(), ""),
		}
		data := must(marshalDoc(a))
		os.WriteFile(filepath.Join(dir, OutcomeFileName(n+1)), data, 0o644)
		os.WriteFile(filepath.Join(dir, outcomeSigName(OutcomeFileName(n+1))), st.sign(data), 0o644)
		prev = sha256Hex(data)
	}
	rep, _ := VerifyBundle(dir, VerifyOptions{})
	if !rep.OK() || len(rep.Outcomes) != 2 || rep.Outcomes[1].File != "outcome-002.json" {
		t.Fatalf("legacy outcomes: %v %+v", rep.Problems, rep.Outcomes)
	}
	st.Close()
	st = openStore(t, state, Options{})
	if got := st.List()[0]; got.Outcome == nil || got.Outcome.Status != StatusRefused || got.Protected == "" {
		t.Fatalf("legacy latest outcome: %+v", got)
	}
	a, err := st.RecordOutcome(out.SessionID, Outcome{Status: StatusResolved, Resolution: ResolutionReplacement}, t0, true)
	if err != nil || a.N != 1 || a.PreviousSHA256 != prev {
		t.Fatalf("first addendum after legacy outcomes: %+v %v", a, err)
	}
	rep, _ = VerifyBundle(dir, VerifyOptions{})
	if !rep.OK() || len(rep.Outcomes) != 3 || rep.Outcomes[2].File != "addendum-001-outcome.json" {
		t.Fatalf("legacy + addendum: %v %+v", rep.Problems, rep.Outcomes)
	}
	if got := st.List()[0]; got.Protected != "" {
		t.Errorf("resolved, still protected: %q", got.Protected)
	}
	// The first addendum must name the last legacy outcome.
	cp := filepath.Join(t.TempDir(), out.SessionID)
	copyDir(t, dir, cp)
	os.Remove(filepath.Join(cp, "outcome-002.json"))
	os.Remove(filepath.Join(cp, "outcome-002.sig"))
	if rep, _ := VerifyBundle(cp, VerifyOptions{}); rep.OK() || !mentions(rep, "addendum-001-outcome.json") {
		t.Fatalf("a legacy outcome removed: %v", rep.Problems)
	}
}

// TestNoTempFilesInBundles: nothing this package writes passes through a
// bundle directory under a temporary name.
func TestNoTempFilesInBundles(t *testing.T) {
	_, st, dir := addendumBundle(t)
	if _, err := st.Enforce(t0, true); err != nil {
		t.Fatal(err)
	}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			t.Errorf("temporary file %s in the bundle", de.Name())
		}
	}
	stage, _ := os.ReadDir(filepath.Join(filepath.Dir(filepath.Dir(dir)), TmpDir))
	for _, de := range stage {
		if strings.HasPrefix(de.Name(), stagePrefix) {
			t.Errorf("staged file %s left behind", de.Name())
		}
	}
}

// TestResultSchemas: schema 2 needs a stop reason (Seal refuses a result
// without one); recovery seals with "interrupted"; schema-1 bundles, with
// no stop reason, still verify.
func TestResultSchemas(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	s, err := st.Begin(t0, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile("dispute.txt", []byte("claim\n")); err != nil {
		t.Fatal(err)
	}
	f, err := s.Create("weight.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("t_ms,raw\n0,1\n")
	f.Close()
	if _, err := s.Create("weight.csv"); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing file: %v", err)
	}
	res := sampleResult(result.VerdictMatch)
	res.StopReason = ""
	if _, err := s.Seal(res); !errors.Is(err, ErrBadResult) {
		t.Fatalf("Seal without a stop reason: %v", err)
	}
	res.StopReason = "bored"
	if _, err := s.Seal(res); !errors.Is(err, ErrBadResult) {
		t.Fatalf("Seal with an unknown stop reason: %v", err)
	}
	res.StopReason = result.StopMaxDuration
	out, err := s.Seal(res)
	if err != nil || out.Schema != 2 || out.StopReason != result.StopMaxDuration {
		t.Fatalf("Seal: %+v %v", out, err)
	}
	if _, err := CreateBundleFile(filepath.Join(state, out.Bundle, "late.csv")); !errors.Is(err, ErrSealed) {
		t.Errorf("a stream opened in a sealed bundle: %v", err)
	}
	// Recovery: interrupted.
	s2, _ := st.Begin(t0.Add(time.Hour), true, "")
	rec, err := st.Recover(nil)
	if err != nil || len(rec) != 1 || rec[0].StopReason != result.StopInterrupted || !rec[0].Interrupted {
		t.Fatalf("Recover: %+v %v", rec, err)
	}
	// A schema-1 bundle (as sealed before schema 2) verifies as it is.
	dir := filepath.Join(state, SessionsDir, s2.ID())
	data, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	m, _, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	m.Result.Schema, m.Result.StopReason = 1, ""
	resign := func(m *Manifest) string {
		cp := filepath.Join(t.TempDir(), s2.ID())
		copyDir(t, dir, cp)
		data := must(marshalDoc(m))
		os.WriteFile(filepath.Join(cp, ManifestFile), data, 0o644)
		os.WriteFile(filepath.Join(cp, ManifestSigFile), st.sign(data), 0o644)
		sums := SumsListing(m.Files, sha256Hex(data))
		os.WriteFile(filepath.Join(cp, SumsFile), sums, 0o644)
		os.WriteFile(filepath.Join(cp, SumsSigFile), st.sign(sums), 0o644)
		return cp
	}
	if rep := VerifyFS(os.DirFS(resign(m)), VerifyOptions{}); !rep.OK() {
		t.Errorf("schema-1 bundle: %v", rep.Problems)
	}
	for _, bad := range []struct {
		schema int
		reason string
	}{{1, result.StopButton}, {2, ""}, {2, result.StopButton}, {3, result.StopInterrupted}} {
		m.Result.Schema, m.Result.StopReason = bad.schema, bad.reason
		if rep := VerifyFS(os.DirFS(resign(m)), VerifyOptions{}); rep.OK() || !mentions(rep, ManifestFile) {
			t.Errorf("schema %d with stop_reason %q (interrupted) verifies: %v", bad.schema, bad.reason, rep.Problems)
		}
	}
}
