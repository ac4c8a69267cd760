package station

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"

	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/pack"
	"weighin/internal/result"
	"weighin/internal/sheet"
)

// packer runs the dispute packs (internal/pack) in the export queue, as its
// "pack" and "sheet" jobs: after the seal of every session with a claim
// (export.auto_pack), and on demand through the API's export command. Its
// state goes to MQTT retained on <base>/export.
type packer struct {
	auto     bool
	stateDir string
	log      *slog.Logger

	mu      sync.Mutex
	results map[exportKey]*pack.Result
	doc     PackState
	lastPct int
	// notify publishes the state document (set once MQTT is up); still
	// publishes a still.
	notify func([]byte) error
	still  func([]byte) error
	// ready is told of every dispute pack made (the export_ready event).
	ready func(session string)
}

// PackState is the retained <base>/export document.
type PackState struct {
	SessionID string `json:"session_id"`
	Preset    string `json:"preset"`
	// State is idle (no pack since weighd started), queued, running,
	// paused, done or failed.
	State    string      `json:"state"`
	Progress float64     `json:"progress"`
	Files    []pack.File `json:"files"`
	Zip      string      `json:"zip,omitempty"`
	ZipBytes int64       `json:"zip_bytes,omitempty"`
	Error    string      `json:"error,omitempty"`
}

// packJobs makes the packer and the queue's jobs for its presets.
func packJobs(x *exporter, cfg config.Config, store *evidence.Store, stamp func(dir, name string), tools export.Tools, eopt export.Options, log *slog.Logger) map[string]export.JobFunc {
	pk := &packer{auto: cfg.Export.AutoPack, stateDir: cfg.StateDir, log: log, results: map[exportKey]*pack.Result{}}
	x.pk = pk
	add := addFunc(func(dir, kind string, body any, files []evidence.AddendumFile) (evidence.Addendum, error) {
		a, err := store.AddAddendum(dir, kind, body, files)
		if err == nil {
			stamp(dir, a.FileName())
		}
		return a, err
	})
	job := func(preset string) export.JobFunc {
		return func(ctx context.Context, dir string) error {
			session := filepath.Base(dir)
			o := eopt
			o.Progress = x.progress
			res, err := pack.Run(ctx, preset, dir, pack.Options{
				StateDir: cfg.StateDir, Tools: tools, Export: o, Add: add, Sign: store, Fonts: sheet.DebianFonts,
				WithOriginal: cfg.Export.PackWithOriginal,
				Progress:     func(_ string, pct float64) { pk.progress(session, preset, pct) },
			})
			if err != nil {
				return err
			}
			pk.mu.Lock()
			pk.results[exportKey{session, preset}] = res
			pk.mu.Unlock()
			pk.publishStills(dir)
			return nil
		}
	}
	return map[string]export.JobFunc{pack.PresetPack: job(pack.PresetPack), pack.PresetSheet: job(pack.PresetSheet)}
}

// addFunc adapts a function to pack.Addender.
type addFunc func(dir, kind string, body any, files []evidence.AddendumFile) (evidence.Addendum, error)

func (f addFunc) AddAddendum(dir, kind string, body any, files []evidence.AddendumFile) (evidence.Addendum, error) {
	return f(dir, kind, body, files)
}

// afterSeal queues the pack of a sealed session with a claim.
func (x *exporter) afterSeal(r result.Result) {
	if x == nil || x.q == nil || x.pk == nil || !x.pk.auto || !pack.HasClaim(r) || r.Bundle == "" {
		return
	}
	session := filepath.Base(r.Bundle)
	x.pk.log.Info("dispute pack queued", "session", session, "tier", r.Tier, "issue_type", r.IssueType)
	x.queuePack(session, pack.PresetPack)
}

func (x *exporter) queuePack(session, preset string) {
	x.pk.mu.Lock()
	cur := x.pk.doc
	x.pk.mu.Unlock()
	// Asked again while it is queued or running: the queue ignores the
	// duplicate, and the state stays as it is.
	if cur.SessionID != session || cur.Preset != preset || cur.State == "done" || cur.State == "failed" {
		x.pk.set(PackState{SessionID: session, Preset: preset, State: "queued", Files: []pack.File{}})
	}
	x.q.Add(session, preset)
}

// resumePacks queues the packs a shutdown or a crash cut short.
func (x *exporter) resumePacks() {
	if x.q == nil || x.pk == nil {
		return
	}
	jobs, err := pack.Pending(x.pk.stateDir)
	if err != nil {
		x.pk.log.Warn("pending packs", "err", err)
	}
	for _, j := range jobs {
		x.pk.log.Info("resuming dispute pack", "session", j.Session, "preset", j.Preset)
		x.queuePack(j.Session, j.Preset)
	}
}

// packDone is the queue's report of a pack or sheet job.
func (pk *packer) packDone(session, preset string, err error) {
	pk.mu.Lock()
	st := PackState{SessionID: session, Preset: preset, State: "done", Progress: 100, Files: []pack.File{}}
	if r := pk.results[exportKey{session, preset}]; r != nil {
		st.Files, st.Zip, st.ZipBytes = r.Files, r.Zip, r.ZipBytes
	}
	if err != nil {
		st.State, st.Progress, st.Error = "failed", pk.doc.Progress, err.Error()
	}
	ready := pk.ready
	pk.mu.Unlock()
	pk.set(st)
	if err == nil && preset == pack.PresetPack && ready != nil {
		ready(session)
	}
}

// paused marks a running pack paused (a recording started).
func (pk *packer) paused() {
	pk.mu.Lock()
	st := pk.doc
	pk.mu.Unlock()
	if st.State == "running" || st.State == "queued" {
		st.State = "paused"
		pk.set(st)
	}
}

func (pk *packer) progress(session, preset string, pct float64) {
	pk.mu.Lock()
	p := int(math.Floor(pct))
	same := pk.doc.SessionID == session && pk.doc.State == "running" && p == pk.lastPct
	pk.lastPct = p
	pk.mu.Unlock()
	if !same {
		pk.set(PackState{SessionID: session, Preset: preset, State: "running", Progress: float64(p), Files: []pack.File{}})
	}
}

func (pk *packer) set(st PackState) {
	pk.mu.Lock()
	pk.doc = st
	notify := pk.notify
	pk.mu.Unlock()
	if notify == nil {
		return
	}
	b, _ := json.Marshal(st)
	if err := notify(b); err != nil {
		pk.log.Warn("publish export state", "err", err)
	}
}

// publishStills sends the pack's stills on MQTT, the weigh-in frame first
// (the retained topic keeps the last mark's).
func (pk *packer) publishStills(dir string) {
	pk.mu.Lock()
	still := pk.still
	pk.mu.Unlock()
	if still == nil {
		return
	}
	names, _ := filepath.Glob(filepath.Join(dir, "still-*.jpg"))
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err == nil {
			err = still(data)
		}
		if err != nil {
			pk.log.Warn("publish still", "file", filepath.Base(n), "err", err)
		}
	}
}

// setPublisher wires the pack state and stills to MQTT.
// onPackReady sets the function told of every dispute pack made.
func (x *exporter) onPackReady(f func(session string)) {
	if x == nil || x.pk == nil {
		return
	}
	x.pk.mu.Lock()
	x.pk.ready = f
	x.pk.mu.Unlock()
}

func (x *exporter) setPublisher(notify, still func([]byte) error) {
	if x == nil || x.pk == nil {
		return
	}
	x.pk.mu.Lock()
	x.pk.notify, x.pk.still = notify, still
	idle := x.pk.doc.State == ""
	x.pk.mu.Unlock()
	if idle { // Home Assistant's sensor reads "idle" until a pack is asked for
		x.pk.set(PackState{State: "idle", Files: []pack.File{}})
	}
}

// packAnswer is the API's answer for a finished pack or sheet.
func (x *exporter) packAnswer(session, preset, dir string) (files []packFile) {
	x.pk.mu.Lock()
	r := x.pk.results[exportKey{session, preset}]
	delete(x.pk.results, exportKey{session, preset})
	x.pk.mu.Unlock()
	if r == nil {
		return nil
	}
	if r.Zip != "" {
		return []packFile{{Path: r.Zip, Name: filepath.Base(r.Zip), Bytes: r.ZipBytes}}
	}
	for _, f := range r.Files {
		files = append(files, packFile{Path: filepath.Join(dir, f.Name), Name: f.Name, Bytes: f.Bytes})
	}
	return files
}

type packFile struct {
	Path, Name string
	Bytes      int64
}
