package evidence

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
	"weighin/internal/sysclock"
)

// Key files in the state directory.
const (
	// KeyFile is the station's private key, OpenSSH format, mode 0600.
	KeyFile = "station_ed25519"
	// PublicKeyFile is its public key in authorized_keys format.
	PublicKeyFile = "station_ed25519.pub"
	// SessionsDir is the directory of bundles under the state directory.
	SessionsDir = "sessions"
	// LockFile serialises changes between processes sharing the state
	// directory (weighd, and weighctl recording an outcome): every change
	// holds an exclusive flock on it.
	LockFile = "evidence.lock"
)

// Errors returned by the Store; test with errors.Is.
var (
	// ErrNoSpace: free space is below retention.min_free_bytes and every
	// remaining bundle is protected. The station must refuse to record.
	ErrNoSpace = errors.New("evidence: storage full of protected evidence")
	// ErrSessionOpen: Begin while a session is open.
	ErrSessionOpen = errors.New("evidence: a session is already open")
	// ErrRecoveryPending: Begin while unsealed sessions of a previous run
	// wait for Recover.
	ErrRecoveryPending = errors.New("evidence: unsealed sessions await recovery")
	// ErrSealed: the session is already sealed.
	ErrSealed = errors.New("evidence: session already sealed")
	// ErrBadFile: a file of the session is unusable (bad name, size differs
	// from the one given, missing, not a regular file).
	ErrBadFile = errors.New("evidence: bad bundle file")
	// ErrKey: the station key is unusable or does not match the bundles.
	ErrKey = errors.New("evidence: station key")
	// ErrNotFound: no bundle of that session id.
	ErrNotFound = errors.New("evidence: no such bundle")
	// ErrNotSealed: the bundle is not sealed.
	ErrNotSealed = errors.New("evidence: bundle not sealed")
	// ErrBadResult: Seal was given a result the schema does not allow.
	ErrBadResult = errors.New("evidence: bad result")
)

// Retention limits what the store keeps. The zero value keeps everything.
type Retention struct {
	// MinFreeBytes: while the file system has less free space, the oldest
	// unprotected bundles are reduced to tombstones. 0 disables it.
	MinFreeBytes int64
	// MaxAge: unprotected bundles older than this are reduced to tombstones,
	// only when both the bundle's start and now come from a synchronised
	// clock. 0 disables it.
	MaxAge time.Duration
	// RemoveDerived, when set, removes one derived file outside the
	// bundles (a dispute pack's zip, which can be made again), oldest
	// first, and returns the bytes freed (0: none left). Low space takes
	// these before it reduces any bundle to a tombstone; it never removes
	// an addendum or a file one lists.
	RemoveDerived func() (int64, error)
	// Offloadable, when set (offsite.delete_local_after_verified), says
	// whether every file of a bundle has a verified copy in the off-site
	// store. Enforce first offloads each sealed, unprotected bundle it
	// returns true for (Offload): the data files go, and a signed tombstone
	// of reason offloaded stays beside the manifest, SHA256SUMS, their
	// signatures and the addenda. It is called with the store locked and
	// must not call the store.
	Offloadable func(session string) bool
}

// Options configure a Store. The zero value works: no station id in
// results, no retention, free space measured with statfs.
type Options struct {
	// StationID goes into results that do not name one.
	StationID string
	Retention Retention
	// FreeSpace reports the free bytes of the file system holding a path;
	// nil means FreeBytes (statfs).
	FreeSpace func(path string) (int64, error)
	// Clock gives the time of an addendum and whether the system clock is
	// synchronised; nil means time.Now and sysclock.Synced.
	Clock func() (time.Time, bool)
	// OnJournal, when set, is given each line appended to the journal
	// (JournalFile, without its newline) once it is durable, under the
	// store's lock: it must not block (weighd publishes it on MQTT).
	OnJournal func(line []byte)
}

type entryState int

const (
	stUnsealed entryState = iota
	stSealed
	stTombstoned
	stDamaged
)

func (s entryState) String() string {
	return [...]string{"unsealed", "sealed", "tombstoned", "damaged"}[s]
}

// StateOffloaded is the state of a tombstoned bundle whose data files were
// removed because their copies in the off-site store are verified.
const StateOffloaded = "offloaded"

// stateName is the entry's state as BundleInfo reports it.
func (e *entry) stateName() string {
	if e.state == stTombstoned && e.offloaded {
		return StateOffloaded
	}
	return e.state.String()
}

// entry is the store's view of one bundle directory.
type entry struct {
	seq         int64
	name        string
	state       entryState
	manifestSHA string
	prev        string
	key         ed25519.PublicKey
	res         result.Result
	files       []FileEntry
	removed     []FileEntry // tombstoned: the files retention removed
	offloaded   bool        // tombstoned with ReasonOffloaded: the data is in the off-site store
	chain       chainState  // outcomes and addenda, as last read
	problem     string      // damaged: why
}

// latest is the bundle's latest outcome, nil if none.
func (e *entry) latest() *Outcome { return e.chain.latest }

// Store is the station's evidence: the signing key and the bundle
// directories under <state>/sessions. Its methods are safe for concurrent
// use.
type Store struct {
	dir      string
	sessions string
	log      *slog.Logger
	opts     Options

	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	fp   string

	lockFile *os.File

	mu      sync.Mutex
	entries []*entry // by seq
	head    string
	nextSeq int64
	open    *Session
}

// Open opens the evidence store in stateDir: it loads the station key, or
// creates one (mode 0600) on first start, and reads every bundle to find the
// chain head and the next sequence number. Sessions left unsealed by a crash
// are listed by Pending and must be sealed with Recover before Begin.
//
// Open refuses a key that is readable by others, and a key that differs
// from the one that signed the newest bundle (a lost or replaced key would
// break the chain silently).
func Open(stateDir string, log *slog.Logger, opts Options) (*Store, error) {
	if log == nil {
		return nil, errors.New("evidence: Open needs a logger")
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = FreeBytes
	}
	if opts.Clock == nil {
		opts.Clock = func() (time.Time, bool) { return time.Now(), sysclock.Synced() }
	}
	s := &Store{
		dir:      stateDir,
		sessions: filepath.Join(stateDir, SessionsDir),
		log:      log,
		opts:     opts,
	}
	if err := os.MkdirAll(s.sessions, 0o750); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(stateDir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	s.lockFile = lf
	unlock := s.lock()
	defer unlock()
	s.cleanStaging()
	if err := s.scan(); err != nil {
		lf.Close()
		return nil, err
	}
	if err := s.loadKey(); err != nil {
		lf.Close()
		return nil, err
	}
	s.reconcileJournal()
	s.finishInterrupted()
	return s, nil
}

// Close releases the store's lock file. The store must not be used after.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lockFile == nil {
		return nil
	}
	err := s.lockFile.Close()
	s.lockFile = nil
	return err
}

// lock takes the store's mutex and the inter-process lock; it returns the
// function that releases both.
func (s *Store) lock() func() {
	s.mu.Lock()
	if s.lockFile == nil {
		return s.mu.Unlock
	}
	fd := int(s.lockFile.Fd())
	var err error
	for {
		if err = syscall.Flock(fd, syscall.LOCK_EX); err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		s.log.Warn("evidence lock not taken; going on without it", "err", err)
		return s.mu.Unlock
	}
	return func() {
		syscall.Flock(fd, syscall.LOCK_UN)
		s.mu.Unlock()
	}
}

// KeyFingerprint is the station key's fingerprint as ssh-keygen prints it
// (SHA256:…). Publish it with every result.
func (s *Store) KeyFingerprint() string { return s.fp }

// PublicKey is the station's ed25519 public key.
func (s *Store) PublicKey() ed25519.PublicKey { return s.pub }

// AuthorizedKey is the public key as one authorized_keys line.
func (s *Store) AuthorizedKey() string { return sshsig.MarshalAuthorizedKey(s.pub, "weighin-station") }

// AllowedSigners is the allowed_signers line that ssh-keygen -Y verify uses
// for the station's signatures (principal "station", namespace "weighin").
func (s *Store) AllowedSigners() string {
	return sshsig.AllowedSignersLine(Principal, s.pub, Namespace)
}

// Head is the SHA-256 of the newest sealed manifest (the chain head), or ""
// before the first bundle.
func (s *Store) Head() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// SessionsPath is the directory holding the bundles.
func (s *Store) SessionsPath() string { return s.sessions }

// Pending lists the session ids left unsealed by an earlier run.
func (s *Store) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.entries {
		if e.state == stUnsealed && (s.open == nil || s.open.entry != e) {
			ids = append(ids, e.name)
		}
	}
	return ids
}

// BundleInfo describes one bundle, for the session index.
type BundleInfo struct {
	SessionID string
	Seq       int64
	// State is "unsealed", "sealed", "tombstoned", "offloaded" (tombstoned
	// because the data is in the off-site store) or "damaged".
	State          string
	ManifestSHA256 string
	Result         result.Result
	// Outcome is the latest recorded outcome, nil if none.
	Outcome *Outcome
	// Protected says why retention keeps the bundle ("" = it may go).
	Protected string
	// Problem says why a bundle is damaged.
	Problem string
}

// List describes every bundle, oldest first.
func (s *Store) List() []BundleInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BundleInfo, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, BundleInfo{
			SessionID: e.name, Seq: e.seq, State: e.stateName(),
			ManifestSHA256: e.manifestSHA, Result: e.published(s.head),
			Outcome: e.latest(), Protected: ProtectedBecause(e.res, e.latest()), Problem: e.problem,
		})
	}
	return out
}

// published is the entry's result with its place in the chain filled in.
func (e *entry) published(head string) result.Result {
	r := e.res
	r.ManifestSHA256 = e.manifestSHA
	r.ChainHead = head
	return r
}

// scan reads every bundle directory. It removes directories that Begin left
// half-made (they hold nothing: Begin had not returned).
func (s *Store) scan() error {
	des, err := os.ReadDir(s.sessions)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if isTemp(name) {
			if err := os.RemoveAll(filepath.Join(s.sessions, name)); err != nil {
				return fmt.Errorf("evidence: remove half-made %s: %w", name, err)
			}
			s.log.Info("removed half-made session directory", "dir", name)
			continue
		}
		seq, ok := ParseSessionDirName(name)
		if !ok || !de.IsDir() {
			s.log.Warn("ignoring unexpected entry in sessions directory", "name", name)
			continue
		}
		e := readEntry(filepath.Join(s.sessions, name), name, seq)
		if e.state == stDamaged {
			s.log.Error("damaged bundle", "session", name, "err", e.problem)
		}
		s.entries = append(s.entries, e)
	}
	slices.SortFunc(s.entries, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	s.nextSeq = 1
	for i, e := range s.entries {
		if i > 0 && s.entries[i-1].seq == e.seq {
			return fmt.Errorf("evidence: two bundles with seq %d: %s and %s", e.seq, s.entries[i-1].name, e.name)
		}
		s.nextSeq = e.seq + 1
		if e.state != stSealed && e.state != stTombstoned {
			continue
		}
		if e.prev != s.head {
			s.log.Error("evidence chain broken", "session", e.name, "previous_manifest_sha256", e.prev, "expected", s.head)
		}
		s.head = e.manifestSHA
	}
	return nil
}

// readEntry reads what a bundle directory holds without changing it.
func readEntry(dir, name string, seq int64) *entry {
	e := &entry{seq: seq, name: name}
	damaged := func(format string, args ...any) *entry {
		e.state = stDamaged
		e.problem = fmt.Sprintf(format, args...)
		return e
	}
	if _, err := os.Stat(filepath.Join(dir, UnsealedFile)); err == nil {
		e.state = stUnsealed
		if doc, err := readUnsealed(dir); err == nil {
			e.res = doc.Result
		}
		return e
	}
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return damaged("no %s and no %s: %v", ManifestFile, UnsealedFile, err)
	}
	m, key, err := ParseManifest(data)
	if err != nil {
		return damaged("%v", err)
	}
	if m.Result.SessionID != name {
		return damaged("%s names session %q", ManifestFile, m.Result.SessionID)
	}
	e.state = stSealed
	e.manifestSHA = sha256Hex(data)
	e.prev = m.PreviousManifestSHA256
	e.key = key
	e.res = m.Result
	e.files = m.Files
	if tdata, err := os.ReadFile(filepath.Join(dir, TombstoneFile)); err == nil {
		t, _, err := ParseTombstone(tdata)
		if err != nil {
			return damaged("%v", err)
		}
		e.state = stTombstoned
		e.removed = t.Removed
		e.offloaded = t.Reason == ReasonOffloaded
	}
	e.chain = readChain(dir, e.manifestSHA)
	return e
}

func readUnsealed(dir string) (*unsealedDoc, error) {
	data, err := os.ReadFile(filepath.Join(dir, UnsealedFile))
	if err != nil {
		return nil, err
	}
	var doc unsealedDoc
	if err := decodeStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, UnsealedFile, err)
	}
	if doc.Type != typeUnsealed {
		return nil, fmt.Errorf("%w: %s: type %q", ErrFormat, UnsealedFile, doc.Type)
	}
	return &doc, nil
}

// loadKey reads the station key, or creates it when there is none and no
// bundle was ever signed.
func (s *Store) loadKey() error {
	path := filepath.Join(s.dir, KeyFile)
	var signed *entry
	for _, e := range slices.Backward(s.entries) {
		if e.key != nil {
			signed = e
			break
		}
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if signed != nil {
			return fmt.Errorf("%w: %s is missing but bundle %s was signed by %s: restore the key (a new one would break the evidence chain)",
				ErrKey, path, signed.name, sshsig.Fingerprint(signed.key))
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("%w: generate: %v", ErrKey, err)
		}
		pem, err := sshsig.MarshalPrivateKey(priv, "weighin-station")
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKey, err)
		}
		if err := s.putFile(s.dir, KeyFile, pem, putReplace); err != nil {
			return fmt.Errorf("%w: %v", ErrKey, err)
		}
		s.priv = priv
		s.log.Info("created station key", "file", path, "fingerprint", sshsig.Fingerprint(priv.Public().(ed25519.PublicKey)))
	case err != nil:
		return fmt.Errorf("%w: %v", ErrKey, err)
	default:
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return fmt.Errorf("%w: %s has mode %04o; it must be readable by its owner only (chmod 600 %s)", ErrKey, path, perm, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKey, err)
		}
		priv, _, err := sshsig.ParsePrivateKey(data)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrKey, path, err)
		}
		s.priv = priv
	}
	s.pub = s.priv.Public().(ed25519.PublicKey)
	s.fp = sshsig.Fingerprint(s.pub)
	if signed != nil && !signed.key.Equal(s.pub) {
		return fmt.Errorf("%w: %s is %s but bundle %s was signed by %s: restore the station's key",
			ErrKey, path, s.fp, signed.name, sshsig.Fingerprint(signed.key))
	}
	pubLine := []byte(s.AuthorizedKey() + "\n")
	if old, err := os.ReadFile(filepath.Join(s.dir, PublicKeyFile)); err != nil || !bytes.Equal(old, pubLine) {
		if err := s.putFile(s.dir, PublicKeyFile, pubLine, putReplace); err != nil {
			return fmt.Errorf("%w: %v", ErrKey, err)
		}
	}
	return nil
}

// finishInterrupted completes removals and addenda that a crash cut short:
// data files left in a tombstoned bundle, signature files without their
// document, and files moved in for an addendum never written (or put there
// by hand), which no manifest or addendum lists: those go to
// <state>/quarantine/<session>/, so the bundle verifies again and nothing
// is deleted.
func (s *Store) finishInterrupted() {
	for _, e := range s.entries {
		dir := filepath.Join(s.sessions, e.name)
		if e.state == stTombstoned {
			if _, err := removeFiles(dir, tombstoneVictims(e.removed, e.offloaded)); err != nil {
				s.log.Error("finishing a removal", "session", e.name, "err", err)
			}
		}
		if e.state != stSealed && e.state != stTombstoned {
			continue
		}
		known := map[string]bool{
			ManifestFile: true, ManifestSigFile: true, SumsFile: true, SumsSigFile: true,
			TombstoneFile: true, TombstoneSigFile: true,
		}
		for _, f := range e.files {
			known[f.Name] = true
		}
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			n := de.Name()
			var doc string
			switch {
			case n == TombstoneSigFile:
				doc = TombstoneFile
			case (outcomeRE.MatchString(n) || addendumRE.MatchString(n)) && strings.HasSuffix(n, ".sig"):
				doc = strings.TrimSuffix(n, ".sig") + ".json"
			case isTemp(n):
				os.Remove(filepath.Join(dir, n))
				continue
			case e.chain.bad == nil && !known[n] && !e.chain.listed[n]:
				if err := s.quarantine(e.name, dir, n); err != nil {
					s.log.Error("moving a file no manifest or addendum lists out of a bundle", "session", e.name, "file", n, "err", err)
				}
				continue
			default:
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, doc)); errors.Is(err, fs.ErrNotExist) {
				os.Remove(filepath.Join(dir, n))
				s.log.Info("removed signature of a document never written", "session", e.name, "file", n)
			}
		}
	}
}

// quarantine moves dir/name to <state>/quarantine/<session>/, never over a
// file already there.
func (s *Store) quarantine(session, dir, name string) error {
	q := filepath.Join(s.dir, QuarantineDir, session)
	if err := os.MkdirAll(q, 0o750); err != nil {
		return err
	}
	dst := filepath.Join(q, name)
	for i := 1; ; i++ {
		err := moveInto(filepath.Join(dir, name), dst, false)
		if !errors.Is(err, fs.ErrExist) || i == 100 {
			if err != nil {
				return err
			}
			break
		}
		dst = filepath.Join(q, fmt.Sprintf("%s.%d", name, i))
	}
	s.log.Warn("moved an entry that does not belong in the bundle out of it", "session", session, "entry", name, "to", dst)
	return syncDir(dir)
}

func tombstoneVictims(removed []FileEntry, offloaded bool) []string {
	// An offloaded bundle keeps SHA256SUMS and its signature: the listing
	// of what the store holds, signed.
	var names []string
	if !offloaded {
		names = append(names, SumsFile, SumsSigFile)
	}
	for _, f := range removed {
		names = append(names, f.Name)
	}
	return names
}

// removeFiles removes the named files from dir (absent ones are fine),
// fsyncs dir and returns the bytes freed.
func removeFiles(dir string, names []string) (int64, error) {
	var freed int64
	var errs []error
	for _, n := range names {
		p := filepath.Join(dir, n)
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			freed += st.Size()
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := syncDir(dir); err != nil {
		errs = append(errs, err)
	}
	return freed, errors.Join(errs...)
}

// Sign makes a detached SSH signature of data with the station key, in the
// namespace of every station signature (ssh-keygen -Y verify -n weighin):
// for a document outside any bundle, such as a dispute pack's PACKSUMS.
func (s *Store) Sign(data []byte) []byte { return s.sign(data) }

// sign signs data with the station key.
func (s *Store) sign(data []byte) []byte {
	sig, err := sshsig.Sign(s.priv, Namespace, data)
	if err != nil {
		// The key was checked at Open and the namespace is constant.
		panic("evidence: sign: " + err.Error())
	}
	return sig
}

// writeSigned writes a document and its signature. The signature goes first:
// a crash in between leaves a signature without document, which Open
// removes, never a document without signature.
func (s *Store) writeSigned(dir, name, sigName string, data []byte) error {
	if err := s.putFile(dir, sigName, s.sign(data), 0); err != nil {
		return err
	}
	if err := s.putFile(dir, name, data, 0); err != nil {
		os.Remove(filepath.Join(dir, sigName))
		return err
	}
	return nil
}

func (s *Store) find(sessionID string) *entry {
	for _, e := range s.entries {
		if e.name == sessionID {
			return e
		}
	}
	return nil
}
