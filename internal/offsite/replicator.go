package offsite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"weighin/internal/evidence"
)

// Dir is the replicator's directory under the state directory, and
// JournalFile its journal there.
const (
	Dir         = "offsite"
	JournalFile = "journal.jsonl"
)

// Default back-off: 30 s·2ⁿ, at most 30 min.
const (
	DefaultBackoffBase = 30 * time.Second
	DefaultBackoffMax  = 30 * time.Minute
)

// ErrNotSealed: Enqueue of a bundle that is not sealed (no manifest, or the
// unsealed marker still there).
var ErrNotSealed = errors.New("offsite: bundle not sealed")

// Options configure a Replicator.
type Options struct {
	Store *Store
	// StationID is the effective station id (package identity); it names
	// the station's prefix in the bucket.
	StationID string
	// StateDir holds the journal, in <StateDir>/offsite/.
	StateDir string
	// SessionsDir holds the bundles; empty means <StateDir>/sessions.
	SessionsDir string
	Log         *slog.Logger
	// BackoffBase and BackoffMax shape the back-off after failures (zero:
	// 30 s and 30 min).
	BackoffBase, BackoffMax time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Rescan is how often Run looks through SessionsDir for bundles and
	// files nobody enqueued (an addendum written by another process, a
	// hook missed): 0 means every 5 minutes, a negative value never.
	Rescan time.Duration
	// OnVerified, when set, is called from Run each time a bundle's last
	// object not verified becomes Verified (weighd offloads the bundle
	// then, with offsite.delete_local_after_verified). No lock is held.
	OnVerified func(session string)
}

// Replicator copies sealed bundles to the store and verifies each copy,
// recording every step in its journal. Enqueue, Status and BundleState are
// safe to call while Run runs.
type Replicator struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}

	mu          sync.Mutex
	j           *journal
	pauseUntil  time.Time
	consecutive int
	bucketOK    bool
	lastErr     string
	lastErrAt   time.Time
	lastOK      time.Time
	uploaded    int64
	cur         *Transfer
}

// New opens the journal (creating <state>/offsite/) and resumes it: objects
// a crash left Copying or Verifying are asked about again before anything
// is written. It contacts nothing.
func New(o Options) (*Replicator, error) {
	if o.Store == nil || o.StationID == "" || o.StateDir == "" {
		return nil, errors.New("offsite: New needs a Store, a StationID and a StateDir")
	}
	if o.Log == nil {
		return nil, errors.New("offsite: New needs a logger")
	}
	if o.SessionsDir == "" {
		o.SessionsDir = filepath.Join(o.StateDir, evidence.SessionsDir)
	}
	o.SessionsDir = filepath.Clean(o.SessionsDir)
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rescan == 0 {
		o.Rescan = 5 * time.Minute
	}
	j, err := openJournal(filepath.Join(o.StateDir, Dir))
	if err != nil {
		return nil, err
	}
	r := &Replicator{o: o, log: o.Log.With("component", "offsite"), wake: make(chan struct{}, 1), j: j}
	resumed := 0
	for _, obj := range j.sorted() {
		if obj.State == Copying || obj.State == Verifying {
			obj.State, obj.At = Pending, Time{o.Now()}
			if err := j.put(obj); err != nil {
				j.close()
				return nil, err
			}
			resumed++
		}
	}
	if resumed > 0 {
		r.log.Info("resuming copies cut short", "objects", resumed)
	}
	return r, nil
}

// Close releases the journal. Run must have returned.
func (r *Replicator) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.j.close()
}

// Enqueue queues every file of the sealed bundle at bundleDir (a directory
// of SessionsDir) that the journal does not know yet: after the seal, and
// again after an addendum, export, token or tombstone was added. Known files
// keep their state. It returns ErrNotSealed for a bundle still open.
func (r *Replicator) Enqueue(bundleDir string) error {
	bundleDir = filepath.Clean(bundleDir)
	session := filepath.Base(bundleDir)
	if filepath.Dir(bundleDir) != r.o.SessionsDir {
		return fmt.Errorf("offsite: %s is not a bundle of %s", bundleDir, r.o.SessionsDir)
	}
	if !validName(session) {
		return fmt.Errorf("offsite: bad session name %q", session)
	}
	if _, err := os.Stat(filepath.Join(bundleDir, evidence.UnsealedFile)); err == nil {
		return fmt.Errorf("%w: %s", ErrNotSealed, session)
	}
	if _, err := os.Stat(filepath.Join(bundleDir, evidence.ManifestFile)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotSealed, session, err)
	}
	des, err := os.ReadDir(bundleDir)
	if err != nil {
		return fmt.Errorf("offsite: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := 0
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !validName(name) || strings.HasPrefix(name, ".") || name == evidence.UnsealedFile {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		if old, ok := r.j.get(session, name); ok {
			if old.State == Verified && old.Bytes != info.Size() {
				r.log.Warn("file changed after its copy was verified; the copy stays as it was", "session", session, "file", name, "bytes", info.Size(), "verified_bytes", old.Bytes)
			}
			continue
		}
		if err := r.j.put(Object{Session: session, File: name, State: Pending, Bytes: info.Size(), At: Time{r.o.Now()}}); err != nil {
			return err
		}
		added++
	}
	if added > 0 {
		r.log.Debug("queued", "session", session, "files", added)
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// EnqueueAll queues every sealed bundle of SessionsDir (at start-up); it
// returns how many bundles it looked at. Bundles still open are skipped.
func (r *Replicator) EnqueueAll() (int, error) {
	des, err := os.ReadDir(r.o.SessionsDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("offsite: %w", err)
	}
	n := 0
	for _, de := range des {
		if _, ok := evidence.ParseSessionDirName(de.Name()); !ok || !de.IsDir() {
			continue
		}
		err := r.Enqueue(filepath.Join(r.o.SessionsDir, de.Name()))
		if errors.Is(err, ErrNotSealed) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// BundleState is the state of a bundle: Verified when every file is,
// otherwise the most pressing state among its files (Conflict, Failed,
// Copying, Verifying, Pending). ok is false for a bundle the journal does
// not know. Retention's delete_local_after_verified asks this.
func (r *Replicator) BundleState(session string) (s State, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var states []State
	for _, o := range r.j.objs {
		if o.Session == session {
			states = append(states, o.State)
		}
	}
	if len(states) == 0 {
		return LocalOnly, false
	}
	return aggregate(states), true
}

// Verified reports whether every file of the bundle the journal knows is
// Verified: the question retention asks before it removes the data files
// of a bundle (offsite.delete_local_after_verified). A bundle with a file
// added since (an addendum not copied yet) is not.
func (r *Replicator) Verified(session string) bool {
	s, ok := r.BundleState(session)
	return ok && s == Verified
}

func aggregate(states []State) State {
	for _, s := range []State{Conflict, Failed, Copying, Verifying, Pending, LocalOnly} {
		if slices.Contains(states, s) {
			return s
		}
	}
	return Verified
}

// Run copies and verifies until ctx ends, one object at a time, newest
// bundle first; it returns nil when ctx ends. Failures are recorded in the
// journal and in Status and retried with back-off. A journal that cannot be
// written (the card full) pauses the work the same way, reported in Status,
// and does not end Run: the station goes on recording.
func (r *Replicator) Run(ctx context.Context) error {
	lastScan := r.o.Now()
	for {
		if r.o.Rescan > 0 && r.o.Now().Sub(lastScan) >= r.o.Rescan {
			lastScan = r.o.Now()
			if _, err := r.EnqueueAll(); err != nil {
				r.log.Warn("rescan of the bundles failed", "err", err)
			}
		}
		wait, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The journal cannot be written (the card full or failing):
			// nothing moves until it can, and weighd goes on recording.
			wait = r.storeFailed(err)
		}
		if wait == 0 {
			continue
		}
		if r.o.Rescan > 0 {
			wait = max(min(wait, r.o.Rescan-r.o.Now().Sub(lastScan)), time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// idle is how long Run sleeps with nothing to do (Enqueue wakes it).
const idle = time.Hour

// step does one unit of work and says how long to wait before the next.
func (r *Replicator) step(ctx context.Context) (time.Duration, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	now := r.o.Now()
	r.mu.Lock()
	if now.Before(r.pauseUntil) {
		d := r.pauseUntil.Sub(now)
		r.mu.Unlock()
		return d, nil
	}
	obj, ok, next := r.pick(now)
	needCheck := !r.bucketOK
	r.mu.Unlock()
	if !ok {
		if next.IsZero() {
			return idle, nil
		}
		return max(next.Sub(now), time.Millisecond), nil
	}
	if needCheck {
		if err := r.o.Store.Check(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return r.storeFailed(err), nil
		}
		r.mu.Lock()
		r.bucketOK = true
		r.mu.Unlock()
	}
	if err := r.copy1(ctx, obj); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if errors.Is(err, ErrJournal) {
			return 0, err
		}
		return r.objectFailed(obj, err)
	}
	r.mu.Lock()
	r.consecutive, r.lastOK = 0, r.o.Now()
	r.mu.Unlock()
	if r.o.OnVerified != nil && r.Verified(obj.Session) {
		r.o.OnVerified(obj.Session)
	}
	return 0, nil
}

// pick chooses the next object: from the newest bundle that has work, its
// data files before the seal files (so a manifest in the store means its
// files are there). next is the earliest retry of a Failed object when none
// is due.
func (r *Replicator) pick(now time.Time) (obj Object, ok bool, next time.Time) {
	for _, o := range r.j.objs {
		switch o.State {
		case Pending, Copying, Verifying:
		case Failed:
			if o.Retry.IsZero() {
				continue
			}
			if o.Retry.After(now) {
				if next.IsZero() || o.Retry.Before(next) {
					next = o.Retry.Time
				}
				continue
			}
		default:
			continue
		}
		if !ok || before(*o, obj) {
			obj, ok = *o, true
		}
	}
	return obj, ok, next
}

// before orders work: newer bundles first, then data files, then the seal
// files, by name.
func before(a, b Object) bool {
	if a.Session != b.Session {
		sa, oka := evidence.ParseSessionDirName(a.Session)
		sb, okb := evidence.ParseSessionDirName(b.Session)
		if oka && okb && sa != sb {
			return sa > sb
		}
		return a.Session > b.Session
	}
	if sa, sb := sealRank(a.File), sealRank(b.File); sa != sb {
		return sa < sb
	}
	return a.File < b.File
}

func sealRank(name string) int {
	switch name {
	case evidence.AllowedSignersFile:
		return 1
	case evidence.SumsFile, evidence.SumsSigFile:
		return 2
	case evidence.ManifestSigFile:
		return 3
	case evidence.ManifestFile:
		return 4
	}
	return 0
}

// move records obj in state to (with the fields set), checking the state
// machine.
func (r *Replicator) move(obj *Object, to State) error {
	if !CanMove(obj.State, to) {
		return fmt.Errorf("%w: %s/%s: %s → %s is not a transition of the state machine", ErrJournal, obj.Session, obj.File, obj.State, to)
	}
	obj.State, obj.At = to, Time{r.o.Now()}
	if to != Failed && to != Conflict {
		obj.Err = ""
	}
	if to == Verified {
		obj.Attempts, obj.Retry = 0, Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.j.put(*obj)
}

// errGone: the local file went before it was copied (retention removed
// it, or someone did). Not retried.
var errGone = errors.New("the local file was removed before it was copied")

// copy1 takes one object from Pending (or a resumed state) to Verified or
// Conflict; any error leaves it for objectFailed.
func (r *Replicator) copy1(ctx context.Context, obj Object) error {
	if obj.State == Failed {
		if err := r.move(&obj, Pending); err != nil {
			return err
		}
	}
	key := r.o.Store.Key(r.o.StationID, obj.Session, obj.File)
	local := filepath.Join(r.o.SessionsDir, obj.Session, obj.File)
	sum, size, err := hashFile(local)
	if errors.Is(err, os.ErrNotExist) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", local, err)
	}
	obj.SHA256, obj.Bytes = sum, size
	if err := r.move(&obj, Copying); err != nil {
		return err
	}
	remote, exists, err := r.o.Store.Head(ctx, key)
	if err != nil {
		return err
	}
	if !exists {
		if err := r.upload(ctx, obj, key, local); err != nil {
			if !errors.Is(err, ErrExists) {
				return err
			}
			r.log.Info("object appeared in the store during the upload; comparing", "key", key)
		}
		if err := r.move(&obj, Verifying); err != nil {
			return err
		}
		if remote, exists, err = r.o.Store.Head(ctx, key); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("offsite: %s: the store does not list the object it accepted", key)
		}
	} else if err := r.move(&obj, Verifying); err != nil {
		return err
	}
	if remote.SHA256 == "" {
		// Stored without a checksum (by another client): read it back whole.
		got, n, err := r.o.Store.Get(ctx, key, io.Discard)
		if err != nil {
			return err
		}
		remote.SHA256, remote.Bytes = got, n
	}
	if remote.SHA256 != obj.SHA256 || remote.Bytes != obj.Bytes {
		obj.Err = fmt.Sprintf("the store holds other content under %s: %d bytes, sha256 %s; the local file has %d bytes, sha256 %s; not overwritten", key, remote.Bytes, remote.SHA256, obj.Bytes, obj.SHA256)
		r.log.Warn("conflict: remote object differs, left as it is", "session", obj.Session, "file", obj.File, "key", key, "remote_sha256", remote.SHA256, "local_sha256", obj.SHA256)
		return r.move(&obj, Conflict)
	}
	if err := r.move(&obj, Verified); err != nil {
		return err
	}
	r.log.Debug("verified", "session", obj.Session, "file", obj.File, "bytes", obj.Bytes)
	return nil
}

func (r *Replicator) upload(ctx context.Context, obj Object, key, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("read %s: %w", local, err)
	}
	defer f.Close()
	t := &Transfer{Session: obj.Session, File: obj.File, Bytes: obj.Bytes}
	r.mu.Lock()
	r.cur = t
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.cur = nil
		r.mu.Unlock()
	}()
	return r.o.Store.Put(ctx, key, f, obj.Bytes, obj.SHA256, func(n int) {
		r.mu.Lock()
		t.Sent += int64(n)
		r.uploaded += int64(n)
		r.mu.Unlock()
	})
}

// storeWide reports whether err concerns the store as a whole (every
// object would fail the same way), which pauses all work.
func storeWide(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrAccess) || errors.Is(err, ErrNoBucket)
}

// storeFailed records a failure of the store as a whole and pauses.
func (r *Replicator) storeFailed(err error) time.Duration {
	now := r.o.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.consecutive++
	r.bucketOK = false
	d := Backoff(r.consecutive, r.o.BackoffBase, r.o.BackoffMax)
	r.pauseUntil = now.Add(d)
	r.lastErr, r.lastErrAt = err.Error(), now
	r.log.Warn("replication paused; backing off", "err", err, "retry_in", d, "failures", r.consecutive)
	return d
}

// objectFailed records a failed attempt at obj: Failed, with its own
// back-off; a store-wide error or a run of failures also pauses everything.
func (r *Replicator) objectFailed(obj Object, cause error) (time.Duration, error) {
	now := r.o.Now()
	cur, _ := func() (Object, bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.j.get(obj.Session, obj.File)
	}()
	cur.Attempts++
	cur.Err = cause.Error()
	if errors.Is(cause, errGone) {
		cur.Retry = Time{} // nothing left to copy: reported, not retried
	} else {
		cur.Retry = Time{now.Add(Backoff(cur.Attempts, r.o.BackoffBase, r.o.BackoffMax))}
	}
	if cur.State == Failed { // picked Failed, failed before moving on
		cur.State = Pending
	}
	if err := r.move(&cur, Failed); err != nil {
		return 0, err
	}
	r.log.Warn("copy failed", "session", obj.Session, "file", obj.File, "err", cause, "attempts", cur.Attempts, "retry", cur.Retry.Time)
	if errors.Is(cause, errGone) {
		return 0, nil
	}
	r.mu.Lock()
	r.lastErr, r.lastErrAt = cause.Error(), now
	r.mu.Unlock()
	if storeWide(cause) {
		return r.storeFailed(cause), nil
	}
	r.mu.Lock()
	r.consecutive++
	wait := time.Duration(0)
	if r.consecutive >= 3 {
		wait = Backoff(r.consecutive-2, r.o.BackoffBase, r.o.BackoffMax)
		r.pauseUntil = now.Add(wait)
	}
	r.mu.Unlock()
	return wait, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// validName: a plain file or directory name, safe in an object key.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00") && len(s) <= 255
}

// Transfer is the upload under way.
type Transfer struct {
	Session string `json:"session"`
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	Sent    int64  `json:"sent"`
}

// Status is the replicator's progress and backlog, for weighctl status,
// MQTT and the web app's station page. It holds no secret.
type Status struct {
	Enabled   bool   `json:"enabled"`
	Bucket    string `json:"bucket"`
	StationID string `json:"station_id"`
	// Bundles and Objects count by state name (local_only, pending, …).
	Bundles map[string]int `json:"bundles"`
	Objects map[string]int `json:"objects"`
	// BacklogObjects and BacklogBytes are what is not verified yet
	// (Conflict excluded: it waits for an operator).
	BacklogObjects int   `json:"backlog_objects"`
	BacklogBytes   int64 `json:"backlog_bytes"`
	// UploadedBytes counts bytes sent since the replicator started.
	UploadedBytes int64     `json:"uploaded_bytes"`
	Current       *Transfer `json:"current,omitempty"`
	// Paused until NextAttempt after ConsecutiveFailures failures.
	ConsecutiveFailures int    `json:"consecutive_failures"`
	NextAttempt         Time   `json:"next_attempt"`
	LastError           string `json:"last_error,omitempty"`
	LastErrorAt         Time   `json:"last_error_at"`
	LastSuccessAt       Time   `json:"last_success_at"`
	// Problems are the Failed and Conflict objects, newest bundle first.
	Problems []Object `json:"problems,omitempty"`
}

// Status reports progress and backlog.
func (r *Replicator) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{
		Enabled: true, Bucket: r.o.Store.Bucket(), StationID: r.o.StationID,
		Bundles: map[string]int{}, Objects: map[string]int{},
		UploadedBytes: r.uploaded, ConsecutiveFailures: r.consecutive,
		LastError: r.lastErr, LastErrorAt: Time{r.lastErrAt}, LastSuccessAt: Time{r.lastOK},
	}
	if r.o.Now().Before(r.pauseUntil) {
		st.NextAttempt = Time{r.pauseUntil}
	}
	if r.cur != nil {
		c := *r.cur
		st.Current = &c
	}
	bundles := map[string][]State{}
	for _, o := range r.j.objs {
		st.Objects[o.State.String()]++
		bundles[o.Session] = append(bundles[o.Session], o.State)
		if o.State != Verified && o.State != Conflict {
			st.BacklogObjects++
			st.BacklogBytes += o.Bytes
		}
		if o.State == Failed || o.State == Conflict {
			st.Problems = append(st.Problems, *o)
		}
	}
	for _, states := range bundles {
		st.Bundles[aggregate(states).String()]++
	}
	slices.SortFunc(st.Problems, func(a, b Object) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return cmp.Compare(a.File, b.File)
	})
	return st
}
