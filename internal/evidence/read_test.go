package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadBundlePrecedence: a seal cut between the manifest's rename and
// the marker's removal reads as unsealed, as the store reads it at Open,
// and as sealed once Recover completed it.
func TestReadBundlePrecedence(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	first := sealOne(t, st, t0, true, sampleResult("underweight"))
	second := sealOne(t, st, t0.Add(time.Hour), true, sampleResult("match"))
	st.Close()
	bdir := filepath.Join(dir, second.Bundle)
	marker, err := marshalDoc(unsealedDoc{Type: typeUnsealed, Result: second})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bdir, UnsealedFile), marker, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBundle(bdir)
	if err != nil || b.State != "unsealed" || b.Sealed() || b.Manifest != nil || b.Result.SessionID != second.SessionID {
		t.Fatalf("ReadBundle of a cut seal = %s, manifest %v, %v; want unsealed with the marker's result", b.State, b.Manifest != nil, err)
	}
	st = openStore(t, dir, Options{})
	for _, info := range st.List() {
		want := map[string]string{first.SessionID: "sealed", second.SessionID: "unsealed"}[info.SessionID]
		if info.State != want {
			t.Errorf("the store reads %s as %s, ReadBundle's precedence says %s", info.SessionID, info.State, want)
		}
	}
	if _, err := st.Recover(nil); err != nil {
		t.Fatal(err)
	}
	list, err := ListBundles(filepath.Join(dir, SessionsDir))
	if err != nil || len(list) != 2 {
		t.Fatalf("ListBundles = %d bundles, %v", len(list), err)
	}
	for i, b := range list {
		if !b.Sealed() || b.Manifest == nil || b.Seq != int64(i+1) || b.Result.Interrupted {
			t.Errorf("bundle %d after recovery: %s, seq %d, interrupted %v; want sealed as it was", i, b.State, b.Seq, b.Result.Interrupted)
		}
	}
	if got, want := list[1].ManifestSHA256, st.Head(); got != want {
		t.Errorf("completed seal's manifest %s, chain head %s", got, want)
	}
}

func TestFindBundle(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	a := sealOne(t, st, t0, true, sampleResult("match"))
	sealOne(t, st, t0.Add(time.Hour), true, sampleResult("match"))
	sessions := filepath.Join(dir, SessionsDir)
	tests := []struct{ arg, want, err string }{
		{a.SessionID, a.SessionID, ""},
		{"1", a.SessionID, ""},
		{"000001", a.SessionID, ""},
		{filepath.Join(sessions, a.SessionID), a.SessionID, ""},
		{"000001-2026", a.SessionID, ""},
		{"7", "", "no session"},
		{"../x", "", "not a bundle directory"},
	}
	for _, tc := range tests {
		got, err := FindBundle(sessions, tc.arg)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("FindBundle(%q) = %q, %v; want an error with %q", tc.arg, got, err, tc.err)
		case tc.err == "" && (err != nil || filepath.Base(got) != tc.want):
			t.Errorf("FindBundle(%q) = %q, %v; want %s", tc.arg, got, err, tc.want)
		}
	}
	if k, err := ReadKeyFile(filepath.Join(dir, PublicKeyFile)); err != nil || !k.Equal(st.PublicKey()) {
		t.Errorf("ReadKeyFile(station_ed25519.pub) = %v, %v", k, err)
	}
	if got := StationKeyFor(filepath.Join(sessions, a.SessionID), false); got != filepath.Join(dir, PublicKeyFile) {
		t.Errorf("StationKeyFor(bundle) = %q", got)
	}
	if got := StationKeyFor(t.TempDir(), true); got != "" {
		t.Errorf("StationKeyFor(a directory without sessions/) = %q, want none", got)
	}
}
