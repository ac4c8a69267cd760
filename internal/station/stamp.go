package station

import (
	"log/slog"
	"path/filepath"

	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/timestamp"
)

// openStamper opens the durable queue of RFC 3161 token requests
// (trust.tsa_urls; with none configured it contacts nothing and queues
// nothing). A token is stored in its bundle as a timestamp addendum through
// the evidence store.
func openStamper(cfg config.Config, store *evidence.Store, log *slog.Logger, added func(dir string)) (*timestamp.Queue, error) {
	roots, err := timestamp.Roots(cfg.Trust.TSACAFile)
	if err != nil {
		return nil, err
	}
	return timestamp.Open(cfg.StateDir, timestamp.Options{
		URLs: cfg.Trust.TSAURLs, Roots: roots, Log: log.With("component", "timestamp"),
		Record: func(dir string, body timestamp.Body, files []timestamp.File) error {
			if _, err := store.AddAddendum(dir, timestamp.Kind, body, files); err != nil {
				return err
			}
			added(dir)
			return nil
		},
	})
}

// stamp asks for a token over a bundle's file: SHA256SUMS after a seal, an
// addendum's document after it (timestamp.Stamps decides which kinds).
// bundleDir is absolute or, as a result's Bundle, relative to the state
// directory.
func (s *Station) stamp(bundleDir, name string) {
	if s.tsq == nil || bundleDir == "" {
		return
	}
	if !filepath.IsAbs(bundleDir) {
		bundleDir = filepath.Join(s.cfg.StateDir, bundleDir)
	}
	if err := s.tsq.Enqueue(bundleDir, name); err != nil {
		s.log.Warn("queue a timestamp request", "bundle", filepath.Base(bundleDir), "file", name, "err", err)
	}
}

// replicate queues a bundle's new files for the off-site store (after a
// seal and every addendum); with offsite off it does nothing. bundleDir is
// absolute or relative to the state directory.
func (s *Station) replicate(bundleDir string) {
	if s == nil || s.offsite == nil || bundleDir == "" {
		return
	}
	if !filepath.IsAbs(bundleDir) {
		bundleDir = filepath.Join(s.cfg.StateDir, bundleDir)
	}
	if err := s.offsite.Enqueue(bundleDir); err != nil {
		s.log.Warn("queue an off-site copy", "bundle", filepath.Base(bundleDir), "err", err)
	}
}

// offload removes the data files of a bundle the off-site store now holds
// verified (offsite.delete_local_after_verified; evidence.Store.Offload
// decides whether it may) and queues its tombstone for the store.
func (s *Station) offload(session string) {
	r, ok, err := s.store.Offload(session)
	if err != nil {
		s.log.Error("offload a verified bundle", "session", session, "err", err)
		return
	}
	if ok {
		s.log.Info("bundle offloaded: its data files are verified in the off-site store", "session", session, "freed_bytes", r.FreedBytes)
		s.replicate(filepath.Join(s.cfg.StateDir, evidence.SessionsDir, session))
	}
}
