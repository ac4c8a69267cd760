// Package steps measures the unpacking: while the station records, every
// item taken out of the opened parcel is a step down in the weight, in the
// same frames as the picture. Detector finds the settled steps in the
// weight samples (stable, disturbed, stable at another level), tells them
// from transients the weight comes back from (a hand leaning in, a bump),
// and Match assigns the steps to the registered items by weight.
//
// It is pure: no I/O, no clock. Times are video times (seconds from the
// first frame of video-000.mkv, pre-roll included), as the station's
// weight.csv writes them; the output types are the result's schema-2
// fields (internal/result: Step, Transient, Matching).
//
// Detection, per sample: a sample is settled when the samples of the last
// Window (the sample's own included), smoothed over 0.1 s, spread by at
// most the threshold: max(ThresholdG, ThresholdPct % of the load, 5 σ of
// the smoothed noise). σ is the cell's own noise, estimated as the
// samples come: the median of the absolute differences of successive
// samples (robust to the few big ones a step makes) over 0.6745·√2. A
// noisy cell (a 20 kg cell reads ±1.2 g) so needs no setting. A run of
// settled samples is a plateau; its level is the mean of its samples.
// Between two plateaus lies a disturbance. The smallest step is
// max(MinStepG, 3 thresholds). When the recording ends (Result), the
// plateaus are reduced:
//
//  1. Two neighbours whose levels differ by less than the smallest step are one
//     plateau; the disturbance between them is a Transient (kind hand if it
//     rose at least MinStepG, else touch).
//  2. A plateau higher than both its neighbours by a step or more, no
//     longer than HandMax, between neighbours less than a step apart, is
//     a hand resting on the parcel: one Transient (hand), and
//     the neighbours are one plateau. A lower plateau between two equal
//     ones stays: an item taken out and put back is evidence.
//  3. Every remaining pair of neighbours is a Step from the first's level
//     to the second's.
//
// Levels are rounded to 0.1 g first and every DeltaG is the difference of
// two rounded levels, so the steps add up to EndG − StartG exactly (to
// 0.1 g) — the invariant the fuzz test checks.
//
// The detector is hand-written rather than taken from internal/weighing's
// pipeline: that one decides the live "stable" flag with a short window and
// a fast path tuned for a parcel being set down; here whole settled levels
// are wanted, after the fact, with their means, and the rules for a hand
// are different (a hand that rests is stable and wrong, step 2). Both read
// the same samples.
package steps

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"weighin/internal/result"
)

// Opts configure a Detector. Zero fields take the default in brackets.
type Opts struct {
	// Window is how long the samples must agree for a sample to be settled,
	// in seconds [1].
	Window float64
	// ThresholdG and ThresholdPct: the allowed spread within Window is
	// max(ThresholdG, ThresholdPct % of the load) [2 g, 0.1 %].
	ThresholdG   float64
	ThresholdPct float64
	// MinStepG is the smallest change of level that is a step [10 g].
	MinStepG float64
	// HandMax is the longest a higher plateau between two equal levels may
	// last to be a resting hand, in seconds [5].
	HandMax float64
	// MaxGap: samples further apart than this (seconds) break the plateau
	// and start a new window, as after a read fault [2].
	MaxGap float64
}

// ErrOpts marks options that make no sense.
var ErrOpts = errors.New("steps: bad options")

func (o Opts) withDefaults() (Opts, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Window, 1)
	def(&o.ThresholdG, 2)
	def(&o.ThresholdPct, 0.1)
	def(&o.MinStepG, 10)
	def(&o.HandMax, 5)
	def(&o.MaxGap, 2)
	var errs []error
	check := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%w: %s %v must be between %g and %g", ErrOpts, name, v, lo, hi))
		}
	}
	check("window", o.Window, 0.1, 30)
	check("threshold_g", o.ThresholdG, 0.01, 1000)
	check("threshold_pct", o.ThresholdPct, 0, 10)
	check("min_step_g", o.MinStepG, 0.1, 100000)
	check("hand_max", o.HandMax, 0, 3600)
	check("max_gap", o.MaxGap, 0.01, 3600)
	if o.MinStepG <= o.ThresholdG {
		errs = append(errs, fmt.Errorf("%w: min_step_g %v must exceed threshold_g %v", ErrOpts, o.MinStepG, o.ThresholdG))
	}
	return o, errors.Join(errs...)
}

// sample is one weight sample: g as given, y smoothed over the last
// smoothSpan (what the spread is judged on).
type sample struct{ t, g, y float64 }

// smoothSpan is the moving average the spread is judged through: one 10 SPS
// conversion period, so 80 SPS sees about the noise 10 SPS does (as in
// internal/weighing).
const smoothSpan = 0.1

// plateau is a run of settled samples.
type plateau struct {
	start, end float64 // times of its first and last samples
	confirmed  float64 // time it was first found settled
	sum        float64
	n          int
	// dist is the disturbance before it: from its start to this
	// plateau's start, and its largest deviation from the level before.
	distFrom, distPeak float64
}

func (p plateau) mean() float64 { return p.sum / float64(p.n) }

// Detector finds settled steps in one recording's weight samples. Feed it
// with Add in time order, then call Result. It is not safe for concurrent
// use.
type Detector struct {
	o      Opts
	win    []sample // the samples of the last Window
	recent []sample // the samples of the last smoothSpan
	plats  []plateau
	open   bool // the last plateau is still growing
	last   sample
	have   bool
	peak   float64 // largest |deviation| since the last plateau ended (signed)
	from   float64 // time the current disturbance began
	inDist bool
	// noise is the histogram of |successive differences| (noiseBin g
	// bins) the noise estimate reads, sigma the estimate; maxThr the
	// largest noise threshold used.
	noise   [noiseBins]int32
	nNoise  int
	sigma   float64
	maxThr  float64
	perSpan int // samples per smoothSpan, as last seen
}

// The noise histogram: 0.02 g bins up to 40 g (beyond: the last bin).
const (
	noiseBin  = 0.02
	noiseBins = 2000
)

// noiseSigma updates the estimate every 16 samples: the median of the
// histogram over 0.6745·√2.
func (d *Detector) noiseSigma() float64 {
	if d.nNoise%16 != 1 {
		return d.sigma
	}
	half, acc := int32(d.nNoise/2), int32(0)
	for i, c := range d.noise {
		acc += c
		if acc > half {
			d.sigma = (float64(i) + 0.5) * noiseBin / (0.6745 * math.Sqrt2)
			break
		}
	}
	return d.sigma
}

// New returns a Detector.
func New(o Opts) (*Detector, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Detector{o: o}, nil
}

// threshold is the allowed spread at load g.
func (d *Detector) threshold(g float64) float64 {
	t := math.Max(d.o.ThresholdG, d.o.ThresholdPct/100*math.Abs(g))
	if d.nNoise >= 16 {
		n := 5 * d.sigma / math.Sqrt(float64(max(1, d.perSpan)))
		d.maxThr = math.Max(d.maxThr, n)
		t = math.Max(t, n)
	}
	return t
}

// minStep is the smallest change of level that is a step: MinStepG, or
// three times the largest noise threshold used.
func (d *Detector) minStep() float64 {
	return math.Max(d.o.MinStepG, 3*d.maxThr)
}

// Add feeds one sample: t in video seconds (non-decreasing), g in grams.
// A sample out of order or not a number is an error and is not used.
func (d *Detector) Add(t, g float64) error {
	if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(g) || math.IsInf(g, 0) {
		return fmt.Errorf("steps: sample (%v s, %v g) is not a number", t, g)
	}
	if d.have && t < d.last.t {
		return fmt.Errorf("steps: sample at %v s is before the last one at %v s", t, d.last.t)
	}
	if d.have && t-d.last.t > d.o.MaxGap {
		d.breakPlateau(d.last.t)
		d.win, d.recent = d.win[:0], d.recent[:0]
	}
	if d.have {
		i := int(math.Abs(g-d.last.g) / noiseBin)
		d.noise[min(i, noiseBins-1)]++
		d.nNoise++
		d.noiseSigma()
	}
	d.recent = append(d.recent, sample{t: t, g: g})
	for len(d.recent) > 1 && d.recent[0].t <= t-smoothSpan {
		d.recent = d.recent[1:]
	}
	y := 0.0
	for _, r := range d.recent {
		y += r.g
	}
	y /= float64(len(d.recent))
	d.perSpan = len(d.recent)
	d.last, d.have = sample{t, g, y}, true
	d.win = append(d.win, d.last)
	cut := 0
	for cut < len(d.win)-1 && d.win[cut].t <= t-d.o.Window {
		cut++
	}
	// Keep one sample at or before t − Window so the window spans it.
	if cut > 0 {
		cut--
	}
	d.win = d.win[cut:]
	full := t-d.win[0].t >= d.o.Window
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range d.win {
		lo, hi, sum = math.Min(lo, s.y), math.Max(hi, s.y), sum+s.g
	}
	mean := sum / float64(len(d.win))
	settled := full && hi-lo <= d.threshold(mean)
	switch {
	case settled && d.open:
		p := &d.plats[len(d.plats)-1]
		p.end, p.sum, p.n = t, p.sum+g, p.n+1
	case settled:
		p := plateau{start: d.win[0].t, end: t, confirmed: t, sum: sum, n: len(d.win)}
		if d.inDist {
			p.distFrom, p.distPeak = d.from, d.peak
		}
		d.plats = append(d.plats, p)
		d.open, d.inDist = true, false
	default:
		if d.open {
			d.breakPlateau(t)
		}
		if d.inDist && len(d.plats) > 0 {
			dev := g - d.plats[len(d.plats)-1].mean()
			if math.Abs(dev) > math.Abs(d.peak) {
				d.peak = dev
			}
		}
	}
	return nil
}

// breakPlateau ends the growing plateau: a disturbance begins at t.
func (d *Detector) breakPlateau(t float64) {
	if !d.open {
		return
	}
	d.open = false
	d.inDist, d.from = true, t
	d.peak = 0
	if d.have {
		d.peak = d.last.g - d.plats[len(d.plats)-1].mean()
	}
}

// Detection is what the samples show: the steps, the transients and the
// first and last settled levels. Steps and Transients are in time order.
type Detection struct {
	Steps      []result.Step
	Transients []result.Transient
	// StartG and EndG are the first and last levels (0.1 g); with no
	// settled level at all, Settled is false and both are 0.
	StartG, EndG float64
	Settled      bool
	// EndedSettled: the last sample was settled.
	EndedSettled bool
}

// Result reduces the plateaus seen so far (see the package doc) into
// steps and transients. It can be called at any time; the Detector goes on.
func (d *Detector) Result() Detection {
	ps := slices.Clone(d.plats)
	minStep := d.minStep()
	var tr []result.Transient
	for i := range ps {
		ps[i].sum = round1(ps[i].mean())
		ps[i].n = 1
	}
	merge := func(i int) {
		// ps[i] joins ps[i−1]: the level is the mean of both, weighted by
		// time (their sample counts are gone after rounding).
		a, b := ps[i-1], ps[i]
		wa, wb := math.Max(a.end-a.start, 1e-3), math.Max(b.end-b.start, 1e-3)
		a.sum = round1((a.sum*wa + b.sum*wb) / (wa + wb))
		a.end = b.end
		ps[i-1] = a
		ps = slices.Delete(ps, i, i+1)
	}
	changed := true
	for changed {
		changed = false
		for i := 1; i < len(ps); i++ {
			if math.Abs(ps[i].sum-ps[i-1].sum) < minStep {
				// A wobble smaller than a step is noise, not a transient.
				if p := ps[i].distPeak; math.Abs(p) >= minStep {
					kind := result.TransientTouch
					if p > 0 {
						kind = result.TransientHand
					}
					tr = append(tr, result.Transient{FromS: round3(ps[i].distFrom), ToS: round3(math.Max(ps[i].start, ps[i].distFrom)), PeakG: round1(p), Kind: kind})
				}
				merge(i)
				changed = true
				break
			}
		}
		if changed {
			continue
		}
		for i := 1; i+1 < len(ps); i++ {
			a, m, b := ps[i-1], ps[i], ps[i+1]
			if math.Abs(b.sum-a.sum) < minStep && m.sum-a.sum >= minStep && m.sum-b.sum >= minStep && m.end-m.start <= d.o.HandMax {
				peak := math.Max(m.sum-a.sum, math.Max(m.distPeak, b.distPeak+m.sum-a.sum))
				tr = append(tr, result.Transient{FromS: round3(m.distFrom), ToS: round3(math.Max(b.start, b.distFrom)), PeakG: round1(peak), Kind: result.TransientHand})
				// The hand's level goes; the two sides become one.
				ps = slices.Delete(ps, i, i+1)
				merge(i)
				changed = true
				break
			}
		}
	}
	slices.SortFunc(tr, func(x, y result.Transient) int { return cmpFloat(x.FromS, y.FromS) })
	det := Detection{Transients: tr, Steps: []result.Step{}, EndedSettled: d.open}
	if len(ps) == 0 {
		return det
	}
	det.Settled = true
	det.StartG, det.EndG = ps[0].sum, ps[len(ps)-1].sum
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		st := result.Step{
			TS: round3(b.distFrom), SettledS: round3(b.confirmed), Frame: -1,
			BeforeG: a.sum, AfterG: b.sum, DeltaG: round1(b.sum - a.sum),
			Kind: result.StepRemoved, Items: []string{},
		}
		if st.DeltaG > 0 {
			st.Kind = result.StepAdded
		}
		det.Steps = append(det.Steps, st)
	}
	if len(tr) == 0 {
		det.Transients = []result.Transient{}
	}
	return det
}

func round1(v float64) float64 {
	r := math.Round(v*10) / 10
	if r == 0 {
		return 0
	}
	return r
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
