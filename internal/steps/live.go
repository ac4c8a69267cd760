package steps

import (
	"math"

	"weighin/internal/result"
)

// Live picks, while the recording runs, the steps firm enough to be marked
// at once in the weight log and the subtitle track (the station's live
// view; the manifest's steps, reduced and matched at the seal, are the
// record). A step down is firm when its new level is confirmed; a step up
// only once its level has lasted longer than HandMax (until then it may be
// a hand resting on the parcel) or a later step follows it. Each step is
// given once, in time order; the names of the items are not known yet
// (the matching needs the whole recording).
type Live struct {
	last   float64 // SettledS of the newest step given
	plats  int     // plateaus seen at the last look
	looked float64 // video time of the last look
	init   bool
}

// Firm returns the steps of d that became firm by video time t and were
// not given before. It is cheap to call on every sample: the plateaus are
// reduced only when a level was confirmed or half a second passed.
func (l *Live) Firm(d *Detector, t float64) []result.Step {
	if !l.init {
		l.last, l.looked, l.init = math.Inf(-1), math.Inf(-1), true
	}
	if len(d.plats) == l.plats && t-l.looked < 0.5 {
		return nil
	}
	l.plats, l.looked = len(d.plats), t
	st := d.Result().Steps
	var out []result.Step
	for i, s := range st {
		if s.SettledS <= l.last {
			continue
		}
		if s.Kind == result.StepAdded && i == len(st)-1 {
			p := d.plats[len(d.plats)-1]
			if !d.open || p.end-p.start <= d.o.HandMax {
				break
			}
		}
		out = append(out, s)
		l.last = s.SettledS
	}
	return out
}
