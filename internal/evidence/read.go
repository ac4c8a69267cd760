package evidence

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"weighin/internal/evidence/sshsig"
)

// Bundle is one bundle directory read without changing anything, with the
// daemon's own precedence (readEntry, which Open uses): an unsealed marker
// makes the bundle unsealed even beside a complete manifest (a crash cut the
// seal between the manifest's rename and the marker's removal; weighd
// completes it at its next start).
type Bundle struct {
	// Dir is the bundle directory.
	Dir string
	// Info is what the store says of it: state, result (with its manifest
	// hash), latest outcome, protection, problem.
	BundleInfo
	// Manifest is the sealed manifest; nil unless State is sealed or
	// tombstoned.
	Manifest *Manifest
}

// Sealed reports whether the bundle is sealed (tombstoned and offloaded
// included).
func (b Bundle) Sealed() bool {
	return b.State == stSealed.String() || b.State == stTombstoned.String() || b.State == StateOffloaded
}

// ReadBundle reads the bundle directory dir. A directory renamed from its
// session's name reads as damaged: its manifest names another session.
func ReadBundle(dir string) (Bundle, error) {
	name := filepath.Base(filepath.Clean(dir))
	seq, _ := ParseSessionDirName(name)
	e := readEntry(dir, name, seq)
	b := Bundle{Dir: dir, BundleInfo: BundleInfo{
		SessionID: name, Seq: seq, State: e.stateName(), ManifestSHA256: e.manifestSHA,
		Result: e.res, Outcome: e.latest(), Protected: ProtectedBecause(e.res, e.latest()), Problem: e.problem,
	}}
	b.Result.ManifestSHA256 = e.manifestSHA
	if b.Result.SessionID == "" {
		b.Result.SessionID = name
	}
	if b.Sealed() {
		data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			return b, err
		}
		if b.Manifest, _, err = ParseManifest(data); err != nil {
			return b, err
		}
	}
	return b, nil
}

// ListBundles reads every bundle under sessionsDir (<state>/sessions),
// oldest first. A missing directory holds none.
func ListBundles(sessionsDir string) ([]Bundle, error) {
	des, err := os.ReadDir(sessionsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	var out []Bundle
	for _, de := range des {
		if _, ok := ParseSessionDirName(de.Name()); !ok || !de.IsDir() {
			continue
		}
		b, err := ReadBundle(filepath.Join(sessionsDir, de.Name()))
		if err != nil && b.State == "" {
			return nil, err
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bundle) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// FindBundle resolves what a user names a session by: a path to a bundle
// directory (with a '/'), a directory name under sessionsDir, its sequence
// number, or a unique prefix of its name.
func FindBundle(sessionsDir, arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() && strings.ContainsRune(arg, '/') {
		return filepath.Clean(arg), nil
	}
	if arg == "" || strings.ContainsAny(arg, `/\`) {
		return "", fmt.Errorf("%q is not a bundle directory", arg)
	}
	if st, err := os.Stat(filepath.Join(sessionsDir, arg)); err == nil && st.IsDir() {
		return filepath.Join(sessionsDir, arg), nil
	}
	des, err := os.ReadDir(sessionsDir)
	if err != nil {
		return "", fmt.Errorf("no session %q: %v", arg, err)
	}
	want, numErr := strconv.ParseInt(arg, 10, 64)
	var matches []string
	for _, de := range des {
		seq, ok := ParseSessionDirName(de.Name())
		if !ok || !de.IsDir() {
			continue
		}
		if numErr == nil && seq == want || numErr != nil && strings.HasPrefix(de.Name(), arg) {
			matches = append(matches, de.Name())
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no session %q under %s (weighctl sessions lists them)", arg, sessionsDir)
	case 1:
		return filepath.Join(sessionsDir, matches[0]), nil
	}
	return "", fmt.Errorf("%q names %d sessions: %s", arg, len(matches), strings.Join(matches, ", "))
}

// ReadKeyFile reads the first ed25519 key in a .pub, authorized_keys or
// allowed_signers file, for VerifyOptions.Key.
func ReadKeyFile(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := sshsig.ParseAuthorizedKey(line)
		if err == nil {
			return k, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = errors.New("no key in the file")
	}
	return nil, firstErr
}

// StationKeyFor finds the station's public key file for bundles kept in a
// state directory (<state>/station_ed25519.pub beside sessions/): for a
// bundle directory, or with chain for a state or sessions directory. It
// returns "" when the bundles are not in one: an unrelated .pub is not the
// station's.
func StationKeyFor(path string, chain bool) string {
	clean := filepath.Clean(path)
	candidates := []string{filepath.Join(filepath.Dir(filepath.Dir(clean)), PublicKeyFile)}
	if chain {
		candidates = []string{filepath.Join(clean, PublicKeyFile), filepath.Join(filepath.Dir(clean), PublicKeyFile)}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			if fi, err := os.Stat(filepath.Join(filepath.Dir(c), SessionsDir)); err == nil && fi.IsDir() {
				return c
			}
		}
	}
	return ""
}
