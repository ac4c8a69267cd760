package evidence

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"weighin/internal/result"
)

// smallBundle seals a small bundle (with an outcome) and a tombstoned one,
// and returns their files as in-memory file systems.
func smallBundles(f *testing.F) (sealed, tombstoned fstest.MapFS) {
	state := f.TempDir()
	st, err := Open(state, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		f.Fatal(err)
	}
	var ids []string
	for i, v := range []string{result.VerdictMatch, result.VerdictUnderweight} {
		s, err := st.Begin(t0.Add(time.Duration(i)*time.Hour), true, "LP1")
		if err != nil {
			f.Fatal(err)
		}
		os.WriteFile(filepath.Join(s.Dir(), "video.mkv"), []byte("\x1a\x45\xdf\xa3 not really matroska"), 0o644)
		os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), []byte("t_ms,raw,grams,stable\n0,1,0.00,1\n"), 0o644)
		res, err := s.Seal(sampleResult(v))
		if err != nil {
			f.Fatal(err)
		}
		ids = append(ids, res.SessionID)
	}
	if _, err := st.RecordOutcome(ids[1], Outcome{Status: StatusEscalated}, t0, true); err != nil {
		f.Fatal(err)
	}
	st.mu.Lock()
	_, err = st.tombstoneLocked(st.entries[0], ReasonLowSpace, "fuzz", t0, true)
	st.mu.Unlock()
	if err != nil {
		f.Fatal(err)
	}
	load := func(id string) fstest.MapFS {
		m := fstest.MapFS{}
		dir := filepath.Join(state, SessionsDir, id)
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			data, _ := os.ReadFile(filepath.Join(dir, de.Name()))
			m[de.Name()] = &fstest.MapFile{Data: data, Mode: 0o644}
		}
		return m
	}
	return load(ids[1]), load(ids[0])
}

// FuzzVerifyCorrupted replaces one file of a real bundle with arbitrary
// bytes: verification must not panic and must fail unless the bytes are the
// original ones.
func FuzzVerifyCorrupted(f *testing.F) {
	sealed, tombstoned := smallBundles(f)
	bundles := []fstest.MapFS{sealed, tombstoned}
	names := func(m fstest.MapFS) []string {
		var out []string
		for n := range m {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	for _, n := range []string{ManifestFile, ManifestSigFile, SumsFile, "addendum-001-outcome.json"} {
		f.Add(uint8(0), uint8(slices.Index(names(sealed), n)), sealed[n].Data)
	}
	f.Add(uint8(1), uint8(slices.Index(names(tombstoned), TombstoneFile)), tombstoned[TombstoneFile].Data)
	f.Add(uint8(0), uint8(0), []byte(`{"type":"manifest","bundle_version":1}`))
	if r := VerifyFS(sealed, VerifyOptions{}); !r.OK() {
		f.Fatalf("sealed fixture does not verify: %v", r.Problems)
	}
	if r := VerifyFS(tombstoned, VerifyOptions{}); !r.OK() || r.State != "tombstoned" {
		f.Fatalf("tombstoned fixture does not verify: %v", r.Problems)
	}
	f.Fuzz(func(t *testing.T, which, idx uint8, data []byte) {
		base := bundles[int(which)%len(bundles)]
		ns := names(base)
		name := ns[int(idx)%len(ns)]
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		m[name] = &fstest.MapFile{Data: data, Mode: 0o644}
		r := VerifyFS(m, VerifyOptions{})
		if !bytes.Equal(data, base[name].Data) && r.OK() {
			t.Fatalf("%s replaced by %q and the bundle still verifies", name, data)
		}
		if !r.OK() && len(r.Problems) == 0 {
			t.Fatal("failure without a problem")
		}
	})
}

// FuzzParseManifest: whatever parses is well-formed and survives a
// re-encoding.
func FuzzParseManifest(f *testing.F) {
	sealed, _ := smallBundles(f)
	f.Add(sealed[ManifestFile].Data)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"type":"manifest"} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, key, err := ParseManifest(data)
		if err != nil {
			if m != nil || key != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		if err := checkEntries(m.Files); err != nil {
			t.Fatalf("parsed manifest with bad files: %v", err)
		}
		again, err := marshalDoc(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ParseManifest(again); err != nil {
			t.Fatalf("re-encoded manifest does not parse: %v\n%s", err, again)
		}
	})
}
