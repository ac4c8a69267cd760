package station

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/label"
	"weighin/internal/publish"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/session"
)

// The in-process tests run the station's own goroutines (scale, video,
// label, recorder, loop, seal) on fake hardware inside a testing/synctest
// bubble: time is the bubble's, so minutes of recording take milliseconds,
// and nothing waits on the wall clock. The evidence store, the registry and
// the recorder are the real ones, on t.TempDir(); only the MQTT publisher is
// replaced by a recorder of what it was given.

// fakeLoad is the platform: the grams on it, read as HX711 counts at 10 SPS.
type fakeLoad struct {
	mu    sync.Mutex
	grams float64
	fail  bool // every read times out, as a loose wire
	n     int
}

const fakeOffset, fakeScale = 8000, 420

func (l *fakeLoad) set(g float64) { l.mu.Lock(); l.grams = g; l.mu.Unlock() }
func (l *fakeLoad) setFail(f bool) {
	l.mu.Lock()
	l.fail = f
	l.mu.Unlock()
}

func (l *fakeLoad) read(ctx context.Context) (int32, error) {
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return 0, errors.New("hx711: timeout: no data ready")
	}
	l.n++
	return int32(fakeOffset + l.grams*fakeScale + float64(l.n%3-1)), nil
}

// fakeCamera delivers frames at 10 fps from a fixed set.
type fakeCamera struct {
	frames [][]byte
	w, h   int
}

func (c *fakeCamera) open(context.Context) (camera.Source, error) { return &fakeSource{cam: c}, nil }

type fakeSource struct {
	cam *fakeCamera
	n   int
}

func (s *fakeSource) Next(ctx context.Context) (camera.Frame, error) {
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return camera.Frame{}, ctx.Err()
	}
	f := camera.Frame{Data: s.cam.frames[s.n%len(s.cam.frames)], Seq: uint64(s.n), Time: time.Now(), Width: s.cam.w, Height: s.cam.h}
	s.n++
	return f, nil
}

func (s *fakeSource) Close() error { return nil }

// fakePub keeps what the station gave the MQTT publisher.
type fakePub struct {
	mu      sync.Mutex
	results []result.Result
	labels  int
	faults  []string
}

func (p *fakePub) PublishResult(r result.Result) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results = append(p.results, r)
	return nil
}

func (p *fakePub) PublishLabel([]byte) error  { p.mu.Lock(); p.labels++; p.mu.Unlock(); return nil }
func (p *fakePub) PublishState(publish.State) {}
func (p *fakePub) PublishFault(command, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, command+": "+reason)
}

func (p *fakePub) got() []result.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]result.Result(nil), p.results...)
}

// rig is one station on fake hardware, in the calling bubble.
type rig struct {
	t       *testing.T
	st      *Station
	pub     *fakePub
	load    *fakeLoad
	presses chan session.PressKind
	state   string
	// synth is the synthetic camera open last (nil with rigOpts.frames).
	synthMu sync.Mutex
	synth   *cameratest.Synthetic
	synthW  int // the synthetic camera's size (160×120, or rigOpts' w, h)
	synthH  int
	cancel  context.CancelFunc
	g       *errgroup.Group
	closers []func()
}

type rigOpts struct {
	cfg    func(*config.Config)
	frames [][]byte // camera frames (default: the synthetic camera)
	w, h   int      // the frames' size, or the synthetic camera's
	store  evidence.Options
	state  string // reuse a state directory
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	cfg := config.Default()
	cfg.StationID = "inproc"
	cfg.StateDir = o.state
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	cfg.Camera.Width, cfg.Camera.Height, cfg.Camera.FPS = 160, 120, 10
	cfg.Recorder.PreRoll = time.Second
	cfg.Session.LabelWindow = time.Second
	cfg.Session.StableWait = 2 * time.Second
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o.store.StationID = cfg.StationID
	store, err := evidence.Open(cfg.StateDir, log, o.store)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(filepath.Join(cfg.StateDir, registry.FileName))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recorder.New(cfg.Recorder, recorder.Options{Log: log, Create: createBundleFile})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, load: &fakeLoad{}, pub: &fakePub{}, presses: make(chan session.PressKind), state: cfg.StateDir}
	r.synthW, r.synthH = 160, 120
	if o.frames == nil && o.w > 0 {
		r.synthW, r.synthH = o.w, o.h
	}
	open := r.openSynthetic
	if o.frames != nil {
		open = (&fakeCamera{frames: o.frames, w: o.w, h: o.h}).open
	}
	hw := newHardware(Hardware{
		ReadRaw: r.load.read, OpenCamera: open,
		NextPress: func(ctx context.Context) (session.PressKind, error) {
			select {
			case k := <-r.presses:
				return k, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		},
		FactoryOffset: fakeOffset, FactoryScale: fakeScale, FactoryOK: true,
	})
	st := newStation(cfg, log, hw, store, reg, rec)
	st.results, st.live = r.pub, r.pub
	st.initStatus()
	r.st = st
	r.closers = []func(){func() { reg.Close() }, func() { store.Close() }}
	return r
}

// openSynthetic opens the synthetic camera at the rig's size (its moving
// parts in the top-left corner, outside the default platform region).
func (r *rig) openSynthetic(context.Context) (camera.Source, error) {
	s, err := cameratest.NewSynthetic(cameratest.Opts{Width: r.synthW, Height: r.synthH, FPS: 10, Loop: 20, Quality: 60})
	if err != nil {
		return nil, err
	}
	r.synthMu.Lock()
	r.synth = s
	r.synthMu.Unlock()
	return s, nil
}

// camera is the synthetic camera open now.
func (r *rig) camera() *cameratest.Synthetic {
	r.synthMu.Lock()
	defer r.synthMu.Unlock()
	return r.synth
}

// start runs the station (recovery first, as Run does).
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if err := r.st.recoverAtStart(ctx); err != nil {
		r.t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	r.g = g
	r.st.run(gctx, g)
}

// stop stops the station as SIGTERM does and waits for every goroutine.
func (r *rig) stop() {
	r.t.Helper()
	r.cancel()
	if err := r.g.Wait(); err != nil {
		r.t.Errorf("station stopped with %v", err)
	}
	for _, c := range r.closers {
		c()
	}
}

func (r *rig) status() api.Status {
	v, _ := r.st.Status(context.Background())
	return v.(api.Status)
}

// waitFor advances the bubble's clock until cond holds (at most 2 minutes).
func (r *rig) waitFor(what string, cond func(api.Status) bool) api.Status {
	r.t.Helper()
	for range 1200 {
		synctest.Wait()
		if st := r.status(); cond(st) {
			return st
		}
		advance(100 * time.Millisecond)
	}
	r.t.Fatalf("never: %s; status %+v", what, r.status())
	return api.Status{}
}

// advance lets d of the bubble's time pass (no wall-clock time: the
// station's goroutines run until they all wait on the fake clock).
func advance(d time.Duration) { time.Sleep(d) }

// press is a button press.
func (r *rig) press(k session.PressKind) { r.presses <- k }

// startRecording clears the platform (it must return to empty between
// sessions), puts grams on it, waits for it to settle, presses and waits
// for the recording.
func (r *rig) startRecording(grams float64) string {
	r.t.Helper()
	r.load.set(0)
	r.waitFor("an empty platform", func(s api.Status) bool { return s.WeightState == "empty" && !s.LeftoverLoad })
	r.load.set(grams)
	r.waitFor("a stable weight", func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-grams) < 1
	})
	r.press(session.PressShort)
	return r.waitFor("recording", func(s api.Status) bool { return s.Recording && s.SessionID != "" }).SessionID
}

// result waits for session id's result to be published and returns it.
func (r *rig) result(id string) result.Result {
	r.t.Helper()
	var got result.Result
	r.waitFor("the result of "+id, func(s api.Status) bool {
		for _, res := range r.pub.got() {
			if res.SessionID == id {
				got = res
				return s.SessionState != "sealing"
			}
		}
		return false
	})
	return got
}

// sealed checks that session id's bundle verifies and returns its
// manifest's result.
func (r *rig) sealed(id string) result.Result {
	r.t.Helper()
	dir := filepath.Join(r.state, evidence.SessionsDir, id)
	rep, err := evidence.VerifyBundle(dir, evidence.VerifyOptions{})
	if err != nil || !rep.OK() {
		r.t.Fatalf("%s does not verify: %v %v", id, err, rep.Problems)
	}
	data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		r.t.Fatal(err)
	}
	m, _, err := evidence.ParseManifest(data)
	if err != nil {
		r.t.Fatal(err)
	}
	return m.Result
}

// TestPressToSeal: the one road. A registered parcel, its label weight
// typed; press, mark, long press: the bundle is sealed with the verdict
// against the registry, the mark, the claim, the weight log and the
// video, and the result (stop_reason button) goes to MQTT once.
func TestPressToSeal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{})
		r.start()
		if err := r.st.reg.AddParcel(context.Background(), registry.Parcel{Tracking: "LX123456785CN", OrderRef: "KB-1", LabelG: ptr(2350), LabelResolutionG: 10,
			Items: []registry.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Belt", WeightG: 210}}}); err != nil {
			t.Fatal(err)
		}
		if err := r.st.command(context.Background(), session.Command{Kind: session.CmdOrderRef, Text: "KB-1", Source: "api"}); err != nil {
			t.Fatal(err)
		}
		id := r.startRecording(1840)
		advance(2 * time.Second)
		r.press(session.PressShort) // mark
		advance(2 * time.Second)
		r.press(session.PressLong)
		res := r.result(id)
		m := r.sealed(id)
		if m.StopReason != result.StopButton || res.StopReason != result.StopButton || m.Schema != 2 {
			t.Errorf("stop_reason: manifest %q (schema %d), published %q; want button", m.StopReason, m.Schema, res.StopReason)
		}
		if res.Verdict != result.VerdictUnderweight || res.Tier != 3 || res.Tracking != "LX123456785CN" || res.OrderRef != "KB-1" {
			t.Errorf("result: verdict %s tier %d tracking %q order %q disturbed %v matching %+v dispute %q", res.Verdict, res.Tier, res.Tracking, res.OrderRef, res.WeighinDisturbed, res.Matching, res.Dispute)
		}
		if len(res.MissingCandidates) == 0 || res.MissingCandidates[0].Items[0] != "Leather jacket" {
			t.Errorf("missing candidates %+v", res.MissingCandidates)
		}
		if len(res.Marks) != 1 || res.Continuity.Frames < 30 || res.Interrupted {
			t.Errorf("marks %v, %d frames, interrupted %v", res.Marks, res.Continuity.Frames, res.Interrupted)
		}
		if res.ManifestSHA256 == "" || res.ManifestSHA256 != res.ChainHead || m.Verdict != res.Verdict {
			t.Errorf("published %+v\nmanifest %+v", res, m)
		}
		for _, f := range []string{"video-000.mkv", "weight.csv", "dispute.txt", "label.jpg"} {
			if _, err := os.Stat(filepath.Join(r.state, res.Bundle, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if n := len(r.pub.got()); n != 1 {
			t.Errorf("%d results published, want 1", n)
		}
		if st := r.status(); st.LastResult == nil || st.LastResult.SessionID != id || st.SessionState != "stable" {
			t.Errorf("status after the seal: %+v", st)
		}
		r.stop()
	})
}

func ptr(f float64) *float64 { return &f }

// TestStopReasons: each way a recording ends is recorded in the result, on
// MQTT and in the manifest: the button, the stop command, inactivity,
// max_duration (a busy platform), shutdown; and interrupted for what a
// crash left, sealed at the next start.
func TestStopReasons(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{cfg: func(c *config.Config) {
			c.Session.InactivityStop = 20 * time.Second
			c.Session.MaxDuration = 30 * time.Second
			c.Session.ResumeGrace = 0 // sealed at the stop (TestUnboxing pauses)
		}})
		r.start()
		check := func(id, want string) {
			t.Helper()
			res := r.result(id)
			if m := r.sealed(id); res.StopReason != want || m.StopReason != want {
				t.Errorf("%s: published stop_reason %q, manifest %q; want %q", id, res.StopReason, m.StopReason, want)
			}
		}
		id := r.startRecording(900)
		advance(time.Second)
		r.press(session.PressLong)
		check(id, result.StopButton)

		id = r.startRecording(1000)
		if err := r.st.command(context.Background(), session.Command{Kind: session.CmdStop, Source: "mqtt"}); err != nil {
			t.Fatal(err)
		}
		check(id, result.StopCommand)

		id = r.startRecording(1100)
		began := time.Now()
		check(id, result.StopInactivity)
		if d := time.Since(began); d < 20*time.Second || d > 25*time.Second {
			t.Errorf("inactivity stop after %v, want 20 s", d)
		}

		id = r.startRecording(1200)
		began = time.Now()
		for g := 0; r.status().Recording; g++ {
			r.load.set(float64(1200 + 100*(g%2)))
			advance(2 * time.Second)
		}
		check(id, result.StopMaxDuration)
		if d := time.Since(began); d < 30*time.Second || d > 34*time.Second {
			t.Errorf("max_duration stop after %v, want 30 s", d)
		}

		id = r.startRecording(1300)
		advance(time.Second)
		r.stop() // SIGTERM while recording: sealed before the station ends
		if m := r.sealed(id); m.StopReason != result.StopShutdown || m.Interrupted {
			t.Errorf("stopped while recording: stop_reason %q interrupted %v", m.StopReason, m.Interrupted)
		}
		if got := r.pub.got(); got[len(got)-1].SessionID != id || got[len(got)-1].StopReason != result.StopShutdown {
			t.Errorf("last published %+v", got[len(got)-1])
		}

		// A crash leaves a session unsealed: the next start seals it
		// interrupted and publishes it.
		st, err := evidence.Open(r.state, slog.New(slog.DiscardHandler), evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.Begin(time.Now(), false, "")
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		r2 := newRig(t, rigOpts{state: r.state})
		r2.start()
		res := r2.result(s.ID())
		if m := r2.sealed(s.ID()); res.StopReason != result.StopInterrupted || m.StopReason != result.StopInterrupted || !m.Interrupted {
			t.Errorf("recovered: published %q, manifest %q (interrupted %v)", res.StopReason, m.StopReason, m.Interrupted)
		}
		r2.stop()
	})
}

// TestSealRetried: the first seal attempt fails (dispute.txt cannot be
// written); the retry seals the bundle complete with the recording's end
// and the label still the loop kept, and the fault clears.
func TestSealRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{})
		r.start()
		id := r.startRecording(1100)
		blocker := filepath.Join(r.state, evidence.SessionsDir, id, "dispute.txt")
		os.Remove(blocker) // the provisional claim
		if err := os.Mkdir(blocker, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(blocker, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Second)
		r.press(session.PressLong)
		r.waitFor("the failed attempt", func(s api.Status) bool {
			return strings.Contains(s.LastError, "sealing failed") && s.SessionState == "sealing"
		})
		if err := os.RemoveAll(blocker); err != nil {
			t.Fatal(err)
		}
		res := r.result(id)
		m := r.sealed(id)
		if res.Interrupted || m.StopReason != result.StopButton || m.Continuity.Frames < 15 {
			t.Errorf("after a retry: interrupted %v, stop_reason %q, %d frames", res.Interrupted, m.StopReason, m.Continuity.Frames)
		}
		if _, err := os.Stat(filepath.Join(r.state, res.Bundle, "label.jpg")); err != nil {
			t.Errorf("label still after a retry: %v", err)
		}
		if st := r.status(); st.LastError != "" || st.LED == "error" {
			t.Errorf("after the retry: last_error %q, LED %s", st.LastError, st.LED)
		}
		if n := len(r.pub.got()); n != 1 {
			t.Errorf("%d results published, want 1", n)
		}
		r.stop()
	})
}

// TestShutdownWhileSealing: weighd is stopped while the bundle is being
// sealed (a first attempt failed, the retry is due): the seal finishes,
// with the reason the recording really ended for, before the station ends;
// nothing is left for recovery. Then a stop just after a press.
func TestShutdownWhileSealing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{})
		r.start()
		id := r.startRecording(1500)
		// The first attempt fails, so that the stop comes while sealing.
		blocker := filepath.Join(r.state, evidence.SessionsDir, id, "dispute.txt")
		os.Remove(blocker) // the provisional claim
		if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Second)
		r.press(session.PressLong)
		r.waitFor("sealing", func(s api.Status) bool { return s.SessionState == "sealing" && s.LastError != "" })
		os.RemoveAll(blocker)
		r.stop()
		if m := r.sealed(id); m.StopReason != result.StopButton || m.Interrupted {
			t.Errorf("stopped while sealing: stop_reason %q, interrupted %v", m.StopReason, m.Interrupted)
		}
		if len(r.st.store.Pending()) != 0 {
			t.Errorf("left for recovery: %v", r.st.store.Pending())
		}
		// And just after a press (starting, or barely recording).
		r2 := newRig(t, rigOpts{state: r.state})
		r2.start()
		r2.load.set(1600)
		r2.waitFor("a stable weight", func(s api.Status) bool { return s.WeightState == "stable" && s.WeightG > 1500 })
		r2.press(session.PressShort)
		r2.waitFor("the session", func(s api.Status) bool { return s.SessionID != "" })
		r2.stop()
		ids, _ := filepath.Glob(filepath.Join(r.state, evidence.SessionsDir, "0*"))
		if len(ids) != 2 {
			t.Fatalf("bundles: %v", ids)
		}
		if m := r2.sealed(filepath.Base(ids[1])); m.Interrupted || m.StopReason != result.StopShutdown {
			t.Errorf("stopped while starting: interrupted %v, stop_reason %q", m.Interrupted, m.StopReason)
		}
	})
}

// TestLabelTrackingToRegistry: the label still's barcode gives the tracking
// number (chosen once, by the label goroutine), which finds the registered
// parcel whose label weight and items make the verdict; nothing typed.
func TestLabelTrackingToRegistry(t *testing.T) {
	t.Parallel()
	// Not a valid S10 number: only the registry makes it the tracking number.
	const tracking = "LB123456789CN"
	if label.MatchCarrier(tracking) != "" {
		t.Fatalf("%s matches a carrier pattern", tracking)
	}
	jpeg, err := cameratest.LabelJPEG(tracking, 320, 240, 80)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{frames: [][]byte{jpeg}, w: 320, h: 240})
		r.start()
		if err := r.st.reg.AddParcel(context.Background(), registry.Parcel{Tracking: tracking, OrderRef: "KB-7", LabelG: ptr(2350), LabelResolutionG: 10,
			Items: []registry.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}}}); err != nil {
			t.Fatal(err)
		}
		id := r.startRecording(1840)
		st := r.waitFor("the tracking number from the label", func(s api.Status) bool { return s.Entries.Tracking != "" })
		if st.Entries.Tracking != tracking {
			t.Errorf("entries' tracking %q, want %q", st.Entries.Tracking, tracking)
		}
		r.press(session.PressLong)
		res := r.result(id)
		if res.Tracking != tracking || res.OrderRef != "KB-7" || res.LabelG == nil || *res.LabelG != 2350 || res.Verdict != result.VerdictUnderweight {
			t.Errorf("result: tracking %q order %q label %v verdict %s", res.Tracking, res.OrderRef, res.LabelG, res.Verdict)
		}
		data, err := os.ReadFile(filepath.Join(r.state, res.Bundle, "label.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		g, err := label.DecodeLuma(data)
		if err != nil {
			t.Fatal(err)
		}
		if codes := label.Decode(g); len(codes) != 1 || codes[0].Text != tracking {
			t.Errorf("label.jpg decodes to %+v", codes)
		}
		r.stop()
	})
}

// TestRefusals: a start on a stale weight (the scale stopped answering),
// and a start when only protected evidence fills the disk, are refused
// with the reason, on the status, MQTT's error topic and the LED; nothing
// is recorded.
func TestRefusals(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOpts{store: evidence.Options{Retention: evidence.Retention{MinFreeBytes: math.MaxInt64}}})
		r.start()
		r.load.set(1200)
		r.waitFor("a stable weight", func(s api.Status) bool { return s.WeightState == "stable" })
		r.load.setFail(true)
		st := r.waitFor("the scale error", func(s api.Status) bool { return s.Scale.LastErr != "" })
		if st.LED != "error" || st.WeightState == "stable" {
			t.Errorf("scale failing: LED %q, weight state %q", st.LED, st.WeightState)
		}
		if err := r.st.command(context.Background(), session.Command{Kind: session.CmdStart, Source: "api"}); err == nil || !strings.Contains(err.Error(), "scale is not answering") {
			t.Errorf("start with the scale failing: %v", err)
		}
		r.load.setFail(false)
		r.waitFor("the scale back", func(s api.Status) bool { return s.Scale.LastErr == "" && s.WeightState == "stable" })

		r.press(session.PressShort)
		st = r.waitFor("the refusal", func(s api.Status) bool { return s.LastError != "" && !s.Recording && s.SessionState != "starting" })
		if !strings.Contains(st.LastError, "storage full of protected evidence") || st.LED != "error" {
			t.Errorf("last_error %q, LED %q", st.LastError, st.LED)
		}
		r.pub.mu.Lock()
		faults := strings.Join(r.pub.faults, "\n")
		r.pub.mu.Unlock()
		if !strings.Contains(faults, "storage full") {
			t.Errorf("faults on MQTT: %q", faults)
		}
		if videos, _ := filepath.Glob(filepath.Join(r.state, evidence.SessionsDir, "*", "video-*.mkv")); len(videos) != 0 {
			t.Errorf("videos written despite the refusal: %v", videos)
		}
		r.stop()
	})
}

// TestStaleAnswersIgnored: answers for an earlier session — the recorder's
// start, its stop, a label still (and its tracking number), a seal — do
// not touch the current one.
func TestStaleAnswersIgnored(t *testing.T) {
	ss, err := session.New(session.ConfigFrom(config.Default().Session))
	if err != nil {
		t.Fatal(err)
	}
	s := &Station{log: slog.New(slog.DiscardHandler)}
	l := &loopState{s: s, ss: ss, label: time.NewTimer(time.Hour)}
	l.cur = &current{id: 2, tracking: ""}
	for _, e := range []event{
		startedEv{id: 1},
		stoppedEv{id: 1},
		labelEv{id: 1, label: labelResult{ok: true, tracking: "LX123456785CN"}},
		labelLateEv{id: 1},
		sealedEv{id: 1, res: result.Result{Bundle: "x"}},
	} {
		if ev, _ := l.translate(e); ev != nil {
			t.Errorf("%T for session 1 became %T", e, ev)
		}
	}
	if c := l.cur; len(c.parts) != 0 || c.still != nil || c.tracking != "" {
		t.Errorf("session 2 changed by session 1's answers: %+v", c)
	}
	if ev, _ := l.translate(startedEv{id: 2}); ev != (session.RecordingStarted{Session: 2}) {
		t.Errorf("the current session's start: %v", ev)
	}
}
