package button_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"weighin/drivers/button"
	"weighin/drivers/button/buttontest"
)

const ms = time.Millisecond

type want struct {
	kind button.Kind
	at   time.Duration // since the start of the test
	held time.Duration
	seen time.Duration // when Next returned it
}

func TestPresses(t *testing.T) {
	press := buttontest.Press
	cat := func(ss ...[]buttontest.Step) []buttontest.Step {
		var out []buttontest.Step
		for _, s := range ss {
			out = append(out, s...)
		}
		return out
	}
	tests := []struct {
		name   string
		opts   button.Opts
		start  gpio.Level
		script []buttontest.Step
		want   []want
	}{
		{
			name: "short, clean", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: press(true, 100*ms, 200*ms, 0, 0),
			// reported when the double-press window after the release ends
			want: []want{{button.Short, 100 * ms, 200 * ms, 300*ms + 400*ms}},
		},
		{
			name: "short with bounces", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: press(true, 100*ms, 200*ms, 5, ms),
			want:   []want{{button.Short, 110 * ms, 210 * ms, 320*ms + 400*ms}}, // Held: last bounce to last bounce
		},
		{
			name: "long fires while held", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: press(true, 100*ms, 3*time.Second, 3, ms),
			want:   []want{{button.Long, 106 * ms, 2 * time.Second, 2106 * ms}},
		},
		{
			name: "long press time from Opts", opts: button.Opts{ActiveLow: true, LongPress: 700 * ms}, start: gpio.High,
			script: press(true, 0, time.Second, 0, 0),
			want:   []want{{button.Long, 0, 700 * ms, 700 * ms}},
		},
		{
			name: "double", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: cat(press(true, 100*ms, 150*ms, 2, ms), press(true, 200*ms, 120*ms, 2, ms)),
			want:   []want{{button.Double, 104 * ms, 124 * ms, 100*ms + 4*ms + 150*ms + 4*ms + 200*ms + 4*ms + 120*ms + 4*ms + 30*ms}},
		},
		{
			name: "two shorts, too far apart", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: cat(press(true, 100*ms, 150*ms, 0, 0), press(true, 600*ms, 150*ms, 0, 0)),
			want: []want{
				{button.Short, 100 * ms, 150 * ms, 250*ms + 400*ms},
				{button.Short, 850 * ms, 150 * ms, 1000*ms + 400*ms},
			},
		},
		{
			name: "short then long is not a double", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: cat(press(true, 100*ms, 150*ms, 0, 0), press(true, 200*ms, 2500*ms, 0, 0)),
			want: []want{
				{button.Short, 100 * ms, 150 * ms, 2450 * ms},
				{button.Long, 450 * ms, 2 * time.Second, 2450 * ms},
			},
		},
		{
			name: "double presses disabled", opts: button.Opts{ActiveLow: true, DoubleWindow: -1}, start: gpio.High,
			script: cat(press(true, 100*ms, 150*ms, 0, 0), press(true, 100*ms, 150*ms, 0, 0)),
			want: []want{
				{button.Short, 100 * ms, 150 * ms, 280 * ms},
				{button.Short, 350 * ms, 150 * ms, 530 * ms},
			},
		},
		{
			name: "glitches shorter than the debounce are ignored", opts: button.Opts{ActiveLow: true}, start: gpio.High,
			script: cat(press(true, 100*ms, 10*ms, 0, 0), press(true, 100*ms, 25*ms, 0, 0)),
			want:   nil,
		},
		{
			name: "active high", opts: button.Opts{}, start: gpio.Low,
			script: press(false, 100*ms, 200*ms, 1, 2*ms),
			want:   []want{{button.Short, 104 * ms, 204 * ms, 308*ms + 400*ms}},
		},
		{
			name: "held at start is ignored until released", opts: button.Opts{ActiveLow: true}, start: gpio.Low,
			script: cat([]buttontest.Step{{After: 3 * time.Second, Level: gpio.High}}, press(true, 100*ms, 100*ms, 0, 0)),
			want:   []want{{button.Short, 3100 * ms, 100 * ms, 3200*ms + 400*ms}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				pin := buttontest.NewPin("GPIO17", tc.start)
				b, err := button.New(pin, &tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				go pin.Play(tc.script)
				ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
				defer cancel()
				var got []want
				for {
					p, err := b.Next(ctx)
					if errors.Is(err, context.DeadlineExceeded) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, want{p.Kind, p.At.Sub(start), p.Held, time.Since(start)})
				}
				if len(got) != len(tc.want) {
					t.Fatalf("presses %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("press %d = %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			})
		})
	}
}

func TestNextHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := buttontest.NewPin("GPIO17", gpio.High)
		b, err := button.New(pin, &button.Opts{ActiveLow: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		if _, err := b.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next: %v, want context.Canceled", err)
		}
		// Cancellation is noticed within one wait slice (250 ms).
		if d := time.Since(start); d > 1250*ms {
			t.Errorf("Next returned %v after the start, cancel was at 1 s", d)
		}
		// Edge-driven: a few waits per second, not a poll.
		if w := pin.Waits(); w > 6 {
			t.Errorf("%d WaitForEdge calls in one idle second", w)
		}
		if pin.Pull() != gpio.PullUp {
			t.Errorf("pull %v, want PullUp for active low", pin.Pull())
		}
	})
}

// nonBlocking returns false at once, as gpioioctl does without edge
// detection; Next must not spin on it.
type nonBlocking struct {
	*buttontest.Pin
	calls int
}

func (p *nonBlocking) WaitForEdge(time.Duration) bool { p.calls++; return false }

func TestNextDoesNotSpinOnANonBlockingPin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &nonBlocking{Pin: buttontest.NewPin("GPIO17", gpio.High)}
		b, err := button.New(pin, &button.Opts{ActiveLow: true})
		if err != nil {
			t.Fatal(err)
		}
		// Without edges, the level is still looked at after each wait.
		done := make(chan struct{})
		go func() { pin.Play(buttontest.Press(true, 100*ms, 2500*ms, 0, 0)); close(done) }()
		defer func() { <-done }()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		p, err := b.Next(ctx)
		if err != nil || p.Kind != button.Long {
			t.Fatalf("Next = %+v, %v; want a long press", p, err)
		}
		if pin.calls > 30 {
			t.Errorf("%d WaitForEdge calls in 2.1 s", pin.calls)
		}
	})
}

func TestNewErrors(t *testing.T) {
	pin := buttontest.NewPin("GPIO17", gpio.High)
	for _, tc := range []struct {
		opts button.Opts
		want string
	}{
		{button.Opts{Debounce: -ms}, "invalid Opts.Debounce: must be between 0 and 1 s"},
		{button.Opts{Debounce: 2 * time.Second, LongPress: 3 * time.Second}, "invalid Opts.Debounce: must be between 0 and 1 s"},
		{button.Opts{LongPress: 20 * ms}, "invalid Opts.LongPress: 20ms must be longer than the debounce time 30ms"},
	} {
		if _, err := button.New(pin, &tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
	if _, err := button.New(nil, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	b, err := button.New(pin, &button.Opts{ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "button(GPIO17, active low, long 2s)" {
		t.Errorf("String() = %q", got)
	}
	if err := b.Halt(); err != nil {
		t.Error(err)
	}
}

// FuzzDecoder feeds random edge sequences to the pure decoder and checks
// its invariants.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{10, 1, 50, 0, 200, 1, 5, 0})
	f.Add([]byte{0, 1, 1, 0, 2, 1, 3, 0, 250, 1, 250, 1, 250, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const debounce, long, double = 30 * ms, 700 * ms, 200 * ms
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		d := button.NewDecoder(t0, false, debounce, long, double)
		twin := button.NewDecoder(t0, false, debounce, long, double)
		now := t0
		pressEdges := 0
		level := false
		for i := 0; i+1 < len(data); i += 2 {
			now = now.Add(time.Duration(data[i]) * 4 * ms)
			p := data[i+1]&1 == 1
			if p && !level {
				pressEdges++
			}
			level = p
			d.Edge(now, p)
			twin.Edge(now, p)
			twin.Edge(now, p) // a stale edge with no change is ignored
			twin.Tick(now)
		}
		d.Edge(now, false)
		twin.Edge(now, false)
		now = now.Add(time.Hour)
		d.Tick(now)
		twin.Tick(now)
		var prev time.Time
		n := 0
		for {
			p, ok := d.Pop()
			q, ok2 := twin.Pop()
			if ok != ok2 || p != q {
				t.Fatalf("stale edges changed the result: %+v vs %+v", p, q)
			}
			if !ok {
				break
			}
			n++
			if p.At.Before(prev) && p.Kind != button.Long {
				t.Fatalf("press %+v before the previous one at %v", p, prev)
			}
			prev = p.At
			switch p.Kind {
			case button.Long:
				if p.Held != long {
					t.Fatalf("long press held %v", p.Held)
				}
			case button.Short, button.Double:
				if p.Held < debounce || p.Held >= long {
					t.Fatalf("%v press held %v, outside [%v, %v)", p.Kind, p.Held, debounce, long)
				}
			default:
				t.Fatalf("unknown kind %v", p.Kind)
			}
		}
		if n > pressEdges {
			t.Fatalf("%d presses from %d press edges", n, pressEdges)
		}
	})
}
