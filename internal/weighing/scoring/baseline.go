package scoring

import (
	"math"
	"time"

	"weighin/internal/weighing"
)

// Baseline is the naive scale of hobby projects: a fixed moving average of
// the last Avg conversions (HX711 libraries' get_units(10)), called stable
// when the last Agree averages lie within AgreeG of each other; empty when
// that stable weight is within ±ZeroBandG. No outlier rejection, no zero
// tracking, a threshold that does not scale with the load.
type Baseline struct {
	Offset, Scale float64
	Avg, Agree    int
	AgreeG        float64
	ZeroBandG     float64

	raw      []float64
	avgs     []float64
	state    weighing.State
	reported float64
}

// NewBaseline returns the baseline with hobby defaults: average of 10,
// stable when the last 5 averages agree within 1 g, 5 g zero band.
func NewBaseline(offset, scale float64) *Baseline {
	return &Baseline{Offset: offset, Scale: scale, Avg: 10, Agree: 5, AgreeG: 1, ZeroBandG: 5}
}

// Add implements Weigher.
func (b *Baseline) Add(t time.Duration, raw int32) (weighing.Reading, bool) {
	b.raw = append(b.raw, (float64(raw)-b.Offset)/b.Scale)
	if len(b.raw) > b.Avg {
		b.raw = b.raw[1:]
	}
	var sum float64
	for _, v := range b.raw {
		sum += v
	}
	avg := sum / float64(len(b.raw))
	r := weighing.Reading{T: t, Grams: avg, State: b.state}
	if len(b.raw) < b.Avg {
		return r, false
	}
	b.avgs = append(b.avgs, avg)
	if len(b.avgs) > b.Agree {
		b.avgs = b.avgs[1:]
	}
	if len(b.avgs) < b.Agree {
		return r, false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range b.avgs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	r.Spread = hi - lo
	next := weighing.Unstable
	if hi-lo <= b.AgreeG {
		next = weighing.Stable
		if math.Abs(avg) <= b.ZeroBandG {
			next = weighing.Empty
		}
	}
	changed := next != b.state || (next != weighing.Unstable && math.Abs(avg-b.reported) > b.AgreeG)
	if changed {
		b.state = next
		if next != weighing.Unstable {
			b.reported = avg
		}
	}
	r.State, r.Stable = b.state, b.state != weighing.Unstable
	return r, changed
}
