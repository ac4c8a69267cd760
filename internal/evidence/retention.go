package evidence

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// ProtectedBecause says why retention must keep a bundle, or "" if it may be
// removed: a discrepancy (verdict other than match), a marked moment, a
// buyer's claim (issue_type), or an open outcome (latest is not resolved).
// latest is the bundle's latest outcome, nil if none was recorded.
func ProtectedBecause(res result.Result, latest *Outcome) string {
	switch {
	case res.Verdict != result.VerdictMatch:
		v := res.Verdict
		if v == "" {
			v = "none"
		}
		return "verdict " + v
	case len(res.Marks) > 0:
		return fmt.Sprintf("%d mark(s)", len(res.Marks))
	case res.IssueType != "":
		return "issue_type " + res.IssueType
	case latest != nil && latest.Open():
		return "open outcome (" + latest.Status + ")"
	}
	return ""
}

// Removal is one bundle reduced to a tombstone.
type Removal struct {
	SessionID  string
	Reason     string
	FreedBytes int64
}

// RetentionReport says what Enforce did.
type RetentionReport struct {
	Removed []Removal
	// FreeBytes is the free space measured last (0 when not measured).
	FreeBytes int64
	// Protected counts the sealed bundles kept because they are protected.
	Protected int
	// DerivedBytes were freed by removing derived files (dispute packs'
	// zips) before any bundle.
	DerivedBytes int64
}

// Enforce applies the retention policy at time now: with
// Retention.Offloadable, every sealed, unprotected bundle verified in the
// off-site store is offloaded first (Offload); then bundles older than
// MaxAge go (only when clockSynced and the bundle's own start was
// synchronised), then, while free space is below MinFreeBytes, the oldest
// unprotected bundles go. Each removal deletes the data files and leaves a
// signed tombstone.json beside the kept manifest, so the chain still
// verifies. When space is still short and only protected bundles remain it
// returns ErrNoSpace (wrapped), having removed nothing protected.
func (s *Store) Enforce(now time.Time, clockSynced bool) (RetentionReport, error) {
	defer s.lock()()
	return s.enforceLocked(now, clockSynced)
}

func (s *Store) enforceLocked(now time.Time, clockSynced bool) (RetentionReport, error) {
	var rep RetentionReport
	pol := s.opts.Retention
	for _, e := range s.entries {
		if e.state == stSealed && ProtectedBecause(e.res, e.latest()) != "" {
			rep.Protected++
		}
	}
	if pol.Offloadable != nil {
		for _, e := range s.entries {
			freed, ok, err := s.offloadLocked(e, now, clockSynced)
			if err != nil {
				return rep, err
			}
			if ok {
				rep.Removed = append(rep.Removed, Removal{SessionID: e.name, Reason: ReasonOffloaded, FreedBytes: freed})
			}
		}
	}
	if pol.MaxAge > 0 && clockSynced {
		for _, e := range s.entries {
			if e.state != stSealed || !e.res.ClockSynced || ProtectedBecause(e.res, e.latest()) != "" {
				continue
			}
			if s.refreshChain(e); ProtectedBecause(e.res, e.latest()) != "" {
				continue
			}
			started, err := time.Parse(time.RFC3339, e.res.StartedAt)
			if err != nil || now.Sub(started) <= pol.MaxAge {
				continue
			}
			detail := fmt.Sprintf("started %s, older than retention.max_age %s at %s", e.res.StartedAt, pol.MaxAge, now.UTC().Format(time.RFC3339))
			freed, err := s.tombstoneLocked(e, ReasonMaxAge, detail, now, clockSynced)
			if err != nil {
				return rep, err
			}
			rep.Removed = append(rep.Removed, Removal{SessionID: e.name, Reason: ReasonMaxAge, FreedBytes: freed})
		}
	}
	if pol.MinFreeBytes <= 0 {
		return rep, nil
	}
	for {
		free, err := s.opts.FreeSpace(s.dir)
		if err != nil {
			return rep, fmt.Errorf("evidence: retention: %w", err)
		}
		rep.FreeBytes = free
		if free >= pol.MinFreeBytes {
			return rep, nil
		}
		// Derived files first: they can be made again, originals cannot.
		if pol.RemoveDerived != nil {
			n, err := pol.RemoveDerived()
			if err != nil {
				s.log.Warn("retention: removing a derived file", "err", err)
			} else if n > 0 {
				rep.DerivedBytes += n
				continue
			}
		}
		var victim *entry
		for _, e := range s.entries {
			if e.state != stSealed || ProtectedBecause(e.res, e.latest()) != "" {
				continue
			}
			// An outcome recorded by another process since Open may
			// protect it now.
			if s.refreshChain(e); ProtectedBecause(e.res, e.latest()) != "" {
				rep.Protected++
				continue
			}
			victim = e
			break
		}
		if victim == nil {
			return rep, fmt.Errorf("%w: %d bytes free, retention.min_free_bytes is %d, and the %d remaining bundles are protected (discrepancy, mark, claim or open outcome); copy evidence off the station or lower retention.min_free_bytes",
				ErrNoSpace, free, pol.MinFreeBytes, rep.Protected)
		}
		detail := fmt.Sprintf("%d bytes free, below retention.min_free_bytes %d", free, pol.MinFreeBytes)
		freed, err := s.tombstoneLocked(victim, ReasonLowSpace, detail, now, clockSynced)
		if err != nil {
			return rep, err
		}
		rep.Removed = append(rep.Removed, Removal{SessionID: victim.name, Reason: ReasonLowSpace, FreedBytes: freed})
	}
}

// Offload removes the data files of the bundle session when
// Retention.Offloadable says every file of it is verified off-site and it
// is sealed and unprotected, leaving it offloaded: manifest, SHA256SUMS,
// their signatures and the addenda stay, with a signed tombstone of reason
// offloaded (weighctl verify says "offloaded — verify from the store").
// ok is false, with no error, when it may not (yet) be offloaded.
func (s *Store) Offload(session string) (r Removal, ok bool, err error) {
	defer s.lock()()
	if s.opts.Retention.Offloadable == nil {
		return r, false, nil
	}
	for _, e := range s.entries {
		if e.name != session {
			continue
		}
		now, synced := s.opts.Clock()
		freed, ok, err := s.offloadLocked(e, now, synced)
		return Removal{SessionID: e.name, Reason: ReasonOffloaded, FreedBytes: freed}, ok, err
	}
	return r, false, nil
}

func (s *Store) offloadLocked(e *entry, now time.Time, clockSynced bool) (int64, bool, error) {
	if e.state != stSealed || ProtectedBecause(e.res, e.latest()) != "" {
		return 0, false, nil
	}
	// An outcome recorded by another process since Open may protect it.
	if s.refreshChain(e); ProtectedBecause(e.res, e.latest()) != "" || !s.opts.Retention.Offloadable(e.name) {
		return 0, false, nil
	}
	freed, err := s.tombstoneLocked(e, ReasonOffloaded, "every file of the bundle is verified in the off-site store (offsite.delete_local_after_verified)", now, clockSynced)
	return freed, err == nil, err
}

// tombstoneLocked writes the signed tombstone of e, then removes its data
// files. A crash between the two leaves a tombstone with files, which Open
// finishes removing.
func (s *Store) tombstoneLocked(e *entry, reason, detail string, now time.Time, clockSynced bool) (int64, error) {
	dir := filepath.Join(s.sessions, e.name)
	var removed []FileEntry
	for _, f := range e.files {
		if f.Name != AllowedSignersFile {
			removed = append(removed, f)
		}
	}
	t := Tombstone{
		Type: TypeTombstone, Version: 1, SessionID: e.name, Seq: e.seq,
		ManifestSHA256: e.manifestSHA, Reason: reason, Detail: detail,
		RemovedAt: now.UTC().Format(time.RFC3339), ClockSynced: clockSynced,
		Removed: removed, StationKey: sshsig.MarshalAuthorizedKey(s.pub, ""),
	}
	data, err := marshalDoc(t)
	if err != nil {
		return 0, fmt.Errorf("evidence: tombstone %s: %w", e.name, err)
	}
	if err := s.writeSigned(dir, TombstoneFile, TombstoneSigFile, data); err != nil {
		return 0, fmt.Errorf("evidence: tombstone %s: %w", e.name, err)
	}
	e.state = stTombstoned
	e.removed = removed
	e.offloaded = reason == ReasonOffloaded
	freed, err := removeFiles(dir, tombstoneVictims(removed, e.offloaded))
	if err != nil {
		return freed, fmt.Errorf("evidence: tombstone %s: %w", e.name, err)
	}
	s.log.Info("bundle removed by retention", "session", e.name, "reason", reason, "detail", detail, "freed_bytes", freed)
	return freed, nil
}

// Run applies retention every interval until ctx ends, once at the start.
// clock gives the current time and whether it is synchronised. ErrNoSpace
// is logged as a warning (Begin refuses recordings meanwhile); other errors
// are logged and retried at the next tick.
func (s *Store) Run(ctx context.Context, interval time.Duration, clock func() (time.Time, bool)) error {
	if interval <= 0 {
		return fmt.Errorf("evidence: retention interval %v", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now, synced := clock()
		rep, err := s.Enforce(now, synced)
		switch {
		case errors.Is(err, ErrNoSpace):
			s.log.Warn("storage full of protected evidence", "err", err)
		case err != nil:
			s.log.Error("retention", "err", err)
		case len(rep.Removed) > 0:
			s.log.Info("retention removed bundles", "count", len(rep.Removed), "free_bytes", rep.FreeBytes)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
