package pack

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"weighin/internal/evidence"
	"weighin/internal/evidence/sshsig"
)

// IsPack reports whether dir holds an unzipped pack (a PACKSUMS file).
func IsPack(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, SumsFile))
	return err == nil && st.Mode().IsRegular()
}

var sumLineRE = regexp.MustCompile(`^([0-9a-f]{64})  ([^/\x00]+)$`)

// Verify checks the unzipped pack in dir and returns the bundle's report
// with the pack's own checks folded in: PACKSUMS signed by the manifest's
// key (and opts.Key or opts.Fingerprint when given), every file it lists
// present with its SHA-256, no file present that it does not list, and the
// bundle's verification (evidence.VerifyFS: manifest, SHA256SUMS, every
// addendum and the files present). An original listed in the manifest but
// absent from the pack is a note ("not included"), never a problem; a file
// listed in PACKSUMS that is absent is a problem.
func Verify(dir string, opts evidence.VerifyOptions) (*evidence.Report, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", evidence.ErrNotBundle, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is a file", evidence.ErrNotBundle, dir)
	}
	fsys := os.DirFS(dir)
	r := evidence.VerifyFS(fsys, opts)
	r.Bundle = dir
	bad := func(file, format string, args ...any) {
		r.Problems = append(r.Problems, evidence.Problem{File: file, Reason: fmt.Sprintf(format, args...)})
	}

	listing, err := fs.ReadFile(fsys, SumsFile)
	if err != nil {
		bad(SumsFile, "missing: not a pack")
		return r, nil
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(listing))
	for line := 1; sc.Scan(); line++ {
		m := sumLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			bad(SumsFile, "line %d: want \"<sha256>  <name>\", got %q", line, sc.Text())
			continue
		}
		if _, dup := listed[m[2]]; dup {
			bad(SumsFile, "line %d: %s listed twice", line, m[2])
		}
		listed[m[2]] = m[1]
	}
	if _, ok := listed[VerifyFile]; !ok {
		bad(SumsFile, "does not list %s", VerifyFile)
	}

	// The listing's signature, by the key that signed the manifest.
	key, err := manifestKey(fsys)
	switch {
	case err != nil:
		bad(SumsSigFile, "not checked: %v", err)
	case opts.Key != nil && !key.Equal(opts.Key):
		bad(SumsSigFile, "the manifest's key %s is not the station key %s", sshsig.Fingerprint(key), sshsig.Fingerprint(opts.Key))
	default:
		sig, err := fs.ReadFile(fsys, SumsSigFile)
		if err != nil {
			bad(SumsSigFile, "missing: %s is not signed", SumsFile)
		} else if err := sshsig.Verify(key, evidence.Namespace, listing, sig); err != nil {
			bad(SumsSigFile, "signature of %s does not verify with key %s: %v", SumsFile, sshsig.Fingerprint(key), err)
		}
	}

	des, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	here := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		here[name] = true
		if name == SumsFile || name == SumsSigFile {
			continue
		}
		want, ok := listed[name]
		if !ok {
			bad(name, "not listed in %s: added to the pack after it was signed", SumsFile)
			continue
		}
		if !de.Type().IsRegular() {
			continue // VerifyFS names it
		}
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			bad(name, "unreadable: %v", err)
		} else if got != want {
			bad(name, "sha256 %s does not match %s (%s): content altered", got, SumsFile, want)
		}
	}
	for name := range listed {
		if !here[name] {
			bad(name, "missing (listed in %s)", SumsFile)
		}
	}

	// Originals left out of the pack: the bundle's check calls them
	// missing; here they are not included. The pack's own files are
	// outside the bundle's signatures, inside the listing's.
	kept := r.Problems[:0]
	var notIncluded []string
	for _, p := range r.Problems {
		if (p.File == SumsFile || p.File == SumsSigFile || p.File == VerifyFile) && strings.HasPrefix(p.Reason, "listed by neither ") {
			continue // the pack's own files, covered by PACKSUMS.sig
		}
		if !here[p.File] && listed[p.File] == "" && strings.HasPrefix(p.Reason, "missing (listed in ") {
			notIncluded = append(notIncluded, p.File)
			continue
		}
		kept = append(kept, p)
	}
	r.Problems = kept
	for i := range r.Files {
		if r.Files[i].Status == "missing" && !here[r.Files[i].Name] && listed[r.Files[i].Name] == "" {
			r.Files[i].Status = "not included"
		}
	}
	for _, n := range notIncluded {
		r.Notes = append(r.Notes, n+": not included in the pack (listed in the manifest with its SHA-256)")
	}
	return r, nil
}

func manifestKey(fsys fs.FS) (ed25519.PublicKey, error) {
	data, err := fs.ReadFile(fsys, evidence.ManifestFile)
	if err != nil {
		return nil, err
	}
	_, k, err := evidence.ParseManifest(data)
	if err != nil {
		return nil, err
	}
	return k, nil
}
