package led_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"weighin/drivers/led"
	"weighin/drivers/led/ledtest"
)

const ms = time.Millisecond

// render draws a pattern over 3.2 s in 50 ms cells: # lit, . dark.
func render(p led.Pattern) string {
	var s []byte
	for t := time.Duration(0); t < 3200*ms; t += 50 * ms {
		if led.Level(p, t) {
			s = append(s, '#')
		} else {
			s = append(s, '.')
		}
	}
	return string(s)
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		p    led.Pattern
		want string
	}{
		{led.Off, "................................................................"},
		{led.Idle, "##..........................................................##.."},
		{led.WarmingUp, "##########..........##########..........##########..........####"},
		{led.Stable, "################################################################"},
		{led.Recording, "##################..##################..##################..####"},
		{led.Discrepancy, "###...###...###.....................###...###...###............."},
		{led.Error, "##..##..##..##..##..##..##..##..##..##..##..##..##..##..##..##.."},
		{led.Attention, "##############################..........########################"},
		{led.AutoStop, "##########..##..##..##########..##..##..##########..##..##..####"},
		{led.Paused, "######..............######..............######..............####"},
		{led.RecordingSound, "##############..##..##############..##..##############..##..####"},
		{led.Pattern(42), "................................................................"},
	}
	for _, tc := range tests {
		if got := render(tc.p); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.p, got, tc.want)
		}
	}
}

// NextChange agrees with Level: the level holds until the change and flips
// there.
func TestNextChangeAgreesWithLevel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for p := led.Off; p <= led.Attention; p++ {
		for range 2000 {
			at := time.Duration(r.Int64N(int64(time.Minute)))
			next, ok := led.NextChange(p, at)
			if !ok {
				for _, d := range []time.Duration{ms, time.Second, time.Hour} {
					if led.Level(p, at+d) != led.Level(p, at) {
						t.Fatalf("%v: steady, but the level changes between %v and %v", p, at, at+d)
					}
				}
				continue
			}
			if next <= at {
				t.Fatalf("%v: NextChange(%v) = %v", p, at, next)
			}
			if led.Level(p, next-1) != led.Level(p, at) || led.Level(p, next) == led.Level(p, at) {
				t.Fatalf("%v: level at %v is %v, at %v−1ns %v, at %v %v", p, at, led.Level(p, at), next, led.Level(p, next-1), next, led.Level(p, next))
			}
		}
	}
}

type change struct {
	at time.Duration
	l  gpio.Level
}

func changes(pin *ledtest.Pin, start time.Time) []change {
	var out []change
	for _, c := range pin.Changes() {
		out = append(out, change{c.At.Sub(start), c.Level})
	}
	return out
}

func TestRun(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(fmt.Sprint("active low ", activeLow), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				on, off := gpio.High, gpio.Low
				if activeLow {
					on, off = gpio.Low, gpio.High
				}
				start := time.Now()
				pin := ledtest.NewPin("GPIO27")
				d, err := led.New(pin, &led.Opts{ActiveLow: activeLow})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error)
				go func() { done <- d.Run(ctx) }()
				d.Set(led.WarmingUp)
				time.Sleep(1200 * ms)
				d.Set(led.WarmingUp) // same pattern: phase kept
				time.Sleep(1000 * ms)
				d.Set(led.Stable) // at 2.2 s, lit already: no Out
				time.Sleep(500 * ms)
				d.Set(led.Error) // at 2.7 s: lit at once, dark at 2.8 s …
				time.Sleep(250 * ms)
				if err := d.Halt(); err != nil { // at 2.95 s
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Fatalf("Run: %v", err)
				}
				want := []change{
					{0, off}, // New
					{0, on}, {500 * ms, off}, {1000 * ms, on}, {1500 * ms, off}, {2000 * ms, on},
					{2800 * ms, off}, {2900 * ms, on},
					{2950 * ms, off}, // Halt
				}
				got := changes(pin, start)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("pin changes\n got %v\nwant %v", got, want)
				}
				if d.Pattern() != led.Off {
					t.Errorf("pattern after Halt %v", d.Pattern())
				}
			})
		})
	}
}

// Step can be ticked by the caller instead of Run.
func TestStep(t *testing.T) {
	pin := ledtest.NewPin("GPIO27")
	d, err := led.New(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.Set(led.Discrepancy)
	next, ok, err := d.Step(t0)
	if err != nil || !ok || next != t0.Add(150*ms) || pin.Level() != gpio.High {
		t.Fatalf("Step = %v, %v, %v, level %v", next.Sub(t0), ok, err, pin.Level())
	}
	next, ok, _ = d.Step(next)
	if !ok || next != t0.Add(300*ms) || pin.Level() != gpio.Low {
		t.Fatalf("second Step = %v, %v, level %v", next.Sub(t0), ok, pin.Level())
	}
	d.Set(led.Stable)
	if _, ok, _ := d.Step(t0.Add(time.Second)); ok || pin.Level() != gpio.High {
		t.Errorf("Stable: next change %v, level %v; want steady on", ok, pin.Level())
	}
	if err := d.Set(led.Pattern(42)); err == nil {
		t.Error("Set accepted an unknown pattern")
	}
	if got := d.String(); got != "led(GPIO27, active high)" {
		t.Errorf("String() = %q", got)
	}
}

func TestPinErrors(t *testing.T) {
	boom := errors.New("boom")
	pin := ledtest.NewPin("GPIO27")
	pin.Fail(boom)
	if _, err := led.New(pin, nil); !errors.Is(err, boom) {
		t.Fatalf("New with a failing pin: %v", err)
	}
	pin.Fail(nil)
	d, err := led.New(pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Set(led.Error)
	pin.Fail(boom)
	synctest.Test(t, func(t *testing.T) {
		if err := d.Run(context.Background()); !errors.Is(err, boom) {
			t.Errorf("Run with a failing pin: %v", err)
		}
	})
	if err := d.Halt(); !errors.Is(err, boom) {
		t.Errorf("Halt with a failing pin: %v", err)
	}
	pin.Fail(nil)
	if _, _, err := d.Step(time.Now()); err != nil {
		t.Errorf("Step after the pin healed: %v", err)
	}
	if _, err := led.New(nil, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}
