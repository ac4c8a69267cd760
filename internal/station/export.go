package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/pack"
)

// exporter is weighd's MP4 export queue (internal/export.Queue): exports
// asked for through the API run one at a time at idle priority, pause while
// a recording runs (begin pauses, leave resumes) and resume at the next
// start when a shutdown or a crash cut them short. Each finished export is
// recorded in its bundle by a signed addendum through the evidence store,
// and the addendum is stamped like any other.
type exporter struct {
	q   *export.Queue // nil: exports are off (ffmpeg missing)
	off string        // why they are off

	mu      sync.Mutex
	status  api.ExportStatus
	waiters map[exportKey][]chan exportDone
	// added are the bound addenda by export, for the API's answer.
	added  map[exportKey]string
	ended  chan struct{} // closed when run returns (weighd stopping)
	paused bool          // a recording runs
	pk     *packer       // the dispute packs' jobs (pack.go)
}

type exportKey struct{ session, preset string }

type exportDone struct {
	res *export.Result
	err error
}

// openExporter finds ffmpeg and makes the queue. ffmpeg missing is a
// warning: weighd starts with exports off, and doctor says so too.
func openExporter(cfg config.Config, store *evidence.Store, stamp func(dir, name string), log *slog.Logger) *exporter {
	x := &exporter{waiters: map[exportKey][]chan exportDone{}, added: map[exportKey]string{}, ended: make(chan struct{})}
	x.status.State = "idle"
	tools, err := export.FindTools(cfg.Export.FFmpeg, cfg.Export.FFprobe)
	if err == nil {
		_, err = cfg.Export.Location()
	}
	if err != nil {
		log.Warn("exports are off", "err", err)
		x.off, x.status.State, x.status.Reason = err.Error(), "off", err.Error()
		return x
	}
	zone, _ := cfg.Export.Location()
	binder := export.BinderFunc(func(dir string, rec export.Record, files []export.File) error {
		add, err := store.AddAddendum(dir, export.RecordKind, rec, files)
		if err != nil {
			return err
		}
		x.mu.Lock()
		x.added[exportKey{rec.SessionID, rec.Preset}] = add.FileName()
		x.mu.Unlock()
		stamp(dir, add.FileName())
		return nil
	})
	eopt := export.Options{
		Encoder: cfg.Export.Encoder, X264Preset: cfg.Export.X264Preset, FullCRF: cfg.Export.FullCRF,
		Zone: zone, Progress: x.progress, Log: log,
	}
	x.q = export.NewQueue(tools, export.QueueOptions{
		StateDir: cfg.StateDir, Export: eopt,
		Binder: binder, Done: x.done, Log: log,
		Jobs: packJobs(x, cfg, store, stamp, tools, eopt, log),
	})
	return x
}

// run is the queue's goroutine; with exports off it has nothing to do.
func (x *exporter) run(ctx context.Context) error {
	defer close(x.ended)
	if x.q == nil {
		return nil
	}
	x.resumePacks()
	return x.q.Run(ctx)
}

// pause holds the queue while a recording runs.
func (x *exporter) pause() {
	if x == nil || x.q == nil {
		return
	}
	x.q.Pause()
	x.mu.Lock()
	x.paused = true
	if x.status.Session != "" {
		x.status.State = "paused"
	}
	x.mu.Unlock()
	x.pk.paused()
}

// resume lets the queue carry on after the session.
func (x *exporter) resume() {
	if x == nil || x.q == nil {
		return
	}
	x.mu.Lock()
	x.paused = false
	if x.status.State == "paused" {
		x.status.State = "running"
	}
	x.mu.Unlock()
	x.q.Resume()
}

func (x *exporter) progress(p export.Progress) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.paused { // the cancelled ffmpeg's last reports
		return
	}
	x.status.State = "running"
	x.status.Part, x.status.Parts = p.Part, p.Parts
	x.status.Percent, x.status.Speed, x.status.ETAS = p.Percent(), p.Speed, p.ETA().Seconds()
}

// done is the queue's report of a finished or failed job.
func (x *exporter) done(session, preset string, res *export.Result, err error) {
	k := exportKey{session, preset}
	if pack.IsPreset(preset) {
		x.pk.packDone(session, preset, err)
	}
	x.mu.Lock()
	ws := x.waiters[k]
	delete(x.waiters, k)
	if err != nil {
		x.status.Failed++
	} else {
		x.status.Done++
	}
	x.status.State, x.status.Session, x.status.Preset = "idle", "", ""
	x.status.Part, x.status.Parts, x.status.Percent, x.status.Speed, x.status.ETAS = 0, 0, 0, 0, 0
	x.mu.Unlock()
	for _, w := range ws {
		w <- exportDone{res, err}
	}
}

func (x *exporter) statusNow() api.ExportStatus {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status
}

// exportCmd is the API's export: it queues the export of a sealed session
// and waits until it is bound to the bundle (or fails, or weighd stops).
func (s *Station) exportCmd(ctx context.Context, session, preset string) (api.ExportResult, error) {
	x := s.exports
	if preset == "" {
		preset = export.PresetChat
	}
	if _, err := export.PresetCap(preset); err != nil && !pack.IsPreset(preset) {
		return api.ExportResult{}, err
	}
	if x == nil || x.q == nil {
		reason := "no export queue"
		if x != nil {
			reason = x.off
		}
		return api.ExportResult{}, fmt.Errorf("export: exports are off in weighd: %s", reason)
	}
	sessions := filepath.Join(s.cfg.StateDir, evidence.SessionsDir)
	if session == "" || filepath.Base(session) != session {
		return api.ExportResult{}, fmt.Errorf("export: value must be a session id (a bundle directory name under %s), got %q", sessions, session)
	}
	dir, err := evidence.FindBundle(sessions, session)
	if err != nil {
		return api.ExportResult{}, fmt.Errorf("export: %w", err)
	}
	session = filepath.Base(dir)
	if b, err := evidence.ReadBundle(dir); err != nil && b.State == "" {
		return api.ExportResult{}, fmt.Errorf("export: %w", err)
	} else if b.State != "sealed" {
		return api.ExportResult{}, fmt.Errorf("export: session %s is %s, not sealed; it is exported once sealed", session, b.State)
	}
	// An export already bound is not made again (a bundle never gets a
	// second file of the same name): the answer lists its files.
	if done, _ := filepath.Glob(filepath.Join(dir, "export-"+preset+"*.mp4")); len(done) > 0 && !pack.IsPreset(preset) {
		r := api.ExportResult{SessionID: session, Preset: preset}
		for _, p := range done {
			st, err := os.Stat(p)
			if err != nil {
				return r, err
			}
			r.Files = append(r.Files, api.ExportFile{Path: p, Name: filepath.Base(p), Bytes: st.Size()})
		}
		return r, nil
	}
	k := exportKey{session, preset}
	w := make(chan exportDone, 1)
	x.mu.Lock()
	x.waiters[k] = append(x.waiters[k], w)
	x.mu.Unlock()
	x.mu.Lock()
	// Named before the queue can start (and end) it, so a fast export
	// never leaves its name on the status after done cleared it.
	if x.status.Session == "" {
		x.status.Session, x.status.Preset = session, preset
		if x.paused { // asked for while a recording runs: it waits
			x.status.State = "paused"
		}
	}
	x.mu.Unlock()
	if pack.IsPreset(preset) {
		x.queuePack(session, preset)
	} else {
		x.q.Add(session, preset)
	}
	select {
	case d := <-w:
		if d.err != nil {
			return api.ExportResult{}, d.err
		}
		if pack.IsPreset(preset) {
			r := api.ExportResult{SessionID: session, Preset: preset}
			for _, f := range x.packAnswer(session, preset, dir) {
				r.Files = append(r.Files, api.ExportFile{Path: f.Path, Name: f.Name, Bytes: f.Bytes})
			}
			return r, nil
		}
		x.mu.Lock()
		add := x.added[k]
		delete(x.added, k)
		x.mu.Unlock()
		r := api.ExportResult{SessionID: session, Preset: preset, Addendum: add, Split: d.res.Record.Split}
		for _, v := range d.res.Videos() {
			r.Files = append(r.Files, api.ExportFile{Path: filepath.Join(dir, v.Name), Name: v.Name, Bytes: v.Bytes, SHA256: v.SHA256})
		}
		return r, nil
	case <-x.ended:
		return api.ExportResult{}, errors.New("export: weighd is stopping; the export resumes at its next start")
	case <-ctx.Done():
		x.mu.Lock()
		ws := x.waiters[k]
		for i, c := range ws {
			if c == w {
				x.waiters[k] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		x.mu.Unlock()
		return api.ExportResult{}, fmt.Errorf("export: %w (the export carries on in weighd)", ctx.Err())
	}
}
