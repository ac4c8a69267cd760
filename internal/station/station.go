// Package station wires weighd's parts and runs them: the scale, the camera,
// the button, the recorder, the evidence store, the registry, the MQTT
// publisher and the local API, under one errgroup. One goroutine (loop) owns
// the session: it feeds events to the pure state machine in
// internal/session and carries out the effects it returns. Everything else
// sends it events and never touches session state; a seal attempt works on
// a copy of the session and answers with an event.
//
//	scale ──Reading──┐
//	button ──Press───┤
//	MQTT/API ─Cmd────┼──▶ loop ──effects──▶ video (recorder), label, sealer,
//	video/sealer ────┘                       publisher, LED
//
// Stopping: when Run's context ends, loop stops a recording in progress and
// seals its bundle (within shutdownTimeout, inside systemd's
// TimeoutStopSec) while the camera, recorder and label goroutines still
// run; they end after loop. Devices are halted in reverse order of opening
// when Run returns. A bundle that could not be sealed (a start that failed,
// every seal attempt failed) is sealed as interrupted at once, or at the
// next start.
//
// Under --sim the local API's sim_* commands drive the simulated hardware,
// faults included (CmdSimUnplug, CmdSimScale).
package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/broker"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/web"
)

// Version is weighd's version, set at link time.
var Version = "dev"

// Options configure Run.
type Options struct {
	Config config.Config
	// Sim runs on simulated hardware with the embedded broker.
	Sim bool
	Log *slog.Logger
	// Ready, if set, is called once the API is listening.
	Ready func()
}

// Run starts the station and blocks until ctx ends or a part fails.
func Run(ctx context.Context, opts Options) error {
	cfg := opts.Config
	log := opts.Log
	start := time.Now()
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	stationID := cfg.ResolvedStationID()
	log = log.With("station", stationID)

	var closers []func() // halted in reverse order
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	// Evidence first: recover what a crash or power cut left unsealed.
	store, err := evidence.Open(cfg.StateDir, log.With("component", "evidence"), evidence.Options{
		StationID: stationID,
		Retention: evidence.Retention{MinFreeBytes: cfg.Retention.MinFreeBytes, MaxAge: cfg.Retention.MaxAge},
	})
	if err != nil {
		return err
	}
	closers = append(closers, func() { store.Close() })
	recovered, err := store.Recover(analyzer(cfg.Recorder.GapThreshold))
	if err != nil {
		log.Error("recovery of unsealed sessions failed", "err", err)
	}
	for _, r := range recovered {
		log.Warn("sealed an interrupted session", "session", r.SessionID, "frames", r.Continuity.Frames)
	}

	reg, err := registry.Open(filepath.Join(cfg.StateDir, "registry.db"))
	if err != nil {
		return err
	}
	closers = append(closers, func() { reg.Close() })
	// The bundles are the source of truth: the session index is rebuilt
	// from them at every start (recovered sessions included).
	var sealed []result.Result
	claims := map[string]string{}
	for _, b := range store.List() {
		if b.State == "sealed" {
			sealed = append(sealed, b.Result)
			if b.Outcome != nil {
				claims[b.SessionID] = b.Outcome.String()
			}
		}
	}
	if n, err := reg.Rebuild(ctx, registry.Results(sealed)); err != nil {
		log.Warn("rebuild the session index from the bundles", "err", err)
	} else {
		log.Debug("session index rebuilt", "sessions", n)
		for id, c := range claims {
			if err := reg.SetClaim(ctx, id, c); err != nil {
				log.Warn("session index: claim", "session", id, "err", err)
			}
		}
	}

	hw, err := openHardware(cfg, opts.Sim, log)
	if err != nil {
		return err
	}
	closers = append(closers, hw.halt)

	rec, err := recorder.New(cfg.Recorder, recorder.Options{Log: log.With("component", "recorder")})
	if err != nil {
		return err
	}

	mqttCfg := cfg.MQTT
	embedded := false
	if mqttCfg.Broker == "" {
		b, err := broker.Start(mqttCfg, log)
		if err != nil {
			return err
		}
		closers = append(closers, func() { b.Close() })
		mqttCfg.Broker = b.URL()
		embedded = true
	}

	st := &Station{
		cfg: cfg, sim: opts.Sim, log: log, started: start, stationID: stationID,
		store: store, reg: reg, hw: hw, rec: rec,
		events:      make(chan event, 256),
		video:       make(chan videoCmd, 16),
		labelCtl:    make(chan labelCmd, 4),
		labelFrames: make(chan camera.Frame, 1),
		scaleReqs:   make(chan scaleReq, 1),
		loopDone:    make(chan struct{}),
		mqttURL:     mqttCfg.Broker, embedded: embedded,
	}
	st.recon = &camera.Reconnector{
		Open:    hw.openCamera,
		Backoff: camera.Backoff{Min: 500 * time.Millisecond, Max: 10 * time.Second},
		Log:     log.With("component", "camera"),
	}
	pub, err := publish.New(mqttCfg, stationID, cfg.StateDir, publish.HandlerFunc(st.mqttCommand), log, publish.WithVersion(Version),
		publish.WithWebURL(web.PublicURL(cfg.Web)))
	if err != nil {
		return err
	}
	st.pub = pub
	st.initStatus()
	closers = append(closers, func() { pub.Close() })
	for _, r := range recovered {
		if err := pub.PublishResult(r); err != nil {
			log.Warn("queue recovered result", "session", r.SessionID, "err", err)
		}
	}

	ln, err := api.Listen(cfg.API.Socket)
	if err != nil {
		return err
	}

	// The web app: the same API handler behind a login (internal/web).
	if st.web, err = web.New(web.Options{Config: cfg.Web, StateDir: cfg.StateDir, Station: st, Log: log.With("component", "web"), Fault: st.webFault}); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The camera, the recorder and the label goroutine outlive loop: when
	// weighd is stopped, loop stops and seals the recording in progress
	// with them, then ends them.
	mctx, stopMedia := context.WithCancel(context.WithoutCancel(gctx))
	defer stopMedia()
	g.Go(func() error { return api.Serve(gctx, ln, st) })
	g.Go(func() error { return pub.Run(gctx) })
	g.Go(func() error { return st.web.Run(gctx) })
	g.Go(func() error { return rec.Run(mctx) })
	g.Go(func() error { return st.runScale(gctx) })
	g.Go(func() error { return st.runVideo(mctx) })
	g.Go(func() error { return st.runButton(gctx) })
	g.Go(func() error { return st.runLED(gctx) })
	g.Go(func() error {
		return store.Run(gctx, cfg.Retention.CheckInterval, func() (time.Time, bool) { return time.Now(), clockSynced() })
	})
	g.Go(func() error {
		defer stopMedia()
		return st.loop(gctx)
	})
	g.Go(func() error { return runWatchdog(gctx, st.alive, log) })

	log.Info("weighd ready", "sim", opts.Sim, "socket", cfg.API.Socket, "mqtt", mqttCfg.Broker,
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
		return res, nil
	}
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
	reg       *registry.DB
	hw        *hardware
	rec       *recorder.Recorder
	pub       *publish.Publisher
	mqttURL   string
	embedded  bool
	web       *web.Server

	events      chan event
	video       chan videoCmd
	labelCtl    chan labelCmd
	labelFrames chan camera.Frame
	scaleReqs   chan scaleReq
	loopDone    chan struct{} // closed when loop returns
	recon       *camera.Reconnector

	// sysChecked, free and synced are loop's, refreshed by publishState.
	sysChecked time.Time
	free       int64
	synced     bool

	mu        sync.Mutex
	status    api.Status
	lastFrame time.Time
	fps       float64
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
