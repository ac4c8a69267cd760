package hx711_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
)

// epoch is far in the future, so a context deadline taken from the virtual
// clock never fires in real time while a test runs.
var epoch = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB, o hx711test.Opts) (*hx711test.Chip, *hx711test.VirtualClock) {
	t.Helper()
	clk := hx711test.NewVirtualClock(epoch)
	o.Clock = clk
	chip, err := hx711test.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return chip, clk
}

func newDev(t testing.TB, chip *hx711test.Chip, o hx711.Opts) *hx711.Dev {
	t.Helper()
	o.Clock = chip.Clock()
	d, err := hx711.New(chip.SCK(), chip.DOUT(), &o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dataFrames returns the frames whose value the driver must return: a
// conversion shifted out completely with every high phase within the
// driver's 50 µs bound (a harmless short stall included).
func dataFrames(frames []hx711test.Frame) []hx711test.Frame {
	var out []hx711test.Frame
outer:
	for _, f := range frames {
		if !f.Data || f.Pulses < 25 || (f.Outcome != hx711test.FrameComplete && f.Outcome != hx711test.FrameOpen) {
			continue
		}
		for _, h := range f.Highs {
			if h > 50*time.Microsecond {
				continue outer
			}
		}
		out = append(out, f)
	}
	return out
}

func TestPulseSequencePerGain(t *testing.T) {
	tests := []struct {
		name   string
		gain   hx711.Gain
		input  hx711test.Input
		pulses []int // every frame after New's reset pulse, for three reads
		scale  float64
	}{
		{"A128", hx711.A128, hx711test.A128, []int{25, 25, 25}, 1},
		{"A64: one frame selects the gain, then settling", hx711.A64, hx711test.A64, []int{27, 27, 27, 27}, 0.5},
		{"B32: one frame selects the gain, then settling", hx711.B32, hx711test.B32, []int{26, 26, 26, 26}, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, _ := newSim(t, hx711test.Opts{})
			chip.Load().Set(1000)
			d := newDev(t, chip, hx711.Opts{Gain: tc.gain})
			var got []int32
			for range 3 {
				v, err := d.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			frames := chip.Frames()
			// New resets the chip: one pulse held high past 60 µs.
			if f := frames[0]; f.Pulses != 1 || f.Outcome != hx711test.FramePowerDown || f.Highs[0] <= hx711test.PowerDownAfter {
				t.Errorf("reset frame = %d pulses, %v, highs %v; want 1 pulse held > 60 µs, power-down", f.Pulses, f.Outcome, f.Highs)
			}
			var pulses []int
			for _, f := range frames[1:] {
				pulses = append(pulses, f.Pulses)
				if len(f.Highs) != f.Pulses {
					t.Errorf("frame at %v: %d highs for %d pulses", f.Start, len(f.Highs), f.Pulses)
				}
				for i, h := range f.Highs {
					if h > 50*time.Microsecond {
						t.Errorf("frame at %v pulse %d high for %v", f.Start, i+1, h)
					}
				}
			}
			if fmt.Sprint(pulses) != fmt.Sprint(tc.pulses) {
				t.Fatalf("pulses per frame = %v, want %v", pulses, tc.pulses)
			}
			last := frames[len(frames)-3:]
			for i, f := range last {
				if !f.Data || f.Conv.Input != tc.input || !f.Conv.Settled {
					t.Errorf("read %d: frame conversion %+v, want settled data at %v", i, f.Conv, tc.input)
				}
				if got[i] != f.Conv.Value {
					t.Errorf("read %d = %d, the chip shifted out %d", i, got[i], f.Conv.Value)
				}
				want := tc.scale * (hx711test.RefOffset + 1000*hx711test.RefCountsPerGram)
				if math.Abs(float64(got[i])-want) > 0.01*want {
					t.Errorf("read %d = %d, want about %.0f", i, got[i], want)
				}
			}
			if chip.Input() != tc.input {
				t.Errorf("chip input = %v, want %v", chip.Input(), tc.input)
			}
		})
	}
}

func TestSaturationRejected(t *testing.T) {
	tests := []struct {
		name  string
		grams float64
		gain  hx711.Gain
		code  string
	}{
		{"positive full scale", 30000, hx711.A128, "0x7fffff"},
		{"negative full scale", -30000, hx711.A128, "0x800000"},
		{"positive at gain 64", 50000, hx711.A64, "0x7fffff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, _ := newSim(t, hx711test.Opts{})
			chip.Load().Set(tc.grams)
			d := newDev(t, chip, hx711.Opts{Gain: tc.gain})
			v, err := d.Read(context.Background())
			if !errors.Is(err, hx711.ErrSaturated) {
				t.Fatalf("Read = %d, %v; want ErrSaturated", v, err)
			}
			if !strings.Contains(err.Error(), tc.code) {
				t.Errorf("error %q does not name code %s", err, tc.code)
			}
			if got := fmt.Sprintf("%#06x", uint32(v)&0xFFFFFF); got != tc.code {
				t.Errorf("Read returned %d (%s) with ErrSaturated, want the code %s itself", v, got, tc.code)
			}
			if s := d.Stats(); s.Saturated != 1 || s.Reads != 0 {
				t.Errorf("stats = %+v, want 1 saturated, 0 reads", s)
			}
			// One count inside the range is a value, not an error.
			chip.Load().Set(0)
			if _, err := d.Read(context.Background()); err != nil {
				t.Errorf("after the overload: %v", err)
			}
		})
	}
}

// The must-show case: the chip stalls the clock-high phase in 5 % of the
// frames; 10,000 reads return only values the chip converted.
func TestStallsNeverCorruptValues(t *testing.T) {
	for _, stall := range []time.Duration{55 * time.Microsecond, 130 * time.Microsecond} {
		t.Run(stall.String(), func(t *testing.T) {
			const reads = 10000
			chip, clk := newSim(t, hx711test.Opts{
				Noise: hx711test.RefNoise(10), Seed: 7, Keep: 3 * reads,
				Faults: hx711test.Faults{StallFraction: 0.05, Stall: stall},
			})
			chip.Load().Set(1840)
			d := newDev(t, chip, hx711.Opts{Timeout: 5 * time.Second})
			start := clk.Now()
			got := make([]int32, 0, reads)
			for i := range reads {
				v, err := d.Read(context.Background())
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				got = append(got, v)
			}
			frames := chip.Frames()
			want := dataFrames(frames)
			if len(want) != reads {
				t.Fatalf("chip shifted out %d clean frames, driver returned %d values", len(want), reads)
			}
			for i, f := range want {
				if got[i] != f.Conv.Value {
					t.Fatalf("read %d = %d, the chip converted %d (conversion %d)", i, got[i], f.Conv.Value, f.Conv.Seq)
				}
				if !f.Conv.Settled || f.Conv.Input != hx711test.A128 {
					t.Fatalf("read %d came from conversion %+v", i, f.Conv)
				}
			}
			// Stalls of the driver's own reset pulse (no data, held high on
			// purpose) are not glitches.
			stalled := 0
			for _, f := range frames {
				if f.Stalled && f.Data {
					stalled++
				}
			}
			s := d.Stats()
			if s.Glitches != uint64(stalled) {
				t.Errorf("driver counted %d glitches, the chip stalled %d frames", s.Glitches, stalled)
			}
			if frac := float64(stalled) / float64(reads+stalled); frac < 0.035 || frac > 0.065 {
				t.Errorf("stalled fraction %.3f, want about 0.05", frac)
			}
			t.Logf("stall %v: %d reads, %d frames stalled, %d resets, %v virtual time (%.1f ms per read)",
				stall, reads, stalled, s.Resets, clk.Now().Sub(start), float64(clk.Now().Sub(start))/reads/1e6)
		})
	}
}

func TestStuckHighTimesOutWithinDeadline(t *testing.T) {
	tests := []struct {
		name     string
		timeout  time.Duration
		ctxAfter time.Duration // 0 = no context deadline
		wantCtx  bool
	}{
		{"Opts.Timeout", 1 * time.Second, 0, false},
		{"context deadline earlier", 1 * time.Second, 250 * time.Millisecond, true},
		{"context deadline later", 300 * time.Millisecond, 2 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, clk := newSim(t, hx711test.Opts{Faults: hx711test.Faults{StuckHigh: true}})
			d := newDev(t, chip, hx711.Opts{Timeout: tc.timeout})
			ctx := context.Background()
			limit := tc.timeout
			if tc.ctxAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clk.Now().Add(tc.ctxAfter))
				defer cancel()
				limit = min(limit, tc.ctxAfter)
			}
			start := clk.Now()
			v, err := d.Read(ctx)
			took := clk.Now().Sub(start)
			if !errors.Is(err, hx711.ErrTimeout) {
				t.Fatalf("Read = %d, %v; want ErrTimeout", v, err)
			}
			if errors.Is(err, context.DeadlineExceeded) != tc.wantCtx {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = %v, want %v", err, !tc.wantCtx, tc.wantCtx)
			}
			if took > limit {
				t.Errorf("Read returned after %v, deadline was %v", took, limit)
			}
			if took < limit-time.Millisecond {
				t.Errorf("Read gave up after %v, before its deadline %v", took, limit)
			}
			if s := d.Stats(); s.Timeouts != 1 {
				t.Errorf("stats %+v, want 1 timeout", s)
			}
		})
	}
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestReadyWaitCPUShare runs on the real clock: the simulated DOUT is stuck
// high and its WaitForEdge really blocks for its timeout. The whole wait
// must use less than 5 % of one core (process CPU time from getrusage).
func TestReadyWaitCPUShare(t *testing.T) {
	chip, err := hx711test.New(hx711test.Opts{Faults: hx711test.Faults{StuckHigh: true}})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 1500 * time.Millisecond
	d, err := hx711.New(chip.SCK(), chip.DOUT(), &hx711.Opts{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	cpu0, wall0 := cpuTime(t), time.Now()
	_, err = d.Read(context.Background())
	cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
	if !errors.Is(err, hx711.ErrTimeout) {
		t.Fatalf("Read: %v, want ErrTimeout", err)
	}
	share := float64(cpu) / float64(wall)
	t.Logf("DOUT stuck high, timeout %v: Read returned after %v, process CPU %v = %.2f %% of one core; %d edge waits, %d chip resets",
		timeout, wall.Round(time.Millisecond), cpu, 100*share, chip.Stats().EdgeWaits, d.Stats().Resets)
	if share >= 0.05 {
		t.Errorf("the ready-wait used %.1f %% of a core (CPU %v over %v), want < 5 %%", 100*share, cpu, wall)
	}
}

// noBlockPin is a DOUT whose WaitForEdge returns false at once, as
// gpioioctl does when edge detection is not configured.
type noBlockPin struct {
	*hx711test.DOUTPin
	calls int
}

func (p *noBlockPin) WaitForEdge(time.Duration) bool { p.calls++; return false }

func TestReadyWaitNeverSpinsOnANonBlockingPin(t *testing.T) {
	chip, clk := newSim(t, hx711test.Opts{Faults: hx711test.Faults{StuckHigh: true}})
	pin := &noBlockPin{DOUTPin: chip.DOUT()}
	d, err := hx711.New(chip.SCK(), pin, &hx711.Opts{Clock: clk, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(context.Background()); !errors.Is(err, hx711.ErrTimeout) {
		t.Fatalf("Read: %v, want ErrTimeout", err)
	}
	// 1 s in slices of at most 50 ms, backed off by sleeping when the pin
	// does not block: about 20 calls, not millions.
	if pin.calls > 60 {
		t.Errorf("WaitForEdge called %d times in one second", pin.calls)
	}
	t.Logf("%d WaitForEdge calls over 1 s of DOUT stuck high", pin.calls)
}

// After a frame full of 1→0 transitions the kernel's queue holds stale
// falling edges; the driver must re-check DOUT after each wake.
func TestStaleEdgesDoNotFakeReady(t *testing.T) {
	src := func(time.Duration) int32 { return 0x555555 }
	chip, _ := newSim(t, hx711test.Opts{Source: src, Samples: 1})
	d := newDev(t, chip, hx711.Opts{})
	for i := range 5 {
		v, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if v != 0x555555 {
			t.Fatalf("read %d = %#x, want 0x555555", i, v)
		}
	}
	s := chip.Stats()
	if s.StaleWakes == 0 {
		t.Errorf("no stale wake happened: the test lost its point (stats %+v)", s)
	}
	if n := len(dataFrames(chip.Frames())); n != 5 {
		t.Errorf("%d data frames for 5 reads", n)
	}
	t.Logf("%d stale wakes in 5 reads", s.StaleWakes)
}

func TestContextCancelled(t *testing.T) {
	chip, _ := newSim(t, hx711test.Opts{})
	d := newDev(t, chip, hx711.Opts{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context: %v", err)
	}
	// A later read works.
	if _, err := d.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelledDuringWait(t *testing.T) {
	chip, err := hx711test.New(hx711test.Opts{Faults: hx711test.Faults{StuckHigh: true}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := hx711.New(chip.SCK(), chip.DOUT(), &hx711.Opts{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = d.Read(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read: %v, want context.Canceled", err)
	}
	t.Logf("cancelled read returned %v after the start (cancel at 100 ms)", time.Since(start).Round(time.Millisecond))
}

func TestHaltAndPowerUp(t *testing.T) {
	chip, clk := newSim(t, hx711test.Opts{})
	d := newDev(t, chip, hx711.Opts{Gain: hx711.A64})
	if _, err := d.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if !chip.PoweredDown() {
		t.Fatal("chip not powered down 1 ms after Halt")
	}
	if _, err := d.Read(context.Background()); !errors.Is(err, hx711.ErrHalted) {
		t.Fatalf("Read while halted: %v, want ErrHalted", err)
	}
	if err := d.PowerUp(); err != nil {
		t.Fatal(err)
	}
	if chip.PoweredDown() || chip.Input() != hx711test.A128 {
		t.Fatalf("after PowerUp: powered down %v, input %v; want running at A128", chip.PoweredDown(), chip.Input())
	}
	chip.ResetFrames()
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	frames := chip.Frames()
	if len(frames) != 2 || frames[0].Pulses != 27 || frames[1].Pulses != 27 {
		t.Fatalf("after PowerUp: frames %+v, want the gain-selecting frame and the read", frames)
	}
	if f := frames[1]; f.Conv.Value != v || f.Conv.Input != hx711test.A64 || !f.Conv.Settled {
		t.Errorf("read %d from conversion %+v", v, f.Conv)
	}
	// Halt twice and PowerUp twice are harmless.
	if err := d.PowerUp(); err != nil {
		t.Error(err)
	}
	if err := d.Halt(); err != nil {
		t.Error(err)
	}
	if err := d.Halt(); err != nil {
		t.Error(err)
	}
}

// A chip left in a protocol error (here: 28 pulses from someone else) stops
// converting; the driver notices the silence and resets it.
func TestSilentChipIsReset(t *testing.T) {
	chip, clk := newSim(t, hx711test.Opts{})
	d := newDev(t, chip, hx711.Opts{Timeout: 2 * time.Second})
	if _, err := d.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 28 {
		chip.SCK().Out(gpio.High)
		chip.SCK().Out(gpio.Low)
	}
	clk.Advance(200 * time.Millisecond)
	if !chip.InError() {
		t.Fatal("28 pulses did not cause a protocol error")
	}
	resets := d.Stats().Resets
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Stats().Resets != resets+1 {
		t.Errorf("resets %d → %d, want one more", resets, d.Stats().Resets)
	}
	fs := dataFrames(chip.Frames())
	if f := fs[len(fs)-1]; f.Conv.Value != v || !f.Conv.Settled {
		t.Errorf("read %d from %+v", v, f.Conv)
	}
}

// A trace recorded on a real Pi replaces the load model: with point
// sampling and no noise the driver returns the recorded counts.
func TestTraceReplay(t *testing.T) {
	var samples []hx711test.Sample
	for i := range 100 {
		samples = append(samples, hx711test.Sample{T: time.Duration(i) * 100 * time.Millisecond, Raw: int32(8000 + 1000*i)})
	}
	src, err := hx711test.Steps(samples)
	if err != nil {
		t.Fatal(err)
	}
	chip, clk := newSim(t, hx711test.Opts{Source: src, Samples: 1})
	d := newDev(t, chip, hx711.Opts{})
	for range 20 {
		v, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tm := clk.Now().Sub(epoch)
		if want := src(tm.Truncate(100 * time.Millisecond)); v != want {
			t.Fatalf("at %v read %d, trace has %d", tm, v, want)
		}
	}
}

type failPin struct {
	*hx711test.SCKPin
	err error
}

func (p failPin) Out(gpio.Level) error { return p.err }

func TestNewErrors(t *testing.T) {
	chip, _ := newSim(t, hx711test.Opts{})
	tests := []struct {
		name string
		opts hx711.Opts
		want string
	}{
		{"gain", hx711.Opts{Gain: 7}, "invalid Opts.Gain: must be A128, A64 or B32, got 7"},
		{"rate", hx711.Opts{Rate: 40}, "invalid Opts.Rate: must be 10 or 80 SPS, got 40"},
		{"timeout", hx711.Opts{Timeout: -1}, "invalid Opts.Timeout: must not be negative"},
		{"max high at power-down", hx711.Opts{MaxHigh: 60 * time.Microsecond}, "invalid Opts.MaxHigh: must be between 0 and 60 µs"},
		{"settle", hx711.Opts{Settle: -time.Second}, "invalid Opts.Settle: must not be negative"},
		{"pull", hx711.Opts{Pull: 9}, "invalid Opts.Pull: 9 is not a gpio.Pull"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hx711.New(chip.SCK(), chip.DOUT(), &tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, want an error containing %q", tc.opts, err, tc.want)
			}
		})
	}
	if _, err := hx711.New(nil, chip.DOUT(), nil); err == nil {
		t.Error("New with a nil pin succeeded")
	}
	boom := errors.New("boom")
	if _, err := hx711.New(failPin{chip.SCK(), boom}, chip.DOUT(), nil); !errors.Is(err, boom) {
		t.Errorf("New with a failing PD_SCK: %v", err)
	}
	for _, g := range []int{128, 64, 32, 16} {
		gain, err := hx711.GainFor(g)
		t.Logf("GainFor(%d) = %v, %v (%d pulses)", g, gain, err, gain.Pulses())
		if (err != nil) != (g == 16) {
			t.Errorf("GainFor(%d) error %v", g, err)
		}
	}
}

// The configuration periph's gpioioctl driver (the real Pi) needs: DOUT
// an input with falling-edge detection (WaitForEdge returns false at once
// without it) and no bias, HX711 driving it push-pull. Every WaitForEdge
// timeout is positive: the simulated DOUT panics otherwise, because 0 waits
// forever on gpioioctl.
func TestPinConfigurationForGpioioctl(t *testing.T) {
	for _, pull := range []gpio.Pull{gpio.PullNoChange, gpio.Float, gpio.PullUp} {
		chip, _ := newSim(t, hx711test.Opts{})
		d := newDev(t, chip, hx711.Opts{Pull: pull})
		for range 2 { // the second read waits for DOUT to fall
			if _, err := d.Read(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		want := pull
		if pull == gpio.PullNoChange {
			want = gpio.PullUp // the default
		}
		if e, p := chip.DOUT().Edge(), chip.DOUT().Pull(); e != gpio.FallingEdge || p != want {
			t.Errorf("DOUT configured with %v, %v; want FallingEdge, %v", p, e, want)
		}
		if chip.Stats().EdgeWaits == 0 {
			t.Error("the read did not wait on an edge")
		}
	}
}

func TestString(t *testing.T) {
	chip, _ := newSim(t, hx711test.Opts{Rate: 80})
	d := newDev(t, chip, hx711.Opts{Gain: hx711.B32, Rate: 80})
	if got, want := d.String(), "hx711(PD_SCK=PD_SCK, DOUT=DOUT, B32, 80 SPS)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// FuzzReadUnderFaults: whatever the faults, rate and gain, every value Read
// returns is a settled conversion at the right gain, shifted out of the chip
// in a clean frame, in order; every error is one of the sentinels.
func FuzzReadUnderFaults(f *testing.F) {
	f.Add(uint64(1), uint8(50), uint16(130), uint8(0), false, uint8(0))
	f.Add(uint64(2), uint8(255), uint16(61), uint8(1), true, uint8(20))
	f.Add(uint64(3), uint8(10), uint16(5000), uint8(2), false, uint8(255))
	f.Fuzz(func(t *testing.T, seed uint64, stallPermille uint8, stallUs uint16, gainSel uint8, fast bool, spikePermille uint8) {
		rate := 10
		if fast {
			rate = 80
		}
		gains := []hx711.Gain{hx711.A128, hx711.A64, hx711.B32}
		inputs := []hx711test.Input{hx711test.A128, hx711test.A64, hx711test.B32}
		g := int(gainSel) % 3
		chip, _ := newSim(t, hx711test.Opts{
			Rate: rate, Noise: hx711test.RefNoise(rate), Seed: seed, Keep: 10000,
			Faults: hx711test.Faults{
				StallFraction: float64(stallPermille) / 1000 * 0.5,
				Stall:         time.Duration(stallUs) * time.Microsecond,
				SpikeFraction: float64(spikePermille) / 1000,
				SpikeCounts:   9000000,
			},
		})
		chip.Load().Set(float64(seed%5000) - 100)
		d := newDev(t, chip, hx711.Opts{Gain: gains[g], Rate: rate, Timeout: 700 * time.Millisecond})
		var got []int32
		for range 40 {
			v, err := d.Read(context.Background())
			switch {
			case err == nil:
				got = append(got, v)
			case errors.Is(err, hx711.ErrTimeout), errors.Is(err, hx711.ErrSaturated):
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		// Match the returned values, in order, to clean settled frames.
		frames := dataFrames(chip.Frames())
		j := 0
		for i, v := range got {
			for j < len(frames) && (!frames[j].Conv.Settled || frames[j].Conv.Input != inputs[g] || frames[j].Conv.Value != v) {
				j++
			}
			if j == len(frames) {
				t.Fatalf("value %d (read %d) is not a clean settled %v conversion the chip shifted out", v, i, inputs[g])
			}
			j++
		}
	})
}
