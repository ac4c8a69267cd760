package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"weighin/internal/evidence/sshsig"
)

// Addendum kinds. Any name of [a-z][a-z0-9_]{0,31} is a valid kind; these
// are the ones the station writes or will write. Only KindOutcome has a body
// this package checks (an Outcome).
const (
	KindOutcome   = "outcome"
	KindClaim     = "claim"
	KindExport    = "export"
	KindTimestamp = "timestamp"
)

// TypeAddendum is the "type" of every addendum document.
const TypeAddendum = "addendum"

// ErrAddendum is wrapped by AddAddendum's refusals of its arguments (a bad
// kind, body or file).
var ErrAddendum = errors.New("evidence: invalid addendum")

var (
	kindRE     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	addendumRE = regexp.MustCompile(`^addendum-([0-9]{3,})-([a-z][a-z0-9_]{0,31})\.(json|sig)$`)
)

// Addendum is the content of addendum-NNN-<kind>.json: a signed record added
// to a sealed bundle without changing anything already in it. The addenda of
// a bundle are numbered from 1 across kinds and form one chain: each names
// the manifest's SHA-256 and the previous addendum's (for n = 1: the last
// legacy outcome-NNN.json's, or empty), lists the files it brought into the
// bundle and carries a kind-specific JSON body.
type Addendum struct {
	Type           string `json:"type"`
	Version        int    `json:"version"`
	Kind           string `json:"kind"`
	SessionID      string `json:"session_id"`
	Seq            int64  `json:"seq"`
	N              int    `json:"n"`
	ManifestSHA256 string `json:"manifest_sha256"`
	PreviousSHA256 string `json:"previous_sha256"`
	// RecordedAt is RFC 3339 UTC, trustworthy only when ClockSynced.
	RecordedAt  string `json:"recorded_at"`
	ClockSynced bool   `json:"clock_synced"`
	// Files are the files this addendum added, at the bundle's top level,
	// sorted by name.
	Files []FileEntry `json:"files"`
	// Body is the kind's own content, a JSON object.
	Body       json.RawMessage `json:"body"`
	StationKey string          `json:"station_key"`
}

// AddendumFile is a file to add to a bundle with an addendum: a finished
// regular file at Path, outside the bundle (best under Store.TempDir, on the
// bundles' file system), that becomes the bundle's top-level file Name. It
// is moved, not copied: Path is gone once AddAddendum returns nil.
type AddendumFile struct {
	Name string
	Path string
}

// AddendumFileName is the name of addendum n of a kind:
// addendum-001-outcome.json.
func AddendumFileName(n int, kind string) string {
	return fmt.Sprintf("addendum-%03d-%s.json", n, kind)
}

// AddendumSigName is the name of the signature of addendum n:
// addendum-001-outcome.sig.
func AddendumSigName(n int, kind string) string {
	return fmt.Sprintf("addendum-%03d-%s.sig", n, kind)
}

// FileName is the addendum's file name in its bundle.
func (a Addendum) FileName() string { return AddendumFileName(a.N, a.Kind) }

// Outcome decodes the body of an outcome addendum.
func (a Addendum) Outcome() (Outcome, error) {
	if a.Kind != KindOutcome {
		return Outcome{}, fmt.Errorf("%w: addendum %d is a %s, not an outcome", ErrAddendum, a.N, a.Kind)
	}
	return parseOutcomeBody(a.Body)
}

func parseOutcomeBody(body json.RawMessage) (Outcome, error) {
	var o Outcome
	if err := decodeStrict(body, &o); err != nil {
		return Outcome{}, fmt.Errorf("%w: outcome body: %v", ErrOutcome, err)
	}
	return o, o.Validate()
}

// ParseAddendum decodes and checks an addendum-NNN-<kind>.json (not its
// signature, nor the files it lists).
func ParseAddendum(data []byte) (*Addendum, ed25519.PublicKey, error) {
	var a Addendum
	if err := decodeStrict(data, &a); err != nil {
		return nil, nil, fmt.Errorf("%w: addendum: %v", ErrFormat, err)
	}
	bad := func(format string, args ...any) (*Addendum, ed25519.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: addendum: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	if a.Type != TypeAddendum || a.Version != 1 {
		return bad("type %q version %d, want %q version 1", a.Type, a.Version, TypeAddendum)
	}
	if !kindRE.MatchString(a.Kind) {
		return bad("kind %q is not [a-z][a-z0-9_]{0,31}", a.Kind)
	}
	if a.N < 1 {
		return bad("n %d, want at least 1", a.N)
	}
	if !hexRE.MatchString(a.ManifestSHA256) {
		return bad("manifest_sha256 %q is not a lower-case hex SHA-256", a.ManifestSHA256)
	}
	if a.PreviousSHA256 == "" && a.N > 1 || a.PreviousSHA256 != "" && !hexRE.MatchString(a.PreviousSHA256) {
		return bad("previous_sha256 %q does not fit n %d", a.PreviousSHA256, a.N)
	}
	if _, err := time.Parse(time.RFC3339, a.RecordedAt); err != nil {
		return bad("recorded_at: %v", err)
	}
	if err := checkEntries(a.Files); err != nil {
		return bad("files: %v", err)
	}
	for _, f := range a.Files {
		if f.Name == AllowedSignersFile {
			return bad("files: %s belongs to the manifest", f.Name)
		}
	}
	if t := bytes.TrimSpace(a.Body); len(t) == 0 || t[0] != '{' {
		return bad("body is not a JSON object")
	}
	if a.Kind == KindOutcome {
		if _, err := parseOutcomeBody(a.Body); err != nil {
			return bad("%v", err)
		}
	}
	pub, err := sshsig.ParseAuthorizedKey(a.StationKey)
	if err != nil {
		return bad("station_key: %v", err)
	}
	return &a, pub, nil
}

// chainState is what a sealed bundle's outcomes and addenda say, read from
// disk: the legacy outcomes, then the addenda.
type chainState struct {
	legacy  int    // legacy outcome-NNN.json files in the chain
	addenda int    // addendum-NNN-*.json files in the chain
	tip     string // SHA-256 of the chain's last document ("" when empty)
	latest  *Outcome
	listed  map[string]bool // every file name the chain's documents take
	// outcomes are the chain's outcomes, legacy and addenda, in order.
	outcomes []OutcomeInfo
	bad      error // the chain is broken here (latest is then escalated)
}

// readChain reads the outcome and addendum chain of the bundle in dir,
// sealed with manifest hash manifestSHA. It stops at the first document that
// does not parse or link; the outcome is then unknown, so latest becomes an
// open (escalated) outcome that protects the bundle.
func readChain(dir, manifestSHA string) chainState {
	c := chainState{listed: map[string]bool{}}
	broken := func(err error) chainState {
		c.bad = err
		c.latest = &Outcome{Status: StatusEscalated, Note: err.Error()}
		return c
	}
	for n := 1; ; n++ {
		name := OutcomeFileName(n)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			break
		}
		a, _, err := ParseOutcomeAddendum(data)
		if err != nil {
			return broken(err)
		}
		if a.N != n || a.PreviousSHA256 != c.tip || a.ManifestSHA256 != manifestSHA {
			return broken(fmt.Errorf("%s is out of the chain", name))
		}
		c.legacy, c.tip = n, sha256Hex(data)
		c.listed[name], c.listed[outcomeSigName(name)] = true, true
		o := a.Outcome
		c.latest = &o
		c.outcomes = append(c.outcomes, OutcomeInfo{File: name, N: n, RecordedAt: a.RecordedAt, Outcome: o})
	}
	names, err := addendumNames(dir)
	if err != nil {
		return broken(err)
	}
	for n := 1; n <= len(names); n++ {
		name, ok := names[n]
		if !ok {
			return broken(fmt.Errorf("addendum %d missing, or two of that number", n))
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return broken(err)
		}
		a, _, err := ParseAddendum(data)
		if err != nil {
			return broken(err)
		}
		if a.N != n || AddendumFileName(a.N, a.Kind) != name || a.PreviousSHA256 != c.tip || a.ManifestSHA256 != manifestSHA {
			return broken(fmt.Errorf("%s is out of the chain", name))
		}
		c.addenda, c.tip = n, sha256Hex(data)
		c.listed[name], c.listed[AddendumSigName(a.N, a.Kind)] = true, true
		for _, f := range a.Files {
			c.listed[f.Name] = true
		}
		if a.Kind == KindOutcome {
			o, _ := a.Outcome()
			c.latest = &o
			c.outcomes = append(c.outcomes, OutcomeInfo{File: name, N: n, RecordedAt: a.RecordedAt, Outcome: o})
		}
	}
	return c
}

// BundleOutcomes lists the outcomes recorded in the sealed bundle dir, legacy
// outcome-NNN.json and outcome addenda, oldest first, up to the first
// document that does not parse or link (weighctl verify says which). It
// checks no signature: use VerifyBundle for that.
func BundleOutcomes(dir string) []OutcomeInfo {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return []OutcomeInfo{}
	}
	c := readChain(dir, sha256Hex(data))
	return append([]OutcomeInfo{}, c.outcomes...)
}

// addendumNames maps each addendum number in dir to its JSON file name; a
// number held by two files, or written oddly, maps to nothing.
func addendumNames(dir string) (map[int]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	dup := map[int]bool{}
	for _, de := range des {
		m := addendumRE.FindStringSubmatch(de.Name())
		if m == nil || m[3] != "json" {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || fmt.Sprintf("%03d", n) != m[1] {
			continue
		}
		if _, ok := out[n]; ok {
			dup[n] = true
		}
		out[n] = de.Name()
	}
	for n := range dup {
		delete(out, n)
	}
	return out, nil
}

// bundleName resolves AddAddendum's bundleDir: a session id, or the path of
// a bundle directory in this store's sessions directory.
func (s *Store) bundleName(bundleDir string) (string, error) {
	clean := filepath.Clean(bundleDir)
	name := filepath.Base(clean)
	if !strings.ContainsRune(bundleDir, filepath.Separator) {
		return name, nil
	}
	real := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		return p
	}
	if real(filepath.Dir(clean)) != real(s.sessions) {
		return "", fmt.Errorf("%w: %s is not a bundle of %s: an addendum is signed with the key of the bundle's own state directory", ErrNotFound, bundleDir, s.sessions)
	}
	return name, nil
}

// AddAddendum adds a signed addendum of the given kind to the sealed (or
// tombstoned) bundle bundleDir — its session id, or its path under this
// store's sessions directory — and returns it. body is marshalled to JSON
// and must be an object (for KindOutcome, a valid Outcome). files, if any,
// are moved into the bundle under their Names first, fsynced, and listed
// with their sizes and SHA-256 in the addendum.
//
// Nothing already in the bundle is rewritten: a Name that exists in the
// bundle, or that the manifest or an earlier addendum lists, is refused
// (ErrAddendum), as is a bad kind or file name. The addendum takes the next
// number across all kinds, under the store's lock, re-read from disk, so
// weighd and weighctl never collide. Its time is Options.Clock's. If it
// fails, the files are moved back to their Paths and the bundle is as
// before; a crash in between leaves at most files no addendum lists, which
// the next Open moves to <state>/quarantine.
func (s *Store) AddAddendum(bundleDir, kind string, body any, files []AddendumFile) (Addendum, error) {
	at, synced := s.opts.Clock()
	return s.addAddendum(bundleDir, kind, body, files, at, synced)
}

func (s *Store) addAddendum(bundleDir, kind string, body any, files []AddendumFile, at time.Time, synced bool) (Addendum, error) {
	if !kindRE.MatchString(kind) {
		return Addendum{}, fmt.Errorf("%w: kind %q is not [a-z][a-z0-9_]{0,31}", ErrAddendum, kind)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return Addendum{}, fmt.Errorf("%w: body: %v", ErrAddendum, err)
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return Addendum{}, fmt.Errorf("%w: body must be a JSON object, got %.40s", ErrAddendum, raw)
	}
	if kind == KindOutcome {
		if _, err := parseOutcomeBody(raw); err != nil {
			return Addendum{}, err
		}
	}
	name, err := s.bundleName(bundleDir)
	if err != nil {
		return Addendum{}, err
	}
	defer s.lock()()
	e := s.find(name)
	if e == nil {
		return Addendum{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if e.state != stSealed && e.state != stTombstoned {
		return Addendum{}, fmt.Errorf("%w: %s is %s", ErrNotSealed, name, e.state)
	}
	dir := filepath.Join(s.sessions, e.name)
	c := s.refreshChain(e)
	if c.bad != nil {
		return Addendum{}, fmt.Errorf("evidence: %s: its addenda do not verify (%v); weighctl verify says more", e.name, c.bad)
	}
	if err := s.checkNewFiles(e, dir, c, files); err != nil {
		return Addendum{}, err
	}
	entries, undo, err := s.moveIn(dir, files)
	if err != nil {
		return Addendum{}, fmt.Errorf("evidence: addendum to %s: %w", e.name, err)
	}
	a := Addendum{
		Type: TypeAddendum, Version: 1, Kind: kind, SessionID: e.name, Seq: e.seq,
		N: c.addenda + 1, ManifestSHA256: e.manifestSHA, PreviousSHA256: c.tip,
		RecordedAt: at.UTC().Format(time.RFC3339), ClockSynced: synced,
		Files: entries, Body: raw, StationKey: sshsig.MarshalAuthorizedKey(s.pub, ""),
	}
	data, err := marshalDoc(a)
	if err == nil {
		err = s.writeSigned(dir, a.FileName(), AddendumSigName(a.N, a.Kind), data)
	}
	if err != nil {
		undo()
		return Addendum{}, fmt.Errorf("evidence: addendum to %s: %w", e.name, err)
	}
	// Re-read what was written: the stored body is the indented one.
	if p, _, err := ParseAddendum(data); err == nil {
		a = *p
	}
	s.journal(JournalEntry{Type: JournalAddendum, Session: e.name, N: a.N, Kind: a.Kind, File: a.FileName(), SHA256: sha256Hex(data), RecordedAt: a.RecordedAt})
	e.chain = s.refreshChain(e)
	s.log.Info("addendum recorded", "session", e.name, "file", a.FileName(), "files", len(entries), "sha256", sha256Hex(data))
	return a, nil
}

// refreshChain re-reads a bundle's outcomes and addenda, which another
// process may have added since Open, and returns them.
func (s *Store) refreshChain(e *entry) chainState {
	if e.state == stSealed || e.state == stTombstoned {
		e.chain = readChain(filepath.Join(s.sessions, e.name), e.manifestSHA)
	}
	return e.chain
}

// checkNewFiles refuses files an addendum may not add to bundle e.
func (s *Store) checkNewFiles(e *entry, dir string, c chainState, files []AddendumFile) error {
	taken := map[string]bool{}
	for _, f := range e.files {
		taken[f.Name] = true
	}
	for _, f := range e.removed {
		taken[f.Name] = true
	}
	for _, f := range files {
		switch {
		case !ValidFileName(f.Name):
			return fmt.Errorf("%w: %q is not a valid bundle file name", ErrAddendum, f.Name)
		case taken[f.Name] || c.listed[f.Name]:
			return fmt.Errorf("%w: %s is already part of bundle %s (a bundle's files are never rewritten)", ErrAddendum, f.Name, e.name)
		}
		taken[f.Name] = true
		if _, err := os.Lstat(filepath.Join(dir, f.Name)); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s already exists in bundle %s", ErrAddendum, f.Name, e.name)
		}
		st, err := os.Lstat(f.Path)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrAddendum, f.Name, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%w: %s: %s is not a regular file", ErrAddendum, f.Name, f.Path)
		}
		if abs, err := filepath.Abs(f.Path); err == nil {
			if d, _ := filepath.Abs(dir); filepath.Dir(abs) == d {
				return fmt.Errorf("%w: %s: %s is inside the bundle already", ErrAddendum, f.Name, f.Path)
			}
		}
	}
	return nil
}

// moveIn moves files into dir, fsyncs them and dir, and returns their
// entries, sorted, with the function that moves them back.
func (s *Store) moveIn(dir string, files []AddendumFile) ([]FileEntry, func(), error) {
	var undos []func()
	undo := func() {
		for _, u := range slices.Backward(undos) {
			u()
		}
		syncDir(dir)
	}
	entries := []FileEntry{}
	for _, f := range files {
		dst := filepath.Join(dir, f.Name)
		u, err := s.moveOne(f.Path, dst)
		if err != nil {
			undo()
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		undos = append(undos, u)
		fe, err := sealFile(dst, f.Name)
		if err != nil {
			undo()
			return nil, nil, err
		}
		entries = append(entries, fe)
	}
	if err := syncDir(dir); err != nil {
		undo()
		return nil, nil, err
	}
	sortEntries(entries)
	return entries, undo, nil
}

// moveOne moves src to dst (never over an existing file), copying through
// <state>/tmp when they are on different file systems; it returns how to
// undo it.
func (s *Store) moveOne(src, dst string) (func(), error) {
	err := moveInto(src, dst, false)
	if err == nil {
		return func() { os.Rename(dst, src) }, nil
	}
	if !errors.Is(err, unix.EXDEV) {
		return nil, err
	}
	stage, err := s.TempDir()
	if err != nil {
		return nil, err
	}
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.CreateTemp(stage, stagePrefix+filepath.Base(dst)+"-*")
	if err != nil {
		return nil, err
	}
	tmp := out.Name()
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = moveInto(tmp, dst, false)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	// The copy is in; the original goes, as a move would take it.
	os.Remove(src)
	return func() {
		if err := moveInto(dst, src, false); err != nil {
			s.log.Warn("could not move a file back after a failed addendum", "file", dst, "to", src, "err", err)
		}
	}, nil
}

// sealFile makes a moved-in file read-only evidence (mode 0644), fsyncs it
// and returns its entry.
func sealFile(path, name string) (FileEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	if err := f.Chmod(0o644); err != nil {
		return FileEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return FileEntry{}, fmt.Errorf("fsync %s: %w", name, err)
	}
	n, sum, err := hashFile(os.DirFS(filepath.Dir(path)), name)
	if err != nil {
		return FileEntry{}, err
	}
	return FileEntry{Name: name, Bytes: n, SHA256: sum}, nil
}

// RecordOutcome records an outcome in an addendum of kind KindOutcome and
// returns it. at is the time of recording; it is trusted only when
// clockSynced.
func (s *Store) RecordOutcome(sessionID string, o Outcome, at time.Time, clockSynced bool) (Addendum, error) {
	if err := o.Validate(); err != nil {
		return Addendum{}, err
	}
	a, err := s.addAddendum(sessionID, KindOutcome, o, nil, at, clockSynced)
	if err == nil {
		s.log.Info("outcome recorded", "session", a.SessionID, "n", a.N, "outcome", o.String())
	}
	return a, err
}
