// Package station runs weighd's parts (Hardware from cmd/weighd) on one
// road from the press to the sealed result; one goroutine, loop, owns it:
//
//  1. press, command, reading → session event (loop.go translate; button
//     in buttonled.go, commands in status.go, readings from scale.go)
//  2. session.Next → effects, carried out in order (loop.go apply)
//  3. Evaluate: parcel and preview verdict, checkpoint (loop.go evaluate)
//  4. StartRecording: bundle, weight log, label window, recorder (loop.go
//     begin; video.go runs the camera, recorder and label still, answering
//     into the session's own channels, never into loop's events)
//  5. StopRecording, Seal: once the recording's end and the label still are
//     in, one finished sealInput to the sealer (loop.go trySeal)
//  6. the verdict once, claim, label still, Seal (seal.go seal)
//  7. result indexed, published, shown (loop.go deliver; also for leave
//     and start-up recovery in station.go). SIGTERM is step 1's Shutdown.
package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/broker"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/fsync"
	"weighin/internal/identity"
	"weighin/internal/motion"
	"weighin/internal/offsite"
	"weighin/internal/pack"
	"weighin/internal/publish"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/statelock"
	"weighin/internal/timestamp"
	"weighin/internal/verdict"
	"weighin/internal/web"
)

// Version is weighd's version, set at link time.
var Version = "dev"

// Options configure Run.
type Options struct {
	Config config.Config
	// Hardware is the station's devices, real (OpenHardware) or simulated
	// (internal/sim, weighd --sim); Run halts it when it returns.
	Hardware Hardware
	Log      *slog.Logger
	// Ready, if set, is called once the API is listening.
	Ready func()
	// Lock is the state directory's daemon lock (statelock), taken by the
	// caller before it opened the hardware; nil: Run takes it first thing.
	// Run releases it when it returns.
	Lock *statelock.Lock
}

// MakeStateDir makes the state directory if it is missing. A path that
// exists and is not a directory is a configuration error (config.ErrInvalid,
// naming the key).
func MakeStateDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%w: state_dir: %s is not a directory", config.ErrInvalid, dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

// Run starts the station and blocks until ctx ends or a part fails.
func Run(ctx context.Context, opts Options) error {
	cfg := opts.Config
	log := opts.Log
	start := time.Now()
	hw := newHardware(opts.Hardware)
	defer hw.halt()
	if err := MakeStateDir(cfg.StateDir); err != nil {
		return err
	}
	// The one daemon lock, before anything else (identity, recovery, the
	// socket, the broker) and for weighd's whole life: a second weighd on
	// this state directory stops here, having touched nothing.
	if opts.Lock == nil {
		lock, err := statelock.Acquire(cfg.StateDir, "weighd")
		if err != nil {
			return err
		}
		opts.Lock = lock
	}
	defer opts.Lock.Release()
	// The effective station id: configured, or derived once and kept in
	// the state directory (an existing chain keeps the id it has).
	id, err := identity.Resolve(cfg.StateDir, cfg.StationID)
	if err != nil {
		return fmt.Errorf("%w: station_id: %v", config.ErrInvalid, err)
	}
	cfg.StationID = id.ID
	stationID := id.ID
	log = log.With("station", stationID)
	if id.Warning != "" {
		log.Warn("station id may not be unique", "source", id.Source, "why", id.Warning)
	}

	var closers []func() // halted in reverse order
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	// Evidence first: recover what a crash or power cut left unsealed.
	// With offsite.delete_local_after_verified, retention asks the
	// replicator (started below, before retention runs) what is verified.
	var rep *offsite.Replicator
	retention := evidence.Retention{MinFreeBytes: cfg.Retention.MinFreeBytes, MaxAge: cfg.Retention.MaxAge,
		RemoveDerived: func() (int64, error) { return pack.RemoveOldest(cfg.StateDir) }}
	if cfg.Offsite.Enabled() && cfg.Offsite.DeleteLocalAfterVerified {
		retention.Offloadable = func(session string) bool { return rep != nil && rep.Verified(session) }
	}
	var journalPub atomic.Pointer[publish.Publisher] // set once MQTT is up
	store, err := evidence.Open(cfg.StateDir, log.With("component", "evidence"), evidence.Options{
		StationID: stationID,
		Retention: retention,
		Clock:     func() (time.Time, bool) { return time.Now(), clockSynced() },
		OnJournal: func(line []byte) {
			if p := journalPub.Load(); p != nil {
				p.PublishJournal(line)
			}
		},
	})
	if err != nil {
		return err
	}
	closers = append(closers, func() { store.Close() })
	if err := ensureReserve(cfg.StateDir); err != nil {
		log.Warn("seal reserve", "err", err)
	}

	reg, err := registry.Open(filepath.Join(cfg.StateDir, registry.FileName))
	if err != nil {
		return err
	}
	closers = append(closers, func() { reg.Close() })

	rec, err := recorder.New(cfg.Recorder, recorder.Options{Log: log.With("component", "recorder"), Create: createBundleFile})
	if err != nil {
		return err
	}

	mqttCfg := cfg.MQTT
	embedded := false
	var emb *broker.Broker
	if mqttCfg.Broker == "" {
		b, err := broker.Start(mqttCfg, broker.Options{StationID: stationID, Dir: cfg.StateDir}, log)
		if err != nil {
			return err
		}
		closers = append(closers, func() { b.Close() })
		mqttCfg = b.Station(mqttCfg)
		embedded = true
		emb = b
	}

	var st *Station // the token and export addenda are replicated through it
	tsq, err := openStamper(cfg, store, log, func(dir string) { st.replicate(dir) })
	if err != nil {
		return fmt.Errorf("%w: trust: %v", config.ErrInvalid, err)
	}

	// Off-site copies (offsite.endpoint; off when empty). A bundle
	// verified whole is offloaded at once when so configured, and its
	// tombstone queued in turn.
	if cfg.Offsite.Enabled() {
		onVerified := func(session string) {
			st.auto.event(publish.Event{Type: publish.EventOffsiteVerified, SessionID: session, ShareURL: st.shareURL(session)})
			if cfg.Offsite.DeleteLocalAfterVerified {
				st.offload(session)
			}
		}
		rep, err = offsite.Start(ctx, cfg, stationID, log.With("component", "offsite"), onVerified)
		if err != nil {
			return fmt.Errorf("%w: offsite: %v", config.ErrInvalid, err)
		}
		closers = append(closers, func() { rep.Close() })
	}

	st = newStation(cfg, log, hw, store, reg, rec)
	st.tsq, st.offsite = tsq, rep
	st.exports = openExporter(cfg, store, func(dir, name string) {
		st.replicate(dir)
		st.stamp(dir, name)
	}, log.With("component", "export"))
	st.started, st.mqttURL, st.embedded = start, mqttCfg.Broker, embedded
	// The web app: the same API handler behind a login (internal/web). Its
	// URL goes into discovery and results only while it serves.
	if st.web, err = web.New(web.Options{Config: cfg.Web, StateDir: cfg.StateDir, Station: st, Log: log.With("component", "web"),
		Fault: st.webFault, Changed: st.webChanged, Doctor: st.doctorChecks(cfg)}); err != nil {
		return err
	}
	pubOpts := []publish.Option{publish.WithVersion(Version), publish.WithWebURL(st.web.URL)}
	if rep != nil {
		pubOpts = append(pubOpts, publish.WithOffsite())
	}
	pub, err := publish.New(mqttCfg, stationID, cfg.StateDir, publish.HandlerFunc(st.mqttCommand), log, pubOpts...)
	if err != nil {
		return err
	}
	st.pub, st.results, st.live = pub, pub, pub
	st.entriesOut = pub
	st.auto.set(pub)
	journalPub.Store(pub)
	if emb != nil {
		// A publish the broker's ACL refused, a station-id collision: on
		// <base>/error, and a collision in the status too.
		emb.OnRefused(st.brokerRefused)
	}
	st.exports.setPublisher(pub.PublishExport, func(session, name string, jpeg []byte) error {
		im := publish.ImageStill
		if name == pack.WeighinStill {
			im = publish.ImageWeighin
		}
		return pub.PublishImage(im, jpeg, st.fileURL(session, name))
	})
	st.exports.onPackReady(func(session string) {
		st.auto.event(publish.Event{Type: publish.EventExportReady, SessionID: session, ShareURL: st.shareURL(session)})
	})
	st.initStatus()
	closers = append(closers, func() { pub.Close() })
	if err := st.recoverAtStart(ctx); err != nil {
		return err
	}

	ln, err := api.Listen(cfg.API.Socket)
	if errors.Is(err, api.ErrNotSocket) {
		return fmt.Errorf("%w: api.socket: %v", config.ErrInvalid, err)
	} else if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return api.Serve(gctx, ln, st) })
	g.Go(func() error { return pub.Run(gctx) })
	g.Go(func() error { return st.web.Run(gctx) })
	g.Go(func() error {
		return store.Run(gctx, cfg.Retention.CheckInterval, func() (time.Time, bool) { return time.Now(), clockSynced() })
	})
	g.Go(func() error { return runWatchdog(gctx, st.alive, log) })
	g.Go(func() error { return tsq.Run(gctx) })
	g.Go(func() error { return st.exports.run(gctx) })
	if rep != nil {
		g.Go(func() error { return rep.Run(gctx) })
	}
	st.run(gctx, g)

	log.Info("weighd ready", "sim", st.sim, "socket", cfg.API.Socket, "mqtt", mqttCfg.Broker,
		"state_dir", cfg.StateDir, "key", store.KeyFingerprint(), "startup", time.Since(start).Round(time.Millisecond))
	notifyReady(log)
	if opts.Ready != nil {
		opts.Ready()
	}
	err = g.Wait()
	notifyStopping()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// createBundleFile is the recorder's Options.Create: video files are
// opened through the evidence store's rules.
func createBundleFile(path string) (recorder.File, error) { return evidence.CreateBundleFile(path) }

// newStation makes the station over its parts; the publisher (results,
// live) is set by the caller.
func newStation(cfg config.Config, log *slog.Logger, hw *hardware, store *evidence.Store, reg *registry.DB, rec *recorder.Recorder) *Station {
	st := &Station{
		cfg: cfg, sim: hw.sim != nil, log: log, started: time.Now(), stationID: cfg.ResolvedStationID(),
		store: store, reg: reg, hw: hw, rec: rec,
		events:      make(chan event, 256),
		video:       make(chan videoCmd, 16),
		labelCtl:    make(chan labelCmd, 4),
		labelFrames: make(chan camera.Frame, 1),
		scaleReqs:   make(chan scaleReq, 1),
		loopDone:    make(chan struct{}),
	}
	mw, err := newMotion(cfg)
	if err != nil {
		log.Warn("camera.platform_region: using the default, the central 60 %", "err", err)
	}
	st.motion = mw
	st.synced = clockSynced() // refreshed once a second by publishState
	st.recon = &camera.Reconnector{
		Open:    hw.openCamera,
		Backoff: camera.Backoff{Min: 500 * time.Millisecond, Max: 10 * time.Second},
		Log:     log.With("component", "camera"),
	}
	return st
}

// recoverAtStart seals what a crash or power cut left unsealed, rebuilds
// the session index from the bundles (the source of truth) and delivers
// the recovered results.
func (s *Station) recoverAtStart(ctx context.Context) error {
	recovered, err := s.store.Recover(analyzer(s.cfg.Recorder.GapThreshold))
	if err != nil {
		s.log.Error("recovery of unsealed sessions failed", "err", err)
	}
	var sealed []result.Result
	claims := map[string]string{}
	for _, b := range s.store.List() {
		if b.State == "sealed" {
			sealed = append(sealed, b.Result)
			if b.Outcome != nil {
				claims[b.SessionID] = b.Outcome.String()
			}
		}
	}
	if n, err := s.reg.Rebuild(ctx, registry.Results(sealed)); err != nil {
		s.log.Warn("rebuild the session index from the bundles", "err", err)
	} else {
		s.log.Debug("session index rebuilt", "sessions", n)
		for id, c := range claims {
			if err := s.reg.SetClaim(ctx, id, c); err != nil {
				s.log.Warn("session index: claim", "session", id, "err", err)
			}
		}
	}
	for _, r := range recovered {
		s.deliver(ctx, r, "recovered at start", nil)
	}
	// A result sealed but never queued (weighd killed between the seal and
	// the outbox) is queued now.
	if rc, ok := s.results.(reconciler); ok {
		queued, err := rc.Reconcile(sealed)
		if err != nil {
			s.log.Error("reconcile the outbox with the sealed bundles", "err", err)
		}
		for _, id := range queued {
			s.log.Warn("result queued again: it was sealed but never reached the outbox", "session", id)
		}
	}
	return nil
}

// reconciler queues the results of sealed sessions the broker never
// acknowledged (publish.Publisher).
type reconciler interface {
	Reconcile(sealed []result.Result) ([]string, error)
}

// run starts the station's own goroutines in g: the scale, the video (the
// camera, the recorder, the label still), the button, the LED and loop.
// The camera, the recorder and the label goroutine outlive loop: when ctx
// ends, loop stops and seals the recording in progress with them, then
// ends them.
func (s *Station) run(ctx context.Context, g *errgroup.Group) {
	mctx, stopMedia := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return s.rec.Run(mctx) })
	g.Go(func() error { return s.runScale(ctx) })
	g.Go(func() error { return s.runVideo(mctx) })
	g.Go(func() error { return s.runButton(ctx) })
	g.Go(func() error { return s.runLED(ctx) })
	g.Go(func() error {
		defer stopMedia()
		return s.loop(ctx)
	})
}

// analyzer recomputes an interrupted session's continuity from its video
// files, for evidence.Store.Recover.
func analyzer(gap time.Duration) evidence.Analyzer {
	return func(dir string, res result.Result) (result.Result, error) {
		var paths []string
		for i := 0; ; i++ {
			p := filepath.Join(dir, recorder.FileName(i))
			if _, err := os.Stat(p); err != nil {
				break
			}
			paths = append(paths, p)
		}
		if len(paths) == 0 {
			return res, nil
		}
		stats, err := recorder.AnalyzeFiles(paths, gap)
		if err != nil {
			return res, err
		}
		res.Continuity = stats.Continuity()
		if len(res.Marks) == 0 {
			res.Marks = stats.ResultMarks()
		}
		interruptedClaim(dir, &res)
		return res, nil
	}
}

// interruptedClaim rewrites an interrupted bundle's claim (before it is
// sealed) from what recovery found: it says the recording was cut and how
// long its video is. Without it the provisional claim stays.
func interruptedClaim(dir string, res *result.Result) {
	msg, err := verdict.Compose(*res, verdict.DisputeOptions{Detail: res.Damage})
	if err != nil {
		return
	}
	if fsync.WriteFile(dir, "dispute.txt", []byte(msg.String()+"\n"), 0o644) == nil {
		res.Dispute, res.DisputeShort = msg.String(), msg.Short
	}
}

// resultPublisher takes every session's result and label still.
type resultPublisher interface {
	PublishResult(result.Result) error
	PublishImage(im publish.Image, jpeg []byte, url string) error
}

// livePublisher takes the live state and refusals.
type livePublisher interface {
	PublishState(publish.State)
	PublishFault(command, reason string)
}

// Station is the running daemon. Fields below mu are shared with the API
// and MQTT goroutines; the rest belong to loop.
type Station struct {
	cfg       config.Config
	sim       bool
	log       *slog.Logger
	started   time.Time
	stationID string
	store     *evidence.Store
	// tsq asks timestamp authorities for tokens over sealed bundles and
	// their addenda (nil in tests that have none).
	tsq *timestamp.Queue
	// offsite copies bundles to an S3-compatible store (nil: off).
	offsite *offsite.Replicator
	// exports is the MP4 export queue (nil in tests that have none).
	exports *exporter
	reg     *registry.DB
	hw      *hardware
	rec     *recorder.Recorder
	// auto sends Home Assistant's events, presses and tags (automation.go).
	auto automation
	// pub is the MQTT publisher (nil in tests); results and live are what
	// the session needs of it.
	pub      *publish.Publisher
	results  resultPublisher
	live     livePublisher
	mqttURL  string
	embedded bool
	// web is the web app (internal/web): the same API behind a login.
	web *web.Server

	events      chan event
	video       chan videoCmd
	labelCtl    chan labelCmd
	labelFrames chan camera.Frame
	scaleReqs   chan scaleReq
	loopDone    chan struct{} // closed when loop returns
	recon       *camera.Reconnector
	// motion watches the platform region of the camera's frames (fed by
	// the video goroutine, asked by loop at a weigh-in; goroutine-safe).
	motion *motion.Watcher

	// sysChecked, free, synced and ofs are loop's, refreshed by
	// publishState.
	sysChecked time.Time
	free       int64
	synced     bool
	ofs        *publish.OffsiteState

	mu        sync.Mutex
	status    api.Status
	lastFrame time.Time
	lastAudio time.Time // when the last audio block came
	fps       float64

	// entriesOut takes <base>/entries and the accepted commands (nil in
	// tests); entriesSent is the last document sent (loop's).
	entriesOut  entriesPublisher
	entriesSent *publish.Entries
}

// webFault reports why the web app is off on MQTT's error topic, once the
// publisher is connected (at start it is not yet).
func (s *Station) webFault(reason string) {
	go func() {
		for i := 0; i < 120 && !s.pub.Connected(); i++ {
			time.Sleep(500 * time.Millisecond)
		}
		s.pub.PublishFault("web", reason)
	}()
}

// webChanged republishes discovery when the web app goes on or off (its
// configuration_url).
func (s *Station) webChanged() {
	if s.pub != nil {
		s.pub.Reannounce()
	}
}

// alive reports whether loop answers within d: the watchdog's health
// check. A stuck loop gets weighd restarted; a faulty device does not (a
// restart would not mend it; the status and the LED show it).
func (s *Station) alive(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	reply := make(chan struct{}, 1)
	select {
	case s.events <- pingEv{reply: reply}:
	case <-ctx.Done():
		return false
	}
	select {
	case <-reply:
		return true
	case <-ctx.Done():
		return false
	}
}
