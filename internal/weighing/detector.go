package weighing

import (
	"math"
	"time"
)

// Detector keeps the stability window: the conversions of the last Window.
// Its zero value is not usable; set Window and Period.
type Detector struct {
	// Window is the time the readings must agree over.
	Window time.Duration
	// Period is the conversion period (1/rate); the window counts as full
	// once it covers Window less one and a half periods, so a dropped
	// conversion at its edge does not empty it.
	Period time.Duration
	buf    []entry
}

type entry struct {
	t    time.Duration
	g, y float64
}

// Window summarises the detector's window after an Add.
type Window struct {
	// Full: the window covers the whole Window.
	Full bool
	// N is the number of conversions in it.
	N int
	// Mean is the mean of the conversions (gross grams); Min and Max are
	// the extremes of the smoothed values.
	Mean, Min, Max float64
	// Last is the time of the newest conversion.
	Last time.Duration
}

// Spread is Max − Min.
func (w Window) Spread() float64 { return w.Max - w.Min }

// fastSpan is the newest part of the window that decides stability right
// after a step: 40 % of the window, at least three conversions.
func (d *Detector) fastSpan() time.Duration {
	return max(d.Window*2/5, 3*d.Period)
}

// Add appends a conversion at t with value g and smoothed value y, drops
// what fell out of the window, and summarises the whole window and its
// newest part (40 %, at least three conversions) used right after a step.
func (d *Detector) Add(t time.Duration, g, y float64) (whole, fast Window) {
	d.buf = append(d.buf, entry{t: t, g: g, y: y})
	cut := 0
	for cut < len(d.buf) && d.buf[cut].t <= t-d.Window {
		cut++
	}
	if cut > 0 {
		d.buf = append(d.buf[:0], d.buf[cut:]...)
	}
	return d.summary(t, d.Window), d.summary(t, d.fastSpan())
}

func (d *Detector) summary(t, span time.Duration) Window {
	w := Window{Min: math.Inf(1), Max: math.Inf(-1), Last: t}
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
	w.Full = t-first >= span-d.Period*3/2
	return w
}
