package station

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/label"
	"weighin/internal/publish"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/session"
	"weighin/internal/trace"
	"weighin/internal/verdict"
	"weighin/internal/weighing"
)

// event is anything sent to loop.
type event any

// sampleEv is one conversion and what the pipeline made of it.
type sampleEv struct {
	raw     int32
	reading weighing.Reading
}

// pressEv is a button press (real or virtual).
type pressEv struct{ kind session.PressKind }

// cmdEv is a command from MQTT or the API; reply gets nil or the refusal.
type cmdEv struct {
	cmd   session.Command
	reply chan error
}

// startedEv is the recorder's answer to a start.
type startedEv struct {
	id  uint64
	err error
}

// sealedEv is a seal attempt's answer, with what it received from the
// recording and the label goroutine for the next attempt.
type sealedEv struct {
	id  uint64
	res result.Result
	got sealInputs
	err error
}

// scaleFaultEv: the HX711 stopped answering; the next sampleEv ends it.
type scaleFaultEv struct{ err error }

// pingEv asks loop to show it is alive, for the watchdog.
type pingEv struct{ reply chan struct{} }

// trackingEv is a tracking number decoded from the label still.
type trackingEv struct {
	id       uint64
	tracking string
}

// current is the session in progress, owned by loop: it exists exactly
// while the session machine is in a session (starting, recording,
// sealing). A seal attempt gets a copy.
type current struct {
	id      uint64
	es      *evidence.Session // nil when the bundle could not be opened
	start   time.Time
	t0      time.Duration // scale time of the start, for weight.csv
	weightF *os.File
	weightW *trace.Writer
	// label delivers the label still once; stop, made when the recording
	// is stopped, delivers its end once.
	label chan labelResult
	stop  chan stopResult
	// got is what earlier seal attempts received from label and stop.
	got sealInputs
	// sealing is set while a seal attempt runs.
	sealing bool
	preview verdict.Outcome
	parcel  *registry.Parcel
}

// sealInputs are the recording's end and the label still, once received.
type sealInputs struct {
	stats *stopResult
	still *labelResult
}

type stopResult struct {
	stats recorder.Stats
	err   error
}

type labelResult struct {
	still    label.Still
	warnings []label.Warning
	ok       bool
}

func (s *Station) send(ctx context.Context, ev event) {
	select {
	case s.events <- ev:
	case <-ctx.Done():
	case <-s.loopDone:
	}
}

// shutdownTimeout bounds the seal of a recording in progress when weighd
// is stopped; systemd's TimeoutStopSec (20 s) must leave room for it.
const shutdownTimeout = 15 * time.Second

// loop owns the session state machine.
func (s *Station) loop(ctx context.Context) error {
	ss, err := session.New(session.ConfigFrom(s.cfg.Session))
	if err != nil {
		return err
	}
	params := verdict.ParamsFrom(s.cfg.Verdict)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer close(s.loopDone)
	var cur *current
	var pending []chan error // replies waiting on the current event's refusals
	var lastReading weighing.Reading
	var evalParcel *registry.Parcel
	var evalOut verdict.Outcome
	var scaleErr error // the HX711 is not answering

	for {
		var ev session.Event
		var reply chan error
		var e event
		select {
		case <-ctx.Done():
			s.shutdown(cur, ss)
			return nil
		case <-timer.C:
			e = session.Tick{}
		case e = <-s.events:
		}
		// The time of the event, not of the previous one: a Tick must see
		// the deadline it was armed for.
		now := time.Now()
		switch e := e.(type) {
		case session.Tick:
			ev = e
		case scaleFaultEv:
			scaleErr = e.err
			continue
		case pingEv:
			e.reply <- struct{}{}
			continue
		case sampleEv:
			scaleErr = nil
			lastReading = e.reading
			s.noteReading(e.reading)
			if cur != nil && cur.weightW != nil {
				_ = cur.weightW.Write(trace.Record{
					Sample: trace.Sample{T: e.reading.T - cur.t0, Raw: e.raw},
					Grams:  e.reading.Grams, Stable: e.reading.Stable,
				})
			}
			if ss.Phase == session.PhaseRecording {
				select { // the subtitle track; skipping one is harmless
				case s.video <- videoCmd{info: &recInfo{wall: now, grams: e.reading.Grams, stable: e.reading.Stable, order: ss.Entries.OrderRef}}:
				default:
				}
			}
			ws, ok := weightState(e.reading.State)
			if !ok {
				continue
			}
			ev = session.Reading{Grams: e.reading.Grams, State: ws}
		case pressEv:
			if e.kind == session.PressShort && scaleErr != nil && startsSession(ss.Phase) {
				reason := scaleFaultReason(scaleErr)
				s.log.Warn("refused", "command", "start", "source", "button", "reason", reason)
				s.pub.PublishFault("start", reason)
				continue
			}
			ev = session.Press{Kind: e.kind}
		case cmdEv:
			if e.cmd.Kind == session.CmdStart && scaleErr != nil && startsSession(ss.Phase) {
				e.reply <- fmt.Errorf("start refused: %s", scaleFaultReason(scaleErr))
				continue
			}
			ev, reply = e.cmd, e.reply
		case startedEv:
			if cur == nil || cur.id != e.id {
				continue
			}
			if e.err != nil {
				ev = session.RecordingFailed{Session: e.id, Reason: e.err.Error()}
			} else {
				ev = session.RecordingStarted{Session: e.id}
				s.setError("")
			}
		case sealedEv:
			if cur != nil && cur.id == e.id {
				cur.sealing, cur.got = false, e.got
			}
			if e.err != nil {
				ev = session.SealFailed{Session: e.id, Reason: e.err.Error()}
			} else {
				ev = session.Sealed{Session: e.id, Bundle: e.res.Bundle}
				s.setLastResult(e.res)
				s.setError("") // a failed attempt's fault is over
			}
		case trackingEv:
			if cur == nil || cur.id != e.id || ss.Entries.Tracking != "" {
				continue
			}
			ev = session.Command{Kind: session.CmdTracking, Text: e.tracking, Source: "barcode"}
		default:
			continue
		}

		prev := ss
		var effects []session.Effect
		ss, effects = session.Next(ss, ev, now)
		if reply != nil {
			pending = append(pending, reply)
		}
		for _, eff := range effects {
			switch eff := eff.(type) {
			case session.Timer:
				timer.Reset(max(time.Until(eff.At), 0))
			case session.PublishState:
				// state goes out below
			case session.Refuse:
				s.log.Info("refused", "command", eff.Command, "source", eff.Source, "reason", eff.Reason)
				err := fmt.Errorf("%s refused: %s", eff.Command, eff.Reason)
				for _, r := range pending {
					r <- err
				}
				pending = nil
			case session.Fault:
				s.log.Warn("session fault", "session", eff.Session, "reason", eff.Reason)
				s.setError(eff.Reason)
				s.pub.PublishFault("session", eff.Reason)
			case session.Tare:
				if err := s.tare(ctx); err != nil {
					s.log.Warn("tare failed", "err", err)
					s.setError("tare: " + err.Error())
				}
			case session.FreezeWeight:
				s.log.Info("weigh-in frozen", "session", eff.Session, "grams", eff.Weighin.Grams, "stable", eff.Weighin.Stable)
			case session.CaptureLabel:
				// started with the recording below: the label window opens
				// at the press.
			case session.Evaluate:
				// It comes before StartRecording in the start's batch, and
				// again whenever an entry changes during the recording.
				evalParcel = s.lookupParcel(ctx, eff.Entries)
				out, err := s.evaluate(params, eff.Weighin, eff.Entries, evalParcel)
				if err != nil {
					s.log.Warn("verdict", "err", err)
					break
				}
				evalOut = out
				if cur != nil && cur.id == eff.Session {
					cur.parcel, cur.preview = evalParcel, evalOut
					if cur.es != nil {
						_ = cur.es.Checkpoint(s.partialResult(cur, eff.Weighin, eff.Entries, cur.start, clockSynced()))
					}
				}
			case session.StartRecording:
				cur = s.begin(ctx, eff, ss, lastReading, evalParcel, evalOut)
			case session.Mark:
				if cur != nil && cur.id == eff.Session {
					s.video <- videoCmd{mark: &markCmd{at: eff.At, label: eff.Label}}
				}
			case session.StopRecording:
				s.log.Info("recording stopping", "session", eff.Session, "reason", eff.Reason)
				if cur != nil && cur.id == eff.Session && cur.stop == nil {
					s.stopRecording(cur)
				}
			case session.Seal:
				if cur != nil && cur.id == eff.Session && !cur.sealing {
					cur.sealing = true
					go s.seal(ctx, *cur, ss.Weighin, ss.Entries, params, eff.Attempt)
				}
			}
		}
		for _, r := range pending {
			r <- nil
		}
		pending = nil
		if ss.Phase != prev.Phase {
			s.log.Debug("phase", "from", prev.Phase, "to", ss.Phase)
		}
		if cur != nil && !ss.Phase.InSession() {
			s.leave(cur)
			cur = nil
		}
		s.publishState(ss, cur)
	}
}

// startsSession reports whether a short press or a start in phase p
// begins a session.
func startsSession(p session.Phase) bool {
	return p == session.PhaseIdle || p == session.PhasePresent || p == session.PhaseStable
}

func weightState(st weighing.State) (session.WeightState, bool) {
	switch st {
	case weighing.Stable:
		return session.WeightStable, true
	case weighing.Empty:
		return session.WeightEmpty, true
	case weighing.Unstable:
		return session.WeightUnstable, true
	}
	return 0, false
}

// begin opens the bundle, the weight log and the recording for a session.
func (s *Station) begin(ctx context.Context, eff session.StartRecording, ss session.State, r weighing.Reading, p *registry.Parcel, preview verdict.Outcome) *current {
	synced := clockSynced()
	cur := &current{id: eff.Session, start: eff.SessionStart, t0: r.T, label: make(chan labelResult, 1), parcel: p, preview: preview}
	fail := func(err error) *current {
		s.log.Error("cannot start recording", "err", err)
		go s.send(ctx, startedEv{id: eff.Session, err: err})
		return cur
	}
	tracking := ss.Entries.Tracking
	if tracking == "" && p != nil {
		tracking = p.Tracking
	}
	es, err := s.store.Begin(eff.SessionStart, synced, tracking)
	if err != nil {
		return fail(err) // ErrNoSpace says what to do
	}
	cur.es = es
	f, err := os.OpenFile(filepath.Join(es.Dir(), "weight.csv"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o640)
	if err != nil {
		return fail(err)
	}
	cur.weightF, cur.weightW = f, trace.NewWriter(f)
	_ = es.Checkpoint(s.partialResult(cur, ss.Weighin, ss.Entries, eff.SessionStart, synced))
	s.labelCtl <- labelCmd{start: &labelStart{id: cur.id, at: eff.SessionStart, out: cur.label}}
	s.video <- videoCmd{start: &startCmd{id: cur.id, dir: es.Dir()}}
	s.log.Info("recording", "session", es.ID(), "dir", es.Dir())
	return cur
}

// stopRecording ends cur's recording, label still and weight log.
func (s *Station) stopRecording(cur *current) {
	cur.stop = make(chan stopResult, 1)
	s.video <- videoCmd{stop: cur.stop}
	s.labelCtl <- labelCmd{finish: true}
	s.closeWeightLog(cur)
}

// leave ends cur after the session machine left the session. A bundle
// left unsealed (the recording did not start, or every seal attempt
// failed) is sealed as interrupted now, so that the next session can
// begin (the store keeps one session open) and its evidence is published.
func (s *Station) leave(cur *current) {
	s.closeWeightLog(cur)
	if cur.es == nil {
		return
	}
	recovered, err := s.store.Recover(analyzer(s.cfg.Recorder.GapThreshold))
	if err != nil {
		s.log.Error("sealing an abandoned session as interrupted failed; it is retried at the next start", "err", err)
	}
	for _, r := range recovered {
		s.log.Warn("sealed an abandoned session as interrupted", "session", r.SessionID, "frames", r.Continuity.Frames)
		s.setLastResult(r)
		if err := s.reg.IndexSession(context.Background(), r); err != nil {
			s.log.Warn("index session", "session", r.SessionID, "err", err)
		}
		if err := s.pub.PublishResult(r); err != nil {
			s.log.Error("queue result for MQTT", "session", r.SessionID, "err", err)
		}
	}
}

func (s *Station) closeWeightLog(cur *current) {
	if cur.weightW != nil {
		_ = cur.weightW.Flush()
		_ = cur.weightF.Sync()
		_ = cur.weightF.Close()
		cur.weightW, cur.weightF = nil, nil
	}
}

func (s *Station) lookupParcel(ctx context.Context, e session.Entries) *registry.Parcel {
	if e.Tracking != "" {
		if p, err := s.reg.GetByTracking(ctx, e.Tracking); err == nil {
			return &p
		}
	}
	if e.OrderRef != "" {
		ps, err := s.reg.ListParcels(ctx)
		if err == nil {
			for i := range ps {
				if ps[i].OrderRef == e.OrderRef {
					return &ps[i]
				}
			}
		}
	}
	return nil
}

func (s *Station) evaluate(params verdict.Params, w session.Weighin, e session.Entries, p *registry.Parcel) (verdict.Outcome, error) {
	in := verdict.Input{
		MeasuredG: w.Grams, MeasuredStable: w.Stable,
		ExteriorCondition: e.ExteriorCondition, IssueType: e.IssueType,
	}
	if e.HasTier {
		t := e.Tier
		in.TierOverride = &t
	}
	if e.HasLabelG {
		g := e.LabelG
		in.LabelG = &g
	}
	if p != nil {
		if in.LabelG == nil && p.LabelG != nil {
			g := *p.LabelG
			in.LabelG = &g
		}
		if p.LabelResolutionG > 0 {
			r := p.LabelResolutionG
			in.LabelResolutionG = &r
		}
		in.Items = append(in.Items, p.Items...)
	}
	return verdict.Evaluate(params, in)
}

// partialResult is what is known of a session before it is sealed.
func (s *Station) partialResult(cur *current, w session.Weighin, e session.Entries, start time.Time, synced bool) result.Result {
	res := result.Result{
		Schema: result.Schema, SessionID: cur.es.ID(), Seq: cur.es.Seq(), StationID: s.stationID,
		StartedAt: start.UTC().Format(time.RFC3339), ClockSynced: synced,
		Tracking: e.Tracking, OrderRef: e.OrderRef,
		MeasuredG: w.Grams, MeasuredStable: w.Stable,
		ExteriorCondition: e.ExteriorCondition, IssueType: e.IssueType,
		Verdict: result.VerdictNoLabelWeight, Marks: []result.Mark{}, MissingCandidates: []result.MissingCandidate{},
	}
	if cur.parcel != nil {
		if res.Tracking == "" {
			res.Tracking = cur.parcel.Tracking
		}
		if res.OrderRef == "" {
			res.OrderRef = cur.parcel.OrderRef
		}
	}
	if cur.preview.Verdict != "" {
		cur.preview.Apply(&res)
	}
	return res
}

// seal is one seal attempt, in its own goroutine, on a copy of the
// session: it answers loop with a sealedEv. Sealing is not cut short when
// weighd is stopped: loop's shutdown waits for it, within its bound.
func (s *Station) seal(ctx context.Context, c current, w session.Weighin, e session.Entries, params verdict.Params, attempt int) {
	res, got, err := s.seal1(context.WithoutCancel(ctx), c, w, e, params)
	if err != nil {
		s.log.Error("seal failed", "session", c.es.ID(), "attempt", attempt, "err", err)
	}
	s.send(context.Background(), sealedEv{id: c.id, res: res, got: got, err: err})
}

// seal1 waits for the recording's end and the label still (unless an
// earlier attempt received them, in c.got), writes the remaining files,
// seals the bundle, indexes and publishes the result. It returns what it
// received, for a retry.
func (s *Station) seal1(ctx context.Context, c current, w session.Weighin, e session.Entries, params verdict.Params) (result.Result, sealInputs, error) {
	got := c.got
	if got.stats == nil {
		select {
		case r := <-c.stop:
			got.stats = &r
		case <-ctx.Done():
			return result.Result{}, got, fmt.Errorf("waiting for the recording to stop: %w", ctx.Err())
		}
	}
	if got.still == nil {
		t := time.NewTimer(labelWait)
		select {
		case l := <-c.label:
			got.still = &l
		case <-t.C:
			s.log.Warn("no label still came", "session", c.es.ID())
			got.still = &labelResult{}
		case <-ctx.Done():
			t.Stop()
			return result.Result{}, got, fmt.Errorf("waiting for the label still: %w", ctx.Err())
		}
		t.Stop()
	}
	res, err := s.sealWith(ctx, &c, got, w, e, params)
	return res, got, err
}

// labelWait bounds the wait for the label still once the recording ended.
const labelWait = 5 * time.Second

func (s *Station) sealWith(ctx context.Context, c *current, got sealInputs, w session.Weighin, e session.Entries, params verdict.Params) (result.Result, error) {
	stats, still := got.stats, got.still
	res := s.partialResult(c, w, e, c.start, clockSynced())
	if errors.Is(stats.err, context.DeadlineExceeded) || errors.Is(stats.err, context.Canceled) {
		// The recorder has not finished its files: sealing now would hash a
		// file still being written. Recovery seals it at the next start.
		return res, fmt.Errorf("the recording is not finished: %w", stats.err)
	}
	if stats.err != nil {
		s.log.Warn("recording ended on an error", "session", c.es.ID(), "err", stats.err)
	}
	if still.ok && e.Tracking == "" {
		if t, err := label.ChooseTracking(still.still.Barcodes, func(n string) (bool, error) { return s.reg.Has(ctx, n) }); err == nil {
			res.Tracking = t.Number
			e.Tracking = t.Number
		}
	}
	parcel := s.lookupParcel(ctx, e)
	if parcel != nil && res.OrderRef == "" {
		res.OrderRef = parcel.OrderRef
	}
	out, err := s.evaluate(params, w, e, parcel)
	if err != nil {
		return res, fmt.Errorf("verdict: %w", err)
	}
	out.Apply(&res)
	res.Continuity = stats.stats.Continuity()
	res.Marks = stats.stats.ResultMarks()
	if res.Marks == nil {
		res.Marks = []result.Mark{}
	}
	msg, err := verdict.Compose(res, verdict.DisputeOptions{Solution: verdict.Solution(e.Solution)})
	if err != nil {
		return res, fmt.Errorf("dispute: %w", err)
	}
	res.Dispute = msg.String()

	var files []evidence.FileEntry
	for _, f := range stats.stats.Files {
		files = append(files, evidence.FileEntry{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	if err := writeFileSync(filepath.Join(c.es.Dir(), "dispute.txt"), []byte(res.Dispute+"\n")); err != nil {
		return res, err
	}
	var jpeg []byte
	if still.ok {
		jpeg = still.still.JPEG
		if err := writeFileSync(filepath.Join(c.es.Dir(), "label.jpg"), jpeg); err != nil {
			return res, err
		}
	}
	sealed, err := c.es.Seal(res, files...)
	if err != nil {
		return res, err
	}
	s.log.Info("sealed", "session", sealed.SessionID, "verdict", sealed.Verdict, "tier", sealed.Tier,
		"measured_g", sealed.MeasuredG, "frames", sealed.Continuity.Frames, "bundle", sealed.Bundle)
	if err := s.reg.IndexSession(ctx, sealed); err != nil {
		s.log.Warn("index session", "session", sealed.SessionID, "err", err)
	}
	if err := s.pub.PublishResult(sealed); err != nil {
		s.log.Error("queue result for MQTT", "session", sealed.SessionID, "err", err)
	}
	if jpeg != nil {
		if err := s.pub.PublishLabel(jpeg); err != nil {
			s.log.Warn("publish label still", "err", err)
		}
	}
	return sealed, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shutdown ends a session in progress cleanly when weighd is stopped,
// within shutdownTimeout: a seal attempt under way is waited for; else the
// recording is stopped (if it still runs) and the bundle sealed. The
// camera, recorder and label goroutines run until loop has returned. What
// does not finish in time is sealed as interrupted at the next start.
func (s *Station) shutdown(cur *current, ss session.State) {
	if cur == nil || cur.es == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	s.log.Info("stopping: sealing the session in progress", "session", cur.es.ID(), "phase", ss.Phase)
	for cur.sealing {
		select {
		case ev := <-s.events:
			switch e := ev.(type) {
			case sealedEv:
				if e.id != cur.id {
					break
				}
				if e.err == nil {
					s.setLastResult(e.res)
					return
				}
				cur.sealing, cur.got = false, e.got
			case cmdEv:
				e.reply <- errors.New("weighd is stopping")
			}
		case <-ctx.Done():
			s.log.Error("the seal under way did not finish in time; the session is sealed interrupted at the next start", "session", cur.es.ID())
			return
		}
	}
	if cur.stop == nil {
		s.stopRecording(cur)
	}
	res, _, err := s.seal1(ctx, *cur, ss.Weighin, ss.Entries, verdict.ParamsFrom(s.cfg.Verdict))
	if err != nil {
		s.log.Error("seal at shutdown failed; the session is sealed interrupted at the next start", "session", cur.es.ID(), "err", err)
		return
	}
	s.setLastResult(res)
}

// mqttCommand is the publisher's Handler.
func (s *Station) mqttCommand(ctx context.Context, c publish.Command) error {
	if ok, err := s.direct(ctx, c); ok {
		return err
	}
	return s.command(ctx, sessionCommand(c, "mqtt"))
}

// sessionCommand turns a command checked by publish.ParseCommand (MQTT and
// the API use the same strict parser) into the session's; issue types go
// into the verdict's canonical form ("missing item" → missing_item).
func sessionCommand(c publish.Command, source string) session.Command {
	sc := session.Command{Kind: session.CommandKind(c.Name), Text: c.Text, Grams: c.Grams, Source: source}
	if sc.Kind == session.CmdIssueType {
		if v, err := verdict.ParseIssueType(c.Text); err == nil {
			sc.Text = v
		}
	}
	return sc
}

// command hands a command to loop and waits for its verdict.
func (s *Station) command(ctx context.Context, c session.Command) error {
	reply := make(chan error, 1)
	select {
	case s.events <- cmdEv{cmd: c, reply: reply}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
