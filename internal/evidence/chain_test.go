package evidence

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// chainWithTombstones: five bundles, the 1st, 3rd and 5th reduced to
// tombstones by retention.
func chainWithTombstones(t *testing.T) (string, *Store, []string) {
	t.Helper()
	state := t.TempDir()
	disk := &fakeDisk{free: 100 << 20}
	st := openStore(t, state, Options{Retention: Retention{MinFreeBytes: 10 << 20}, FreeSpace: disk.FreeSpace})
	var ids []string
	for i, v := range []string{result.VerdictMatch, result.VerdictUnderweight, result.VerdictMatch, result.VerdictEmpty, result.VerdictMatch} {
		ids = append(ids, sealOne(t, st, t0.Add(time.Duration(i)*time.Hour), true, sampleResult(v)).SessionID)
	}
	disk.set(1)
	if _, err := st.Enforce(t0.Add(6*time.Hour), true); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Enforce: %v", err)
	}
	return state, st, ids
}

func TestChainWithTombstones(t *testing.T) {
	state, st, ids := chainWithTombstones(t)
	sessions := filepath.Join(state, SessionsDir)
	c, err := VerifyChain(state, ChainOptions{Head: st.Head()})
	if err != nil {
		t.Fatal(err)
	}
	if !c.OK() {
		t.Fatalf("chain: %+v", c)
	}
	var states []string
	for _, b := range c.Bundles {
		states = append(states, b.State)
	}
	if want := []string{"tombstoned", "sealed", "tombstoned", "sealed", "tombstoned"}; !slices.Equal(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	if c.Head != st.Head() || c.KeyFingerprint != st.KeyFingerprint() {
		t.Errorf("head %s fingerprint %s", c.Head, c.KeyFingerprint)
	}
	// A tombstone keeps only the manifest, its signature, allowed_signers
	// and the signed tombstone; the manifest still verifies with ssh-keygen.
	des, _ := os.ReadDir(filepath.Join(sessions, ids[0]))
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if want := []string{AllowedSignersFile, ManifestFile, ManifestSigFile, TombstoneFile, TombstoneSigFile}; !slices.Equal(names, want) {
		t.Errorf("tombstoned bundle holds %v, want %v", names, want)
	}

	fresh := func(t *testing.T) string {
		cp := t.TempDir()
		copyDir(t, sessions, cp)
		return cp
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		head    string
		bundle  string // whose report must name file
		file    string
		inChain bool // the chain-level problems must not be empty
	}{
		{"bundle removed without tombstone", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, ids[1])) }, "", ids[2], ManifestFile, false},
		{"tombstoned bundle removed", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, ids[2])) }, "", ids[3], ManifestFile, false},
		{"oldest removed", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, ids[0])) }, "", ids[1], ManifestFile, false},
		{"newest removed", func(t *testing.T, d string) { os.RemoveAll(filepath.Join(d, ids[4])) }, st.Head(), "", "", true},
		{"tombstone edited", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, ids[2], TombstoneFile), 40) }, "", ids[2], TombstoneFile, false},
		{"tombstone deleted", func(t *testing.T, d string) { os.Remove(filepath.Join(d, ids[2], TombstoneFile)) }, "", ids[2], "video.mkv", false},
		{"tombstone signature deleted", func(t *testing.T, d string) { os.Remove(filepath.Join(d, ids[2], TombstoneSigFile)) }, "", ids[2], TombstoneSigFile, false},
		{"tombstone manifest edited", func(t *testing.T, d string) { flipByte(t, filepath.Join(d, ids[2], ManifestFile), 100) }, "", ids[2], ManifestFile, false},
		{"tombstone moved to another bundle", func(t *testing.T, d string) {
			for _, n := range []string{TombstoneFile, TombstoneSigFile} {
				data, _ := os.ReadFile(filepath.Join(d, ids[0], n))
				os.WriteFile(filepath.Join(d, ids[1], n), data, 0o644)
			}
		}, "", ids[1], TombstoneFile, false},
		{"bundles renumbered", func(t *testing.T, d string) {
			os.Rename(filepath.Join(d, ids[3]), filepath.Join(d, "000009-20261126T091000Z"))
		}, "", "000009-20261126T091000Z", ManifestFile, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := fresh(t)
			tc.tamper(t, dir)
			c, err := VerifyChain(dir, ChainOptions{Head: tc.head})
			if err != nil {
				t.Fatal(err)
			}
			if c.OK() {
				t.Fatal("chain still verifies")
			}
			if tc.inChain && len(c.Problems) == 0 {
				t.Fatalf("no chain-level problem: %+v", c)
			}
			if tc.bundle != "" {
				i := slices.IndexFunc(c.Bundles, func(r *Report) bool { return r.Bundle == tc.bundle })
				if i < 0 || !mentions(c.Bundles[i], tc.file) {
					t.Fatalf("report of %s does not name %s", tc.bundle, tc.file)
				}
				t.Logf("%s: %v", tc.bundle, c.Bundles[i].Problems)
			}
		})
	}
}

func TestChainKeyChange(t *testing.T) {
	// The newest bundle forged whole with another key: its link to the
	// previous manifest is intact, its key is not.
	state, st, out := chainOf3(t)
	dir := filepath.Join(state, SessionsDir, out[2].SessionID)
	editManifest(t, dir, testPriv(9), true)
	c, err := VerifyChain(state, ChainOptions{})
	if err != nil || c.OK() {
		t.Fatalf("chain with a key change verified: %v", err)
	}
	last := c.Bundles[2]
	if !slices.ContainsFunc(last.Problems, func(p Problem) bool { return strings.Contains(p.Reason, "the chain before it by "+st.KeyFingerprint()) }) {
		t.Fatalf("key change not reported: %v", last.Problems)
	}
	// With the published head, the replaced manifest shows as well.
	c, _ = VerifyChain(state, ChainOptions{Head: out[2].ChainHead})
	if len(c.Problems) == 0 {
		t.Fatal("head mismatch not reported")
	}
}

func TestOpenRefusesReplacedKey(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	other, _ := sshsig.MarshalPrivateKey(testPriv(9), "")
	os.WriteFile(filepath.Join(state, KeyFile), other, 0o600)
	if _, err := Open(state, testLogger(t), Options{}); !errors.Is(err, ErrKey) {
		t.Fatalf("Open with a replaced key: got %v, want ErrKey", err)
	}
}

func TestKeyFile(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	fp := st.KeyFingerprint()
	pub, _ := os.ReadFile(filepath.Join(state, PublicKeyFile))
	if k, err := sshsig.ParseAuthorizedKey(string(pub)); err != nil || !k.Equal(st.PublicKey()) {
		t.Fatalf("%s: %v", PublicKeyFile, err)
	}
	// Same key on reopen.
	if st2 := openStore(t, state, Options{}); st2.KeyFingerprint() != fp {
		t.Fatal("key changed on reopen")
	}
	key := filepath.Join(state, KeyFile)
	os.Chmod(key, 0o644)
	if _, err := Open(state, testLogger(t), Options{}); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: got %v", err)
	}
	os.Chmod(key, 0o600)
	data, _ := os.ReadFile(key)
	os.WriteFile(key, bytes.Replace(data, []byte("b3BlbnNzaC1rZXktdjE"), []byte("b3BlbnNzaC1rZXktdjI"), 1), 0o600)
	if _, err := Open(state, testLogger(t), Options{}); !errors.Is(err, ErrKey) {
		t.Fatalf("corrupt key: got %v", err)
	}
	os.WriteFile(key, data, 0o600)

	// A missing key is recreated only while nothing was signed.
	sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	os.Remove(key)
	if _, err := Open(state, testLogger(t), Options{}); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "restore the key") {
		t.Fatalf("missing key with bundles: got %v", err)
	}
}

func TestOutcomes(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	out := sealOne(t, st, t0, true, sampleResult(result.VerdictUnderweight))
	dir := filepath.Join(state, SessionsDir, out.SessionID)

	bad := []Outcome{
		{Status: "won"},
		{Status: StatusResolved},
		{Status: StatusResolved, Resolution: ResolutionPartialRefund},
		{Status: StatusResolved, Resolution: ResolutionPartialRefund, Amount: ptr(-1), Currency: "USD"},
		{Status: StatusResolved, Resolution: ResolutionPartialRefund, Amount: ptr(5), Currency: "usd"},
		{Status: StatusResolved, Resolution: ResolutionReplacement, Amount: ptr(5), Currency: "USD"},
		{Status: StatusRefused, Resolution: ResolutionRefund},
		{Status: StatusEscalated, Currency: "USD"},
		{Status: StatusEscalated, Note: strings.Repeat("x", 1001)},
	}
	for _, o := range bad {
		if _, err := st.RecordOutcome(out.SessionID, o, t0, true); !errors.Is(err, ErrOutcome) {
			t.Errorf("RecordOutcome(%+v): got %v, want ErrOutcome", o, err)
		}
	}
	if _, err := st.RecordOutcome("000009-unsynced", Outcome{Status: StatusRefused}, t0, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	s, _ := st.Begin(t0.Add(time.Hour), true, "")
	if _, err := st.RecordOutcome(s.ID(), Outcome{Status: StatusRefused}, t0, true); !errors.Is(err, ErrNotSealed) {
		t.Errorf("unsealed session: %v", err)
	}

	steps := []Outcome{
		{Status: StatusRefused, Note: "seller says the parcel left complete"},
		{Status: StatusEscalated},
		{Status: StatusResolved, Resolution: ResolutionPartialRefund, Amount: ptr(18.4), Currency: "CNY"},
	}
	for i, o := range steps {
		a, err := st.RecordOutcome(out.SessionID, o, t0.Add(time.Duration(i+1)*24*time.Hour), true)
		if err != nil {
			t.Fatal(err)
		}
		if a.N != i+1 || a.ManifestSHA256 != out.ManifestSHA256 {
			t.Errorf("addendum %d: %+v", i, a)
		}
	}
	rep, _ := VerifyBundle(dir, VerifyOptions{Key: st.PublicKey()})
	if !rep.OK() || len(rep.Outcomes) != 3 || rep.Outcomes[2].Outcome.String() != "resolved: partial_refund 18.4 CNY" {
		t.Fatalf("verify: %+v", rep)
	}
	// The outcome sequence survives a reopen (next addendum is n = 4).
	st2 := openStore(t, state, Options{})
	if got := st2.List()[0].Outcome; got == nil || got.Status != StatusResolved {
		t.Errorf("latest outcome after reopen: %+v", got)
	}

	for _, tc := range []struct {
		name, file string
		tamper     func(d string)
	}{
		{"middle outcome removed", "addendum-002-*.json", func(d string) {
			os.Remove(filepath.Join(d, "addendum-002-outcome.json"))
			os.Remove(filepath.Join(d, "addendum-002-outcome.sig"))
		}},
		{"outcomes swapped", "addendum-002-outcome.json", func(d string) {
			a, _ := os.ReadFile(filepath.Join(d, "addendum-002-outcome.json"))
			b, _ := os.ReadFile(filepath.Join(d, "addendum-003-outcome.json"))
			os.WriteFile(filepath.Join(d, "addendum-002-outcome.json"), b, 0o644)
			os.WriteFile(filepath.Join(d, "addendum-003-outcome.json"), a, 0o644)
		}},
		{"oddly numbered", "addendum-0004-outcome.json", func(d string) {
			os.WriteFile(filepath.Join(d, "addendum-0004-outcome.json"), []byte("{}"), 0o644)
		}},
		{"legacy outcome file added", "outcome-001.json", func(d string) {
			os.WriteFile(filepath.Join(d, "outcome-001.json"), []byte("{}"), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := filepath.Join(t.TempDir(), out.SessionID)
			copyDir(t, dir, cp)
			tc.tamper(cp)
			rep, _ := VerifyBundle(cp, VerifyOptions{})
			if rep.OK() || !mentions(rep, tc.file) {
				t.Fatalf("not detected or %s not named: %v", tc.file, rep.Problems)
			}
		})
	}
}

func TestVerifyBundleErrors(t *testing.T) {
	if _, err := VerifyBundle(filepath.Join(t.TempDir(), "absent"), VerifyOptions{}); !errors.Is(err, ErrNotBundle) {
		t.Errorf("absent dir: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := VerifyBundle(f, VerifyOptions{}); !errors.Is(err, ErrNotBundle) {
		t.Errorf("a file: %v", err)
	}
	if _, err := VerifyChain(f, ChainOptions{}); !errors.Is(err, ErrNotBundle) {
		t.Errorf("chain of a file: %v", err)
	}
	rep, err := VerifyBundle(t.TempDir(), VerifyOptions{})
	if err != nil || rep.OK() || !mentions(rep, ManifestFile) {
		t.Errorf("empty dir: %v %+v", err, rep)
	}
}
