package weighing

import (
	"math"
	"time"
)

// detector keeps the conversions of the last two windows and summarises
// spans of them.
type detector struct {
	// keep is how much history is kept: two of the longest windows.
	keep time.Duration
	// period is the conversion period (1/rate). A span counts as full once
	// it covers its length less one and a half periods, so a conversion
	// dropped at its edge does not empty it.
	period time.Duration
	buf    []entry
}

type entry struct {
	t    time.Duration
	g, y float64
}

// summary summarises a span of the newest conversions.
type summary struct {
	// Full: the conversions cover the whole span.
	Full bool
	// N is the number of conversions in it.
	N int
	// Mean is the mean of the conversions (gross grams); Min and Max are
	// the extremes of the smoothed values.
	Mean, Min, Max float64
	span           time.Duration
}

// Spread is Max − Min.
func (w summary) Spread() float64 { return w.Max - w.Min }

// add appends a conversion at t with value g and smoothed value y and drops
// what is older than keep.
func (d *detector) add(t time.Duration, g, y float64) {
	d.buf = append(d.buf, entry{t: t, g: g, y: y})
	cut := 0
	for cut < len(d.buf) && d.buf[cut].t <= t-d.keep {
		cut++
	}
	if cut > 0 {
		d.buf = append(d.buf[:0], d.buf[cut:]...)
	}
}

// summary summarises the conversions newer than span before the newest.
func (d *detector) summary(span time.Duration) summary {
	w := summary{Min: math.Inf(1), Max: math.Inf(-1), span: span}
	if len(d.buf) == 0 {
		return w
	}
	t := d.buf[len(d.buf)-1].t
	var sum float64
	first := t
	for i := len(d.buf) - 1; i >= 0 && d.buf[i].t > t-span; i-- {
		e := d.buf[i]
		sum += e.g
		w.N++
		w.Min = math.Min(w.Min, e.y)
		w.Max = math.Max(w.Max, e.y)
		first = e.t
	}
	w.Mean = sum / float64(w.N)
	w.Full = t-first >= span-d.period*3/2
	return w
}
