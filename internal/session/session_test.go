package session

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"weighin/internal/config"
	"weighin/internal/weighing"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func defaultConfig() Config { return ConfigFrom(config.Default().Session) }

// s is a step of a specification: at a time, an event, the phase after it
// and the effects it asks for (PublishState and Timer left out, unless the
// step sets all).
type s struct {
	at      time.Duration
	ev      Event
	phase   Phase
	effects []Effect
	all     bool
}

var (
	empty    = Reading{Grams: 0.2, State: weighing.Empty}
	moving   = Reading{Grams: 1200, State: weighing.Unstable}
	parcel   = Reading{Grams: 1840, State: weighing.Stable}
	short    = Press{Kind: PressShort}
	long     = Press{Kind: PressLong}
	start    = Command{Kind: CmdStart, Source: "mqtt"}
	stop     = Command{Kind: CmdStop, Source: "mqtt"}
	weighin  = Weighin{Grams: 1840, Stable: true, At: at(2 * time.Second)}
	frozen1  = []Effect{FreezeWeight{1, weighin}, CaptureLabel{1}, Evaluate{1, weighin, Entries{}}, StartRecording{1, at(2 * time.Second)}}
	started1 = []s{
		{0, empty, PhaseIdle, nil, false},
		{time.Second, parcel, PhaseStable, nil, false},
		{2 * time.Second, short, PhaseStarting, frozen1, false},
		{3 * time.Second, RecordingStarted{1}, PhaseRecording, nil, false},
	}
)

func script(steps ...[]s) []s {
	var out []s
	for _, x := range steps {
		out = append(out, x...)
	}
	return out
}

func run(t *testing.T, cfg Config, steps []s) State {
	t.Helper()
	st, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for k, x := range steps {
		var eff []Effect
		st, eff = Next(st, x.ev, at(x.at))
		if !x.all {
			eff = quiet(eff)
		}
		if st.Phase != x.phase {
			t.Errorf("step %d (%T%+v at %v): phase %v, want %v", k, x.ev, x.ev, x.at, st.Phase, x.phase)
		}
		if diff := cmp.Diff(x.effects, eff); diff != "" {
			t.Errorf("step %d (%T%+v at %v): effects (-want +got):\n%s", k, x.ev, x.ev, x.at, diff)
		}
	}
	return st
}

func quiet(eff []Effect) []Effect {
	var out []Effect
	for _, e := range eff {
		switch e.(type) {
		case PublishState, Timer:
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestFlow reads as the specification of the one-button flow.
func TestFlow(t *testing.T) {
	cfg := defaultConfig()
	tests := []struct {
		name  string
		steps []s
	}{
		{"a parcel set down, settling, then taken off", []s{
			{0, empty, PhaseIdle, nil, false},
			{time.Second, moving, PhasePresent, nil, false},
			{2 * time.Second, parcel, PhaseStable, nil, false},
			{3 * time.Second, empty, PhaseIdle, nil, false},
		}},
		{"short press on a stable parcel: freeze, label still, verdict, record", started1},
		{"short press while recording marks; a mark command may name it", script(started1, []s{
			{10 * time.Second, short, PhaseRecording, []Effect{Mark{1, 1, "mark 1", at(10 * time.Second)}}, false},
			{20 * time.Second, Command{Kind: CmdMark, Text: "torn sleeve"}, PhaseRecording, []Effect{Mark{1, 2, "torn sleeve", at(20 * time.Second)}}, false},
		})},
		{"long press while recording stops and seals", script(started1, []s{
			{60 * time.Second, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
			{61 * time.Second, Sealed{1, "000001-x"}, PhaseStable, nil, false},
		})},
		{"the stop command does the same; a repeated stop does nothing", script(started1, []s{
			{60 * time.Second, stop, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopCommand}, Seal{1, 1}}, false},
			{60 * time.Second, stop, PhaseSealing, nil, false},
			{61 * time.Second, Sealed{1, "000001-x"}, PhaseStable, nil, false},
			{62 * time.Second, stop, PhaseStable, nil, false},
		})},
		{"shutdown stops a recording with its own reason", script(started1, []s{
			{60 * time.Second, Shutdown{}, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopShutdown}, Seal{1, 1}}, false},
			{60 * time.Second, Shutdown{}, PhaseSealing, nil, false},
		})},
		{"shutdown while starting stops as soon as the recorder records", []s{
			{0, parcel, PhaseStable, nil, false},
			{2 * time.Second, start, PhaseStarting, []Effect{
				FreezeWeight{1, weighin}, CaptureLabel{1}, Evaluate{1, weighin, Entries{}}, StartRecording{1, at(2 * time.Second)},
			}, false},
			{2 * time.Second, Shutdown{}, PhaseStarting, nil, false},
			{3 * time.Second, RecordingStarted{1}, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopShutdown}, Seal{1, 1}}, false},
		}},
		{"shutdown outside a session does nothing", []s{
			{0, parcel, PhaseStable, nil, false},
			{time.Second, Shutdown{}, PhaseStable, nil, false},
		}},
		{"a redelivered start never stops a recording nor starts another", script(started1, []s{
			{4 * time.Second, start, PhaseRecording, nil, false},
			{5 * time.Second, start, PhaseRecording, nil, false},
		})},
		{"a start while starting is the same start", []s{
			{0, parcel, PhaseStable, nil, false},
			{2 * time.Second, start, PhaseStarting, []Effect{
				FreezeWeight{1, weighin}, CaptureLabel{1}, Evaluate{1, weighin, Entries{}}, StartRecording{1, at(2 * time.Second)},
			}, false},
			{2 * time.Second, start, PhaseStarting, nil, false},
			{2 * time.Second, short, PhaseStarting, nil, false},
		}},
		{"long press on an empty idle scale tares", []s{
			{0, empty, PhaseIdle, nil, false},
			{time.Second, long, PhaseIdle, []Effect{Tare{}}, false},
		}},
		{"long press with a parcel on refuses to tare", []s{
			{0, parcel, PhaseStable, nil, false},
			{time.Second, long, PhaseStable, []Effect{Refuse{"tare", "button", "the scale is not empty: take the parcel off to tare"}}, false},
		}},
		{"long press before any reading refuses to tare", []s{
			{0, long, PhaseIdle, []Effect{Refuse{"tare", "button", "no weight reading yet"}}, false},
		}},
		{"tare command refused during a session", script(started1, []s{
			{5 * time.Second, Command{Kind: CmdTare, Source: "api"}, PhaseRecording, []Effect{Refuse{"tare", "api", "a session is running"}}, false},
		})},
		{"start on an empty scale is refused", []s{
			{0, empty, PhaseIdle, nil, false},
			{time.Second, short, PhaseIdle, []Effect{Refuse{"start", "button", "the scale is empty: put the parcel on it first"}}, false},
		}},
		{"start before any reading is refused", []s{
			{0, start, PhaseIdle, []Effect{Refuse{"start", "mqtt", "no weight reading yet"}}, false},
		}},
		{"not stable at the press: wait, and freeze the stable weight when it comes", []s{
			{0, moving, PhasePresent, nil, false},
			{time.Second, short, PhaseWaiting, nil, false},
			{2 * time.Second, parcel, PhaseStarting, []Effect{
				FreezeWeight{1, weighin}, CaptureLabel{1}, Evaluate{1, weighin, Entries{}}, StartRecording{1, at(2 * time.Second)},
			}, false},
		}},
		{"not stable at the press: after stable_wait go on with the latest reading, flagged unstable", []s{
			{0, moving, PhasePresent, nil, false},
			{time.Second, short, PhaseWaiting, nil, false},
			{3 * time.Second, Reading{Grams: 1838, State: weighing.Unstable}, PhaseWaiting, nil, false},
			{6 * time.Second, Tick{}, PhaseStarting, []Effect{
				FreezeWeight{1, Weighin{Grams: 1838, Stable: false, At: at(6 * time.Second)}}, CaptureLabel{1},
				Evaluate{1, Weighin{Grams: 1838, Stable: false, At: at(6 * time.Second)}, Entries{}}, StartRecording{1, at(6 * time.Second)},
			}, false},
		}},
		{"parcel taken off while waiting: the start is refused", []s{
			{0, moving, PhasePresent, nil, false},
			{time.Second, short, PhaseWaiting, nil, false},
			{2 * time.Second, empty, PhaseIdle, []Effect{Refuse{"start", "", "the parcel was taken off before its weight settled"}}, false},
			{10 * time.Second, Tick{}, PhaseIdle, nil, false},
		}},
		{"a stop while waiting calls the start off", []s{
			{0, moving, PhasePresent, nil, false},
			{time.Second, short, PhaseWaiting, nil, false},
			{2 * time.Second, long, PhasePresent, nil, false},
			{10 * time.Second, Tick{}, PhasePresent, nil, false},
		}},
		{"a stop while starting stops as soon as the recorder confirms", []s{
			{0, parcel, PhaseStable, nil, false},
			{2 * time.Second, short, PhaseStarting, frozen1, false},
			{2 * time.Second, stop, PhaseStarting, nil, false},
			{3 * time.Second, RecordingStarted{1}, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopCommand}, Seal{1, 1}}, false},
		}},
		{"a failed start (disk full) returns to the scale's phase with a fault; nothing to seal", []s{
			{0, parcel, PhaseStable, nil, false},
			{2 * time.Second, short, PhaseStarting, frozen1, false},
			{3 * time.Second, RecordingFailed{1, "no space left on device: retention could not free space"}, PhaseStable, []Effect{
				Fault{1, "recording did not start: no space left on device: retention could not free space"},
			}, false},
			{4 * time.Second, stop, PhaseStable, nil, false},
			{5 * time.Second, Sealed{1, "x"}, PhaseStable, nil, false},
		}},
		{"stale recorder and sealer answers are ignored", script(started1[:3], []s{
			{3 * time.Second, RecordingStarted{7}, PhaseStarting, nil, false},
			{3 * time.Second, Sealed{1, "x"}, PhaseStarting, nil, false},
			{4 * time.Second, RecordingStarted{1}, PhaseRecording, nil, false},
			{5 * time.Second, RecordingStarted{1}, PhaseRecording, nil, false},
			{6 * time.Second, RecordingFailed{1, "late"}, PhaseRecording, nil, false},
		})},
		{"a recording that cannot be written any more ends and is sealed; a stale loss is ignored", script(started1, []s{
			{time.Minute, RecordingLost{7, "late"}, PhaseRecording, nil, false},
			{time.Minute, RecordingLost{1, "write video-000.mkv: no space left on device"}, PhaseSealing, []Effect{
				Fault{1, "recording failed: write video-000.mkv: no space left on device"},
				StopRecording{Session: 1, Reason: StopWriteFailed}, Seal{1, 1}}, false},
			{time.Minute, RecordingLost{1, "again"}, PhaseSealing, nil, false},
		})},
		{"max_duration stops a busy recording", script(started1, []s{
			{2 * time.Minute, Reading{Grams: 1500, State: weighing.Unstable}, PhaseRecording, nil, false},
			{4 * time.Minute, Reading{Grams: 900, State: weighing.Unstable}, PhaseRecording, nil, false},
			{6 * time.Minute, Reading{Grams: 400, State: weighing.Unstable}, PhaseRecording, nil, false},
			{8 * time.Minute, Reading{Grams: 1000, State: weighing.Unstable}, PhaseRecording, nil, false},
			{10 * time.Minute, Reading{Grams: 300, State: weighing.Unstable}, PhaseRecording, nil, false},
			{12 * time.Minute, Reading{Grams: 1300, State: weighing.Unstable}, PhaseRecording, nil, false},
			{14 * time.Minute, Reading{Grams: 200, State: weighing.Unstable}, PhaseRecording, nil, false},
			{16 * time.Minute, Reading{Grams: 1200, State: weighing.Unstable}, PhaseRecording, nil, false},
			{18 * time.Minute, Reading{Grams: 100, State: weighing.Unstable}, PhaseRecording, nil, false},
			{20*time.Minute + 3*time.Second, Tick{}, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopMaxDuration}, Seal{1, 1}}, false},
		})},
		{"inactivity stops a recording; changes within inactivity_g are not activity", script(started1, []s{
			{time.Minute, Reading{Grams: 1843, State: weighing.Stable}, PhaseRecording, nil, false},
			{2 * time.Minute, Reading{Grams: 1836, State: weighing.Stable}, PhaseRecording, nil, false},
			{3*time.Minute + 2*time.Second, Tick{}, PhaseRecording, []Effect{AutoStopWarn{Session: 1, At: at(3*time.Minute + 3*time.Second)}}, false},
			{3*time.Minute + 3*time.Second, Tick{}, PhasePaused, []Effect{StopRecording{Session: 1, Reason: StopInactivity, Resumable: true}}, false},
			{4*time.Minute + 3*time.Second, Tick{}, PhaseSealing, []Effect{Seal{1, 1}}, false},
		})},
		{"sealing that fails is tried again, then given up with the bundle kept", script(started1, []s{
			{time.Minute, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
			{time.Minute, SealFailed{1, "fsync: input/output error"}, PhaseSealing, []Effect{Fault{1, "sealing failed (fsync: input/output error); trying again in 5s"}}, false},
			{time.Minute + 5*time.Second, Tick{}, PhaseSealing, []Effect{Seal{1, 2}}, false},
			{time.Minute + 5*time.Second, SealFailed{1, "fsync: input/output error"}, PhaseSealing, []Effect{Fault{1, "sealing failed (fsync: input/output error); trying again in 5s"}}, false},
			{time.Minute + 10*time.Second, Tick{}, PhaseSealing, []Effect{Seal{1, 3}}, false},
			{time.Minute + 10*time.Second, SealFailed{1, "fsync: input/output error"}, PhaseStable, []Effect{Fault{1, "sealing failed 3 times (last: fsync: input/output error); the bundle stays on disk and is sealed as interrupted at the next start"}}, false},
		})},
		{"a press while sealing is refused; the next session waits for the seal", script(started1, []s{
			{time.Minute, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
			{time.Minute, short, PhaseSealing, []Effect{Refuse{"press", "button", "the previous session is still being sealed"}}, false},
			{time.Minute, start, PhaseSealing, []Effect{Refuse{"start", "mqtt", "the previous session is still being sealed"}}, false},
			{time.Minute + time.Second, Sealed{1, "x"}, PhaseStable, nil, false},
			{time.Minute + time.Second, empty, PhaseIdle, nil, false},
			{time.Minute + time.Second, parcel, PhaseStable, nil, false},
			{time.Minute + 2*time.Second, start, PhaseStarting, []Effect{
				FreezeWeight{2, Weighin{Grams: 1840, Stable: true, At: at(time.Minute + 2*time.Second)}}, CaptureLabel{2},
				Evaluate{2, Weighin{Grams: 1840, Stable: true, At: at(time.Minute + 2*time.Second)}, Entries{}}, StartRecording{2, at(time.Minute + 2*time.Second)},
			}, false},
		})},
		{"a mark outside a recording is refused", []s{
			{0, parcel, PhaseStable, nil, false},
			{time.Second, Command{Kind: CmdMark, Source: "mqtt"}, PhaseStable, []Effect{Refuse{"mark", "mqtt", "no recording is running"}}, false},
		}},
		{"entries: given before the start they join the verdict; during the recording they re-evaluate", []s{
			{0, parcel, PhaseStable, nil, false},
			{time.Second, Command{Kind: CmdLabelWeight, Grams: 2350}, PhaseStable, nil, false},
			{time.Second, Command{Kind: CmdOrderRef, Text: " 12345 "}, PhaseStable, nil, false},
			{2 * time.Second, short, PhaseStarting, []Effect{
				FreezeWeight{1, weighin}, CaptureLabel{1},
				Evaluate{1, weighin, Entries{LabelG: 2350, HasLabelG: true, OrderRef: "12345"}}, StartRecording{1, at(2 * time.Second)},
			}, false},
			{3 * time.Second, RecordingStarted{1}, PhaseRecording, nil, false},
			{30 * time.Second, Command{Kind: CmdIssueType, Text: "Wrong_Item"}, PhaseRecording, []Effect{
				Evaluate{1, weighin, Entries{LabelG: 2350, HasLabelG: true, OrderRef: "12345", IssueType: "wrong_item"}},
			}, false},
			{31 * time.Second, Command{Kind: CmdIssueType, Text: "wrong_item"}, PhaseRecording, nil, false},
			{32 * time.Second, Command{Kind: CmdIssueType, Text: "furious", Source: "mqtt"}, PhaseRecording, []Effect{
				Refuse{"issue_type", "mqtt", `verdict: invalid input: issue type "furious" is not one of missing item, damaged item, damaged item (cosmetic), wrong item (or missing_item, wrong_item, damaged_cosmetic, damaged_functional, none)`},
			}, false},
			{33 * time.Second, Command{Kind: CmdLabelWeight, Grams: math.NaN(), Source: "api"}, PhaseRecording, []Effect{
				Refuse{"label_weight", "api", "label_weight must be greater than 0 and at most 200000 g, got NaN"},
			}, false},
			{time.Minute, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
			{time.Minute, Command{Kind: CmdExteriorCondition, Text: "crushed", Source: "mqtt"}, PhaseSealing, []Effect{
				Refuse{"exterior_condition", "mqtt", "the session is being sealed; its entries are final"},
			}, false},
		}},
		{"odd readings are ignored", []s{
			{0, parcel, PhaseStable, nil, false},
			{time.Second, Reading{Grams: math.NaN(), State: weighing.Stable}, PhaseStable, nil, false},
			{time.Second, Reading{Grams: 5, State: weighing.State(9)}, PhaseStable, nil, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, cfg, tc.steps) })
	}
}

// TestTimers: the machine asks for one timer at its next deadline, re-arms
// it when it fired early, and publishes each change of phase.
func TestTimers(t *testing.T) {
	cfg := defaultConfig()
	run(t, cfg, []s{
		{0, moving, PhasePresent, []Effect{PublishState{PhasePresent}}, true},
		{time.Second, short, PhaseWaiting, []Effect{PublishState{PhaseWaiting}, Timer{at(6 * time.Second)}}, true},
		{2 * time.Second, parcel, PhaseStarting, []Effect{
			FreezeWeight{1, weighin}, CaptureLabel{1}, Evaluate{1, weighin, Entries{}}, StartRecording{1, at(2 * time.Second)},
			PublishState{PhaseStarting},
		}, true},
		// Recording: the inactivity deadline (3m), less its 30 s warning,
		// comes before max_duration (20m).
		{3 * time.Second, RecordingStarted{1}, PhaseRecording, []Effect{PublishState{PhaseRecording}, Timer{at(2*time.Minute + 33*time.Second)}}, true},
		// Activity moves the deadline later: no new timer yet.
		{time.Minute, Reading{Grams: 1200, State: weighing.Unstable}, PhaseRecording, nil, true},
		// The early timer fires: nothing expires, the timer is re-armed.
		{2*time.Minute + 33*time.Second, Tick{}, PhaseRecording, []Effect{Timer{at(3*time.Minute + 30*time.Second)}}, true},
		// The warning, then the stop it announced.
		{3*time.Minute + 30*time.Second, Tick{}, PhaseRecording, []Effect{AutoStopWarn{1, at(4 * time.Minute)}, PublishState{PhaseRecording}, Timer{at(4 * time.Minute)}}, true},
		// An inactivity stop pauses for resume_grace (1m) before sealing.
		{4 * time.Minute, Tick{}, PhasePaused, []Effect{StopRecording{Session: 1, Reason: StopInactivity, Resumable: true}, PublishState{PhasePaused}, Timer{at(5 * time.Minute)}}, true},
		{5 * time.Minute, Tick{}, PhaseSealing, []Effect{Seal{1, 1}, PublishState{PhaseSealing}}, true},
		{5 * time.Minute, SealFailed{1, "busy"}, PhaseSealing, []Effect{Fault{1, "sealing failed (busy); trying again in 5s"}, Timer{at(5*time.Minute + 5*time.Second)}}, true},
		{5*time.Minute + 5*time.Second, Tick{}, PhaseSealing, []Effect{Seal{1, 2}}, true},
		{5*time.Minute + 6*time.Second, Sealed{1, "x"}, PhasePresent, []Effect{PublishState{PhasePresent}}, true},
	})
}

func TestDeadline(t *testing.T) {
	st := run(t, defaultConfig(), started1)
	dl, ok := st.Deadline()
	if !ok || !dl.Equal(at(3*time.Second+3*time.Minute-AutoStopWarning)) {
		t.Errorf("Deadline() = %v, %v; want the auto-stop warning at 2m33s", dl, ok)
	}
	if d := st.RecordingFor(at(time.Minute)); d != 57*time.Second {
		t.Errorf("RecordingFor = %v, want 57s", d)
	}
	idle, _ := New(defaultConfig())
	if _, ok := idle.Deadline(); ok {
		t.Error("an idle state has a deadline")
	}
}

func TestStableWaitZero(t *testing.T) {
	cfg := defaultConfig()
	cfg.StableWait = 0
	w := Weighin{Grams: 1200, Stable: false, At: at(time.Second)}
	run(t, cfg, []s{
		{0, moving, PhasePresent, nil, false},
		{time.Second, short, PhaseStarting, []Effect{FreezeWeight{1, w}, CaptureLabel{1}, Evaluate{1, w, Entries{}}, StartRecording{1, at(time.Second)}}, false},
	})
}

func TestZeroStateRefuses(t *testing.T) {
	st, eff := Next(State{}, short, t0)
	if st.Phase != PhaseIdle || len(eff) != 1 {
		t.Fatalf("zero State: phase %v, effects %+v", st.Phase, eff)
	}
	if f, ok := eff[0].(Fault); !ok || !strings.Contains(f.Reason, "not made by New") {
		t.Errorf("zero State answered %+v, want a Fault", eff[0])
	}
}

func TestConfigValidate(t *testing.T) {
	if err := defaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := Config{StableWait: -time.Second, InactivityG: math.NaN()}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Validate(%+v) = %v, want ErrInvalidConfig", bad, err)
	}
	for _, want := range []string{"stable_wait", "max_duration", "inactivity_stop", "inactivity_g", "seal retry", "seal attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := New(bad); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New accepted a bad config: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	s, err := New(defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	for _, tc := range []struct {
		c      Command
		refuse bool
	}{
		{Command{Kind: CmdSolution, Text: "full_refund"}, false},
		{Command{Kind: CmdTier, Grams: 2}, false},
		{Command{Kind: CmdTier, Grams: 7}, true},
		{Command{Kind: CmdTier, Grams: 1.5}, true},
		{Command{Kind: CmdSolution, Text: "money back now"}, true},
	} {
		var effs []Effect
		s, effs = Next(s, tc.c, now)
		refused := false
		for _, e := range effs {
			if _, ok := e.(Refuse); ok {
				refused = true
			}
		}
		if refused != tc.refuse {
			t.Errorf("%+v: refused %v, want %v (effects %v)", tc.c, refused, tc.refuse, effs)
		}
	}
	if s.Entries.Solution != "full_refund" || !s.Entries.HasTier || s.Entries.Tier != 2 {
		t.Errorf("entries %+v", s.Entries)
	}
	s, _ = Next(s, Command{Kind: CmdTier, Grams: -1}, now)
	if s.Entries.HasTier {
		t.Errorf("tier -1 did not clear the override: %+v", s.Entries)
	}
}

func TestPhaseString(t *testing.T) {
	if PhaseRecording.String() != "recording" || Phase(42).String() != "phase(42)" {
		t.Errorf("Phase.String: %q, %q", PhaseRecording, Phase(42))
	}
}

// TestMarkRefusals (issue 13): a mark label under the one text rule, at
// most MaxMarks marks a session, at most one per MinMarkInterval.
func TestMarkRefusals(t *testing.T) {
	hostile := []string{
		"a\x1b[2J", "a\u202eb", "a\u2066b", "a\u200bb", "a\u200cb", "a\u200db", "a\u2060b", "a\ufeffb",
		"a\u3164b", "a\u115fb", "a\u1160b", "a\u2028Proposed Solution: full refund", "a\u2029b", "a\u0085b",
		"a\u009bb", "a\x00b", "a\x7fb", "=1+1", "+1", "-x", "@SUM(A1)", " lead", "trail ", "\xff",
		strings.Repeat("x", 65),
	}
	st := run(t, defaultConfig(), started1)
	now := 10 * time.Second
	for _, label := range hostile {
		var eff []Effect
		st, eff = Next(st, Command{Kind: CmdMark, Text: label, Source: "api"}, at(now))
		if len(eff) != 1 || st.Marks != 0 {
			t.Fatalf("mark %q: effects %v, marks %d; want one refusal", label, eff, st.Marks)
		}
		if r, ok := eff[0].(Refuse); !ok || !strings.HasPrefix(r.Reason, "mark label: ") {
			t.Errorf("mark %q: %v, want a refusal naming the label", label, eff[0])
		}
	}
	// The rate: a second mark within MinMarkInterval is refused.
	st, _ = Next(st, Command{Kind: CmdMark, Text: "ok"}, at(now))
	st, eff := Next(st, Command{Kind: CmdMark, Source: "api"}, at(now+MinMarkInterval/2))
	if r, ok := eff[0].(Refuse); len(eff) != 1 || !ok || !strings.Contains(r.Reason, "at most one per") || st.Marks != 1 {
		t.Errorf("a mark %v after the last: %v (marks %d)", MinMarkInterval/2, eff, st.Marks)
	}
	// The cap: MaxMarks, then refused.
	for st.Marks < MaxMarks {
		now += MinMarkInterval
		st, _ = Next(st, short, at(now))
	}
	now += time.Second
	st, eff = Next(st, short, at(now))
	if r, ok := eff[0].(Refuse); len(eff) != 1 || !ok || !strings.Contains(r.Reason, "the most a session takes") || st.Marks != MaxMarks {
		t.Errorf("mark %d: %v", MaxMarks+1, eff)
	}
}

// TestUnboxing (issue 14): marks are activity; 30 s before an inactivity
// stop the machine warns; the stop pauses the session, and a short press
// within resume_grace continues the same session into its next part; a
// button stop then seals it at once.
func TestUnboxing(t *testing.T) {
	cfg := defaultConfig()
	st := run(t, cfg, script(started1, []s{
		// A mark at 2m restarts the inactivity timer: no stop at 3m3s.
		{2 * time.Minute, short, PhaseRecording, []Effect{Mark{1, 1, "mark 1", at(2 * time.Minute)}}, false},
		{3*time.Minute + 3*time.Second, Tick{}, PhaseRecording, nil, false},
		// The warning 30 s before the stop at 5m.
		{4*time.Minute + 30*time.Second, Tick{}, PhaseRecording, []Effect{AutoStopWarn{1, at(5 * time.Minute)}}, false},
	}))
	if got, ok := st.AutoStopAt(); !ok || !got.Equal(at(5*time.Minute)) {
		t.Fatalf("AutoStopAt() = %v, %v; want 5m", got, ok)
	}
	run(t, cfg, script(started1, []s{
		{2 * time.Minute, short, PhaseRecording, []Effect{Mark{1, 1, "mark 1", at(2 * time.Minute)}}, false},
		{4*time.Minute + 30*time.Second, Tick{}, PhaseRecording, []Effect{AutoStopWarn{1, at(5 * time.Minute)}}, false},
		// Activity takes the warning back (the state is published).
		{4*time.Minute + 40*time.Second, Reading{Grams: 1500, State: weighing.Unstable}, PhaseRecording, []Effect{PublishState{PhaseRecording}}, true},
		{7*time.Minute + 10*time.Second, Tick{}, PhaseRecording, []Effect{AutoStopWarn{1, at(7*time.Minute + 40*time.Second)}}, false},
		{7*time.Minute + 40*time.Second, Tick{}, PhasePaused, []Effect{StopRecording{Session: 1, Reason: StopInactivity, Resumable: true}}, false},
		// Paused: a mark is refused, entries still count.
		{7*time.Minute + 50*time.Second, Command{Kind: CmdMark, Source: "mqtt"}, PhasePaused, []Effect{
			Refuse{"mark", "mqtt", "the recording is paused after no activity: press the button (or start) to continue it first"}}, false},
		// A short press within the grace: the same session, part 1.
		{8 * time.Minute, short, PhaseStarting, []Effect{ResumeRecording{Session: 1, Part: 1}}, false},
		{8*time.Minute + time.Second, RecordingStarted{1}, PhaseRecording, nil, false},
		// A button stop: sealed at once, no grace.
		{9 * time.Minute, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
		{9*time.Minute + time.Second, Sealed{1, "x"}, PhasePresent, nil, false},
	}))
	// A stop command while paused seals at once; a continuation that
	// cannot record seals what was recorded.
	run(t, cfg, script(started1, []s{
		{3*time.Minute + 3*time.Second, Tick{}, PhasePaused, []Effect{StopRecording{Session: 1, Reason: StopInactivity, Resumable: true}}, false},
		{3*time.Minute + 10*time.Second, stop, PhaseSealing, []Effect{Seal{1, 1}}, false},
	}))
	end := run(t, cfg, script(started1, []s{
		{3*time.Minute + 3*time.Second, Tick{}, PhasePaused, []Effect{StopRecording{Session: 1, Reason: StopInactivity, Resumable: true}}, false},
		{3*time.Minute + 10*time.Second, start, PhaseStarting, []Effect{ResumeRecording{Session: 1, Part: 1}}, false},
		{3*time.Minute + 11*time.Second, RecordingFailed{1, "camera gone"}, PhaseSealing, []Effect{
			Fault{1, "the recording could not be continued: camera gone"}, Seal{1, 1}}, false},
	}))
	if end.StopReason != StopInactivity || end.Part != 1 {
		t.Errorf("after a failed continuation: stop reason %q, part %d; want inactivity, 1", end.StopReason, end.Part)
	}
	// Without a grace, an inactivity stop seals at once.
	nog := cfg
	nog.ResumeGrace = 0
	run(t, nog, script(started1, []s{
		{3*time.Minute + 3*time.Second, Tick{}, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopInactivity}, Seal{1, 1}}, false},
	}))
}

// TestLeftoverLoad (issue 14): after a session the platform must return to
// empty; until it has, a start is refused unless forced (start FORCE, a
// double press), and the forced weigh-in is flagged.
func TestLeftoverLoad(t *testing.T) {
	cfg := defaultConfig()
	sealed := script(started1, []s{
		{time.Minute, long, PhaseSealing, []Effect{StopRecording{Session: 1, Reason: StopButton}, Seal{1, 1}}, false},
		{time.Minute + time.Second, Sealed{1, "x"}, PhaseStable, nil, false},
	})
	box := Reading{Grams: 3211.8, State: weighing.Stable}
	flagged := Weighin{Grams: 3211.8, Stable: true, At: at(2 * time.Minute), LeftoverLoad: true}
	reason := "the platform has not been empty since the last session (3211.8 g on it): take everything off and put the parcel on alone, or force the start (double press, or start with FORCE)"
	st := run(t, cfg, script(sealed, []s{
		{time.Minute + 30*time.Second, box, PhaseStable, nil, false},
		{time.Minute + 40*time.Second, short, PhaseStable, []Effect{Refuse{"start", "button", reason}}, false},
		{time.Minute + 50*time.Second, start, PhaseStable, []Effect{Refuse{"start", "mqtt", reason}}, false},
		{2 * time.Minute, Command{Kind: CmdStart, Text: ForcePayload, Source: "mqtt"}, PhaseStarting, []Effect{
			FreezeWeight{2, flagged}, CaptureLabel{2}, Evaluate{2, flagged, Entries{}}, StartRecording{2, at(2 * time.Minute)}}, false},
	}))
	if !st.Weighin.LeftoverLoad {
		t.Error("forced weigh-in not flagged")
	}
	// A double press forces too.
	run(t, cfg, script(sealed, []s{
		{2 * time.Minute, box, PhaseStable, nil, false},
		{2 * time.Minute, Press{Kind: PressDouble}, PhaseStarting, []Effect{
			FreezeWeight{2, flagged}, CaptureLabel{2}, Evaluate{2, flagged, Entries{}}, StartRecording{2, at(2 * time.Minute)}}, false},
	}))
	// Once empty, a start is a plain one, forced or not, and not flagged.
	clean := Weighin{Grams: 1418, Stable: true, At: at(2 * time.Minute)}
	st = run(t, cfg, script(sealed, []s{
		{time.Minute + 30*time.Second, empty, PhaseIdle, nil, false},
		{time.Minute + 40*time.Second, Reading{Grams: 1418, State: weighing.Stable}, PhaseStable, nil, false},
		{2 * time.Minute, Command{Kind: CmdStart, Text: ForcePayload, Source: "mqtt"}, PhaseStarting, []Effect{
			FreezeWeight{2, clean}, CaptureLabel{2}, Evaluate{2, clean, Entries{}}, StartRecording{2, at(2 * time.Minute)}}, false},
	}))
	if st.Weighin.LeftoverLoad || st.LeftoverLoad() {
		t.Error("a start after the platform was empty is flagged")
	}
}
