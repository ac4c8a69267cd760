package export

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"weighin/internal/evidence"
)

// QueueOptions configure a Queue.
type QueueOptions struct {
	// StateDir holds the bundles (<state>/sessions) and the work
	// directories (<state>/tmp).
	StateDir string
	// Export are the options of every export; Preset and WorkDir are set
	// per job.
	Export Options
	// Binder records each finished export in its bundle; nil leaves the
	// files in the work directory.
	Binder Binder
	// Jobs run the presets that are not MP4 exports (the dispute pack's
	// "pack" and "sheet"), by preset, in the same queue: paused by a
	// recording (their ctx ends) and run again after it. Done gets a nil
	// Result for them.
	Jobs map[string]JobFunc
	// Done, when set, is told of every finished or failed job.
	Done func(session, preset string, res *Result, err error)
	Log  *slog.Logger
}

// JobFunc makes one job of a custom preset for the sealed bundle in dir.
type JobFunc func(ctx context.Context, dir string) error

// Queue runs exports one at a time, in the daemon: jobs are added after a
// seal (Add); Pause stops the running export at once when a recording
// starts (its finished parts are kept) and Resume carries on after it; Run
// first resumes the exports a crash or a shutdown cut short.
type Queue struct {
	opt  QueueOptions
	t    Tools
	mu   sync.Mutex
	jobs []queued
	// paused holds the queue; cancel stops the running job.
	paused bool
	cancel context.CancelFunc
	wake   chan struct{}
}

type queued struct{ session, preset string }

// NewQueue returns a queue that exports with t.
func NewQueue(t Tools, opt QueueOptions) *Queue {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Queue{opt: opt, t: t, wake: make(chan struct{}, 1)}
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Add queues an export of session with preset (a duplicate is ignored).
func (q *Queue) Add(session, preset string) {
	q.mu.Lock()
	for _, j := range q.jobs {
		if j.session == session && j.preset == preset {
			q.mu.Unlock()
			return
		}
	}
	q.jobs = append(q.jobs, queued{session, preset})
	q.mu.Unlock()
	q.poke()
}

// Pause stops the running export (a recording started) and holds the
// queue until Resume.
func (q *Queue) Pause() {
	q.mu.Lock()
	q.paused = true
	if q.cancel != nil {
		q.cancel()
	}
	q.mu.Unlock()
}

// Resume lets the queue run again; a paused export resumes with the parts
// it had finished.
func (q *Queue) Resume() {
	q.mu.Lock()
	q.paused = false
	q.mu.Unlock()
	q.poke()
}

// Run resumes the pending exports, then runs queued jobs until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	pend, err := PendingExports(q.opt.StateDir)
	if err != nil {
		q.opt.Log.Warn("pending exports", "err", err)
	}
	for _, p := range pend {
		q.opt.Log.Info("resuming export", "session", p.SessionID, "preset", p.Preset)
		q.Add(p.SessionID, p.Preset)
	}
	for {
		q.mu.Lock()
		var j queued
		ok := !q.paused && len(q.jobs) > 0
		var jctx context.Context
		if ok {
			j = q.jobs[0]
			jctx, q.cancel = context.WithCancel(ctx)
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-q.wake:
				continue
			}
		}
		res, err := q.runOne(jctx, j)
		q.mu.Lock()
		q.cancel()
		q.cancel = nil
		paused := q.paused
		if err == nil || !paused || ctx.Err() != nil {
			q.jobs = q.jobs[1:] // done, failed, or left pending for the next start
		}
		q.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && paused:
			q.opt.Log.Info("export paused for a recording", "session", j.session, "preset", j.preset)
			continue
		case err != nil:
			q.opt.Log.Error("export failed", "session", j.session, "preset", j.preset, "err", err)
		case res == nil:
			q.opt.Log.Info("export done", "session", j.session, "preset", j.preset)
		default:
			q.opt.Log.Info("export done", "session", j.session, "preset", j.preset, "files", len(res.Outputs))
		}
		if q.opt.Done != nil {
			q.opt.Done(j.session, j.preset, res, err)
		}
	}
}

func (q *Queue) runOne(ctx context.Context, j queued) (*Result, error) {
	dir := filepath.Join(q.opt.StateDir, evidence.SessionsDir, j.session)
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	if f := q.opt.Jobs[j.preset]; f != nil {
		return nil, f(ctx, dir)
	}
	src, err := OpenSource(ctx, q.t, dir)
	if err != nil {
		return nil, err
	}
	o := q.opt.Export
	o.Preset, o.WorkDir = j.preset, WorkDirFor(q.opt.StateDir, j.session, j.preset)
	start := time.Now()
	res, err := Export(ctx, q.t, src, o)
	if err != nil {
		return nil, err
	}
	q.opt.Log.Debug("export encoded", "session", j.session, "took", time.Since(start))
	if err := Finish(q.opt.Binder, src, res); err != nil {
		return res, err
	}
	return res, nil
}
