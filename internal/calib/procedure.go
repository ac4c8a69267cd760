package calib

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Procedure errors. Match with errors.Is.
var (
	// ErrUnstable: the readings never agreed long enough.
	ErrUnstable = errors.New("calib: readings not stable")
	// ErrSaturated: the HX711 returned its saturation code (overload, or a
	// broken wire).
	ErrSaturated = errors.New("calib: reading saturated")
	// ErrMassTooSmall: the span mass is too light for a precise span.
	ErrMassTooSmall = errors.New("calib: span mass too small")
	// ErrSpanTooSmall: the mass moved the reading by too few counts (not on
	// the platform, or far lighter than stated).
	ErrSpanTooSmall = errors.New("calib: span too small")
	// ErrPhase: the call does not fit the procedure's phase.
	ErrPhase = errors.New("calib: wrong phase")
)

// Options tune the procedure. The zero value uses the defaults, chosen for
// the reference cell (5 kg bar cell, gain 128, about 420 counts per gram,
// noise about 60 counts at 10 SPS).
type Options struct {
	// Samples is how many consecutive conversions are averaged, and must
	// agree (default 20: 2 s at 10 SPS).
	Samples int
	// MaxSpreadCounts is the largest spread (max − min) among them
	// (default 1000 counts, about 2.4 g on the reference cell).
	MaxSpreadCounts float64
	// MinMassG is the lightest span mass accepted (default 100 g).
	MinMassG float64
	// MinSpanCounts is the smallest change the mass must make (default
	// 10000 counts, about 24 g on the reference cell).
	MinSpanCounts float64
	// Gain is the HX711 gain being calibrated (default 128).
	Gain int
}

func (o Options) withDefaults() Options {
	if o.Samples <= 0 {
		o.Samples = 20
	}
	if o.MaxSpreadCounts <= 0 {
		o.MaxSpreadCounts = 1000
	}
	if o.MinMassG <= 0 {
		o.MinMassG = 100
	}
	if o.MinSpanCounts <= 0 {
		o.MinSpanCounts = 10000
	}
	if o.Gain == 0 {
		o.Gain = 128
	}
	return o
}

const (
	rawMax = 1<<23 - 1
	rawMin = -1 << 23
)

// Average returns the mean of samples if they are stable: no saturation
// code, at least o.Samples of them, spread within o.MaxSpreadCounts.
func Average(samples []int32, o Options) (float64, error) {
	o = o.withDefaults()
	if len(samples) < o.Samples {
		return 0, fmt.Errorf("%w: %d conversions, need %d", ErrUnstable, len(samples), o.Samples)
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range samples {
		if s >= rawMax || s <= rawMin {
			return 0, fmt.Errorf("%w: %d", ErrSaturated, s)
		}
		v := float64(s)
		lo, hi, sum = math.Min(lo, v), math.Max(hi, v), sum+v
	}
	if hi-lo > o.MaxSpreadCounts {
		return 0, fmt.Errorf("%w: spread %.0f counts, at most %.0f", ErrUnstable, hi-lo, o.MaxSpreadCounts)
	}
	return sum / float64(len(samples)), nil
}

// Span returns the counts per gram from the mean loaded reading, the
// offset and the known mass.
func Span(loaded, offset, massG float64, o Options) (float64, error) {
	o = o.withDefaults()
	if !(massG >= o.MinMassG) || math.IsInf(massG, 0) {
		return 0, fmt.Errorf("%w: %v g, at least %v g", ErrMassTooSmall, massG, o.MinMassG)
	}
	d := loaded - offset
	if math.Abs(d) < o.MinSpanCounts {
		return 0, fmt.Errorf("%w: the mass moved the reading by %.0f counts, at least %.0f", ErrSpanTooSmall, d, o.MinSpanCounts)
	}
	return d / massG, nil
}

// Phase is where a Procedure stands.
type Phase int

// Phases, in order.
const (
	// Taring: collecting stable conversions of the empty platform.
	Taring Phase = iota
	// AwaitMass: the offset is known; waiting for PlaceMass.
	AwaitMass
	// Spanning: collecting stable conversions with the mass on.
	Spanning
	// Done: Result returns the calibration.
	Done
	// Failed: Err says why.
	Failed
)

func (p Phase) String() string {
	return [...]string{"taring", "await_mass", "spanning", "done", "failed"}[p]
}

// Procedure is the calibration, step by step: feed conversions with Add
// while the platform is empty until the phase is AwaitMass; put the known
// mass on and call PlaceMass; feed conversions until Done. A saturated
// conversion fails it; readings that never settle (or a mass that never
// arrives) leave it waiting: the caller's time-out calls Abort, which tells
// why.
type Procedure struct {
	o      Options
	phase  Phase
	buf    []int32
	offset float64
	mass   float64
	result Calibration
	err    error
	// last is why the latest window was not accepted.
	last error
}

// NewProcedure starts a calibration in the Taring phase.
func NewProcedure(o Options) *Procedure {
	return &Procedure{o: o.withDefaults(), last: ErrUnstable}
}

// Phase returns the current phase.
func (p *Procedure) Phase() Phase { return p.phase }

// Err returns why the procedure failed (nil unless Failed).
func (p *Procedure) Err() error { return p.err }

// Add feeds one raw conversion and returns the phase after it. It returns
// an error only when the procedure fails.
func (p *Procedure) Add(raw int32) (Phase, error) {
	if p.phase != Taring && p.phase != Spanning {
		return p.phase, nil
	}
	if raw >= rawMax || raw <= rawMin {
		return p.fail(fmt.Errorf("%w during %s: %d", ErrSaturated, p.phase, raw))
	}
	p.buf = append(p.buf, raw)
	if len(p.buf) > p.o.Samples {
		p.buf = p.buf[1:]
	}
	mean, err := Average(p.buf, p.o)
	if err != nil {
		if len(p.buf) == p.o.Samples {
			p.last = err
		}
		return p.phase, nil
	}
	switch p.phase {
	case Taring:
		p.offset = mean
		p.phase, p.buf, p.last = AwaitMass, p.buf[:0], ErrUnstable
	case Spanning:
		scale, err := Span(mean, p.offset, p.mass, p.o)
		if err != nil {
			p.last = err // perhaps the mass is not on yet
			return p.phase, nil
		}
		p.result = Calibration{Version: Version, Offset: p.offset, Scale: scale, Gain: p.o.Gain, SpanMassG: p.mass}
		p.phase = Done
	}
	return p.phase, nil
}

// PlaceMass tells the procedure that the known mass (grams) is on the
// platform. A mass lighter than Options.MinMassG fails at once.
func (p *Procedure) PlaceMass(massG float64) error {
	if p.phase != AwaitMass {
		return fmt.Errorf("%w: place mass while %s", ErrPhase, p.phase)
	}
	if !(massG >= p.o.MinMassG) || math.IsInf(massG, 0) {
		_, err := p.fail(fmt.Errorf("%w: %v g, at least %v g", ErrMassTooSmall, massG, p.o.MinMassG))
		return err
	}
	p.mass, p.phase, p.buf, p.last = massG, Spanning, p.buf[:0], ErrUnstable
	return nil
}

// Abort ends a procedure that is still waiting (the caller's time-out) and
// returns why it could not go on: ErrUnstable, or ErrSpanTooSmall when the
// readings settled with too little change.
func (p *Procedure) Abort() error {
	switch p.phase {
	case Done:
		return fmt.Errorf("%w: already done", ErrPhase)
	case Failed:
		return p.err
	}
	_, err := p.fail(fmt.Errorf("while %s: %w", p.phase, p.last))
	return err
}

func (p *Procedure) fail(err error) (Phase, error) {
	p.phase, p.err = Failed, err
	return p.phase, err
}

// Result returns the calibration, stamped with at and whether the clock
// was synchronised, once Done.
func (p *Procedure) Result(at time.Time, clockSynced bool) (Calibration, error) {
	if p.phase != Done {
		return Calibration{}, fmt.Errorf("%w: result while %s", ErrPhase, p.phase)
	}
	c := p.result
	c.At, c.ClockSynced = at.UTC(), clockSynced
	return c, nil
}
