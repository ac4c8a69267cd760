package publish

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l := Limiter{Interval: 500 * time.Millisecond, DeadbandG: 1}

	steps := []struct {
		name     string
		ms       int
		s        State
		wantSend bool
		wantDue  int // ms; -1 = none
	}{
		{"first state goes at once", 0, State{WeightG: 0}, true, -1},
		{"within deadband: nothing", 100, State{WeightG: 0.5}, false, -1},
		{"beyond deadband inside interval: held", 200, State{WeightG: 5}, false, 500},
		{"newer weight replaces the held one", 300, State{WeightG: 7}, false, 500},
		{"back within deadband of sent: dropped", 400, State{WeightG: 0.2}, false, -1},
		{"stable flag inside interval: held", 450, State{WeightG: 0.2, Stable: true}, false, 500},
	}
	for _, st := range steps {
		send, due := l.Offer(st.s, at(st.ms))
		if send != st.wantSend {
			t.Fatalf("%s: send = %v, want %v", st.name, send, st.wantSend)
		}
		if st.wantDue < 0 && !due.IsZero() || st.wantDue >= 0 && !due.Equal(at(st.wantDue)) {
			t.Fatalf("%s: due = %v, want %d ms", st.name, due.Sub(t0), st.wantDue)
		}
	}
	if _, ok := l.Due(at(499)); ok {
		t.Fatal("held state went out before the interval ended")
	}
	s, ok := l.Due(at(500))
	if !ok || !s.Stable {
		t.Fatalf("Due at 500 ms = %v %v, want the stable state", s, ok)
	}
	if _, ok := l.Due(at(600)); ok {
		t.Fatal("a state went out twice")
	}
	// A change after a quiet interval goes at once.
	if send, _ := l.Offer(State{WeightG: 0.2, Stable: true, Recording: true}, at(1200)); !send {
		t.Fatal("recording change after a quiet interval was held")
	}
	// Free storage changes below 1 MiB are noise.
	if send, _ := l.Offer(State{WeightG: 0.2, Stable: true, Recording: true, FreeStorageBytes: 1000}, at(2000)); send {
		t.Fatal("1000 bytes of free storage change sent")
	}
}

// TestLimiterRate feeds a weight that changes every 10 ms for 10 s and
// checks that no two sends are closer than the interval (≤ 2 Hz) and that
// the last value is not lost.
func TestLimiterRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := Limiter{Interval: 500 * time.Millisecond, DeadbandG: 1}
	var sends []time.Time
	var last State
	for ms := 0; ms <= 10000; ms += 10 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		if s, ok := l.Due(now); ok {
			sends, last = append(sends, now), s
		}
		s := State{WeightG: float64(ms) / 5}
		if send, _ := l.Offer(s, now); send {
			sends, last = append(sends, now), s
		}
	}
	for i := 1; i < len(sends); i++ {
		if d := sends[i].Sub(sends[i-1]); d < 500*time.Millisecond {
			t.Fatalf("sends %d and %d are %v apart", i-1, i, d)
		}
	}
	if len(sends) < 19 || len(sends) > 21 {
		t.Errorf("%d sends in 10 s, want about 20", len(sends))
	}
	if last.WeightG < 1900 {
		t.Errorf("last sent weight %v, want close to 2000", last.WeightG)
	}
}

func TestLimiterRepeat(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l := Limiter{Interval: 500 * time.Millisecond, DeadbandG: 1}
	if send, due := l.Repeat(at(0)); send || !due.IsZero() {
		t.Fatal("repeat before anything was sent")
	}
	l.Offer(State{WeightG: 10}, at(0))
	if send, due := l.Repeat(at(100)); send || !due.Equal(at(500)) {
		t.Fatalf("repeat inside the interval: send %v due %v", send, due.Sub(t0))
	}
	s, ok := l.Due(at(500))
	if !ok || s.WeightG != 10 {
		t.Fatalf("Due = %v %v, want the repeated state", s, ok)
	}
	if send, _ := l.Repeat(at(1100)); !send {
		t.Fatal("repeat after a quiet interval was held")
	}
	// A newer held state wins over a repeat.
	l.Offer(State{WeightG: 50}, at(1200))
	l.Repeat(at(1300))
	if s, ok := l.Due(at(1600)); !ok || s.WeightG != 50 {
		t.Fatalf("Due = %v %v, want the newer state", s, ok)
	}
}
