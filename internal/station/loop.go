package station

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/label"
	"weighin/internal/publish"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/session"
	"weighin/internal/steps"
	"weighin/internal/trace"
	"weighin/internal/verdict"
	"weighin/internal/vocab"
	"weighin/internal/weighing"
)

// event is anything sent to loop on Station.events: by the scale, the
// button, the API and MQTT, the watchdog. The answers of the video, label
// and seal goroutines come instead on channels the session owns (current),
// each written once, so no goroutine ever waits for loop to answer it.
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

// scaleFaultEv: the HX711 stopped answering; the next sampleEv ends it.
type scaleFaultEv struct{ err error }

// pingEv asks loop to show it is alive, for the watchdog.
type pingEv struct{ reply chan struct{} }

// The session's answers, as loop receives them.
type (
	startedEv struct {
		id  uint64
		err error
	}
	stoppedEv struct {
		id   uint64
		stop stopResult
	}
	labelEv struct {
		id    uint64
		label labelResult
	}
	sealedEv struct {
		id  uint64
		res result.Result
		err error
	}
	// labelLateEv: the label still did not come within labelWait of the
	// recording's end.
	labelLateEv struct{ id uint64 }
	// shutdownEv: weighd is stopping.
	shutdownEv struct{}
	// writeFailedEv: the recorder could not write the recording any more.
	writeFailedEv struct{ err error }
)

type stopResult struct {
	stats recorder.Stats
	err   error
}

// labelResult is the label still of a session and the tracking number the
// label goroutine chose from its barcodes (label.ChooseTracking, once).
type labelResult struct {
	still    label.Still
	tracking string
	// offer: no carrier pattern knew the label's codes; this well-formed
	// one is offered to the buyer for confirmation (label.OfferTracking).
	offer   string
	ok      bool
	written bool // label.jpg is in the bundle already (gotLabel)
}

// labelRead is how the label was seen, for the manifest's label_read: a
// tracking number decoded from its barcode, the buyer's confirmation of
// the code read from it, or not read ("").
func labelRead(r *labelResult, confirmed bool) string {
	switch {
	case r == nil || !r.ok:
		return ""
	case confirmed:
		return result.LabelReadBuyer
	case len(r.still.Barcodes) > 0:
		return result.LabelReadBarcode
	}
	return ""
}

// current is the session in progress, owned by loop: it exists exactly
// while the session machine is in a session (starting, recording,
// sealing). It holds everything the sealer needs; a seal attempt gets a
// finished copy (sealInput).
type current struct {
	id     uint64
	es     *evidence.Session // nil when the bundle could not be opened
	start  time.Time
	synced bool
	pressT time.Duration // scale time of the start (the weigh-in's reading)
	wlog   *weightLog    // weight.csv, nil once closed

	// Answers, each written once (capacity 1): the recorder's start and
	// stop, the label still, the running seal attempt's result.
	started chan error
	stops   []chan stopResult // each part's stop asked for, answers to come in order
	label   chan labelResult
	sealed  chan sealedEv // nil while no attempt runs

	// The recording's parts (issue 14: an inactivity stop, then a press
	// within session.resume_grace): each part's origin as the video
	// goroutine filled it, and its end once it came. recStopped: the part
	// under way was stopped.
	origins    []*videoOrigin
	parts      []stopResult
	recStopped bool

	still     *labelResult // the label still, once it came
	labelDue  time.Time    // after the stop: the latest the still may come
	sealAsked int          // the attempt the session machine asked for, 0 none
	sealRun   int          // the attempt running or last run

	// tracking is the number read from the label (empty: none, or the
	// buyer typed one); parcel and preview follow the latest entries.
	// offer is a code read from the label no pattern knew, until the
	// buyer confirms it (then it is the tracking, and confirmed is set).
	tracking  string
	offer     string
	confirmed bool
	parcel    *registry.Parcel
	preview   verdict.Outcome

	// The unpacking (unpack.go): where video time 0 lies (filled in by the
	// video goroutine before it answers started), the step detector fed
	// while recording, the weigh-in's check at its freeze and its id.
	origin   *videoOrigin
	videoT0  time.Time
	det      *steps.Detector
	live     steps.Live
	check    weighinCheck
	weightID string
}

// shutdownTimeout bounds the seal of a recording in progress when weighd
// is stopped; systemd's TimeoutStopSec (20 s) must leave room for it.
const shutdownTimeout = 15 * time.Second

// labelWait bounds the wait for the label still once the recording ended.
const labelWait = 5 * time.Second

// loopState is loop's: the session machine, the session in progress and
// what the effects carry between events.
type loopState struct {
	s      *Station
	ctx    context.Context // for I/O that must finish even while stopping
	ss     session.State
	cur    *current
	params verdict.Params
	last   weighing.Reading
	lastAt time.Time // when last came
	// recent are the readings of the pre-roll (and a second more), the
	// first rows of the next session's weight.csv.
	recent recentReadings
	// haveReading: a reading came since the start.
	haveReading bool
	scaleErr    error // the HX711 is not answering
	// frozen is the check of the latest weigh-in (FreezeWeight), until
	// begin hands it to the session.
	frozen   weighinCheck
	stopping bool
	timer    *time.Timer // the session machine's one timer
	label    *time.Timer // labelDue
	pending  []chan error
	// startReply is the start command's reply, held until the recorder
	// answered (a start that could not record is refused to its sender).
	startReply chan error
	// writeErr: a recording failed to be written (a full disk); no session
	// starts until the seal reserve could be made again (reserve.go).
	writeErr error
}

// loop owns the session. Each turn it takes one input (next), translates
// it into at most one session event (translate), runs the machine and
// carries out the effects (apply). It returns when ctx has ended and the
// session in progress is sealed (or after shutdownTimeout).
func (s *Station) loop(ctx context.Context) error {
	defer close(s.loopDone)
	ss, err := session.New(session.ConfigFrom(s.cfg.Session))
	if err != nil {
		return err
	}
	l := &loopState{s: s, ctx: context.WithoutCancel(ctx), ss: ss, params: verdict.ParamsFrom(s.cfg.Verdict),
		timer: time.NewTimer(time.Hour), label: time.NewTimer(time.Hour),
		recent: recentReadings{span: s.cfg.Recorder.PreRoll + time.Second}}
	l.timer.Stop()
	l.label.Stop()
	var deadline <-chan time.Time
	done := ctx.Done()
	var failures <-chan error
	if s.rec != nil {
		failures = s.rec.Failures()
	}
	for {
		var e event
		cur := l.cur
		var started <-chan error
		var stopped <-chan stopResult
		var label <-chan labelResult
		var sealed <-chan sealedEv
		if cur != nil {
			started, label, sealed = cur.started, cur.label, cur.sealed
			if len(cur.stops) > 0 {
				stopped = cur.stops[0]
			}
		}
		select {
		case <-done:
			done = nil
			deadline = time.After(shutdownTimeout)
			e = shutdownEv{}
		case <-deadline:
			s.log.Error("the session in progress was not sealed in time; it is sealed as interrupted at the next start", "session", l.sessionID())
			return nil
		case <-l.timer.C:
			e = session.Tick{}
		case <-l.label.C:
			if cur != nil {
				e = labelLateEv{id: cur.id}
			}
		case e = <-s.events:
		case err := <-started:
			e = startedEv{id: cur.id, err: err}
		case r := <-stopped:
			e = stoppedEv{id: cur.id, stop: r}
		case r := <-label:
			e = labelEv{id: cur.id, label: r}
		case r := <-sealed:
			e = r
		case err := <-failures:
			e = writeFailedEv{err: err}
		}
		if ev, reply := l.translate(e); ev != nil {
			l.apply(ev, reply)
		}
		l.trySeal()
		if l.stopping && l.cur == nil && !l.ss.Phase.InSession() && l.ss.Phase != session.PhaseWaiting {
			return nil
		}
	}
}

func (l *loopState) sessionID() string {
	if l.cur != nil && l.cur.es != nil {
		return l.cur.es.ID()
	}
	return ""
}

// translate turns one input into a session event (nil: none), keeping what
// the session owns up to date: the weight log, the recording's end, the
// label still and its tracking number. Answers for an earlier session are
// dropped.
func (l *loopState) translate(e event) (session.Event, chan error) {
	s, cur := l.s, l.cur
	now := time.Now()
	mine := func(id uint64) bool { return cur != nil && cur.id == id }
	switch e := e.(type) {
	case session.Tick:
		return e, nil
	case shutdownEv:
		l.stopping = true
		if l.ss.Phase.InSession() {
			s.log.Info("stopping: sealing the session in progress", "session", l.sessionID(), "phase", l.ss.Phase)
		}
		return session.Shutdown{}, nil
	case scaleFaultEv:
		l.scaleErr = e.err
	case writeFailedEv:
		l.writeErr = e.err
		if err := releaseReserve(s.cfg.StateDir); err != nil {
			s.log.Error("seal reserve", "err", err)
		}
		reason := l.storageFault()
		s.setError(reason)
		if cur != nil && l.ss.Phase == session.PhaseRecording {
			// The session machine stops the recording, seals what was
			// written and reports the fault (status, LED, <base>/error).
			return session.RecordingLost{Session: cur.id, Reason: e.err.Error()}, nil
		}
		s.live.PublishFault("recording", reason)
	case pingEv:
		e.reply <- struct{}{}
	case sampleEv:
		l.scaleErr = nil
		l.last, l.lastAt, l.haveReading = e.reading, now, true
		s.noteReading(e.reading)
		var firm []result.Step
		if l.ss.Phase == session.PhaseRecording && cur != nil {
			firm = cur.addStep(now, e.reading)
		}
		row := trace.Record{Sample: trace.Sample{T: e.reading.T, Raw: e.raw}, Grams: e.reading.Grams, Stable: e.reading.Stable}
		l.recent.add(row)
		if cur != nil && cur.wlog != nil {
			markStep(&row, firm)
			cur.wlog.add(row, now)
		}
		l.noteSteps(now, firm)
		// The subtitle track, recording or not: the pre-roll's frames keep
		// the weight and time of the moment they were captured. Skipping
		// one is harmless.
		select {
		case s.video <- videoCmd{info: &recInfo{wall: now, synced: s.synced, grams: e.reading.Grams, stable: e.reading.Stable, order: l.ss.Entries.OrderRef}}:
		default:
		}
		if e.reading.State.Decided() {
			return session.Reading{Grams: e.reading.Grams, State: e.reading.State}, nil
		}
	case pressEv:
		s.auto.press(e.kind.String()) // the device triggers, refused start or not
		if reason := l.refuseStart(e.kind.Starts()); reason != "" {
			s.log.Warn("refused", "command", "start", "source", "button", "reason", reason)
			s.live.PublishFault("start", reason)
			return nil, nil
		}
		return session.Press{Kind: e.kind}, nil
	case cmdEv:
		if l.stopping {
			e.reply <- errors.New("weighd is stopping")
			return nil, nil
		}
		if reason := l.refuseStart(e.cmd.Kind == session.CmdStart); reason != "" {
			e.reply <- fmt.Errorf("start refused: %s", reason)
			return nil, nil
		}
		if e.cmd.Kind == cmdConfirmTracking {
			e.reply <- l.confirmTracking(e.cmd.Text)
			return nil, nil
		}
		return e.cmd, e.reply
	case startedEv:
		if !mine(e.id) {
			return nil, nil
		}
		if r := l.startReply; r != nil {
			l.startReply = nil
			if e.err != nil {
				r <- fmt.Errorf("start refused: recording did not start: %w", e.err)
			} else {
				r <- nil
			}
		}
		if e.err != nil {
			if len(cur.origins) > 1 { // a continuation that did not record: the parts before are sealed
				cur.origins, cur.recStopped = cur.origins[:len(cur.origins)-1], true
			}
			return session.RecordingFailed{Session: e.id, Reason: e.err.Error()}, nil
		}
		s.setError("")
		if len(cur.origins) <= 1 {
			l.recordingStarted(cur)
			s.auto.event(publish.Event{Type: publish.EventSessionStarted, SessionID: l.sessionID()})
		} else {
			s.log.Info("recording continued", "session", l.sessionID(), "part", len(cur.origins)-1)
		}
		return session.RecordingStarted{Session: e.id}, nil
	case stoppedEv:
		if mine(e.id) {
			cur.parts = append(cur.parts, e.stop)
			cur.stops = cur.stops[1:]
			if cur.still == nil {
				cur.labelDue = now.Add(labelWait)
				l.label.Reset(labelWait)
			}
		}
	case labelEv:
		if mine(e.id) && cur.still == nil {
			l.gotLabel(e.label)
		}
	case labelLateEv:
		if mine(e.id) && cur.still == nil {
			s.log.Warn("no label still came", "session", l.sessionID())
			l.gotLabel(labelResult{})
		}
	case sealedEv:
		if !mine(e.id) {
			return nil, nil
		}
		cur.sealed = nil
		if e.err != nil {
			return session.SealFailed{Session: e.id, Reason: e.err.Error()}, nil
		}
		s.setError(l.storageFault()) // a failed attempt's fault is over; a full disk is not
		return session.Sealed{Session: e.id, Bundle: e.res.Bundle}, nil
	}
	return nil, nil
}

// refuseStart says why a start (a short press, the start command) may not
// begin a session now: weighd is stopping, or the scale is not answering
// (the last weight is stale). "" when it may.
func (l *loopState) refuseStart(isStart bool) string {
	if !isStart || !startsSession(l.ss.Phase) {
		return ""
	}
	switch {
	case l.stopping:
		return "weighd is stopping"
	case l.scaleErr != nil:
		return scaleFaultReason(l.scaleErr)
	case l.writeErr != nil:
		if err := ensureReserve(l.s.cfg.StateDir); err != nil {
			return l.storageFault() + "; " + err.Error()
		}
		l.s.log.Info("storage has room again: sessions may start", "after", l.writeErr)
		l.writeErr = nil
		l.s.setError("")
	}
	return ""
}

// storageFault says why sessions are refused after a recording could not
// be written ("" when none failed).
func (l *loopState) storageFault() string {
	if l.writeErr == nil {
		return ""
	}
	return "storage: the recording could not be written (" + l.writeErr.Error() + "); free space in " + l.s.cfg.StateDir + " before the next session"
}

// gotLabel keeps the session's label still. Its tracking number, unless
// the buyer gave one, becomes the session's and re-evaluates the preview.
func (l *loopState) gotLabel(r labelResult) {
	cur := l.cur
	l.label.Stop()
	// Durable as soon as chosen: a power cut later in the recording keeps
	// the label still (the seal writes it only if this failed).
	if r.ok && cur.es != nil {
		if err := cur.es.WriteFile("label.jpg", r.still.JPEG); err != nil {
			l.s.log.Warn("label still not written yet; the seal writes it", "session", l.sessionID(), "err", err)
		} else {
			r.written = true
			l.s.log.Info("label still written", "session", l.sessionID(), "bytes", len(r.still.JPEG))
		}
	}
	cur.still = &r
	if r.tracking != "" && l.ss.Entries.Tracking == "" {
		cur.tracking = r.tracking
		l.s.log.Info("tracking number from the label", "session", l.sessionID(), "tracking", r.tracking)
		l.evaluate(l.ss.Weighin, l.ss.Entries)
	} else if r.offer != "" && l.ss.Entries.Tracking == "" {
		cur.offer = r.offer
		l.s.log.Info("code on the label offered for confirmation", "session", l.sessionID(), "code", r.offer)
	}
	if cur.es != nil {
		_ = cur.es.Checkpoint(l.s.sessionResult(cur, l.ss.Weighin, l.entries(l.ss.Entries)))
	}
	l.provisionalClaim()
	l.s.publishEntries(l.entries(l.ss.Entries), cur)
}

// provisionalClaim writes the claim as it stands into the open bundle,
// worded as interrupted: should the recording never finish (a power cut,
// a crash), the bundle still says what was seen and that it was cut. The
// seal, or recovery with the video's length, writes the final one.
func (l *loopState) provisionalClaim() {
	cur := l.cur
	if cur == nil || cur.es == nil {
		return
	}
	res := l.s.sessionResult(cur, l.ss.Weighin, l.entries(l.ss.Entries))
	res.Interrupted, res.StopReason = true, result.StopInterrupted
	msg, err := verdict.Compose(res, verdict.DisputeOptions{Solution: verdict.Solution(l.ss.Entries.Solution), Detail: res.Damage})
	if err != nil {
		l.s.log.Debug("no provisional claim", "session", l.sessionID(), "err", err)
		return
	}
	if err := cur.es.WriteFile("dispute.txt", []byte(msg.String()+"\n")); err != nil {
		l.s.log.Warn("provisional claim", "session", l.sessionID(), "err", err)
	}
}

// entries are the session's entries with the label's tracking number
// when the buyer gave none.
func (l *loopState) entries(e session.Entries) session.Entries {
	if e.Tracking == "" && l.cur != nil {
		e.Tracking = l.cur.tracking
	}
	return e
}

// apply runs the session machine on ev and carries out its effects.
func (l *loopState) apply(ev session.Event, reply chan error) {
	s := l.s
	prev := l.ss
	var effects []session.Effect
	l.ss, effects = session.Next(l.ss, ev, time.Now())
	if c, ok := ev.(session.Command); ok && reply != nil && c.Kind == session.CmdStart &&
		l.ss.Phase == session.PhaseStarting && prev.Phase != session.PhaseStarting {
		l.startReply, reply = reply, nil // answered with the recorder's answer (translate)
	}
	if reply != nil {
		l.pending = append(l.pending, reply)
	}
	for _, eff := range effects {
		switch eff := eff.(type) {
		case session.Timer:
			l.timer.Reset(max(time.Until(eff.At), 0))
		case session.PublishState, session.CaptureLabel:
			// state goes out below; the label window opens with the
			// recording (StartRecording).
		case session.Refuse:
			s.log.Info("refused", "command", eff.Command, "source", eff.Source, "reason", eff.Reason)
			err := fmt.Errorf("%s refused: %s", eff.Command, eff.Reason)
			for _, r := range l.pending {
				r <- err
			}
			l.pending = nil
		case session.Fault:
			s.log.Warn("session fault", "session", eff.Session, "reason", eff.Reason)
			s.setError(eff.Reason)
			s.live.PublishFault("session", eff.Reason)
		case session.Tare:
			if err := s.tare(l.ctx); err != nil {
				s.log.Warn("tare failed", "err", err)
				s.setError("tare: " + err.Error())
			}
		case session.FreezeWeight:
			l.frozen = l.checkWeighin(time.Now())
			s.log.Info("weigh-in frozen", "session", eff.Session, "grams", eff.Weighin.Grams, "stable", eff.Weighin.Stable,
				"status", l.frozen.status, "disturbed", l.frozen.disturbed, "camera_saw", l.frozen.known)
			if l.frozen.disturbed {
				s.log.Warn("motion on the platform during the weigh-in: the weight is not the unopened parcel's", "session", eff.Session)
			}
		case session.Evaluate:
			// Before StartRecording in the start's batch (cur is made
			// there), and again whenever an entry changes.
			if l.cur == nil {
				l.cur = &current{id: eff.Session}
			}
			if l.cur.id == eff.Session {
				l.evaluate(eff.Weighin, eff.Entries)
			}
		case session.StartRecording:
			l.begin(eff)
		case session.Mark:
			if l.cur != nil && l.cur.id == eff.Session {
				s.video <- videoCmd{mark: &markCmd{at: eff.At, label: eff.Label}}
			}
		case session.StopRecording:
			s.log.Info("recording stopping", "session", l.sessionID(), "reason", eff.Reason, "resumable", eff.Resumable)
			if l.cur != nil && l.cur.id == eff.Session {
				l.stopRecording(!eff.Resumable)
			}
		case session.ResumeRecording:
			if l.cur != nil && l.cur.id == eff.Session {
				l.resumeRecording(eff)
			}
		case session.AutoStopWarn:
			s.log.Info("no activity: the recording stops soon unless the weight changes or a mark comes", "session", l.sessionID(), "at", eff.At.Format(time.TimeOnly))
		case session.Seal:
			if l.cur != nil && l.cur.id == eff.Session {
				l.cur.sealAsked = eff.Attempt
				closeWeightLog(l.cur) // kept open through a pause
			}
		}
	}
	for _, r := range l.pending {
		r <- nil
	}
	l.pending = nil
	if l.ss.Phase != prev.Phase {
		s.log.Debug("phase", "from", prev.Phase, "to", l.ss.Phase)
	}
	if l.cur != nil && !l.ss.Phase.InSession() {
		l.leave()
	}
	s.publishState(l.ss, l.cur, l.entries(l.ss.Entries))
}

// evaluate finds the session's parcel and previews its verdict from the
// weigh-in and the entries (the label's tracking number included), and
// checkpoints what is known into the open bundle.
func (l *loopState) evaluate(w session.Weighin, e session.Entries) {
	cur := l.cur
	e = l.entries(e)
	cur.parcel = l.s.lookupParcel(l.ctx, e)
	out, err := evaluate(l.params, w, e, cur.parcel)
	if err != nil {
		l.s.log.Warn("verdict", "err", err)
		return
	}
	cur.preview = out
	if cur.es != nil {
		_ = cur.es.Checkpoint(l.s.sessionResult(cur, w, e))
	}
}

// startsSession reports whether a short press or a start in phase p
// begins a session.
func startsSession(p session.Phase) bool {
	return p == session.PhaseIdle || p == session.PhasePresent || p == session.PhaseStable
}

// begin opens the bundle, the weight log, the label window and the
// recording for the session Evaluate made.
func (l *loopState) begin(eff session.StartRecording) {
	s, cur := l.s, l.cur
	cur.start, cur.synced, cur.pressT = eff.SessionStart, clockSynced(), l.last.T
	cur.check, cur.origin = l.frozen, &videoOrigin{}
	l.frozen = weighinCheck{}
	cur.started = make(chan error, 1)
	cur.label = make(chan labelResult, 1)
	s.exports.pause() // exports never run while recording; leave resumes them
	fail := func(err error) {
		s.log.Error("cannot start recording", "err", err)
		cur.started <- err
	}
	// The label window opens first: the bundle's directory and fsyncs
	// below may take a while on a slow card, and the window starts at the
	// press.
	s.labelCtl <- labelCmd{start: &labelStart{at: eff.SessionStart, out: cur.label}}
	tracking := l.ss.Entries.Tracking
	if tracking == "" && cur.parcel != nil {
		tracking = cur.parcel.Tracking
	}
	es, err := s.store.Begin(eff.SessionStart, cur.synced, tracking)
	if err != nil {
		fail(err) // ErrNoSpace says what to do
		return
	}
	cur.es = es
	f, err := es.Create("weight.csv")
	if err != nil {
		fail(err)
		return
	}
	cur.wlog = newWeightLog(f, s.cfg.Recorder.SyncInterval, l.recent.all())
	_ = es.Checkpoint(s.sessionResult(cur, l.ss.Weighin, l.entries(l.ss.Entries)))
	l.provisionalClaim()
	cur.origins = []*videoOrigin{cur.origin}
	s.video <- videoCmd{start: &startCmd{dir: es.Dir(), reply: cur.started, origin: cur.origin}}
	s.log.Info("recording", "session", es.ID(), "dir", es.Dir())
}

// stopRecording ends the session's recording (the part under way), the
// label window and, with closeLog, the weight log (kept open through a
// pause, in which a continuation may come).
func (l *loopState) stopRecording(closeLog bool) {
	cur := l.cur
	if cur.recStopped || len(cur.origins) == 0 {
		return
	}
	cur.recStopped = true
	ch := make(chan stopResult, 1)
	cur.stops = append(cur.stops, ch)
	l.s.video <- videoCmd{stop: ch}
	l.s.labelCtl <- labelCmd{finish: true}
	if closeLog {
		closeWeightLog(cur)
	}
}

// resumeRecording continues the paused session into the next video file
// of its bundle; the recorder answers on a new started channel.
func (l *loopState) resumeRecording(eff session.ResumeRecording) {
	cur := l.cur
	if cur.es == nil {
		cur.started = make(chan error, 1)
		cur.started <- errors.New("no bundle was opened")
		return
	}
	o := &videoOrigin{}
	cur.origins = append(cur.origins, o)
	cur.recStopped = false
	cur.started = make(chan error, 1)
	l.s.log.Info("continuing the recording", "session", l.sessionID(), "part", eff.Part)
	l.s.video <- videoCmd{start: &startCmd{dir: cur.es.Dir(), reply: cur.started, origin: o, next: true}}
}

// recording is the session's recording as one: its parts' statistics
// added up in order (files, frames, gaps, marks, every error), each
// file's start on the session's time axis (seconds since video time 0),
// and the continuations.
func (cur *current) recording() (stopResult, []float64, []result.Resume) {
	var out stopResult
	var starts []float64
	var resumes []result.Resume
	var errs []error
	end := 0.0 // where the previous part ended on the axis
	for i, p := range cur.parts {
		at := 0.0
		if i > 0 && i < len(cur.origins) && len(cur.origins) > 0 {
			at = cur.origins[i].first.Sub(cur.origins[0].first).Seconds()
			file := ""
			if len(p.stats.Files) > 0 {
				file = p.stats.Files[0].Name
			}
			resumes = append(resumes, result.Resume{File: file, AtS: round3(at), PausedS: round3(max(at-end, 0))})
		}
		t := at
		for _, f := range p.stats.Files {
			starts = append(starts, t)
			t += f.Duration.Seconds()
		}
		end = t
		if p.err != nil {
			errs = append(errs, p.err)
		}
		out.stats.Append(p.stats)
	}
	out.err = errors.Join(errs...)
	return out, starts, resumes
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// confirmTracking is the buyer's confirmation of the code offered from the
// label (confirm_tracking; text "" confirms the offer, or must be it): it
// becomes the session's tracking number, and the label counts as read
// (label_read: buyer).
func (l *loopState) confirmTracking(text string) error {
	cur := l.cur
	switch {
	case cur == nil || !l.ss.Phase.InSession():
		return errors.New("confirm_tracking refused: no session is running")
	case l.ss.Phase == session.PhaseSealing:
		return errors.New("confirm_tracking refused: the session is being sealed; its entries are final")
	case cur.offer == "":
		return errors.New("confirm_tracking refused: no code from the label waits for confirmation")
	case text != "" && vocab.NormalizeTracking(text) != cur.offer:
		return fmt.Errorf("confirm_tracking refused: the code offered is %s, not %s", cur.offer, vocab.NormalizeTracking(text))
	case l.ss.Entries.Tracking != "" && vocab.NormalizeTracking(l.ss.Entries.Tracking) != cur.offer:
		return fmt.Errorf("confirm_tracking refused: the tracking number entered (%s) is another", l.ss.Entries.Tracking)
	}
	cur.tracking, cur.offer, cur.confirmed = cur.offer, "", true
	l.s.log.Info("tracking number confirmed by the buyer", "session", l.sessionID(), "tracking", cur.tracking)
	l.evaluate(l.ss.Weighin, l.ss.Entries)
	l.provisionalClaim()
	l.s.publishState(l.ss, cur, l.entries(l.ss.Entries))
	return nil
}

// trySeal starts the seal attempt the session machine asked for once the
// recording's end and the label still are in.
func (l *loopState) trySeal() {
	cur := l.cur
	if cur == nil || cur.sealAsked == cur.sealRun || cur.sealed != nil || !cur.recStopped || len(cur.stops) > 0 || len(cur.parts) < len(cur.origins) || cur.still == nil {
		return
	}
	cur.sealRun = cur.sealAsked
	cur.sealed = make(chan sealedEv, 1)
	in := sealInput{
		id: cur.id, es: cur.es, start: cur.start, synced: cur.synced, attempt: cur.sealRun,
		weighin: l.ss.Weighin, entries: l.entries(l.ss.Entries), parcel: cur.parcel,
		stop: l.ss.StopReason, still: *cur.still, params: l.params,
		check: cur.check, weightID: cur.weightID, confirmed: cur.confirmed,
	}
	in.stats, in.fileStarts, in.resumed = cur.recording()
	if cur.det != nil {
		d := cur.det.Result()
		in.det = &d
	}
	go l.s.sealer(l.ctx, in, cur.sealed)
}

// leave ends the session after the machine left it. A bundle left
// unsealed (the recording did not start, or every seal attempt failed) is
// sealed as interrupted now, so that the next session can begin (the store
// keeps one session open) and its evidence is published.
func (l *loopState) leave() {
	s, cur := l.s, l.cur
	l.cur = nil
	if r := l.startReply; r != nil {
		l.startReply = nil
		r <- errors.New("start refused: the session ended before its recording started")
	}
	s.exports.resume()
	l.label.Stop()
	closeWeightLog(cur)
	if cur.es == nil {
		return
	}
	// Answers still to come go into the session's channels, which nobody
	// reads any more: the goroutines answering never wait.
	s.recoverUnsealed("abandoned")
}

func closeWeightLog(cur *current) {
	if cur.wlog != nil {
		cur.wlog.close()
		cur.wlog = nil
	}
}

// recoverUnsealed seals every unsealed bundle as interrupted and delivers
// the results.
func (s *Station) recoverUnsealed(why string) {
	recovered, err := s.store.Recover(analyzer(s.cfg.Recorder.GapThreshold))
	if err != nil {
		s.log.Error("sealing an unsealed session as interrupted failed; it is retried at the next start", "why", why, "err", err)
	}
	for _, r := range recovered {
		s.deliver(context.Background(), r, "recovered ("+why+")", nil)
	}
}

// deliver is the one end of every session, whatever sealed it (the sealer,
// leave, start-up recovery): the result becomes the status' last result,
// is indexed and queued for MQTT (<base>/result and results), with the
// label still when there is one.
func (s *Station) deliver(ctx context.Context, r result.Result, how string, labelJPEG []byte) {
	s.log.Info("session result", "how", how, "session", r.SessionID, "stop_reason", r.StopReason,
		"verdict", r.Verdict, "tier", r.Tier, "measured_g", r.MeasuredG, "frames", r.Continuity.Frames, "bundle", r.Bundle)
	s.setLastResult(r)
	if err := s.reg.IndexSession(ctx, r); err != nil {
		s.log.Warn("index session", "session", r.SessionID, "err", err)
	}
	if err := s.results.PublishResult(r); err != nil {
		s.log.Error("queue result for MQTT", "session", r.SessionID, "err", err)
	}
	s.auto.sealed(r)
	s.stamp(r.Bundle, evidence.SumsFile)
	s.replicate(r.Bundle)
	s.exports.afterSeal(r) // the dispute pack of a session with a claim (pack.go)
	if labelJPEG != nil {
		if err := s.results.PublishLabel(labelJPEG); err != nil {
			s.log.Warn("publish label still", "err", err)
		}
	}
}

func (s *Station) lookupParcel(ctx context.Context, e session.Entries) *registry.Parcel {
	if e.Tracking != "" {
		if p, err := s.reg.GetByTracking(ctx, e.Tracking); err == nil {
			return &p
		}
	}
	if e.OrderRef != "" {
		if p, err := s.reg.GetByOrderRef(ctx, e.OrderRef); err == nil {
			return &p
		}
	}
	return nil
}

func evaluate(params verdict.Params, w session.Weighin, e session.Entries, p *registry.Parcel) (verdict.Outcome, error) {
	return verdict.Evaluate(params, verdictInput(w, e, p))
}

// verdictInput is the one place a session's weigh-in, entries and parcel
// become the verdict's input.
func verdictInput(w session.Weighin, e session.Entries, p *registry.Parcel) verdict.Input {
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
	return in
}

// sessionResult is what is known of a session before it is sealed, with
// the preview verdict: the checkpoint.
func (s *Station) sessionResult(cur *current, w session.Weighin, e session.Entries) result.Result {
	res := s.resultOf(cur.es, cur.start, cur.synced, w, e, cur.parcel)
	if cur.preview.Verdict != "" {
		cur.preview.Apply(&res)
	}
	applyWeighin(&res, cur.check, cur.weightID)
	res.LabelRead = labelRead(cur.still, cur.confirmed)
	return res
}

// resultOf is a session's result before any verdict: its identity,
// weigh-in, entries and parcel.
func (s *Station) resultOf(es *evidence.Session, start time.Time, synced bool, w session.Weighin, e session.Entries, p *registry.Parcel) result.Result {
	res := result.Result{
		Schema: result.Schema, SessionID: es.ID(), Seq: es.Seq(), StationID: s.stationID,
		StartedAt: start.UTC().Format(time.RFC3339), ClockSynced: synced,
		Tracking: e.Tracking, OrderRef: e.OrderRef,
		MeasuredG: w.Grams, MeasuredStable: w.Stable, LeftoverLoad: w.LeftoverLoad,
		ExteriorCondition: e.ExteriorCondition, IssueType: e.IssueType, Damage: e.Damage,
		Verdict: result.VerdictNoLabelWeight, Marks: []result.Mark{}, MissingCandidates: []result.MissingCandidate{},
		WeightAxis: result.WeightAxisVideo,
	}
	fillFromParcel(&res, p)
	return res
}

func fillFromParcel(res *result.Result, p *registry.Parcel) {
	if p == nil {
		return
	}
	if res.Tracking == "" {
		res.Tracking = p.Tracking
	}
	if res.OrderRef == "" {
		res.OrderRef = p.OrderRef
	}
}

// cmdConfirmTracking is confirm_tracking as loop receives it: the station's
// own (the label still is the station's), never the session machine's.
const cmdConfirmTracking = session.CommandKind(publish.CmdConfirmTracking)

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
	case <-s.loopDone:
		return errors.New("weighd is stopping")
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
