package evidence

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

func TestSealLayout(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{StationID: "bench"})

	fi, err := os.Stat(filepath.Join(state, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	if st.Head() != "" {
		t.Fatalf("fresh store head %q, want empty", st.Head())
	}

	s, err := st.Begin(t0, true, "LP 0012/3456789CN-with-a-tracking-number-far-too-long-for-a-directory")
	if err != nil {
		t.Fatal(err)
	}
	wantID := "000001-20261126T051000Z-LP00123456789CN-with-a-tracking-number-f"
	if s.ID() != wantID || len(strings.SplitN(s.ID(), "-", 3)[2]) != 40 {
		t.Fatalf("session id %q, want %q", s.ID(), wantID)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), UnsealedFile)); err != nil {
		t.Fatalf("open session has no %s marker: %v", UnsealedFile, err)
	}
	if _, err := st.Begin(t0, true, ""); !errors.Is(err, ErrSessionOpen) {
		t.Fatalf("second Begin: got %v, want ErrSessionOpen", err)
	}
	if _, err := s.Path("../escape"); !errors.Is(err, ErrBadFile) {
		t.Fatalf("Path(../escape): got %v, want ErrBadFile", err)
	}
	writeFiles(t, s, nil)
	res := sampleResult(result.VerdictUnderweight)
	res.SessionID, res.Seq = "forged", 99 // the store owns these
	out, err := s.Seal(res)
	if err != nil {
		t.Fatal(err)
	}
	if out.SessionID != wantID || out.Seq != 1 || out.Bundle != "sessions/"+wantID || out.StartedAt != "2026-11-26T05:10:00Z" || !out.ClockSynced {
		t.Errorf("identity fields: %+v", out)
	}
	if out.ManifestSHA256 == "" || out.ChainHead != out.ManifestSHA256 || st.Head() != out.ManifestSHA256 {
		t.Errorf("chain fields: manifest %q head %q store head %q", out.ManifestSHA256, out.ChainHead, st.Head())
	}
	if out.KeyFingerprint != st.KeyFingerprint() || !strings.HasPrefix(out.KeyFingerprint, "SHA256:") {
		t.Errorf("key fingerprint %q, store %q", out.KeyFingerprint, st.KeyFingerprint())
	}
	if _, err := s.Seal(res); !errors.Is(err, ErrSealed) {
		t.Fatalf("second Seal: got %v, want ErrSealed", err)
	}

	des, _ := os.ReadDir(s.Dir())
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	want := []string{AllowedSignersFile, SumsFile, SumsSigFile, "dispute.txt", "label.jpg", ManifestFile, ManifestSigFile, "video.mkv", "weight.csv"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("bundle files %v, want %v", names, want)
	}
	data, _ := os.ReadFile(filepath.Join(s.Dir(), ManifestFile))
	m, _, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Result.ManifestSHA256 != "" || m.Result.ChainHead != "" || m.PreviousManifestSHA256 != "" || m.Result.Verdict != result.VerdictUnderweight || m.Result.Tracking != res.Tracking {
		t.Errorf("manifest result: %+v", m.Result)
	}
	if sha256Hex(data) != out.ManifestSHA256 {
		t.Error("published manifest_sha256 is not the manifest file's hash")
	}

	rep, err := VerifyBundle(s.Dir(), VerifyOptions{Key: st.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.State != "sealed" || len(rep.Files) != 5 {
		t.Fatalf("verify: %+v", rep)
	}

	// The second bundle chains to the first.
	out2 := sealOne(t, st, t0.Add(time.Hour), false, sampleResult(result.VerdictMatch))
	if !strings.HasPrefix(out2.SessionID, "000002-unsynced-") {
		t.Errorf("unsynced session id %q", out2.SessionID)
	}
	data2, _ := os.ReadFile(filepath.Join(state, SessionsDir, out2.SessionID, ManifestFile))
	m2, _, _ := ParseManifest(data2)
	if m2.PreviousManifestSHA256 != out.ManifestSHA256 {
		t.Errorf("second manifest's previous %q, want %q", m2.PreviousManifestSHA256, out.ManifestSHA256)
	}

	// Reopening finds the head and the next seq.
	st2 := openStore(t, state, Options{})
	if st2.Head() != out2.ManifestSHA256 || st2.KeyFingerprint() != st.KeyFingerprint() {
		t.Fatalf("reopened: head %q fingerprint %q", st2.Head(), st2.KeyFingerprint())
	}
	s3, err := st2.Begin(t0, true, "")
	if err != nil || s3.Seq() != 3 {
		t.Fatalf("Begin after reopen: seq %v, %v", s3, err)
	}
}

func TestSealRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Session) []FileEntry
	}{
		{"size differs from precomputed", func(t *testing.T, s *Session) []FileEntry {
			os.WriteFile(filepath.Join(s.Dir(), "video.mkv"), []byte("12345"), 0o644)
			return []FileEntry{{Name: "video.mkv", Bytes: 4, SHA256: strings.Repeat("0", 64)}}
		}},
		{"added but absent", func(t *testing.T, s *Session) []FileEntry {
			return []FileEntry{{Name: "video-001.mkv", Bytes: 4, SHA256: strings.Repeat("0", 64)}}
		}},
		{"bad name on disk", func(t *testing.T, s *Session) []FileEntry {
			os.WriteFile(filepath.Join(s.Dir(), "bad name.txt"), []byte("x"), 0o644)
			return nil
		}},
		{"subdirectory", func(t *testing.T, s *Session) []FileEntry {
			os.Mkdir(filepath.Join(s.Dir(), "sub"), 0o755)
			return nil
		}},
		{"reserved name", func(t *testing.T, s *Session) []FileEntry {
			os.WriteFile(filepath.Join(s.Dir(), "outcome-001.json"), []byte("{}"), 0o644)
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, t.TempDir(), Options{})
			s, err := st.Begin(t0, true, "")
			if err != nil {
				t.Fatal(err)
			}
			files := tc.setup(t, s)
			if _, err := s.Seal(sampleResult(result.VerdictMatch), files...); !errors.Is(err, ErrBadFile) {
				t.Fatalf("Seal: got %v, want ErrBadFile", err)
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), UnsealedFile)); err != nil {
				t.Fatal("a failed seal removed the unsealed marker")
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), ManifestFile)); err == nil {
				t.Fatal("a failed seal wrote a manifest")
			}
		})
	}
}

// thirdPartyScript is the check the README shows, run as is in a bundle
// directory.
const thirdPartyScript = `set -e
ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s SHA256SUMS.sig < SHA256SUMS
sha256sum -c SHA256SUMS
ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s manifest.sig < manifest.json
`

func runThirdParty(t *testing.T, dir string) (string, error) {
	lookTool(t, "ssh-keygen", "openssh-client")
	lookTool(t, "sha256sum", "coreutils")
	bash := lookTool(t, "bash", "bash")
	cmd := exec.Command(bash, "-c", thirdPartyScript)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestThirdPartyTools(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	out := sealOne(t, st, t0, true, sampleResult(result.VerdictUnderweight))
	dir := filepath.Join(state, SessionsDir, out.SessionID)

	got, err := runThirdParty(t, dir)
	if err != nil {
		t.Fatalf("third-party check failed on a good bundle: %v\n%s", err, got)
	}
	t.Logf("third-party check:\n%s", got)
	for _, want := range []string{
		`Good "weighin" signature for station with ED25519 key ` + st.KeyFingerprint(),
		"video.mkv: OK", "label.jpg: OK", "weight.csv: OK", "dispute.txt: OK", "manifest.json: OK",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// ssh-keygen reads the station's private key file too.
	kg := lookTool(t, "ssh-keygen", "openssh-client")
	pubOut, err := exec.Command(kg, "-y", "-f", filepath.Join(state, KeyFile)).CombinedOutput()
	if err != nil || !strings.Contains(string(pubOut), strings.Fields(st.AuthorizedKey())[1]) {
		t.Errorf("ssh-keygen -y on the station key: %v %s", err, pubOut)
	}

	// The same commands fail on a tampered copy.
	for _, tc := range []struct{ file, want string }{
		{"video.mkv", "video.mkv: FAILED"},
		{"manifest.json", "manifest.json: FAILED"},
		{"SHA256SUMS", "Signature verification failed"},
	} {
		t.Run("tampered "+tc.file, func(t *testing.T) {
			cp := t.TempDir()
			copyDir(t, dir, cp)
			flipByte(t, filepath.Join(cp, tc.file), 200%int(must(os.Stat(filepath.Join(cp, tc.file))).Size()))
			got, err := runThirdParty(t, cp)
			if err == nil {
				t.Fatalf("third-party check passed a tampered %s:\n%s", tc.file, got)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, got)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// chainOf3 makes a station with three bundles, the middle one with an
// outcome, and returns the state dir, the store and the results.
func chainOf3(t *testing.T) (string, *Store, []result.Result) {
	t.Helper()
	state := t.TempDir()
	st := openStore(t, state, Options{})
	var out []result.Result
	for i, v := range []string{result.VerdictMatch, result.VerdictUnderweight, result.VerdictMatch} {
		out = append(out, sealOne(t, st, t0.Add(time.Duration(i)*time.Hour), true, sampleResult(v)))
	}
	if _, err := st.RecordOutcome(out[1].SessionID, Outcome{Status: StatusResolved, Resolution: ResolutionPartialRefund, Amount: ptr(12.5), Currency: "USD"}, t0.Add(5*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	return state, st, out
}

func TestTamperDetected(t *testing.T) {
	state, st, out := chainOf3(t)
	mid := out[1].SessionID
	midDir := filepath.Join(state, SessionsDir, mid)
	rep, err := VerifyBundle(midDir, VerifyOptions{})
	if err != nil || !rep.OK() || len(rep.Outcomes) != 1 {
		t.Fatalf("untouched bundle: %v %+v", err, rep)
	}
	des, _ := os.ReadDir(midDir)
	if len(des) != 11 {
		t.Fatalf("%d files in the bundle, want 11", len(des))
	}
	// fresh copies the sessions directory and returns the middle bundle in it.
	fresh := func(t *testing.T) string {
		cp := t.TempDir()
		copyDir(t, filepath.Join(state, SessionsDir), cp)
		return filepath.Join(cp, mid)
	}
	check := func(t *testing.T, dir, file string, opts VerifyOptions) {
		t.Helper()
		rep, err := VerifyBundle(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() {
			t.Fatalf("tampering with %s not detected", file)
		}
		if !mentions(rep, file) {
			t.Fatalf("problems do not name %s: %v", file, rep.Problems)
		}
		t.Logf("%s: %v", file, rep.Problems)
	}
	for _, de := range des {
		name := de.Name()
		size := int(must(de.Info()).Size())
		for _, pos := range []int{0, size / 2, size - 1} {
			t.Run("flip "+name+"@"+strconv.Itoa(pos), func(t *testing.T) {
				dir := fresh(t)
				flipByte(t, filepath.Join(dir, name), pos)
				check(t, dir, name, VerifyOptions{})
			})
		}
		t.Run("delete "+name, func(t *testing.T) {
			dir := fresh(t)
			os.Remove(filepath.Join(dir, name))
			check(t, dir, name, VerifyOptions{})
		})
	}
	t.Run("truncate video", func(t *testing.T) {
		dir := fresh(t)
		os.Truncate(filepath.Join(dir, "video.mkv"), 1000)
		check(t, dir, "video.mkv", VerifyOptions{})
	})
	t.Run("add a file", func(t *testing.T) {
		dir := fresh(t)
		os.WriteFile(filepath.Join(dir, "video-001.mkv"), []byte("more"), 0o644)
		check(t, dir, "video-001.mkv", VerifyOptions{})
	})

	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	t.Run("edit manifest, re-sign with another key", func(t *testing.T) {
		dir := fresh(t)
		editManifest(t, dir, other, false)
		check(t, dir, ManifestSigFile, VerifyOptions{})
	})
	t.Run("forge whole bundle with another key", func(t *testing.T) {
		dir := fresh(t)
		editManifest(t, dir, other, true)
		// The neighbours, signed by the station, expose it...
		check(t, dir, ManifestFile, VerifyOptions{})
		rep, _ := VerifyBundle(dir, VerifyOptions{})
		if !slices.ContainsFunc(rep.Problems, func(p Problem) bool { return strings.Contains(p.Reason, "next bundle") }) {
			t.Errorf("the next bundle's link is not reported: %v", rep.Problems)
		}
		// ...and so does the chain.
		c, err := VerifyChain(filepath.Dir(dir), ChainOptions{})
		if err != nil || c.OK() {
			t.Fatalf("chain with a forged bundle verified: %v", err)
		}
		// Alone, the bundle is self-consistent: only the published key
		// exposes it.
		alone := filepath.Join(t.TempDir(), mid)
		copyDir(t, dir, alone)
		rep, _ = VerifyBundle(alone, VerifyOptions{})
		if !rep.OK() || rep.KeyFingerprint == st.KeyFingerprint() {
			t.Fatalf("lone forged bundle: ok=%v fingerprint %s (station %s)", rep.OK(), rep.KeyFingerprint, st.KeyFingerprint())
		}
		check(t, alone, ManifestFile, VerifyOptions{Key: st.PublicKey()})
	})
	t.Run("replace a bundle by another of the station", func(t *testing.T) {
		// Swap the middle bundle's contents for the first's: every
		// signature is genuine, the chain is not.
		dir := fresh(t)
		first := filepath.Join(filepath.Dir(dir), out[0].SessionID)
		os.RemoveAll(dir)
		copyDir(t, first, dir)
		c, _ := VerifyChain(filepath.Dir(dir), ChainOptions{})
		if c.OK() {
			t.Fatal("a duplicated bundle passed the chain check")
		}
	})
}

// editManifest changes the verdict in manifest.json and signs it with
// another key. With whole, it also swaps the station key everywhere so the
// bundle is self-consistent.
func editManifest(t *testing.T, dir string, key ed25519.PrivateKey, whole bool) {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	m, _, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	m.Result.Verdict = result.VerdictMatch
	m.Result.Tier = 0
	pub := key.Public().(ed25519.PublicKey)
	if whole {
		m.StationKey = sshsig.MarshalAuthorizedKey(pub, "")
		m.KeyFingerprint = sshsig.Fingerprint(pub)
		m.Result.KeyFingerprint = m.KeyFingerprint
		allowed := []byte(sshsig.AllowedSignersLine(Principal, pub, Namespace) + "\n")
		os.WriteFile(filepath.Join(dir, AllowedSignersFile), allowed, 0o644)
		for i := range m.Files {
			if m.Files[i].Name == AllowedSignersFile {
				m.Files[i] = FileEntry{Name: AllowedSignersFile, Bytes: int64(len(allowed)), SHA256: sha256Hex(allowed)}
			}
		}
		// The outcome belongs to the old manifest: drop it.
		os.Remove(filepath.Join(dir, "addendum-001-outcome.json"))
		os.Remove(filepath.Join(dir, "addendum-001-outcome.sig"))
	}
	data, err = marshalDoc(m)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := sshsig.Sign(key, Namespace, data)
	os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644)
	os.WriteFile(filepath.Join(dir, ManifestSigFile), sig, 0o644)
	sums := SumsListing(m.Files, sha256Hex(data))
	ssig, _ := sshsig.Sign(key, Namespace, sums)
	os.WriteFile(filepath.Join(dir, SumsFile), sums, 0o644)
	os.WriteFile(filepath.Join(dir, SumsSigFile), ssig, 0o644)
}

func TestTrackingFromBegin(t *testing.T) {
	st := openStore(t, t.TempDir(), Options{StationID: "bench"})
	s, err := st.Begin(t0, true, "LP42")
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Seal(result.Result{Verdict: result.VerdictMatch, StopReason: result.StopCommand})
	if err != nil {
		t.Fatal(err)
	}
	if out.Tracking != "LP42" || out.StationID != "bench" {
		t.Errorf("tracking %q station %q, want LP42 and bench", out.Tracking, out.StationID)
	}
}
