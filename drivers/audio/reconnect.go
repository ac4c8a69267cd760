package audio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"weighin/drivers/camera"
)

// Capturer is an open microphone: a Source that can be closed (a *Capture).
type Capturer interface {
	Source
	Close() error
}

// OpenFunc opens a microphone once; a Reconnector calls it again, with
// backoff, after an open fails or the microphone goes away.
type OpenFunc func(ctx context.Context) (Capturer, error)

// DevOpener returns an OpenFunc that resolves device (see Resolve; ""
// is videoDevice's own microphone) afresh at each open, so a replugged
// camera found under another card number is found again, and opens it with
// o (o.Path is ignored).
func DevOpener(device, videoDevice string, o Opts) OpenFunc {
	return func(context.Context) (Capturer, error) {
		p, err := Resolve("/", device, videoDevice)
		if err != nil {
			return nil, err
		}
		o.Path = p
		c, err := Open(o)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// Stats describes a Reconnector's run so far.
type Stats struct {
	// Blocks delivered; Lost the frames counted lost (xruns and gaps
	// between a loss and the first block after the reopen).
	Blocks, Lost uint64
	// Opens is the number of successful opens; Failures the failed ones;
	// Losses the microphones that went away.
	Opens, Failures, Losses uint64
	// Open is true while a microphone is delivering.
	Open bool
	// Format of the last block.
	Format Format
	// LastErr is the last error from an open or a read.
	LastErr error
}

// Reconnector is a Source that keeps a microphone open, as
// camera.Reconnector keeps the camera: after an unplug, or while no
// microphone is there, it retries with backoff; the time between the last
// block before a loss and the first after the reopen is counted in that
// block's Lost. Read returns an error only when ctx ends. A missing
// microphone is logged once as a warning (and again after each loss), never
// an error for the caller. Read must be called from one goroutine.
type Reconnector struct {
	Open    OpenFunc
	Backoff camera.Backoff
	// Log receives a line per loss, per first failed open and per
	// resumption; nil discards.
	Log *slog.Logger

	src      Capturer
	failures int
	lastEnd  time.Time
	warned   bool

	mu    sync.Mutex
	stats Stats
}

// Stats returns a snapshot; safe while Read runs.
func (r *Reconnector) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

func (r *Reconnector) update(fn func(*Stats)) {
	r.mu.Lock()
	fn(&r.stats)
	r.mu.Unlock()
}

func (r *Reconnector) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Read returns the next block from the microphone, opening it as needed.
func (r *Reconnector) Read(ctx context.Context) (Block, error) {
	if r.Open == nil {
		return Block{}, errors.New("audio: Reconnector without Open")
	}
	for {
		if err := ctx.Err(); err != nil {
			return Block{}, err
		}
		if r.src == nil {
			src, err := r.Open(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return Block{}, ctx.Err()
				}
				r.failures++
				r.update(func(s *Stats) { s.Failures++; s.LastErr = err })
				wait := r.Backoff.Delay(r.failures)
				if !r.warned {
					r.warned = true
					r.log().Warn("no microphone: recording without sound until one is found", "err", err, "retry_in", wait)
				}
				if !sleep(ctx, wait) {
					return Block{}, ctx.Err()
				}
				continue
			}
			r.src = src
			r.update(func(s *Stats) { s.Opens++ })
			r.log().Info("microphone open")
		}
		b, err := r.src.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return Block{}, ctx.Err()
			}
			r.src.Close()
			r.src = nil
			r.failures++
			r.warned = true
			r.update(func(s *Stats) { s.Losses++; s.Open = false; s.LastErr = err })
			wait := r.Backoff.Delay(r.failures)
			r.log().Warn("microphone lost", "err", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return Block{}, ctx.Err()
			}
			continue
		}
		if r.failures > 0 {
			// The first block after a loss or failed opens: the time since
			// the last block before the loss is lost sound.
			b.Lost += lostFrames(r.lastEnd, b.At, b.Format.Rate)
			r.log().Info("microphone resumed", "lost_frames", b.Lost)
			r.failures, r.warned = 0, false
		}
		r.lastEnd = b.At.Add(b.Duration())
		r.update(func(s *Stats) {
			s.Blocks++
			s.Lost += uint64(b.Lost)
			s.Open = true
			s.Format = b.Format
		})
		return b, nil
	}
}

// Close closes the open microphone, if any; a later Read opens it again.
func (r *Reconnector) Close() error {
	if r.src == nil {
		return nil
	}
	err := r.src.Close()
	r.src = nil
	r.update(func(s *Stats) { s.Open = false })
	return err
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
