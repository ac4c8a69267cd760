package session

import (
	"fmt"
	"math"
	"strings"
	"time"

	"weighin/internal/verdict"
	"weighin/internal/vocab"
	"weighin/internal/weighing"
)

// step carries one transition's work.
type step struct {
	s       State
	now     time.Time
	effects []Effect
	publish bool
}

func (st *step) emit(e ...Effect) { st.effects = append(st.effects, e...) }

// Next is the transition function: the state after ev at now, and the
// effects to carry out, in order. A state made by the zero value rather than
// New refuses everything until it has a valid Config (it answers each event
// with a Fault).
func Next(s State, ev Event, now time.Time) (State, []Effect) {
	if err := s.cfg.Validate(); err != nil {
		return s, []Effect{Fault{Reason: "session state not made by New: " + err.Error()}}
	}
	st := &step{s: s, now: now}
	before := s.Phase
	switch e := ev.(type) {
	case Reading:
		st.reading(e)
	case Press:
		st.press(e)
	case Command:
		st.command(e)
	case Tick:
	case Shutdown:
		st.stop(StopShutdown)
	case RecordingStarted:
		st.recordingStarted(e)
	case RecordingLost:
		st.recordingLost(e)
	case RecordingFailed:
		st.recordingFailed(e)
	case Sealed:
		st.sealed(e)
	case SealFailed:
		st.sealFailed(e)
	default:
		st.emit(Fault{Session: s.Session, Reason: fmt.Sprintf("unknown event %T", ev)})
	}
	st.expire()

	if st.s.Phase != before || st.publish {
		st.emit(PublishState{Phase: st.s.Phase})
	}
	if dl, ok := st.s.Deadline(); ok {
		// Arm the timer when none is armed, when the armed one has fired,
		// or when it would fire too late. One that fires early only brings
		// a Tick that re-arms it.
		if st.s.timerAt.IsZero() || !now.Before(st.s.timerAt) || dl.Before(st.s.timerAt) {
			st.s.timerAt = dl
			st.emit(Timer{At: dl})
		}
	} else {
		st.s.timerAt = time.Time{}
	}
	return st.s, st.effects
}

// idlePhase is the phase outside a session that a reading implies.
func idlePhase(s State) Phase {
	if !s.HaveWeight {
		return PhaseIdle
	}
	switch s.Weight.State {
	case weighing.Stable:
		return PhaseStable
	case weighing.Unstable:
		return PhasePresent
	}
	return PhaseIdle
}

func (st *step) reading(r Reading) {
	if math.IsNaN(r.Grams) || math.IsInf(r.Grams, 0) || !r.State.Decided() {
		return // not a reading: weighing never sends one; ignore it
	}
	s := &st.s
	s.Weight, s.HaveWeight = r, true
	if r.State == weighing.Empty {
		s.SealedOnScale = false // the sealed parcel is off: entries are the next one's
	}
	switch s.Phase {
	case PhaseIdle, PhasePresent, PhaseStable:
		s.Phase = idlePhase(*s)
	case PhaseWaiting:
		switch r.State {
		case weighing.Empty:
			s.Phase = PhaseIdle
			st.emit(Refuse{Command: string(CmdStart), Reason: "the parcel was taken off before its weight settled"})
		case weighing.Stable:
			st.freeze(r, true)
		}
	case PhaseRecording:
		if math.Abs(r.Grams-s.activityG) > s.cfg.InactivityG {
			st.activity(r.Grams)
		}
	}
	if r.State == weighing.Empty && !s.Phase.InSession() {
		s.needEmpty = false
	}
}

// activity restarts the inactivity timer at the weight g (and takes back
// a warning).
func (st *step) activity(g float64) {
	s := &st.s
	s.activityAt, s.activityG = st.now, g
	if s.warned {
		s.warned = false
		st.publish = true
	}
}

func (st *step) press(p Press) {
	s := &st.s
	switch p.Kind {
	case PressShort, PressDouble:
		switch s.Phase {
		case PhaseIdle, PhasePresent, PhaseStable:
			st.start("button", p.Kind == PressDouble)
		case PhasePaused:
			st.resume()
		case PhaseRecording:
			st.mark("", "press", "button")
		case PhaseSealing:
			st.emit(Refuse{Command: "press", Source: "button", Reason: "the previous session is still being sealed"})
		}
		// PhaseWaiting, PhaseStarting: the start is under way.
	case PressLong:
		switch s.Phase {
		case PhaseIdle:
			if s.HaveWeight && s.Weight.State == weighing.Empty {
				st.emit(Tare{})
			} else {
				st.emit(Refuse{Command: string(CmdTare), Source: "button", Reason: "no weight reading yet"})
			}
		case PhasePresent, PhaseStable:
			st.emit(Refuse{Command: string(CmdTare), Source: "button", Reason: "the scale is not empty: take the parcel off to tare"})
		default:
			st.stop(StopButton) // while paused: seal now, no grace
		}
	default:
		st.emit(Refuse{Command: "press", Source: "button", Reason: fmt.Sprintf("unknown press kind %d", p.Kind)})
	}
}

func (st *step) command(c Command) {
	s := &st.s
	refuse := func(reason string) {
		st.emit(Refuse{Command: string(c.Kind), Source: c.Source, Reason: reason})
	}
	switch c.Kind {
	case CmdStart:
		switch s.Phase {
		case PhaseIdle, PhasePresent, PhaseStable:
			st.start(c.Source, strings.EqualFold(c.Text, ForcePayload))
		case PhasePaused:
			st.resume()
		case PhaseSealing:
			refuse("the previous session is still being sealed")
		}
		// Waiting, starting, recording: already started (idempotent).
	case CmdStop:
		st.stop(StopCommand)
	case CmdMark:
		if s.Phase == PhasePaused {
			refuse("the recording is paused after no activity: press the button (or start) to continue it first")
			return
		}
		if s.Phase != PhaseRecording {
			refuse("no recording is running")
			return
		}
		st.mark(c.Text, string(c.Kind), c.Source)
	case CmdTare:
		if s.Phase.InSession() || s.Phase == PhaseWaiting {
			refuse("a session is running")
			return
		}
		st.emit(Tare{})
	case CmdLabelWeight, CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType, CmdSolution, CmdTier, CmdDamage, CmdClearEntries:
		st.entry(c, refuse)
	default:
		refuse("unknown command")
	}
}

func (st *step) entry(c Command, refuse func(string)) {
	s := &st.s
	if s.Phase == PhaseSealing {
		refuse("the session is being sealed; its entries are final")
		return
	}
	if s.SealedOnScale && !s.Phase.InSession() && (c.Kind == CmdSolution || c.Kind == CmdTier || c.Kind == CmdDamage) {
		refuse(fmt.Sprintf("session %d is sealed: its claim is final (change it with weighctl dispute); take the parcel off the scale before entering the next parcel's %s", s.Session, c.Kind))
		return
	}
	e := s.Entries
	switch c.Kind {
	case CmdClearEntries:
		e = Entries{}
	case CmdLabelWeight:
		if err := checkLabel(c.Grams); err != nil {
			refuse(err.Error())
			return
		}
		e.LabelG, e.HasLabelG = c.Grams, true
	case CmdTier:
		switch g := c.Grams; {
		case g == -1:
			e.Tier, e.HasTier = 0, false
		case g == 0 || g == 1 || g == 2 || g == 3:
			e.Tier, e.HasTier = int(g), true
		default:
			refuse(fmt.Sprintf("tier must be 0, 1, 2 or 3 (or -1 for the computed tier), got %v", g))
			return
		}
	default:
		if err := checkText(c); err != nil {
			refuse(err.Error())
			return
		}
		v := strings.TrimSpace(c.Text)
		switch c.Kind {
		case CmdOrderRef:
			e.OrderRef = v
		case CmdTracking:
			e.Tracking = v
		case CmdExteriorCondition:
			e.ExteriorCondition, _ = verdict.ParseExteriorCondition(v)
		case CmdIssueType:
			e.IssueType, _ = verdict.ParseIssueType(v)
		case CmdSolution:
			sol, _ := verdict.ParseSolution(v)
			e.Solution = string(sol)
		case CmdDamage:
			e.Damage = v
		}
	}
	if e == s.Entries {
		return
	}
	s.Entries = e
	st.publish = true
	if s.Phase == PhaseStarting || s.Phase == PhaseRecording || s.Phase == PhasePaused {
		st.emit(Evaluate{Session: s.Session, Weighin: s.Weighin, Entries: s.Entries})
	}
}

// start begins a session from outside one; forced accepts a platform
// that has not returned to empty since the last session.
func (st *step) start(source string, forced bool) {
	s := &st.s
	switch {
	case !s.HaveWeight:
		st.emit(Refuse{Command: string(CmdStart), Source: source, Reason: "no weight reading yet"})
		return
	case s.Weight.State == weighing.Empty:
		st.emit(Refuse{Command: string(CmdStart), Source: source, Reason: "the scale is empty: put the parcel on it first"})
		return
	case s.needEmpty && !forced:
		st.emit(Refuse{Command: string(CmdStart), Source: source, Reason: fmt.Sprintf(
			"the platform has not been empty since the last session (%.1f g on it): take everything off and put the parcel on alone, or force the start (double press, or start with FORCE)", s.Weight.Grams)})
		return
	}
	s.startLeftover = s.needEmpty
	switch {
	case s.Weight.State == weighing.Stable:
		st.freeze(s.Weight, true)
	case s.cfg.StableWait == 0:
		st.freeze(s.Weight, false)
	default:
		s.Phase = PhaseWaiting
		s.waitSince = st.now
	}
}

// freeze takes r as the weigh-in and asks for the recording.
func (st *step) freeze(r Reading, stable bool) {
	s := &st.s
	s.Session++
	s.Phase = PhaseStarting
	s.Weighin = Weighin{Grams: r.Grams, Stable: stable, At: st.now, LeftoverLoad: s.startLeftover}
	s.startLeftover = false
	s.Marks, s.StopReason, s.SealAttempts, s.stopPending = 0, "", 0, ""
	s.Part, s.resuming, s.recorded, s.warned = 0, false, false, false
	s.SealedOnScale = false
	st.emit(
		FreezeWeight{Session: s.Session, Weighin: s.Weighin},
		CaptureLabel{Session: s.Session},
		Evaluate{Session: s.Session, Weighin: s.Weighin, Entries: s.Entries},
		StartRecording{Session: s.Session, SessionStart: st.now},
	)
}

func (st *step) mark(label, command, source string) {
	s := &st.s
	refuse := func(reason string) { st.emit(Refuse{Command: command, Source: source, Reason: reason}) }
	switch {
	case vocab.CheckMarkLabel(label) != nil:
		refuse(vocab.CheckMarkLabel(label).Error())
		return
	case s.Marks >= MaxMarks:
		refuse(fmt.Sprintf("this session has %d marks, the most a session takes", MaxMarks))
		return
	case s.Marks > 0 && st.now.Sub(s.lastMarkAt) < MinMarkInterval:
		refuse(fmt.Sprintf("marks come at most one per %v", MinMarkInterval))
		return
	}
	s.Marks++
	s.lastMarkAt = st.now
	st.activity(s.Weight.Grams) // a mark is the buyer at work: activity
	if label == "" {
		label = fmt.Sprintf("mark %d", s.Marks)
	}
	st.emit(Mark{Session: s.Session, N: s.Marks, Label: label, At: st.now})
}

// stop ends whatever is under way; outside a session it does nothing.
// An inactivity stop with a resume grace pauses the session instead of
// sealing it; any stop while paused seals it at once (its stop reason
// stays the inactivity that ended the recording).
func (st *step) stop(reason StopReason) {
	s := &st.s
	switch s.Phase {
	case PhaseWaiting:
		s.Phase = idlePhase(*s) // the start is called off; nothing was recorded
	case PhaseStarting:
		s.stopPending = reason // acted on when the recorder confirms
	case PhaseRecording:
		s.StopReason = reason
		s.warned = false
		if reason == StopInactivity && s.cfg.ResumeGrace > 0 {
			s.Phase = PhasePaused
			s.pausedAt = st.now
			st.emit(StopRecording{Session: s.Session, Reason: reason, Resumable: true})
			return
		}
		st.emit(StopRecording{Session: s.Session, Reason: reason})
		st.seal()
	case PhasePaused:
		st.seal()
	}
}

// seal asks for the first seal attempt of the stopped session.
func (st *step) seal() {
	s := &st.s
	s.Phase = PhaseSealing
	s.SealAttempts = 1
	s.sealRetryAt = time.Time{}
	st.emit(Seal{Session: s.Session, Attempt: 1})
}

// resume continues a paused session into its next recording part.
func (st *step) resume() {
	s := &st.s
	s.Phase = PhaseStarting
	s.Part++
	s.resuming = true
	s.StopReason = ""
	st.emit(ResumeRecording{Session: s.Session, Part: s.Part})
}

func (st *step) recordingStarted(e RecordingStarted) {
	s := &st.s
	if s.Phase != PhaseStarting || e.Session != s.Session {
		return // stale or repeated: the recorder answered an older request
	}
	s.Phase = PhaseRecording
	if !s.resuming {
		s.startedAt = st.now // max_duration counts from the first part
	}
	s.activityAt, s.activityG = st.now, s.Weight.Grams
	s.resuming, s.recorded, s.warned = false, true, false
	if s.stopPending != "" {
		st.stop(s.stopPending)
		s.stopPending = ""
	}
}

func (st *step) recordingFailed(e RecordingFailed) {
	s := &st.s
	if s.Phase != PhaseStarting || e.Session != s.Session {
		return
	}
	if s.resuming {
		// The parts recorded so far are sealed, as the inactivity stop
		// left them.
		s.resuming, s.stopPending = false, ""
		s.StopReason = StopInactivity
		st.emit(Fault{Session: e.Session, Reason: "the recording could not be continued: " + e.Reason})
		st.seal()
		return
	}
	s.Phase = idlePhase(*s)
	s.stopPending = ""
	st.emit(Fault{Session: e.Session, Reason: "recording did not start: " + e.Reason})
}

func (st *step) recordingLost(e RecordingLost) {
	s := &st.s
	if s.Phase != PhaseRecording || e.Session != s.Session {
		return
	}
	st.emit(Fault{Session: e.Session, Reason: "recording failed: " + e.Reason})
	st.stop(StopWriteFailed)
}

func (st *step) sealed(e Sealed) {
	s := &st.s
	if s.Phase != PhaseSealing || e.Session != s.Session {
		return
	}
	st.endSession()
}

func (st *step) sealFailed(e SealFailed) {
	s := &st.s
	if s.Phase != PhaseSealing || e.Session != s.Session || !s.sealRetryAt.IsZero() {
		return
	}
	if s.SealAttempts >= s.cfg.SealAttempts {
		st.emit(Fault{Session: e.Session, Reason: fmt.Sprintf("sealing failed %d times (last: %s); the bundle stays on disk and is sealed as interrupted at the next start", s.SealAttempts, e.Reason)})
		st.endSession()
		return
	}
	s.sealRetryAt = st.now.Add(s.cfg.SealRetry)
	st.emit(Fault{Session: e.Session, Reason: fmt.Sprintf("sealing failed (%s); trying again in %v", e.Reason, s.cfg.SealRetry)})
}

// endSession returns to the phase the scale implies; the entries belonged
// to the session just sealed.
func (st *step) endSession() {
	s := &st.s
	s.Phase = idlePhase(*s)
	if s.recorded && !(s.HaveWeight && s.Weight.State == weighing.Empty) {
		s.needEmpty = true
	}
	s.recorded = false
	s.Entries = Entries{}
	s.sealRetryAt = time.Time{}
	s.SealedOnScale = s.Phase != PhaseIdle || !s.HaveWeight || s.Weight.State != weighing.Empty
}

// expire acts on the deadlines that now has reached.
func (st *step) expire() {
	s := &st.s
	switch s.Phase {
	case PhaseWaiting:
		if !st.now.Before(s.waitSince.Add(s.cfg.StableWait)) {
			st.freeze(s.Weight, false)
		}
	case PhaseRecording:
		stopAt := s.activityAt.Add(s.cfg.InactivityStop)
		switch {
		case !st.now.Before(s.startedAt.Add(s.cfg.MaxDuration)):
			st.stop(StopMaxDuration)
		case !st.now.Before(stopAt):
			st.stop(StopInactivity)
		case !s.warned && !st.now.Before(stopAt.Add(-s.cfg.warnBefore())):
			s.warned = true
			st.publish = true
			if at, ok := s.AutoStopAt(); ok {
				st.emit(AutoStopWarn{Session: s.Session, At: at})
			}
		}
	case PhasePaused:
		if !st.now.Before(s.pausedAt.Add(s.cfg.ResumeGrace)) {
			st.seal()
		}
	case PhaseSealing:
		if !s.sealRetryAt.IsZero() && !st.now.Before(s.sealRetryAt) {
			s.sealRetryAt = time.Time{}
			s.SealAttempts++
			st.emit(Seal{Session: s.Session, Attempt: s.SealAttempts})
		}
	}
}
