package evidence

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// Session is one open (unsealed) bundle directory. The recorder writes its
// files into Dir; Seal closes it for good.
type Session struct {
	store *Store
	entry *entry
	dir   string
	// known holds precomputed hashes given with AddFile.
	known map[string]FileEntry
}

// Begin opens the next session: it applies retention first (returning
// ErrNoSpace, wrapped, when only protected evidence is left and space is
// short — the station must then refuse to record), then creates the bundle
// directory <seq>-<time|unsynced>[-tracking] with an unsealed.json marker.
// startedAt names the directory only when clockSynced.
func (s *Store) Begin(startedAt time.Time, clockSynced bool, tracking string) (*Session, error) {
	defer s.lock()()
	if s.open != nil {
		return nil, fmt.Errorf("%w: %s", ErrSessionOpen, s.open.entry.name)
	}
	for _, e := range s.entries {
		if e.state == stUnsealed {
			return nil, fmt.Errorf("%w: %s", ErrRecoveryPending, e.name)
		}
	}
	if _, err := s.enforceLocked(startedAt, clockSynced); err != nil {
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	seq := s.nextSeq
	// Never reuse a number, whatever appeared on disk since Open.
	if des, err := os.ReadDir(s.sessions); err == nil {
		for _, de := range des {
			if n, ok := ParseSessionDirName(de.Name()); ok && n >= seq {
				seq = n + 1
			}
		}
	}
	name := SessionDirName(seq, startedAt, clockSynced, tracking)
	res := result.Result{
		Schema: result.Schema, SessionID: name, Seq: seq, StationID: s.opts.StationID,
		StartedAt: startedAt.UTC().Format(time.RFC3339), ClockSynced: clockSynced,
		Tracking: tracking,
	}
	e := &entry{seq: seq, name: name, state: stUnsealed, res: res}
	tmp := filepath.Join(s.sessions, "."+name+tmpMarker+"begin")
	final := filepath.Join(s.sessions, name)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	if err := os.Mkdir(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	if err := s.writeUnsealed(tmp, e.identity(res, s)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	if err := syncDir(s.sessions); err != nil {
		return nil, fmt.Errorf("evidence: begin: %w", err)
	}
	s.nextSeq = seq + 1
	s.entries = append(s.entries, e)
	sess := &Session{store: s, entry: e, dir: final, known: map[string]FileEntry{}}
	s.open = sess
	s.log.Info("session begun", "session", name)
	return sess, nil
}

func (s *Store) writeUnsealed(dir string, res result.Result) error {
	data, err := marshalDoc(unsealedDoc{Type: typeUnsealed, Result: res})
	if err != nil {
		return err
	}
	return s.putFile(dir, UnsealedFile, data, putReplace)
}

// identity returns res with the fields the store owns set from the entry:
// schema, session id, seq, start time and clock state, bundle path, key
// fingerprint; the chain fields are cleared (they are filled on
// publication). Station id and tracking number default to the store's and
// Begin's.
func (e *entry) identity(res result.Result, s *Store) result.Result {
	res.Schema = result.Schema
	res.SessionID = e.name
	res.Seq = e.seq
	if e.res.StartedAt != "" {
		res.StartedAt = e.res.StartedAt
		res.ClockSynced = e.res.ClockSynced
	}
	if res.StationID == "" {
		res.StationID = s.opts.StationID
	}
	if res.Tracking == "" {
		res.Tracking = e.res.Tracking
	}
	res.Bundle = SessionsDir + "/" + e.name
	res.KeyFingerprint = s.fp
	res.ManifestSHA256 = ""
	res.ChainHead = ""
	return res
}

// ID is the session id, the bundle directory's name.
func (ss *Session) ID() string { return ss.entry.name }

// Seq is the session's sequence number.
func (ss *Session) Seq() int64 { return ss.entry.seq }

// Dir is the bundle directory the recorder writes into. File names must
// satisfy ValidFileName.
func (ss *Session) Dir() string { return ss.dir }

// Path is the path of a file in the bundle, or an ErrBadFile error when name
// is not a valid bundle file name.
func (ss *Session) Path(name string) (string, error) {
	if !ValidFileName(name) {
		return "", fmt.Errorf("%w: %q is not a valid bundle file name", ErrBadFile, name)
	}
	return filepath.Join(ss.dir, name), nil
}

// WriteFile writes a whole file of the open session (the label still, the
// claim) with the store's one durable write — staged in <state>/tmp,
// fsynced, renamed into place — and records its size and SHA-256 for Seal.
// A seal retry may write it again.
func (ss *Session) WriteFile(name string, data []byte) error {
	if !ValidFileName(name) {
		return fmt.Errorf("%w: %q is not a valid bundle file name", ErrBadFile, name)
	}
	s := ss.store
	if err := s.putFile(ss.dir, name, data, putReplace); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	return ss.AddFile(FileEntry{Name: name, Bytes: int64(len(data)), SHA256: sha256Hex(data)})
}

// Create opens a new streaming file of the open session for writing (the
// live weight log), never over an existing file; see CreateBundleFile. Seal
// fsyncs and hashes it.
func (ss *Session) Create(name string) (*os.File, error) {
	p, err := ss.Path(name)
	if err != nil {
		return nil, err
	}
	return CreateBundleFile(p)
}

// CreateBundleFile opens a new streaming file at path, inside an open
// (unsealed) bundle, for writing: a valid bundle file name, created with
// O_EXCL (never over an existing file), mode 0644, its directory entry
// fsynced. It fits recorder.Options.Create, so the recorder's video files
// are opened through the evidence store's rules too.
func CreateBundleFile(path string) (*os.File, error) {
	dir, name := filepath.Split(path)
	if !ValidFileName(name) {
		return nil, fmt.Errorf("%w: %q is not a valid bundle file name", ErrBadFile, name)
	}
	if _, err := os.Stat(filepath.Join(dir, UnsealedFile)); err != nil {
		return nil, fmt.Errorf("%w: %s is not in an open bundle: %v", ErrSealed, path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Clean(dir)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// AddFile records a file's size and SHA-256 computed while writing it, so
// Seal need not read it again (Seal checks the size).
func (ss *Session) AddFile(f FileEntry) error {
	if !ValidFileName(f.Name) {
		return fmt.Errorf("%w: %q is not a valid bundle file name", ErrBadFile, f.Name)
	}
	if !hexRE.MatchString(f.SHA256) {
		return fmt.Errorf("%w: %s: sha256 %q is not lower-case hex", ErrBadFile, f.Name, f.SHA256)
	}
	ss.store.mu.Lock()
	defer ss.store.mu.Unlock()
	ss.known[f.Name] = f
	return nil
}

// Checkpoint saves the result known so far (the weigh-in and verdict are
// known before the opening is filmed) into unsealed.json, so that a session
// cut by a power failure is recovered with it.
func (ss *Session) Checkpoint(res result.Result) error {
	s := ss.store
	defer s.lock()()
	if ss.entry.state != stUnsealed || s.open != ss {
		return fmt.Errorf("%w: %s", ErrSealed, ss.entry.name)
	}
	res = ss.entry.identity(res, s)
	if err := s.writeUnsealed(ss.dir, res); err != nil {
		return fmt.Errorf("evidence: checkpoint: %w", err)
	}
	ss.entry.res = res
	return nil
}

// Seal closes the session: every file in the directory is fsynced and
// listed with its size and SHA-256 (files given here or with AddFile are
// taken at their precomputed hash, after checking the size; the others are
// hashed), then manifest.json, manifest.sig, SHA256SUMS and SHA256SUMS.sig
// are written atomically and the unsealed marker removed. It returns the
// result as published: with bundle, manifest_sha256, chain_head and
// key_fingerprint filled.
//
// If Seal fails the session stays unsealed; Seal may be retried, and Recover
// (at the latest on the next start) seals it as interrupted.
func (ss *Session) Seal(res result.Result, files ...FileEntry) (result.Result, error) {
	for _, f := range files {
		if err := ss.AddFile(f); err != nil {
			return result.Result{}, err
		}
	}
	s := ss.store
	defer s.lock()()
	if ss.entry.state != stUnsealed || s.open != ss {
		return result.Result{}, fmt.Errorf("%w: %s", ErrSealed, ss.entry.name)
	}
	out, err := s.sealLocked(ss.entry, res, ss.known)
	if err != nil {
		return result.Result{}, err
	}
	s.open = nil
	return out, nil
}

// sealLocked seals entry e with res. known maps file names to precomputed
// entries; every other file is hashed.
func (s *Store) sealLocked(e *entry, res result.Result, known map[string]FileEntry) (result.Result, error) {
	dir := filepath.Join(s.sessions, e.name)
	fail := func(err error) (result.Result, error) {
		return result.Result{}, fmt.Errorf("evidence: seal %s: %w", e.name, err)
	}
	res = e.identity(res, s)
	if !slices.Contains(result.StopReasons, res.StopReason) || res.Interrupted != (res.StopReason == result.StopInterrupted) {
		return fail(fmt.Errorf("%w: stop_reason %q (interrupted %v): a result names why its recording ended, one of %s",
			ErrBadResult, res.StopReason, res.Interrupted, strings.Join(result.StopReasons, ", ")))
	}
	// The final result goes into the marker first: a crash while sealing
	// recovers it rather than the last checkpoint. Neither this nor
	// allowed_signers needs its own directory fsync: the one after the
	// manifest's rename covers them, and before it a crash loses nothing
	// (recovery falls back to the previous checkpoint and rewrites
	// allowed_signers).
	data, err := marshalDoc(unsealedDoc{Type: typeUnsealed, Result: res})
	if err != nil {
		return fail(err)
	}
	if err := s.putFile(dir, UnsealedFile, data, putReplace|putNoSync); err != nil {
		return fail(err)
	}
	if err := s.putFile(dir, AllowedSignersFile, []byte(s.AllowedSigners()+"\n"), putReplace|putNoSync); err != nil {
		return fail(err)
	}
	files, err := s.collectFiles(dir, known)
	if err != nil {
		return fail(err)
	}
	m := Manifest{
		Type: TypeManifest, BundleVersion: BundleVersion, Result: res,
		StationKey:     sshsig.MarshalAuthorizedKey(s.pub, ""),
		KeyFingerprint: s.fp, Files: files, PreviousManifestSHA256: s.head,
	}
	data, err = marshalDoc(m)
	if err != nil {
		return fail(err)
	}
	sha, err := s.writeSealFiles(dir, data, files)
	if err != nil {
		return fail(err)
	}
	e.state = stSealed
	e.manifestSHA = sha
	e.prev = m.PreviousManifestSHA256
	e.key = s.pub
	e.res = res
	e.files = files
	s.head = sha
	s.journalSeal(e.name, sha)
	s.log.Info("session sealed", "session", e.name, "manifest_sha256", sha, "files", len(files), "interrupted", res.Interrupted)
	return e.published(s.head), nil
}

// writeSealFiles writes manifest.json and the files derived from it, then
// removes the unsealed marker. It returns the manifest's SHA-256.
func (s *Store) writeSealFiles(dir string, manifest []byte, files []FileEntry) (string, error) {
	sha := sha256Hex(manifest)
	// The manifest's rename is made durable (with every name before it)
	// before the derived files; those are made durable together before the
	// marker goes, so a bundle without unsealed.json always has all four.
	if err := s.putFile(dir, ManifestFile, manifest, putReplace); err != nil {
		return "", err
	}
	sums := SumsListing(files, sha)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{ManifestSigFile, s.sign(manifest)},
		{SumsFile, sums},
		{SumsSigFile, s.sign(sums)},
	} {
		if err := s.putFile(dir, f.name, f.data, putReplace|putNoSync); err != nil {
			return "", err
		}
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	if err := os.Remove(filepath.Join(dir, UnsealedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return sha, nil
}

// collectFiles lists, fsyncs and (unless known) hashes every data file of a
// session directory, sorted by name.
func (s *Store) collectFiles(dir string, known map[string]FileEntry) ([]FileEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fsys := os.DirFS(dir)
	var files []FileEntry
	seen := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		switch {
		case isTemp(name):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
			continue
		case name == UnsealedFile || name == ManifestFile || name == ManifestSigFile || name == SumsFile || name == SumsSigFile:
			continue
		case name == AllowedSignersFile:
		case !ValidFileName(name):
			return nil, fmt.Errorf("%w: %q is not a valid bundle file name", ErrBadFile, name)
		}
		if !de.Type().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadFile, name)
		}
		size, err := syncFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadFile, name, err)
		}
		f, ok := known[name]
		if ok {
			if f.Bytes != size {
				return nil, fmt.Errorf("%w: %s is %d bytes on disk, %d when hashed", ErrBadFile, name, size, f.Bytes)
			}
		} else {
			n, sum, err := hashFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
			}
			f = FileEntry{Name: name, Bytes: n, SHA256: sum}
		}
		seen[name] = true
		files = append(files, f)
	}
	for name := range known {
		if !seen[name] {
			return nil, fmt.Errorf("%w: %s was added but is not in %s", ErrBadFile, name, dir)
		}
	}
	sortEntries(files)
	return files, nil
}

// Analyzer recomputes what it can of an interrupted session's result from
// the files on disk — typically the continuity statistics of the video, with
// the recorder's analysis. It gets the bundle directory and the last
// checkpointed result and returns the result to seal.
type Analyzer func(dir string, checkpoint result.Result) (result.Result, error)

// Recover seals every unsealed session (left by a crash or power cut, or by
// a Seal that failed) as interrupted, in sequence order, with what is on
// disk: the files as written, hashed anew, and the last checkpointed result
// passed through analyze (nil skips it; an analyze error is logged and the
// checkpoint kept). A session whose manifest was already written when the
// power went is completed as it was sealed. It returns the sealed results
// for publication. Do not call it while recording.
func (s *Store) Recover(analyze Analyzer) ([]result.Result, error) {
	defer s.lock()()
	var out []result.Result
	for _, e := range s.entries {
		if e.state != stUnsealed {
			continue
		}
		res, err := s.recoverLocked(e, analyze)
		if err != nil {
			return out, err
		}
		if s.open != nil && s.open.entry == e {
			s.open = nil
		}
		out = append(out, res)
	}
	return out, nil
}

// QuarantineDir is where recovery moves what does not belong in a bundle
// (a subdirectory, a file with a reserved or invalid name), so that a stray
// entry cannot keep a session unsealed, and the station unable to record,
// forever. Nothing is deleted.
const QuarantineDir = "quarantine"

// quarantineForeign moves the entries of an unsealed bundle that Seal would
// refuse into <state>/quarantine/<session>/.
func (s *Store) quarantineForeign(session, dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case isTemp(name), name == UnsealedFile, name == AllowedSignersFile:
			continue
		case ValidFileName(name) && de.Type().IsRegular():
			continue
		}
		if err := s.quarantine(session, dir, name); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

func (s *Store) recoverLocked(e *entry, analyze Analyzer) (result.Result, error) {
	dir := filepath.Join(s.sessions, e.name)
	if res, ok := s.completeSeal(e, dir); ok {
		return res, nil
	}
	for _, n := range []string{ManifestFile, ManifestSigFile, SumsFile, SumsSigFile} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return result.Result{}, fmt.Errorf("evidence: recover %s: %w", e.name, err)
		}
	}
	if err := s.quarantineForeign(e.name, dir); err != nil {
		return result.Result{}, fmt.Errorf("evidence: recover %s: %w", e.name, err)
	}
	base := e.res
	if doc, err := readUnsealed(dir); err == nil {
		base = doc.Result
	} else {
		s.log.Warn("recovering without a checkpoint", "session", e.name, "err", err)
	}
	if base.StartedAt == "" {
		// Nothing was checkpointed: the directory name is all there is.
		base.ClockSynced = false
		if m := sessionDirRE.FindStringSubmatch(e.name); m != nil && m[2] != "unsynced" {
			if t, err := time.Parse("20060102T150405Z", m[2]); err == nil {
				base.StartedAt = t.Format(time.RFC3339)
				base.ClockSynced = true
			}
		}
	}
	e.res.StartedAt, e.res.ClockSynced = base.StartedAt, base.ClockSynced
	base.Interrupted, base.StopReason = true, result.StopInterrupted
	res := base
	if analyze != nil {
		r, err := analyze(dir, base)
		if err != nil {
			s.log.Warn("analysing an interrupted session", "session", e.name, "err", err)
		} else {
			res = r
		}
	}
	res.Interrupted, res.StopReason = true, result.StopInterrupted
	out, err := s.sealLocked(e, res, nil)
	if err != nil {
		return result.Result{}, err
	}
	s.log.Warn("interrupted session sealed at recovery", "session", e.name, "frames", out.Continuity.Frames)
	return out, nil
}

// completeSeal finishes a seal that a crash cut after manifest.json was
// renamed into place (the manifest is complete: it was written atomically).
func (s *Store) completeSeal(e *entry, dir string) (result.Result, bool) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return result.Result{}, false
	}
	m, key, err := ParseManifest(data)
	if err != nil || !key.Equal(s.pub) || m.PreviousManifestSHA256 != s.head || m.Result.SessionID != e.name {
		s.log.Warn("discarding the manifest of an unfinished seal", "session", e.name, "err", err)
		return result.Result{}, false
	}
	for _, f := range m.Files {
		st, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil || st.Size() != f.Bytes {
			s.log.Warn("discarding the manifest of an unfinished seal: file changed", "session", e.name, "file", f.Name)
			return result.Result{}, false
		}
	}
	sha, err := s.writeSealFiles(dir, data, m.Files)
	if err != nil {
		s.log.Warn("completing an unfinished seal", "session", e.name, "err", err)
		return result.Result{}, false
	}
	e.state = stSealed
	e.manifestSHA = sha
	e.prev = m.PreviousManifestSHA256
	e.key = key
	e.res = m.Result
	e.files = m.Files
	s.head = sha
	s.journalSeal(e.name, sha)
	s.log.Info("completed a seal cut short", "session", e.name, "manifest_sha256", sha)
	return e.published(s.head), true
}
