package session

import (
	"fmt"
	"math"
	"testing"
	"time"

	"weighin/internal/weighing"
)

// fuzzConfig has short timings so random sequences reach every deadline.
var fuzzConfig = Config{
	StableWait: 2 * time.Second, MaxDuration: time.Minute, InactivityStop: 20 * time.Second,
	InactivityG: 5, SealRetry: time.Second, SealAttempts: 3,
}

// world checks the invariants of the effects and states it is shown, like a
// station that carries effects out and keeps the books.
type world struct {
	t   *testing.T
	now time.Time
	st  State

	frozen     map[uint64]Weighin // FreezeWeight by session
	recording  map[uint64]bool    // the recorder confirmed
	stopped    map[uint64]bool    // StopRecording emitted
	seals      map[uint64]int     // Seal effects
	sealed     map[uint64]bool    // ended by Sealed
	abandoned  map[uint64]bool    // ended after the last seal failed
	lastStart  uint64
	pendingRec uint64 // StartRecording not yet answered
}

func newWorld(t *testing.T) *world {
	st, err := New(fuzzConfig)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, now: t0, st: st,
		frozen: map[uint64]Weighin{}, recording: map[uint64]bool{}, stopped: map[uint64]bool{},
		seals: map[uint64]int{}, sealed: map[uint64]bool{}, abandoned: map[uint64]bool{}}
}

func (w *world) step(ev Event) {
	t := w.t
	prev := w.st
	next, effects := Next(prev, ev, w.now)
	w.st = next
	where := fmt.Sprintf("at %v, %v --%T%+v--> %v", w.now.Sub(t0), prev.Phase, ev, ev, next.Phase)

	// The recorder's answers, as the machine accepted them.
	switch e := ev.(type) {
	case RecordingStarted:
		if prev.Phase == PhaseStarting && e.Session == prev.Session {
			w.recording[e.Session] = true
			w.pendingRec = 0
		}
	case RecordingFailed:
		if prev.Phase == PhaseStarting && e.Session == prev.Session {
			w.pendingRec = 0
		}
	}
	starts := 0
	for _, e := range effects {
		switch e := e.(type) {
		case FreezeWeight:
			if prev.Phase.InSession() {
				t.Fatalf("%s: weigh-in frozen inside session %d", where, prev.Session)
			}
			if e.Session <= w.lastStart || e.Session != next.Session {
				t.Fatalf("%s: session number %d after %d (state %d)", where, e.Session, w.lastStart, next.Session)
			}
			if math.IsNaN(e.Weighin.Grams) || math.IsInf(e.Weighin.Grams, 0) {
				t.Fatalf("%s: weigh-in of %v g", where, e.Weighin.Grams)
			}
			w.frozen[e.Session] = e.Weighin
		case StartRecording:
			starts++
			if prev.Phase.InSession() || w.pendingRec != 0 {
				t.Fatalf("%s: a second recording asked for while session %d is %v", where, prev.Session, prev.Phase)
			}
			if _, ok := w.frozen[e.Session]; !ok {
				t.Fatalf("%s: recording without a weigh-in", where)
			}
			w.lastStart = e.Session
			w.pendingRec = e.Session
		case Evaluate:
			if wi, ok := w.frozen[e.Session]; !ok || wi != e.Weighin || e.Session != next.Session {
				t.Fatalf("%s: verdict for session %d without its weigh-in", where, e.Session)
			}
			if e.Entries != next.Entries {
				t.Fatalf("%s: verdict on stale entries %+v, state has %+v", where, e.Entries, next.Entries)
			}
		case CaptureLabel:
			if _, ok := w.frozen[e.Session]; !ok {
				t.Fatalf("%s: label still without a weigh-in", where)
			}
		case Mark:
			if prev.Phase != PhaseRecording || !w.recording[e.Session] || w.stopped[e.Session] {
				t.Fatalf("%s: mark outside a recording", where)
			}
		case StopRecording:
			if !w.recording[e.Session] || w.stopped[e.Session] {
				t.Fatalf("%s: stop of session %d, recording %v, stopped before %v", where, e.Session, w.recording[e.Session], w.stopped[e.Session])
			}
			w.stopped[e.Session] = true
		case Seal:
			if _, ok := w.frozen[e.Session]; !ok || !w.stopped[e.Session] {
				t.Fatalf("%s: seal of session %d without weigh-in or stop", where, e.Session)
			}
			w.seals[e.Session]++
			if e.Attempt != w.seals[e.Session] || e.Attempt > fuzzConfig.SealAttempts {
				t.Fatalf("%s: seal attempt %d, %d seals so far", where, e.Attempt, w.seals[e.Session])
			}
		case Tare:
			if prev.Phase.InSession() || prev.Phase == PhaseWaiting {
				t.Fatalf("%s: tare during a session", where)
			}
		}
	}
	if starts > 1 {
		t.Fatalf("%s: %d recordings asked for at once", where, starts)
	}

	// Leaving a session.
	if prev.Phase.InSession() && !next.Phase.InSession() {
		s := prev.Session
		switch {
		case prev.Phase == PhaseStarting:
			if _, ok := ev.(RecordingFailed); !ok {
				t.Fatalf("%s: left starting without a failed start", where)
			}
		case prev.Phase == PhaseSealing:
			if e, ok := ev.(Sealed); ok && e.Session == s {
				w.sealed[s] = true
			} else if w.seals[s] == fuzzConfig.SealAttempts {
				w.abandoned[s] = true
			} else {
				t.Fatalf("%s: left sealing without a seal (%d attempts)", where, w.seals[s])
			}
		default:
			t.Fatalf("%s: left a recording without sealing it", where)
		}
	}
	// State invariants.
	if next.Phase.InSession() {
		if wi, ok := w.frozen[next.Session]; !ok || wi != next.Weighin {
			t.Fatalf("%s: in session %d without its weigh-in", where, next.Session)
		}
	}
	if next.Phase == PhaseRecording && next.RecordingFor(w.now) >= fuzzConfig.MaxDuration {
		t.Fatalf("%s: recording for %v, beyond max_duration", where, next.RecordingFor(w.now))
	}
	if next.Phase == PhaseWaiting && !w.now.Before(next.waitSince.Add(fuzzConfig.StableWait)) {
		t.Fatalf("%s: still waiting past stable_wait", where)
	}
}

// drain plays an obliging station: it confirms, stops and seals until the
// machine is out of any session.
func (w *world) drain() {
	for range 20 {
		w.now = w.now.Add(fuzzConfig.StableWait + fuzzConfig.SealRetry)
		switch w.st.Phase {
		case PhaseWaiting:
			w.step(Tick{})
		case PhaseStarting:
			w.step(RecordingStarted{w.st.Session})
		case PhaseRecording:
			w.step(Command{Kind: CmdStop})
		case PhaseSealing:
			w.step(Tick{}) // a pending retry goes out first
			if w.st.Phase == PhaseSealing {
				w.step(Sealed{Session: w.st.Session})
			}
		default:
			return
		}
	}
	w.t.Fatalf("the machine did not leave %v", w.st.Phase)
}

// event decodes one event from two bytes.
func (w *world) event(op, arg byte) Event {
	sess := w.st.Session
	switch arg % 4 { // recorder answers sometimes name another session
	case 1:
		sess++
	case 2:
		sess--
	}
	grams := float64(arg) * 20
	switch op % 20 {
	case 0:
		return Reading{Grams: 0.1, State: weighing.Empty}
	case 1, 2:
		return Reading{Grams: grams, State: weighing.Unstable}
	case 3, 4:
		return Reading{Grams: grams, State: weighing.Stable}
	case 5:
		return Press{Kind: PressShort}
	case 6:
		return Press{Kind: PressLong}
	case 7:
		return Command{Kind: CmdStart}
	case 8:
		return Command{Kind: CmdStop}
	case 9:
		return Command{Kind: CmdMark}
	case 10:
		return Command{Kind: CmdTare}
	case 11:
		return Command{Kind: CmdLabelWeight, Grams: grams - 100}
	case 12:
		switch arg % 3 {
		case 0:
			return Command{Kind: CmdIssueType, Text: []string{"wrong_item", "none", "bad", "damaged_cosmetic"}[arg%4]}
		case 1:
			return Command{Kind: CmdSolution, Text: []string{"full_refund", "default", "bad"}[arg%3]}
		}
		return Command{Kind: CmdTier, Grams: float64(int(arg%6) - 1)}
	case 13:
		return Tick{}
	case 14, 15:
		return RecordingStarted{sess}
	case 16:
		return RecordingFailed{sess, "disk full"}
	case 17:
		return Sealed{Session: sess}
	case 18:
		return RecordingLost{sess, "no space left on device"}
	default:
		return SealFailed{sess, "io"}
	}
}

// FuzzNext drives the machine with random sequences of readings, presses,
// commands, ticks and (sometimes stale) I/O outcomes, and checks that there
// are never two recordings, that nothing is evaluated, recorded or sealed
// without a weigh-in, that a recording is stopped once and sealed after,
// that deadlines hold, and that every session a recorder confirmed ends
// sealed (or given up after the last failed seal) once the station obliges.
func FuzzNext(f *testing.F) {
	f.Add([]byte{3, 100, 5, 0, 14, 0, 5, 0, 9, 0, 6, 0, 17, 0})               // start, mark, stop, seal
	f.Add([]byte{1, 50, 5, 0, 13, 40, 14, 0, 7, 0, 7, 0, 8, 0, 18, 0, 13, 9}) // wait, redelivered start, seal failure
	f.Add([]byte{3, 100, 7, 0, 16, 0, 5, 0, 8, 0, 14, 0, 13, 255, 13, 255})   // failed start, retry, stop while starting
	f.Add([]byte{0, 0, 6, 0, 3, 9, 10, 0, 11, 120, 12, 2, 5, 0, 15, 0, 13, 250, 13, 250, 13, 250})
	f.Fuzz(func(t *testing.T, data []byte) {
		w := newWorld(t)
		for k := 0; k+2 < len(data); k += 3 {
			// Time moves by 0 to 63.75 s, in quarter seconds.
			w.now = w.now.Add(time.Duration(data[k+2]%0xff) * 250 * time.Millisecond)
			w.step(w.event(data[k], data[k+1]))
		}
		w.drain()
		for s := range w.recording {
			if !w.sealed[s] && !w.abandoned[s] {
				t.Errorf("session %d was recorded but never sealed", s)
			}
			if !w.stopped[s] {
				t.Errorf("session %d was never stopped", s)
			}
		}
		for s := range w.sealed {
			if !w.recording[s] {
				t.Errorf("session %d sealed without a recording", s)
			}
		}
	})
}

// BenchmarkSession is one whole session: 600 readings, a mark, stop, seal.
func BenchmarkSession(b *testing.B) {
	for b.Loop() {
		st, _ := New(fuzzConfig)
		now := t0
		st, _ = Next(st, Reading{Grams: 1840, State: weighing.Stable}, now)
		st, _ = Next(st, Press{Kind: PressShort}, now)
		st, _ = Next(st, RecordingStarted{st.Session}, now)
		for k := range 600 {
			now = now.Add(100 * time.Millisecond)
			st, _ = Next(st, Reading{Grams: 1840 - float64(k%50), State: weighing.Unstable}, now)
		}
		st, _ = Next(st, Press{Kind: PressShort}, now)
		st, _ = Next(st, Press{Kind: PressLong}, now)
		st, _ = Next(st, Sealed{Session: st.Session}, now)
		if st.Phase != PhaseIdle && st.Phase != PhasePresent {
			b.Fatalf("ended in %v", st.Phase)
		}
	}
}
