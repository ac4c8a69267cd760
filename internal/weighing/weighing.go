// Package weighing turns HX711 raw counts into weights a person can trust:
// calibration (offset and span), rejection of the HX711's read faults, a
// stability decision that adapts to the cell's measured noise and to the
// load, zero tracking near zero at a bounded rate (as OIML R76 instruments
// do), a tare, and a warm-up flag.
//
// It is pure: no I/O, no clock. The caller passes each conversion with its
// time (from the chip's power-up, so the warm-up flag means something):
//
//	p, err := weighing.New(weighing.FromConfig(cfg.Scale, cal.Offset, cal.Scale))
//	for s := range samples {
//		r, changed := p.Add(s.T, s.Raw)
//		if changed { ... r.State, r.Grams ... }
//	}
//
// The pipeline, per conversion:
//
//  1. Read faults the HX711 and a bit-banged read produce are rejected: a
//     saturated code (0x7FFFFF, 0x800000; two in a row mean overload: the
//     state becomes unstable with Overload set), and a conversion sooner
//     than a quarter period after the last one whose value jumps (a
//     garbled re-read, as Linux user-space reads give; a plausible one is a
//     late read followed by an on-time one and goes on).
//  2. grams = (raw − offset) / scale.
//  3. Outlier rejection: a conversion that jumps from the last accepted one
//     by more than three stability thresholds is held back for one
//     conversion. If the next one agrees with it, it was a real step (a
//     parcel) and both go on; if the next one agrees with the value before,
//     it was a read fault and is dropped. Steady readings are never
//     delayed; a real step is delayed by one conversion. A window that
//     holds a read fault decides nothing new; five chip-like faults (the
//     above, or a dropped conversion 50 thresholds off) within 5 s mean the
//     chip or its read is failing: unstable until they stop, whatever the
//     garbage looks like.
//  4. Noise, estimated online and robustly (noise.go): σ of one conversion
//     from the lower quartile of |Δ| between conversions (all but chip
//     faults, before step 3 holds any back), and the quiet spread of one
//     window from the lower quartile of past windows' spreads, never below
//     what white noise of σ gives; spikes, steps and a hand on the platform
//     only fill the upper quantiles, and an estimate rises at most twofold
//     per 30 s.
//  5. Smoothing for the detector: a moving average over one 10 SPS
//     conversion period (1 conversion at 10 SPS, 8 at 80 SPS), so both
//     rates see about the same noise, and a platform ring at 10 Hz and its
//     multiples cancels.
//  6. Stability: the spread (max − min) of the smoothed values over the
//     decision window must not exceed the threshold: max(ThresholdG,
//     ThresholdPct % of the load) or, on a cell noisier than that allows,
//     the quiet spread times the 99.9th/25th percentile ratio of a window
//     of Gaussian noise (3.23 at 10 SPS, 2.25 at 80 SPS). The window is
//     Window, or longer — up to three Windows — when the mean of one
//     window would miss max(ThresholdG, ThresholdPct %) at two standard
//     errors (a σ 3 g cell: 1.5 s); beyond that the error bound is 2σ/√n
//     and the published spread_g shows the noise. The window must hold
//     40 % of the conversions its length gives (a gap decides nothing; a
//     loaded CPU that loses every other conversion to the driver's timing
//     check still weighs).
//     Right after a step of 20 thresholds (a set-down, a removal) or while
//     the platform rings down, its newest 40 % (four conversions at
//     10 SPS; never less than the accuracy needs) decides, unless a hand
//     was seen within four windows or a bounce within one; after hand-like
//     motion (slow turning points that do not decay) it is 1.4 Windows.
//  7. States: empty (steady within ±ZeroBandG of zero), stable (a steady
//     load), unstable. A steady weight whose mean since the deciding
//     window moves by more than max(ThresholdG, ThresholdPct %) — or two
//     standard errors of that mean, on a noisy cell — without passing
//     through unstable is a new stable reading (changed is true). While
//     steady, Grams averages every conversion since the deciding window
//     began, up to two windows.
//  8. Zero tracking: when a window decides empty, the zero follows the
//     reading at no more than ZeroTrackGPerS, so a drifting empty platform
//     stays empty, and a parcel (outside the zero band) is never tracked
//     away. When the platform returns to empty after a load was weighed,
//     the zero is set to it at once (zero on return): a cell's creep
//     recovering after a heavy load does not read as grams on an empty
//     platform. Zero tracking off (ZeroTrackGPerS 0) turns both off.
//
// Figures — the synthetic sets of two physical models, a σ 3 g cell and
// real recordings (../shared/real-traces) — are in docs/perf-weighing.md;
// `make bench-weighing` prints them.
package weighing

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// State is what the platform is doing.
type State int

// States. Undecided comes before the first window is full.
const (
	Undecided State = iota
	Empty
	Stable
	Unstable
)

// Decided reports whether s is one of the three judgements (Empty, Stable,
// Unstable), not Undecided or a value outside the enum.
func (s State) Decided() bool { return s == Empty || s == Stable || s == Unstable }

func (s State) String() string {
	switch s {
	case Empty:
		return "empty"
	case Stable:
		return "stable"
	case Unstable:
		return "unstable"
	}
	return "undecided"
}

// Reading is the pipeline's view after one conversion.
type Reading struct {
	// T is the time of the conversion that made this reading.
	T time.Duration
	// Grams is the net weight: while steady (empty or stable) the mean of
	// the conversions since the window that decided it (up to two
	// windows), else the latest smoothed value.
	Grams float64
	// State and Stable (State is Empty or Stable).
	State  State
	Stable bool
	// Spread is max − min of the smoothed values in the window, in grams;
	// Threshold is the allowed spread for this load.
	Spread    float64
	Threshold float64
	// Zero is the zero correction in grams (zero tracking and tare) that
	// Grams has had subtracted.
	Zero float64
	// WarmingUp: the cell was powered less than Options.WarmUp ago.
	WarmingUp bool
	// Rejected: this conversion was dropped (saturated) or held back as a
	// possible read fault; the other fields are from the last accepted one.
	Rejected bool
	// Overload: the cell is saturated (two or more saturated codes in a
	// row).
	Overload bool
}

// Saturation codes of the HX711.
const (
	rawMax = 1<<23 - 1
	rawMin = -1 << 23
)

// ErrNotStable is returned by Tare when the weight is not steady.
var ErrNotStable = errors.New("weighing: weight not stable")

type sample struct {
	t time.Duration
	g float64 // gross grams
}

// Adaptive decision constants (see the package doc).
const (
	// maxWindowFactor bounds how far the window grows for a noisy cell.
	maxWindowFactor = 3
	// zAccuracy: the window holds enough conversions that the mean is
	// within the accuracy bound at zAccuracy standard errors.
	zAccuracy = 2
	// cQuiet10 and cQuiet80: the allowed spread is this times the quiet
	// spread (the lower quartile of a window's spread when nothing
	// happens): the 99.9th percentile of the spread of one window of white
	// Gaussian noise over its lower quartile (5 conversions at 10 SPS; 40
	// smoothed over 8 at 80 SPS), found by simulation.
	cQuiet10 = 3.23
	cQuiet80 = 2.25
	// qWhite10 and qWhite80: the lower quartile of one window's spread for
	// white noise of σ 1 (same simulation).
	qWhite10 = 1.70
	qWhite80 = 1.01
	// cGrow: a window r times the configured one has a wider spread, by
	// 1 + cGrow·ln r (the same simulation: 1.13 at r = 3).
	cGrow = 0.12
	// faultBurst read faults within faultSpan mean the chip is failing:
	// unstable until they stop.
	faultBurst = 5
	faultSpan  = 5 * time.Second
	// chipJump: a single conversion this many thresholds off, that comes
	// back at once, is the chip's or the read's fault, not motion.
	chipJump = 50
)

// Pipeline is one load cell's weighing state. It is not safe for concurrent
// use: one goroutine feeds it.
type Pipeline struct {
	o      Options
	period time.Duration
	det    detector
	noise  noise
	smooth []float64 // ring of the gross grams of the last 100 ms
	sPos   int
	sN     int

	last     sample // last accepted
	haveLast bool
	pending  sample
	held     bool
	satRun   int
	// lastT is the time of the last conversion received, accepted or not.
	lastT   time.Duration
	haveT   bool
	faults  [faultBurst]time.Duration // ring of the last read-fault times
	fPos    int
	nFaults int
	// lastFault is the time of the last read fault of any kind.
	lastFault time.Duration
	haveFault bool
	window    time.Duration // the decision window in use
	// rawLast is the last conversion that was not a chip fault.
	rawLast float64
	haveRaw bool
	// loaded: the last steady state was a load (outside the zero band).
	loaded bool
	// need is the span whose mean meets the accuracy bound (windowFor).
	need     time.Duration
	zero     float64
	state    State
	reported float64
	win      summary
	rev      reversals
	// fastUntil: the fast part decides while steady until then.
	fastUntil time.Duration
	// steadyFrom is where the window that decided the steady state began.
	steadyFrom time.Duration
	r          Reading
}

// New returns a pipeline in the Undecided state with no zero correction.
func New(o Options) (*Pipeline, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	n := o.Rate / 10 // conversions per 100 ms
	p := &Pipeline{
		o:      o,
		period: time.Second / time.Duration(o.Rate),
		smooth: make([]float64, n),
		noise:  newNoise(),
		window: o.Window,
	}
	p.det = detector{keep: 2 * maxWindowFactor * o.Window, period: p.period}
	p.rev.period = p.period
	return p, nil
}

// Options returns the options the pipeline runs with.
func (p *Pipeline) Options() Options { return p.o }

// Reading returns the latest reading.
func (p *Pipeline) Reading() Reading { return p.r }

// Noise returns the conversion noise (σ of one conversion, grams) the
// pipeline has estimated so far, and the spread its detector sees over one
// window when nothing happens; NaN until enough conversions were seen.
func (p *Pipeline) Noise() (sigma, quiet float64) { return p.noise.sigma, p.noise.quiet }

// Threshold is the allowed spread over the decision window for a net load
// of grams: the configured max(ThresholdG, ThresholdPct %) or, for a cell
// noisier than that allows, a multiple of the measured quiet spread (grown
// for a longer window).
func (p *Pipeline) Threshold(grams float64) float64 {
	thr := p.o.Threshold(grams)
	c, white := cQuiet10, qWhite10
	if p.o.Rate == 80 {
		c, white = cQuiet80, qWhite80
	}
	q := p.noise.quiet
	if s := p.noise.sigma; !math.IsNaN(s) {
		// The quiet spread is never less than white noise of the measured
		// σ gives (so conversions the outlier rule held back cannot make it
		// look quieter than it is).
		q = math.Max(nanTo0(q), white*s)
	}
	if !math.IsNaN(q) {
		w, _ := p.windowFor(grams)
		r := float64(w) / float64(p.o.Window)
		thr = math.Max(thr, c*q*(1+cGrow*math.Log(r)))
	}
	return thr
}

// windowFor is the decision window for a net load: the configured Window,
// or longer (up to maxWindowFactor times) when the cell is so noisy that
// the mean of one window would miss the accuracy bound
// max(ThresholdG, ThresholdPct %) at zAccuracy standard errors. need is the
// span that mean needs (0 while the noise is unknown).
func (p *Pipeline) windowFor(grams float64) (w, need time.Duration) {
	s := p.noise.sigma
	if math.IsNaN(s) || s == 0 {
		return p.o.Window, 0
	}
	acc := p.o.Threshold(grams)
	n := math.Min(math.Ceil(math.Pow(zAccuracy*s/acc, 2)), 1000)
	need = time.Duration(n) * p.period
	return min(max(need, p.o.Window), maxWindowFactor*p.o.Window), need
}

// minN is how many conversions a span of d must hold to decide: 40 % of
// what the rate gives (a gap or lost conversions leave too few).
func (p *Pipeline) minN(d time.Duration) int {
	return max(2, int(math.Ceil(0.4*float64(d)/float64(p.period))))
}

// fault records a read fault at t. chip: the fault can only be the chip or
// its read (a saturated code, a conversion sooner than the chip makes one,
// a single conversion off by far more than any motion seen); only those
// count towards a burst. A conversion that jumped and came back by less may
// have been a hand: it only keeps the window from deciding.
func (p *Pipeline) fault(t time.Duration, chip bool) {
	p.lastFault = t
	p.haveFault = true
	if !chip {
		return
	}
	p.faults[p.fPos] = t
	p.fPos = (p.fPos + 1) % faultBurst
	p.nFaults = min(p.nFaults+1, faultBurst)
}

// faultSince reports whether a read fault came after t.
func (p *Pipeline) faultSince(t time.Duration) bool {
	return p.haveFault && p.lastFault > t
}

// failing: faultBurst read faults within faultSpan of t.
func (p *Pipeline) failing(t time.Duration) bool {
	if p.nFaults < faultBurst {
		return false
	}
	for _, f := range p.faults {
		if f <= t-faultSpan {
			return false
		}
	}
	return true
}

// Add feeds one conversion: t is its time since the cell was powered up
// (non-decreasing), raw the signed 24-bit count. It returns the reading
// and whether the state changed (or a steady weight moved by more than
// its threshold): the moments `weighctl replay` prints. When a held-back
// conversion turns out to be a real step, it and this one are processed
// together and their changes are reported as one, with the later state.
func (p *Pipeline) Add(t time.Duration, raw int32) (Reading, bool) {
	saturated := raw >= rawMax || raw <= rawMin
	// A conversion sooner than a quarter period after the last whose value
	// is also off: a garbled re-read (Linux user-space reads give them in
	// pairs under a millisecond apart). Soon but plausible is a conversion
	// read late followed by one read on time, as a loaded machine gives:
	// it goes on.
	early := p.haveT && t-p.lastT < p.period/4 && p.haveLast && !saturated &&
		math.Abs((float64(raw)-p.o.Offset)/p.o.Scale-p.last.g) > 3*p.Threshold(p.last.g-p.zero)
	p.lastT, p.haveT = t, true
	if saturated || early {
		// A saturated code or a garbled re-read: a read fault.
		p.fault(t, true)
		changed := false
		if saturated {
			p.satRun++
		}
		if p.satRun >= 2 || p.failing(t) {
			changed = p.setState(Unstable, 0, 0)
			p.r.Overload = p.satRun >= 2
			p.r.State, p.r.Stable = p.state, false
		}
		p.r.T, p.r.Rejected = t, true
		p.r.WarmingUp = t < p.o.WarmUp
		return p.r, changed
	}
	p.satRun = 0
	g := (float64(raw) - p.o.Offset) / p.o.Scale
	s := sample{t: t, g: g}
	// The noise sees every conversion that is not a chip fault, before the
	// outlier rule: what that rule holds back must not make the cell look
	// quieter than it is (a spike moves two differences; the quartile
	// ignores them).
	if p.haveRaw && !p.failing(t) {
		p.noise.addDiff(g - p.rawLast)
	}
	p.rawLast, p.haveRaw = g, true
	if !p.haveLast {
		return p.accept(s)
	}
	limit := 3 * p.Threshold(p.last.g-p.zero)
	if !p.held {
		if math.Abs(g-p.last.g) <= limit {
			return p.accept(s)
		}
		p.pending, p.held = s, true
		p.r.T, p.r.Rejected = t, true
		p.r.WarmingUp = t < p.o.WarmUp
		return p.r, false
	}
	p.held = false
	switch {
	case math.Abs(g-p.pending.g) <= 3*p.Threshold(p.pending.g-p.zero):
		// A real step: both go on.
		_, c1 := p.accept(p.pending)
		r, c2 := p.accept(s)
		return r, c1 || c2
	case math.Abs(g-p.last.g) <= limit:
		// The held conversion was a read fault.
		p.fault(p.pending.t, math.Abs(p.pending.g-p.last.g) > chipJump*p.Threshold(p.last.g-p.zero))
		return p.accept(s)
	default:
		// Still moving: the held one goes on, this one waits.
		r, c := p.accept(p.pending)
		p.pending, p.held = s, true
		r.Rejected = true
		p.r.Rejected = true
		return r, c
	}
}

func (p *Pipeline) accept(s sample) (Reading, bool) {
	var dt time.Duration
	if p.haveLast {
		dt = s.t - p.last.t
		if dt > 5*p.period/2 {
			p.noise.breakBlock() // a gap: conversions were lost
		}
	}
	p.last, p.haveLast = s, true
	p.smooth[p.sPos] = s.g
	p.sPos = (p.sPos + 1) % len(p.smooth)
	if p.sN < len(p.smooth) {
		p.sN++
	}
	var y float64
	for _, v := range p.smooth[:p.sN] {
		y += v
	}
	y /= float64(p.sN)
	p.det.add(s.t, s.g, y)
	if !p.failing(s.t) {
		p.noise.addSmoothed(s.t, y, p.o.Window, p.minN(p.o.Window))
	}
	// The window follows the noise and the load (the mean of the longest
	// window, so a step does not make it flicker).
	p.window, p.need = p.windowFor(p.det.summary(p.window).Mean - p.zero)
	p.rev.add(s.t, y, 2*p.Threshold(y-p.zero), y-p.zero)
	whole, fast := p.det.summary(p.window), p.det.summary(p.fastSpan())
	usedFast := p.fastPath(s.t, whole, fast)
	switch {
	case usedFast:
		p.win = fast
	case p.rev.handRecent(s.t, 4*p.window):
		// A hand was on the parcel: the readings must agree longer.
		p.win = p.det.summary(p.handSpan())
	default:
		p.win = whole
	}
	mean := p.win.Mean - p.zero
	thr := p.Threshold(mean)
	changed := false
	quiet := p.win.Spread() <= thr
	// Enough conversions: the span is covered and not thinned by a gap.
	enough := p.win.Full && p.win.N >= p.minN(p.win.span) && p.sN == len(p.smooth)
	steady := quiet && enough
	switch {
	case p.failing(s.t):
		changed = p.setState(Unstable, 0, 0)
		steady = false
	case !quiet && (p.state != Undecided || enough):
		changed = p.setState(Unstable, 0, 0)
	case !steady || p.faultSince(s.t-p.win.span):
		// Too few conversions, or a read fault inside the window: no new
		// decision (a steady state stays, an unstable one too).
		steady = steady && (p.state == Empty || p.state == Stable)
	default:
		st := Stable
		if math.Abs(mean) <= p.o.ZeroBandG {
			st = Empty
		}
		was := p.state
		v, n := mean, p.win.N
		if was == st {
			// Staying steady: judge a move on the mean since the deciding
			// window (up to two windows), which is less noisy.
			long := p.det.summary(min(s.t-p.steadyFrom, 2*p.window))
			v, n = long.Mean-p.zero, long.N
		}
		if st == Empty && was != Empty && p.loaded && p.o.ZeroTrackGPerS > 0 {
			// Back to empty after a load was weighed: the zero is set to
			// the empty platform at once (zero on return, as indicators
			// do), so a cell's creep recovering after a heavy load or
			// the drift during the weighing does not show as grams on an
			// empty platform. Only within the zero band; zero tracking
			// goes on from there.
			p.zero += mean
			v, mean = 0, 0
		}
		changed = p.setState(st, v, n)
		if changed && was != st {
			p.steadyFrom = s.t - p.win.span
		}
		p.loaded = st == Stable
	}
	if changed && steady && usedFast && s.t > p.fastUntil {
		p.fastUntil = s.t + p.window - p.fastSpan()
	}
	grams := y - p.zero
	if steady {
		// While steady, average all the conversions since the window that
		// decided it, up to two windows: the longer the parcel rests, the
		// less noise.
		grams = p.det.summary(min(s.t-p.steadyFrom, 2*p.window)).Mean - p.zero
	}
	p.r = Reading{
		T: s.t, Grams: grams, State: p.state, Stable: p.state == Empty || p.state == Stable,
		Spread: p.win.Spread(), Threshold: thr, Zero: p.zero,
		WarmingUp: s.t < p.o.WarmUp,
	}
	// Zero tracking, for the next conversions: only while empty, at a
	// bounded rate (a gap counts as at most one second).
	if steady && p.state == Empty && math.Abs(mean) <= p.o.ZeroBandG && p.o.ZeroTrackGPerS > 0 && dt > 0 {
		step := p.o.ZeroTrackGPerS * min(dt, time.Second).Seconds()
		p.zero += max(-step, min(step, mean))
	}
	return p.r, changed
}

// setState moves to st (with value v, the mean of n conversions, when
// steady) and reports whether that is a change to publish.
func (p *Pipeline) setState(st State, v float64, n int) bool {
	if st == Unstable {
		if p.state == Unstable {
			return false
		}
		p.state = Unstable
		return true
	}
	if p.state == st && math.Abs(v-p.reported) <= p.moved(p.reported, n) {
		return false
	}
	p.state, p.reported = st, v
	return true
}

// moved is how far a steady weight (the mean of n conversions) must move to
// be a new reading: the accuracy bound max(ThresholdG, ThresholdPct %), or,
// for a noisy cell, zAccuracy standard errors of that mean.
func (p *Pipeline) moved(grams float64, n int) float64 {
	m := p.o.Threshold(grams)
	if s := p.noise.sigma; !math.IsNaN(s) && n > 0 {
		m = math.Max(m, zAccuracy*s/math.Sqrt(float64(n)))
	}
	return m
}

// Tare makes the current steady weight the new zero (a box on the
// platform, or a platform that is not quite empty). It fails with
// ErrNotStable unless the pipeline is empty or stable.
func (p *Pipeline) Tare() error {
	if p.state != Empty && p.state != Stable {
		return fmt.Errorf("tare: %w (state %s)", ErrNotStable, p.state)
	}
	p.zero = p.win.Mean
	p.state, p.reported, p.loaded = Empty, 0, false
	p.r.Grams, p.r.Zero, p.r.State, p.r.Stable = 0, p.zero, Empty, true
	return nil
}

func nanTo0(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
