package station

import (
	"context"
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

// sealedEv is the sealer's answer.
type sealedEv struct {
	id  uint64
	res result.Result
	err error
}

// trackingEv is a tracking number decoded from the label still.
type trackingEv struct {
	id       uint64
	tracking string
}

// current is the session in progress, owned by loop.
type current struct {
	id      uint64
	es      *evidence.Session
	start   time.Time
	t0      time.Duration // scale time of the start, for weight.csv
	weightF *os.File
	weightW *trace.Writer
	// label delivers the label still once; stop delivers the recording's end.
	label   chan labelResult
	stop    chan stopResult
	stats   *stopResult
	still   *labelResult
	preview verdict.Outcome
	parcel  *registry.Parcel
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
	}
}

// loop owns the session state machine.
func (s *Station) loop(ctx context.Context) error {
	ss, err := session.New(session.ConfigFrom(s.cfg.Session))
	if err != nil {
		return err
	}
	params := verdict.ParamsFrom(s.cfg.Verdict)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var cur *current
	var pending []chan error // replies waiting on the current event's refusals
	var lastReading weighing.Reading
	var evalParcel *registry.Parcel
	var evalOut verdict.Outcome

	for {
		var ev session.Event
		var reply chan error
		now := time.Now()
		select {
		case <-ctx.Done():
			s.shutdown(cur, ss)
			return nil
		case <-timer.C:
			ev = session.Tick{}
		case e := <-s.events:
			switch e := e.(type) {
			case sampleEv:
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
				ev = session.Press{Kind: e.kind}
			case cmdEv:
				ev, reply = e.cmd, e.reply
			case startedEv:
				if cur == nil || cur.id != e.id {
					continue
				}
				if e.err != nil {
					ev = session.RecordingFailed{Session: e.id, Reason: e.err.Error()}
					s.abandon(cur)
					cur = nil
				} else {
					ev = session.RecordingStarted{Session: e.id}
					s.setError("")
				}
			case sealedEv:
				if e.err != nil {
					ev = session.SealFailed{Session: e.id, Reason: e.err.Error()}
				} else {
					ev = session.Sealed{Session: e.id, Bundle: e.res.Bundle}
					s.setLastResult(e.res)
					if cur != nil && cur.id == e.id {
						cur = nil
					}
				}
			case trackingEv:
				if cur == nil || cur.id != e.id || ss.Entries.Tracking != "" {
					continue
				}
				ev = session.Command{Kind: session.CmdTracking, Text: e.tracking, Source: "barcode"}
			default:
				continue
			}
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
				s.setPreview(out)
				if cur != nil && cur.id == eff.Session {
					cur.parcel, cur.preview = evalParcel, evalOut
					if cur.es != nil {
						_ = cur.es.Checkpoint(s.partialResult(cur, eff.Weighin, eff.Entries, cur.start, clockSynced()))
					}
				}
			case session.StartRecording:
				cur = s.begin(ctx, eff, ss, lastReading, evalParcel, evalOut)
			case session.Mark:
				if cur != nil {
					s.video <- videoCmd{mark: &markCmd{at: eff.At, label: eff.Label}}
				}
			case session.StopRecording:
				if cur != nil && cur.id == eff.Session && cur.stop == nil {
					cur.stop = make(chan stopResult, 1)
					s.video <- videoCmd{stop: cur.stop}
					s.labelCtl <- labelCmd{finish: true}
					s.closeWeightLog(cur)
				}
			case session.Seal:
				if cur != nil && cur.id == eff.Session {
					go s.seal(ctx, cur, ss.Weighin, ss.Entries, params, eff.Attempt)
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
		s.publishState(ss, cur)
	}
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

// abandon cleans up after a start that failed: the bundle stays on disk
// unsealed and is sealed interrupted at the next start.
func (s *Station) abandon(cur *current) {
	s.closeWeightLog(cur)
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
		for _, it := range p.Items {
			in.Items = append(in.Items, verdict.Item{Name: it.Name, WeightG: it.WeightG})
		}
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

// seal waits for the recording's end and the label still, writes the
// remaining files, seals the bundle, indexes and publishes the result. It
// runs in its own goroutine and answers with a sealedEv.
func (s *Station) seal(ctx context.Context, cur *current, w session.Weighin, e session.Entries, params verdict.Params, attempt int) {
	res, err := s.seal1(ctx, cur, w, e, params)
	if err != nil {
		s.log.Error("seal failed", "session", cur.es.ID(), "attempt", attempt, "err", err)
	}
	s.send(context.Background(), sealedEv{id: cur.id, res: res, err: err})
}

func (s *Station) seal1(ctx context.Context, cur *current, w session.Weighin, e session.Entries, params verdict.Params) (result.Result, error) {
	if cur.stats == nil {
		r := <-cur.stop
		cur.stats = &r
	}
	if cur.still == nil {
		select {
		case l := <-cur.label:
			cur.still = &l
		case <-time.After(5 * time.Second):
			cur.still = &labelResult{}
		}
	}
	res := s.partialResult(cur, w, e, cur.start, clockSynced())
	if cur.stats.err != nil {
		s.log.Warn("recording ended on an error", "session", cur.es.ID(), "err", cur.stats.err)
	}
	if cur.still.ok && e.Tracking == "" {
		if t, err := label.ChooseTracking(cur.still.still.Barcodes, func(n string) (bool, error) { return s.reg.Has(ctx, n) }); err == nil {
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
	res.Continuity = cur.stats.stats.Continuity()
	res.Marks = cur.stats.stats.ResultMarks()
	if res.Marks == nil {
		res.Marks = []result.Mark{}
	}
	msg, err := verdict.Compose(res, verdict.DisputeOptions{})
	if err != nil {
		return res, fmt.Errorf("dispute: %w", err)
	}
	res.Dispute = msg.String()

	var files []evidence.FileEntry
	for _, f := range cur.stats.stats.Files {
		files = append(files, evidence.FileEntry{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	if err := writeFileSync(filepath.Join(cur.es.Dir(), "dispute.txt"), []byte(res.Dispute+"\n")); err != nil {
		return res, err
	}
	var still []byte
	if cur.still.ok {
		still = cur.still.still.JPEG
		if err := writeFileSync(filepath.Join(cur.es.Dir(), "label.jpg"), still); err != nil {
			return res, err
		}
	}
	sealed, err := cur.es.Seal(res, files...)
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
	if still != nil {
		if err := s.pub.PublishLabel(still); err != nil {
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

// shutdown ends a recording in progress cleanly when weighd is stopped: the
// recording is stopped and the bundle sealed, within a bound.
func (s *Station) shutdown(cur *current, ss session.State) {
	if cur == nil || cur.es == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if cur.stop == nil {
		cur.stop = make(chan stopResult, 1)
		s.video <- videoCmd{stop: cur.stop}
		s.labelCtl <- labelCmd{finish: true}
		s.closeWeightLog(cur)
	}
	res, err := s.seal1(ctx, cur, ss.Weighin, ss.Entries, verdict.ParamsFrom(s.cfg.Verdict))
	if err != nil {
		s.log.Error("seal at shutdown failed; it is sealed interrupted at the next start", "err", err)
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
