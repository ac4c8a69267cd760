package weighing

import (
	"math"
	"time"
)

// noise estimates, online and robustly, how much the readings of this cell
// move when nothing happens, so thresholds and windows follow the cell, not
// a constant.
//
// Two figures, both from quantiles, so that steps, spikes and a hand on the
// platform do not inflate them:
//
//   - sigma, the conversion noise (σ of one conversion, grams): the lower
//     quartile of the absolute differences of consecutive conversions
//     (every one that is not a chip fault) over the last diffCap of them, divided by 0.3186·√2 (the
//     quartile of |N(0, 2σ²)|). A step or a spike moves one or two
//     differences; a hand or an animal on the platform fills the upper
//     quantiles; the quartile ignores them until three quarters of the
//     memory is motion.
//   - quiet, the spread (max − min of the smoothed values) the detector
//     sees over one decision window when nothing happens: the blocks of one
//     window each are recorded, and quiet is the quietQuantile of the last
//     blockCap of them. It includes what sigma misses: noise that is not
//     white (1/f wander, mains pickup aliased at 80 SPS, vibration).
//     Motion only fills the upper quantiles; the estimate rises only when
//     more than three quarters of the blocks in memory (two minutes at the
//     default window) are disturbed.
//
// Once known (sigma: from 64 differences on), either figure may fall at
// once but rise at most twofold in riseTime: a hand resting on a parcel for
// 6 s right after power-up (when the memory is short) cannot loosen the
// thresholds under it, while a cell that really got noisier is followed
// within a minute. The detector never takes the quiet spread below what
// white noise of sigma gives.
type noise struct {
	diffs  []float64 // ring of |Δg|
	dPos   int
	blocks []float64 // ring of block spreads
	bPos   int
	// the block being filled
	bStart     time.Duration
	bMin, bMax float64
	bN         int
	bOpen      bool

	sigma, quiet float64 // NaN until known
	lastUpdate   time.Duration
	scratch      []float64 // for quantiles, reused: no allocation per update
}

const (
	diffCap       = 512
	blockCap      = 256
	quietQuantile = 0.25
	// minBlocks and minDiffs: how much must be seen before the estimates
	// are used.
	minBlocks = 4
	minDiffs  = 16
	riseTime  = 30 * time.Second
)

func newNoise() noise {
	return noise{sigma: math.NaN(), quiet: math.NaN()}
}

// addDiff records the difference of two consecutive accepted conversions.
func (n *noise) addDiff(d float64) {
	d = math.Abs(d)
	if len(n.diffs) < diffCap {
		n.diffs = append(n.diffs, d)
	} else {
		n.diffs[n.dPos] = d
		n.dPos = (n.dPos + 1) % diffCap
	}
}

// addSmoothed records a smoothed value for the block spreads. block is the
// current decision window, minN the conversions a block needs to count (a
// gap makes a block too thin to say anything).
func (n *noise) addSmoothed(t time.Duration, y float64, block time.Duration, minN int) {
	if n.bOpen && t-n.bStart >= block {
		if n.bN >= minN {
			s := n.bMax - n.bMin
			if len(n.blocks) < blockCap {
				n.blocks = append(n.blocks, s)
			} else {
				n.blocks[n.bPos] = s
				n.bPos = (n.bPos + 1) % blockCap
			}
		}
		n.bOpen = false
		n.update(t)
	}
	if !n.bOpen {
		n.bStart, n.bMin, n.bMax, n.bN, n.bOpen = t, y, y, 0, true
	}
	n.bMin, n.bMax = math.Min(n.bMin, y), math.Max(n.bMax, y)
	n.bN++
}

// breakBlock drops the block being filled (after a read fault or a gap).
func (n *noise) breakBlock() { n.bOpen = false }

// update recomputes the estimates at t (once per block: cheap at any
// rate).
func (n *noise) update(t time.Duration) {
	rise := math.Exp2(float64(t-n.lastUpdate) / float64(riseTime))
	n.lastUpdate = t
	limit := func(old, v float64) float64 {
		if math.IsNaN(old) {
			return v
		}
		return math.Min(v, old*rise)
	}
	if len(n.diffs) >= minDiffs {
		v := n.quantile(n.diffs, 0.25) / (0.3186 * math.Sqrt2)
		if len(n.diffs) < 4*minDiffs {
			// Too few differences for a quartile to be sure of: do not
			// let an early low estimate hold the figure down.
			n.sigma = v
		} else {
			n.sigma = limit(n.sigma, v)
		}
	}
	if len(n.blocks) >= minBlocks {
		n.quiet = limit(n.quiet, n.quantile(n.blocks, quietQuantile))
	}
}

// quantile returns the q-quantile of v (not modified), nearest rank, by
// selection in a reused scratch copy (linear time, no allocation once the
// scratch has grown).
func (n *noise) quantile(v []float64, q float64) float64 {
	n.scratch = append(n.scratch[:0], v...)
	return selectK(n.scratch, int(math.Round(q*float64(len(v)-1))))
}

// selectK returns the k-th smallest element of s (0-based), reordering s
// (Hoare's quickselect with a median-of-three pivot).
func selectK(s []float64, k int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
