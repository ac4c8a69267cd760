// Package motion tells whether something moved on the scale's platform
// while the parcel was weighed: a steady hand on a parcel is stable and
// wrong, and no load cell can tell, but the camera looking at the platform
// can. It works on the JPEG frames the station records anyway, at a few
// frames per second, at the cost of an entropy decode of each (no inverse
// DCT: see Blocks and docs/PERFORMANCE.md for the figure).
//
// The measure: each sampled frame becomes a grid of 8×8-block mean
// brightness (Blocks). Two samples are compared block by block within the
// platform region (camera.platform_region: x, y, w, h as fractions of the
// frame, default the central 60 %) and outside it. A change of the whole
// picture's brightness (auto-exposure, a cloud) is taken out first: the
// median change of the region's blocks is subtracted. A block has changed
// when it moved by more than BlockDelta levels. The changed share of the
// region's blocks is the motion.
//
// The rule: a weigh-in is disturbed when, in the span its frozen weight
// was averaged over (LookBack before the freeze), two sampled frames
// differ by at least RegionShare of the platform region's blocks while
// less than a quarter of the frame outside the region changed
// (WholeFrameShare). A hand on the parcel moves where the parcel is (its
// arm may cross the edge of the frame: a little change outside is
// allowed). A shipping label held up to the camera just before the press
// is close to the lens and fills most of the frame: as it comes up and
// goes down, the outside changes wholesale, so it is not a hand (nor is
// the camera being knocked; a change of the lights is taken out by the
// median); a label held still changes nothing. So the region decides,
// not the timing; the timing only bounds what is looked at. A hand that
// rests without any visible motion for the whole LookBack is not seen.
//
// The package is pure (no I/O, no clock): frames come with their times.
// The JPEG reading is hand-written because no maintained Go library reads
// DC coefficients without a full decode (image/jpeg decodes everything);
// the camera driver already parses the markers and supplies standard
// Huffman tables, which this reuses.
package motion

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Region is a part of the frame as fractions of its width and height: X, Y
// the top-left corner, W, H the size, each in [0, 1].
type Region struct{ X, Y, W, H float64 }

// DefaultRegion is the central 60 % of the frame.
var DefaultRegion = Region{X: 0.2, Y: 0.2, W: 0.6, H: 0.6}

// ErrRegion marks a region that is not inside the frame.
var ErrRegion = errors.New("motion: bad platform region")

// Validate reports a region not inside the frame or smaller than 5 % of
// it either way.
func (r Region) Validate() error {
	for _, v := range []float64{r.X, r.Y, r.W, r.H} {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("%w: %v: each of x, y, w, h must be a fraction from 0 to 1", ErrRegion, r)
		}
	}
	if r.W < 0.05 || r.H < 0.05 || r.X+r.W > 1+1e-9 || r.Y+r.H > 1+1e-9 {
		return fmt.Errorf("%w: %v: w and h at least 0.05, and x+w, y+h at most 1", ErrRegion, r)
	}
	return nil
}

// RegionFrom takes a region from config camera.platform_region ([x, y, w,
// h]).
func RegionFrom(v []float64) (Region, error) {
	if len(v) != 4 {
		return Region{}, fmt.Errorf("%w: %v: want [x, y, w, h]", ErrRegion, v)
	}
	r := Region{X: v[0], Y: v[1], W: v[2], H: v[3]}
	return r, r.Validate()
}

// ParseRegion reads a region written "x,y,w,h" (fractions of the frame,
// as `weighctl calibrate --region` takes it) and validates it.
func ParseRegion(s string) (Region, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Region{}, fmt.Errorf("%w: %q: want x,y,w,h (four fractions of the frame)", ErrRegion, s)
	}
	v := make([]float64, 4)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return Region{}, fmt.Errorf("%w: %q: %q is not a number", ErrRegion, s, p)
		}
		v[i] = f
	}
	return RegionFrom(v)
}

// Slice is the region as config camera.platform_region writes it.
func (r Region) Slice() []float64 { return []float64{r.X, r.Y, r.W, r.H} }

// blocks returns the grid cells [x0, x1) × [y0, y1) the region covers: a
// cell is in when its centre is.
func (r Region) blocks(w, h int) (x0, y0, x1, y1 int) {
	x0 = int(math.Round(r.X * float64(w)))
	y0 = int(math.Round(r.Y * float64(h)))
	x1 = max(x0+1, int(math.Round((r.X+r.W)*float64(w))))
	y1 = max(y0+1, int(math.Round((r.Y+r.H)*float64(h))))
	return x0, y0, min(x1, w), min(y1, h)
}

// Opts tune the check; zero fields take the default in brackets.
type Opts struct {
	// Region is the platform region [DefaultRegion].
	Region Region
	// Interval is the least time between two sampled frames [200 ms: 5
	// per second].
	Interval time.Duration
	// BlockDelta is the change of a block's mean, in levels of 255, that
	// counts as changed [12].
	BlockDelta int
	// RegionShare is the changed share of the region that is motion
	// [0.03].
	RegionShare float64
}

func (o Opts) withDefaults() (Opts, error) {
	if o.Region == (Region{}) {
		o.Region = DefaultRegion
	}
	if o.Interval == 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.BlockDelta == 0 {
		o.BlockDelta = 12
	}
	if o.RegionShare == 0 {
		o.RegionShare = 0.03
	}
	err := o.Region.Validate()
	if o.Interval < 0 || o.Interval > 5*time.Second || o.BlockDelta < 1 || o.BlockDelta > 255 || math.IsNaN(o.RegionShare) || o.RegionShare <= 0 || o.RegionShare > 1 {
		err = errors.Join(err, fmt.Errorf("motion: bad options %+v", o))
	}
	return o, err
}

// Change is how much changed between two grids: the changed share of the
// platform region's blocks and of the blocks outside it.
type Change struct {
	Inside, Outside float64
}

// Compare measures the change from a to b (grids of one camera mode).
func Compare(a, b Grid, r Region, blockDelta int) (Change, error) {
	if a.W != b.W || a.H != b.H || len(a.Y) != a.W*a.H || len(b.Y) != b.W*b.H || a.W == 0 || a.H == 0 {
		return Change{}, fmt.Errorf("motion: grids of %dx%d and %dx%d cannot be compared", a.W, a.H, b.W, b.H)
	}
	x0, y0, x1, y1 := r.blocks(a.W, a.H)
	diffs := make([]int, 0, (x1-x0)*(y1-y0))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			diffs = append(diffs, int(b.At(x, y))-int(a.At(x, y)))
		}
	}
	med := median(diffs)
	in, out, nIn, nOut := 0, 0, 0, 0
	for y := range a.H {
		for x := range a.W {
			d := int(b.At(x, y)) - int(a.At(x, y)) - med
			changed := d > blockDelta || d < -blockDelta
			if x >= x0 && x < x1 && y >= y0 && y < y1 {
				nIn++
				if changed {
					in++
				}
			} else {
				nOut++
				if changed {
					out++
				}
			}
		}
	}
	c := Change{Inside: float64(in) / float64(nIn)}
	if nOut > 0 {
		c.Outside = float64(out) / float64(nOut)
	}
	return c, nil
}

func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// WholeFrameShare is the changed share of the frame outside the platform
// region from which a change is the whole picture changing (a label held
// up to the lens, the camera knocked), not a hand on the parcel.
const WholeFrameShare = 0.25

// Hand reports whether a change is motion on the platform by the rule in
// the package doc: at least share of the region changed, while less than
// WholeFrameShare of the rest of the frame did.
func (c Change) Hand(share float64) bool {
	return c.Inside >= share && c.Outside < WholeFrameShare
}

// Sample is one compared pair of sampled frames: the change from the
// previous sample to the one at T.
type Sample struct {
	T time.Time
	Change
	Hand bool
}

// frame is a sampled frame, kept as JPEG until a window is judged.
type frame struct {
	t    time.Time
	jpeg []byte
}

// Watcher keeps a frame every Opts.Interval for the last keep and judges a
// window on demand: the frames are decoded only then (a weigh-in costs a
// handful of decodes, not a decode per frame all day). Feed it every frame;
// it copies the ones it keeps. It is safe for concurrent use (the camera's
// goroutine feeds it, the session's asks).
type Watcher struct {
	o    Opts
	keep time.Duration

	mu     sync.Mutex
	frames []frame
	errs   int
}

// NewWatcher returns a Watcher that keeps keep of history: at least
// LookBack of the stability window, plus the delay between the freeze and
// the question.
func NewWatcher(o Opts, keep time.Duration) (*Watcher, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if keep <= 0 || keep > time.Minute {
		return nil, fmt.Errorf("motion: keep %v must be positive and at most 1m", keep)
	}
	return &Watcher{o: o, keep: keep}, nil
}

// Frame offers a frame taken at t. It reports whether the frame was kept
// (one per Interval).
func (w *Watcher) Frame(t time.Time, jpeg []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.frames); n > 0 && t.Sub(w.frames[n-1].t) < w.o.Interval {
		return false
	}
	cut := 0
	for cut < len(w.frames) && w.frames[cut].t.Before(t.Add(-w.keep)) {
		cut++
	}
	var buf []byte
	if cut > 0 {
		buf = w.frames[0].jpeg[:0] // reuse the oldest one's buffer
	}
	w.frames = append(w.frames[cut:], frame{t: t, jpeg: append(buf, jpeg...)})
	return true
}

// SetRegion moves the platform region (a new calibration); the frames
// kept are judged with it from now on.
func (w *Watcher) SetRegion(r Region) error {
	if err := r.Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.o.Region = r
	return nil
}

// Region is the platform region in use.
func (w *Watcher) Region() Region {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.o.Region
}

// Errors is the number of kept frames that did not decode when judged.
func (w *Watcher) Errors() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errs
}

// Samples decodes the kept frames from the one before from up to to and
// compares each with the one before it. A frame that does not decode is
// counted (Errors) and breaks the chain: a damaged frame is never
// compared.
func (w *Watcher) Samples(from, to time.Time) []Sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Sample
	var prev Grid
	have := false
	for i, f := range w.frames {
		if f.t.After(to) {
			break
		}
		if f.t.Before(from) && (i+1 >= len(w.frames) || w.frames[i+1].t.Before(from)) {
			continue // not the one just before from
		}
		g, err := Blocks(f.jpeg)
		if err != nil {
			w.errs++
			have = false
			continue
		}
		if have && !f.t.Before(from) {
			if c, err := Compare(prev, g, w.o.Region, w.o.BlockDelta); err == nil {
				out = append(out, Sample{T: f.t, Change: c, Hand: c.Hand(w.o.RegionShare)})
			}
		}
		prev, have = g, true
	}
	return out
}

// Verdict is the motion check of one window.
type Verdict struct {
	// Disturbed: a hand (motion on the platform) was seen in the window.
	Disturbed bool
	// Samples is the number of compared pairs in the window; with none the
	// camera said nothing (Disturbed is false, Known false).
	Samples int
	Known   bool
	// Peak is the largest change of the region in the window, and At its
	// time.
	Peak Change
	At   time.Time
}

// WeighIn judges the weigh-in frozen at freeze: the last LookBack(window)
// before it, window being the scale's stability window.
func (w *Watcher) WeighIn(freeze time.Time, window time.Duration) Verdict {
	return w.Window(freeze.Add(-LookBack(window)), freeze)
}

// LookBack is how far before the freeze motion counts: the span the frozen
// weight was averaged over (two stability windows, as internal/weighing
// averages a steady weight), at least one second. A hand that withdrew
// after setting the parcel down, earlier than that, does not count; a
// hand resting on the parcel without any visible motion for that whole
// span cannot be seen by this check.
func LookBack(window time.Duration) time.Duration {
	return max(2*window, time.Second)
}

// Window judges the frames taken in [from, to].
func (w *Watcher) Window(from, to time.Time) Verdict {
	var v Verdict
	for _, s := range w.Samples(from, to) {
		v.Samples++
		if s.Hand && !v.Disturbed || (s.Hand == v.Disturbed && s.Inside > v.Peak.Inside) {
			v.Peak, v.At = s.Change, s.T
		}
		v.Disturbed = v.Disturbed || s.Hand
	}
	v.Known = v.Samples > 0
	return v
}
