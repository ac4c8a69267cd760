package camera

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Source is a blocking frame source: a *Dev, or a synthetic one from
// package cameratest.
type Source interface {
	Next(ctx context.Context) (Frame, error)
	Close() error
}

// OpenFunc opens a source once. It is called again, with backoff, after an
// open fails or the source returns an error.
type OpenFunc func(ctx context.Context) (Source, error)

// DevOpener returns an OpenFunc that opens the V4L2 camera with opts.
func DevOpener(opts Opts) OpenFunc {
	return func(context.Context) (Source, error) {
		d, err := Open(opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}

// Backoff is the wait before reopening after the n-th failure in a row:
// Min, doubled per failure, at most Max. The zero value waits 250 ms, then
// 500 ms, … up to 5 s.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait after failures failed attempts in a row (1 for the
// first failure). It is pure.
func (b Backoff) Delay(failures int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 250 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	if failures <= 1 {
		return lo
	}
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// ReconnectStats describes a Reconnector's run so far.
type ReconnectStats struct {
	// Frames delivered to the callback.
	Frames uint64
	// Opens is the number of successful opens; Failures the failed ones.
	Opens, Failures uint64
	// Losses counts sources that ended with an error (unplugs).
	Losses uint64
	// LastLoss is when the last source was lost; LastResume when the first
	// frame after the last (re)open arrived (zero if none yet).
	LastLoss, LastResume time.Time
	// LastErr is the last error from an open or a source.
	LastErr error
}

// Reconnector keeps a source open: it opens it, passes every frame to a
// callback, and after an unplug or a failed open tries again with backoff
// until its context ends. Sequence numbers continue across reopenings, so
// Frame.Seq is strictly increasing for the whole Run; the gap shows in the
// frames' times. It is meant to run under the daemon's errgroup.
type Reconnector struct {
	// Open opens the source once (see DevOpener).
	Open OpenFunc
	// Backoff paces the attempts.
	Backoff Backoff
	// Log receives one line per loss, failed open and resumption; nil
	// discards.
	Log *slog.Logger

	mu    sync.Mutex
	stats ReconnectStats
}

// Stats returns a snapshot of the counters; safe to call while Run runs.
func (r *Reconnector) Stats() ReconnectStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

func (r *Reconnector) update(fn func(s *ReconnectStats)) {
	r.mu.Lock()
	fn(&r.stats)
	r.mu.Unlock()
}

// Run delivers frames to fn until ctx ends, then closes the source and
// returns nil. fn runs on Run's goroutine and should return quickly.
func (r *Reconnector) Run(ctx context.Context, fn func(Frame)) error {
	if r.Open == nil {
		return errors.New("camera: Reconnector without Open")
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seq uint64
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		src, err := r.Open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			r.update(func(s *ReconnectStats) { s.Failures++; s.LastErr = err })
			wait := r.Backoff.Delay(failures)
			log.Warn("camera open failed", "err", err, "failures", failures, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		r.update(func(s *ReconnectStats) { s.Opens++ })
		first := true
		for {
			f, err := src.Next(ctx)
			if err != nil {
				src.Close()
				if ctx.Err() != nil {
					return nil
				}
				failures++
				now := time.Now()
				r.update(func(s *ReconnectStats) { s.Losses++; s.LastLoss = now; s.LastErr = err })
				wait := r.Backoff.Delay(failures)
				log.Warn("camera lost", "err", err, "frames", seq, "retry_in", wait)
				if !sleep(ctx, wait) {
					return nil
				}
				break
			}
			if first {
				first = false
				failures = 0
				r.update(func(s *ReconnectStats) { s.LastResume = f.Time })
				log.Info("camera frames flowing", "seq", seq, "width", f.Width, "height", f.Height)
			}
			f.Seq = seq
			seq++
			r.update(func(s *ReconnectStats) { s.Frames++ })
			fn(f)
		}
	}
}

// sleep waits d or until ctx ends; it reports whether the wait was complete.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
