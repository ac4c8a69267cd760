// Package session is the weigh-in station's one-button flow as a pure state
// machine: Next(state, event, now) returns the new state and the effects the
// caller (internal/station) must carry out. It does no I/O and reads no
// clock; time is the now argument, and the outcome of every effect that
// touches the world (recording started or failed, bundle sealed or not)
// comes back as an event, so the state always reflects what really
// happened.
//
// The flow (seed, "The Evidence Protocol"):
//
//	idle ──parcel──▶ present ──settles──▶ stable
//	  short press / start: freeze the weigh-in, take the label still,
//	  evaluate, start recording (waiting up to stable_wait for a stable
//	  weight, then going on with the latest reading flagged unstable)
//	starting ──RecordingStarted──▶ recording
//	  short press / mark: mark a moment
//	  long press / stop, max_duration, or no weight change (and no mark)
//	  beyond inactivity_g for inactivity_stop: stop and seal; the last
//	  AutoStopWarning before an inactivity stop is announced (AutoStopAt)
//	paused (after an inactivity stop, for resume_grace)
//	  short press / start: continue the same session into its next video
//	  file; long press / stop / grace over: seal
//	sealing ──Sealed──▶ idle
//
// Between sessions the platform must return to empty (inside the zero
// band): until it has, a start is refused unless forced (a double press,
// or start with the payload FORCE), and a forced start's weigh-in is
// flagged LeftoverLoad.
//
// A long press on an empty, idle scale tares it. Start and stop are
// idempotent: a redelivered start never stops a recording and never starts
// a second one; a stop outside a recording does nothing.
//
// Timers: after every Next, State.Deadline tells when the machine next needs
// to be woken; Next also returns a Timer effect whenever the caller's one
// timer must be (re)armed. Deliver a Tick when it fires. Ticking more often
// is harmless.
package session

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"weighin/internal/config"
	"weighin/internal/verdict"
	"weighin/internal/vocab"
	"weighin/internal/weighing"
)

// ErrInvalidConfig wraps every problem Config.Validate reports.
var ErrInvalidConfig = errors.New("session: invalid configuration")

// ErrInvalidCommand wraps every error ParseCommand returns.
var ErrInvalidCommand = errors.New("session: invalid command")

// Config holds the timings of the flow.
type Config struct {
	// StableWait is how long a start waits for a stable weight; then it goes
	// on with the latest reading (the parcel's weight as it settles), flagged
	// unstable. 0 goes on at once.
	StableWait time.Duration
	// MaxDuration stops a recording however active it is.
	MaxDuration time.Duration
	// InactivityStop stops a recording when the weight has not moved by
	// more than InactivityG for this long.
	InactivityStop time.Duration
	// InactivityG is the weight change, in grams, that counts as activity.
	InactivityG float64
	// SealRetry is the pause before sealing is tried again after a failure.
	SealRetry time.Duration
	// SealAttempts is how many times sealing is tried before the session is
	// given up as unsealed (the bundle stays on disk; recovery seals it as
	// interrupted at the next start).
	SealAttempts int
	// ResumeGrace is how long sealing waits after an inactivity stop for
	// a short press that continues the session (0: seal at once).
	ResumeGrace time.Duration
}

// AutoStopWarning is how long before an inactivity stop the station warns
// (the state's auto_stop_in_s, the LED, Home Assistant); half of
// InactivityStop when that is shorter than a minute.
const AutoStopWarning = 30 * time.Second

func (c Config) warnBefore() time.Duration { return min(AutoStopWarning, c.InactivityStop/2) }

// ConfigFrom takes the timings from the configuration's session section,
// with the package's seal retry defaults.
func ConfigFrom(c config.Session) Config {
	return Config{
		StableWait:     c.StableWait,
		MaxDuration:    c.MaxDuration,
		InactivityStop: c.InactivityStop,
		InactivityG:    c.InactivityG,
		SealRetry:      5 * time.Second,
		SealAttempts:   3,
		ResumeGrace:    c.ResumeGrace,
	}
}

// Validate reports every out-of-range timing, each wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.StableWait < 0 || c.StableWait > time.Minute {
		bad("stable_wait must be between 0s and 1m, got %v", c.StableWait)
	}
	if c.MaxDuration <= 0 {
		bad("max_duration must be positive, got %v", c.MaxDuration)
	}
	if c.InactivityStop <= 0 {
		bad("inactivity_stop must be positive, got %v", c.InactivityStop)
	}
	if math.IsNaN(c.InactivityG) || c.InactivityG <= 0 || c.InactivityG > 1000 {
		bad("inactivity_g must be greater than 0 and at most 1000, got %v", c.InactivityG)
	}
	if c.SealRetry <= 0 {
		bad("seal retry must be positive, got %v", c.SealRetry)
	}
	if c.ResumeGrace < 0 || c.ResumeGrace > 10*time.Minute {
		bad("resume_grace must be between 0s and 10m, got %v", c.ResumeGrace)
	}
	if c.SealAttempts < 1 || c.SealAttempts > 100 {
		bad("seal attempts must be 1 to 100, got %d", c.SealAttempts)
	}
	return errors.Join(errs...)
}

// Phase is where the flow stands.
type Phase int

// Phases, in the order a session passes through them.
const (
	// PhaseIdle: the scale is empty, or no reading has come yet.
	PhaseIdle Phase = iota
	// PhasePresent: something is on the scale; its weight is not settled.
	PhasePresent
	// PhaseStable: a parcel is on the scale with a stable weight.
	PhaseStable
	// PhaseWaiting: a start waits for a stable weight (≤ StableWait).
	PhaseWaiting
	// PhaseStarting: the weigh-in is frozen; recording was asked for.
	PhaseStarting
	// PhaseRecording: the recorder confirmed it records.
	PhaseRecording
	// PhaseSealing: the recording was stopped; the bundle is being sealed.
	PhaseSealing
	// PhasePaused: an inactivity stop ended the recording; for
	// Config.ResumeGrace a short press continues the session (into the
	// next video file) before it is sealed.
	PhasePaused
)

var phaseNames = [...]string{"idle", "present", "stable", "waiting", "starting", "recording", "sealing", "paused"}

// String is the phase's name as published in the state's session_state.
func (p Phase) String() string {
	if p >= 0 && int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// InSession reports whether a session owns the station: from the frozen
// weigh-in until the bundle is sealed (or the recording failed to start).
func (p Phase) InSession() bool {
	return p == PhaseStarting || p == PhaseRecording || p == PhaseSealing || p == PhasePaused
}

// StopReason says why a recording ended.
type StopReason string

// Stop reasons, as the result's stop_reason (schema 2) records them.
const (
	StopButton      StopReason = "button"       // long press
	StopCommand     StopReason = "command"      // stop from MQTT or the local API
	StopMaxDuration StopReason = "max_duration" // session.max_duration reached
	StopInactivity  StopReason = "inactivity"   // no weight change for session.inactivity_stop
	StopShutdown    StopReason = "shutdown"     // weighd is stopping (SIGTERM)
	StopWriteFailed StopReason = "write_failed" // the recording could not be written (disk full, I/O error)
)

// Weighin is the frozen weight of the unopened parcel.
type Weighin struct {
	Grams float64
	// Stable is false when the start went on without a stable reading.
	Stable bool
	At     time.Time
	// LeftoverLoad: the platform had not returned to empty since the last
	// session and the start was forced; the weight may include what was
	// left on it.
	LeftoverLoad bool
}

// Entries are the buyer's entries for the current session or, outside one,
// for the next.
type Entries struct {
	// LabelG is the label weight; HasLabelG tells whether one was entered.
	LabelG            float64
	HasLabelG         bool
	OrderRef          string
	Tracking          string
	ExteriorCondition string
	IssueType         string
	// Solution is the buyer's choice of remedy ("" = the tier's).
	Solution string
	// Tier overrides the computed tier when HasTier.
	Tier    int
	HasTier bool
	// Damage is the buyer's description of the damage, in any language.
	Damage string
}

// State is the machine's whole state. It is a value: Next never modifies
// the State it is given.
type State struct {
	cfg Config

	// Phase is where the flow stands.
	Phase Phase
	// Weight is the latest valid reading; HaveWeight tells whether one came.
	Weight     Reading
	HaveWeight bool
	// Session numbers sessions from 1; it is the current one in a session,
	// else the last one.
	Session uint64
	// Weighin is the current session's frozen weight (valid while
	// Phase.InSession()).
	Weighin Weighin
	// Entries are the buyer's entries.
	Entries Entries
	// SealedOnScale: the last session was sealed and the scale has not
	// read empty since; its claim is final, so solution, tier and damage
	// are refused rather than applied to the next parcel (issue 14).
	SealedOnScale bool
	// Marks counts the marks of the current session.
	Marks int
	// StopReason is why the current session's recording ended.
	StopReason StopReason
	// SealAttempts counts Seal effects of the current session.
	SealAttempts int
	// Part numbers the current session's recordings from 0: each
	// continuation after an inactivity stop is the next part (its own
	// video file).
	Part int

	lastMarkAt  time.Time  // PhaseRecording: when the last mark was taken
	waitSince   time.Time  // PhaseWaiting: when the start came
	startedAt   time.Time  // PhaseRecording: when the recorder confirmed
	activityAt  time.Time  // PhaseRecording: last weight change
	activityG   float64    // weight at activityAt
	stopPending StopReason // a stop came while starting
	sealRetryAt time.Time  // PhaseSealing: when to try sealing again
	timerAt     time.Time  // the timer last asked for
	pausedAt    time.Time  // PhasePaused: when the recording stopped
	resuming    bool       // PhaseStarting: a continuation, not a new session
	recorded    bool       // the current session's recording started
	warned      bool       // PhaseRecording: the auto-stop warning is on
	// needEmpty: a session recorded since the platform was last empty;
	// startLeftover: the start under way was forced over it.
	needEmpty     bool
	startLeftover bool
}

// New returns the initial state: idle, no reading yet.
func New(cfg Config) (State, error) {
	if err := cfg.Validate(); err != nil {
		return State{}, err
	}
	return State{cfg: cfg}, nil
}

// Config returns the timings the state was made with.
func (s State) Config() Config { return s.cfg }

// Deadline returns the next moment the machine must be woken by a Tick, and
// false when nothing is pending.
func (s State) Deadline() (time.Time, bool) {
	switch s.Phase {
	case PhaseWaiting:
		return s.waitSince.Add(s.cfg.StableWait), true
	case PhaseRecording:
		a := s.startedAt.Add(s.cfg.MaxDuration)
		b := s.activityAt.Add(s.cfg.InactivityStop)
		if w := b.Add(-s.cfg.warnBefore()); !s.warned {
			b = w // wake to warn
		}
		if b.Before(a) {
			return b, true
		}
		return a, true
	case PhasePaused:
		return s.pausedAt.Add(s.cfg.ResumeGrace), true
	case PhaseSealing:
		if !s.sealRetryAt.IsZero() {
			return s.sealRetryAt, true
		}
	}
	return time.Time{}, false
}

// AutoStopAt returns when the recording stops for inactivity, once that
// is at most AutoStopWarning away (and before max_duration); false
// otherwise.
func (s State) AutoStopAt() (time.Time, bool) {
	if s.Phase != PhaseRecording || !s.warned {
		return time.Time{}, false
	}
	at := s.activityAt.Add(s.cfg.InactivityStop)
	if !at.Before(s.startedAt.Add(s.cfg.MaxDuration)) {
		return time.Time{}, false
	}
	return at, true
}

// ResumeUntil returns, while paused, the end of the grace in which a
// short press continues the session.
func (s State) ResumeUntil() (time.Time, bool) {
	if s.Phase != PhasePaused {
		return time.Time{}, false
	}
	return s.pausedAt.Add(s.cfg.ResumeGrace), true
}

// LeftoverLoad reports, outside a session, whether the platform has not
// returned to empty since the last session recorded: a start now is
// refused unless forced. (A forced session's weigh-in says it itself.)
func (s State) LeftoverLoad() bool {
	return s.needEmpty && !s.Phase.InSession() && s.Phase != PhaseWaiting
}

// RecordingFor is how long the current recording has run at now (0 outside
// a recording).
func (s State) RecordingFor(now time.Time) time.Duration {
	if s.Phase != PhaseRecording {
		return 0
	}
	return now.Sub(s.startedAt)
}

// Event is an input to Next: Reading, Press, Command, Tick, Shutdown,
// RecordingStarted, RecordingFailed, RecordingLost, Sealed, SealFailed.
type Event interface{ event() }

// Reading is one weighing result.
type Reading struct {
	Grams float64
	// State is the pipeline's own (weighing.State: one enum for the
	// pipeline, the session and the status). Undecided is no reading yet
	// and is ignored, like a NaN weight.
	State weighing.State
}

// PressKind is a button gesture.
type PressKind int

// Button gestures.
const (
	PressShort PressKind = iota
	PressLong
	// PressDouble is two short presses in quick succession: a forced
	// start from idle (accepted although the platform has not returned to
	// empty since the last session); otherwise what a short press does.
	PressDouble
)

// Starts reports whether the gesture starts a session from idle (a short
// or a double press).
func (k PressKind) Starts() bool { return k == PressShort || k == PressDouble }

// String names the gesture: short, long or double.
func (k PressKind) String() string {
	switch k {
	case PressShort:
		return "short"
	case PressLong:
		return "long"
	case PressDouble:
		return "double"
	}
	return "unknown"
}

// Press is a button press.
type Press struct{ Kind PressKind }

// CommandKind names a command from MQTT (<base>/cmd/<name>) or the local
// API.
type CommandKind string

// Commands, named as their MQTT topics.
const (
	CmdStart             CommandKind = "start"
	CmdStop              CommandKind = "stop"
	CmdMark              CommandKind = "mark"
	CmdTare              CommandKind = "tare"
	CmdLabelWeight       CommandKind = "label_weight"
	CmdOrderRef          CommandKind = "order_ref"
	CmdTracking          CommandKind = "tracking"
	CmdExteriorCondition CommandKind = "exterior_condition"
	CmdIssueType         CommandKind = "issue_type"
	// CmdSolution overrides the remedy the claim asks for (Text is one of
	// verdict.Solutions; "" or "default" goes back to the tier's).
	CmdSolution CommandKind = "solution"
	// CmdTier overrides the claim's tier (Grams holds 0–3; −1 goes back to
	// the computed tier).
	CmdTier CommandKind = "tier"
	// CmdDamage sets the damage description (Text; "" clears it).
	CmdDamage CommandKind = "damage"
	// CmdClearEntries empties every entry.
	CmdClearEntries CommandKind = "clear_entries"
)

// Commands lists every command kind.
var Commands = []CommandKind{CmdStart, CmdStop, CmdMark, CmdTare, CmdLabelWeight, CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType, CmdSolution, CmdTier, CmdDamage, CmdClearEntries}

// ForcePayload is the start command's Text for a forced start.
const ForcePayload = "FORCE"

// Command is one command.
type Command struct {
	Kind CommandKind
	// Text is the value of order_ref, tracking, exterior_condition,
	// issue_type, or a mark's label ("" or "PRESS" numbers the mark); for
	// start, ForcePayload forces it.
	Text string
	// Grams is the value of label_weight.
	Grams float64
	// Source names where it came from ("mqtt", "api"), for refusals.
	Source string
}

// Marks are capped per session and rate-limited: a button held to a
// script (or 2,000 API marks in 0.3 s) must not grow the claim and the
// retained result without bound.
const (
	// MaxMarks is the most marks one session takes.
	MaxMarks = 100
	// MinMarkInterval is the shortest time between two marks.
	MinMarkInterval = 200 * time.Millisecond
)

func checkLabel(g float64) error {
	if math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 || g > verdict.MaxWeightG {
		return fmt.Errorf("label_weight must be greater than 0 and at most %d g, got %v", verdict.MaxWeightG, g)
	}
	return nil
}

// checkText checks a text command with vocab's rules, the same for every
// way in (MQTT, the local API and the web app, weighctl).
func checkText(c Command) error {
	v := strings.TrimSpace(c.Text) // as the entry is stored
	switch c.Kind {
	case CmdOrderRef:
		if v != "" {
			if err := vocab.CheckText(v, vocab.MaxOrderRefRunes); err != nil {
				return fmt.Errorf("order_ref: %w", err)
			}
		}
	case CmdTracking:
		if v != "" {
			return vocab.CheckTracking(v)
		}
	case CmdIssueType:
		_, err := verdict.ParseIssueType(v)
		return err
	case CmdExteriorCondition:
		_, err := verdict.ParseExteriorCondition(v)
		return err
	case CmdSolution:
		_, err := verdict.ParseSolution(v)
		return err
	case CmdDamage:
		if v != "" {
			if err := vocab.CheckText(v, vocab.MaxDamageRunes); err != nil {
				return fmt.Errorf("damage: %w", err)
			}
		}
	}
	return nil
}

// Tick wakes the machine so it can act on its deadlines.
type Tick struct{}

// Shutdown: weighd is stopping. A recording is stopped (StopShutdown) and
// sealed; a start under way is stopped as soon as it records; a start
// still waiting for a stable weight is called off.
type Shutdown struct{}

// RecordingStarted: the recorder is recording session Session.
type RecordingStarted struct{ Session uint64 }

// RecordingFailed: the recorder could not start session Session (disk full,
// camera gone, retention refused to make space).
type RecordingFailed struct {
	Session uint64
	Reason  string
}

// RecordingLost: the recorder could not write session Session's recording
// any more (a full disk, an I/O error): the recording ends with
// StopWriteFailed and what was written is sealed.
type RecordingLost struct {
	Session uint64
	Reason  string
}

// Sealed: session Session's bundle is sealed.
type Sealed struct {
	Session uint64
	Bundle  string
}

// SealFailed: sealing session Session's bundle failed.
type SealFailed struct {
	Session uint64
	Reason  string
}

func (Reading) event()          {}
func (Press) event()            {}
func (Command) event()          {}
func (Tick) event()             {}
func (Shutdown) event()         {}
func (RecordingStarted) event() {}
func (RecordingFailed) event()  {}
func (RecordingLost) event()    {}
func (Sealed) event()           {}
func (SealFailed) event()       {}

// Effect is an output of Next, to be carried out in order.
type Effect interface{ effect() }

// FreezeWeight: the weigh-in of session Session is Weighin.
type FreezeWeight struct {
	Session uint64
	Weighin Weighin
}

// CaptureLabel: take the label still for session Session.
type CaptureLabel struct{ Session uint64 }

// Evaluate: compute (or recompute, after an entry changed) the verdict of
// session Session from its weigh-in and entries, and publish it.
type Evaluate struct {
	Session uint64
	Weighin Weighin
	Entries Entries
}

// StartRecording: start recording session Session (pre-roll included);
// answer with RecordingStarted or RecordingFailed.
type StartRecording struct {
	Session uint64
	// SessionStart is the moment of the start, for the bundle's name and
	// started_at.
	SessionStart time.Time
}

// Mark: mark a moment of session Session's recording.
type Mark struct {
	Session uint64
	// N numbers the marks of a session from 1.
	N     int
	Label string
	At    time.Time
}

// StopRecording: stop session Session's recording. A Seal follows, at
// once or, when Resumable, after the resume grace unless a
// ResumeRecording comes first.
type StopRecording struct {
	Session uint64
	Reason  StopReason
	// Resumable: an inactivity stop; keep the session open (its weight log
	// too) for a continuation.
	Resumable bool
}

// ResumeRecording: continue session Session's recording into its next
// video file (part Part, numbered from 0); answer with RecordingStarted or
// RecordingFailed, like StartRecording.
type ResumeRecording struct {
	Session uint64
	Part    int
}

// AutoStopWarn: session Session's recording stops for inactivity at At
// unless the weight changes or a mark comes; warn the buyer.
type AutoStopWarn struct {
	Session uint64
	At      time.Time
}

// Seal: write and sign session Session's bundle; answer with Sealed or
// SealFailed.
type Seal struct {
	Session uint64
	Attempt int
}

// Tare: zero the scale.
type Tare struct{}

// Refuse: a command or press was not carried out; publish
// {command, reason} on <base>/error.
type Refuse struct {
	Command string
	Source  string
	Reason  string
}

// Fault: an I/O outcome went wrong; log it and publish it.
type Fault struct {
	Session uint64
	Reason  string
}

// PublishState: the phase or the entries changed; publish the state.
type PublishState struct{ Phase Phase }

// Timer: (re)arm the caller's one timer to deliver a Tick at At.
type Timer struct{ At time.Time }

func (FreezeWeight) effect()    {}
func (CaptureLabel) effect()    {}
func (Evaluate) effect()        {}
func (StartRecording) effect()  {}
func (Mark) effect()            {}
func (StopRecording) effect()   {}
func (ResumeRecording) effect() {}
func (AutoStopWarn) effect()    {}
func (Seal) effect()            {}
func (Tare) effect()            {}
func (Refuse) effect()          {}
func (Fault) effect()           {}
func (PublishState) effect()    {}
func (Timer) effect()           {}
