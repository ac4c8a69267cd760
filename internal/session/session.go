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
//	  long press / stop, max_duration, or no weight change beyond
//	  inactivity_g for inactivity_stop: stop and seal
//	sealing ──Sealed──▶ idle
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
}

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
)

var phaseNames = [...]string{"idle", "present", "stable", "waiting", "starting", "recording", "sealing"}

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
	return p == PhaseStarting || p == PhaseRecording || p == PhaseSealing
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

	lastMarkAt  time.Time  // PhaseRecording: when the last mark was taken
	waitSince   time.Time  // PhaseWaiting: when the start came
	startedAt   time.Time  // PhaseRecording: when the recorder confirmed
	activityAt  time.Time  // PhaseRecording: last weight change
	activityG   float64    // weight at activityAt
	stopPending StopReason // a stop came while starting
	sealRetryAt time.Time  // PhaseSealing: when to try sealing again
	timerAt     time.Time  // the timer last asked for
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
		if b.Before(a) {
			return b, true
		}
		return a, true
	case PhaseSealing:
		if !s.sealRetryAt.IsZero() {
			return s.sealRetryAt, true
		}
	}
	return time.Time{}, false
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
	// PressDouble is two short presses in quick succession. Until a
	// forced start exists it does what a short press does (starts a
	// session, or marks a moment while recording).
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

// Command is one command.
type Command struct {
	Kind CommandKind
	// Text is the value of order_ref, tracking, exterior_condition,
	// issue_type, or a mark's label ("" or "PRESS" numbers the mark).
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

// StopRecording: stop session Session's recording. A Seal follows.
type StopRecording struct {
	Session uint64
	Reason  StopReason
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

func (FreezeWeight) effect()   {}
func (CaptureLabel) effect()   {}
func (Evaluate) effect()       {}
func (StartRecording) effect() {}
func (Mark) effect()           {}
func (StopRecording) effect()  {}
func (Seal) effect()           {}
func (Tare) effect()           {}
func (Refuse) effect()         {}
func (Fault) effect()          {}
func (PublishState) effect()   {}
func (Timer) effect()          {}
