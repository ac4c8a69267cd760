package label

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"weighin/drivers/camera"
)

// Options tune a Selector. The zero value of every field but Window takes
// the default named in its comment.
type Options struct {
	// Window is how much of the session's start is searched (config
	// session.label_window). Required, > 0.
	Window time.Duration
	// SampleInterval is the least time between two scored frames; frames
	// closer to the last scored one are passed over, which bounds the
	// decoding cost on a Pi (default 150 ms: about 7 frames a second).
	SampleInterval time.Duration
	// Candidates is how many of the sharpest frames Best searches for
	// barcodes, sharpest first (default 4).
	Candidates int
	// MinSharpness: a still below it is flagged blurry (default 150,
	// variance of the Laplacian on the half-size luma plane).
	MinSharpness float64
	// MinMean and MaxMean bound the mean luma of a well exposed still
	// (defaults 45 and 220).
	MinMean, MaxMean float64
	// MaxClipped is the largest share of pixels clipped to black or to
	// white before the still is flagged (default 0.25).
	MaxClipped float64
}

func (o Options) withDefaults() (Options, error) {
	if o.Window <= 0 {
		return o, fmt.Errorf("label: options: window must be > 0, got %v", o.Window)
	}
	if o.SampleInterval == 0 {
		o.SampleInterval = 150 * time.Millisecond
	}
	if o.Candidates == 0 {
		o.Candidates = 4
	}
	if o.MinSharpness == 0 {
		o.MinSharpness = 150
	}
	if o.MinMean == 0 {
		o.MinMean = 45
	}
	if o.MaxMean == 0 {
		o.MaxMean = 220
	}
	if o.MaxClipped == 0 {
		o.MaxClipped = 0.25
	}
	if o.SampleInterval < 0 || o.Candidates < 0 || o.MinSharpness < 0 || o.MinMean < 0 ||
		o.MaxMean > 255 || o.MinMean >= o.MaxMean || o.MaxClipped < 0 || o.MaxClipped > 1 {
		return o, fmt.Errorf("label: options out of range: %+v", o)
	}
	return o, nil
}

// Warning codes of Best.
const (
	// WarnNoFrames: no frame arrived in the window; the Still is empty.
	WarnNoFrames = "no_frames"
	// WarnNoBarcode: no barcode decoded in any candidate; the still is the
	// frame at the trigger.
	WarnNoBarcode = "no_barcode"
	// WarnBlurry, WarnDark, WarnBright: the chosen still is hard to read.
	WarnBlurry = "blurry"
	WarnDark   = "dark"
	WarnBright = "overexposed"
	// WarnUndecodable: some frames were not valid JPEG and were skipped.
	WarnUndecodable = "undecodable_frames"
)

// Warning is a reason the label still may not serve as evidence.
type Warning struct {
	// Code is one of the Warn constants.
	Code string
	// Detail is a human-readable explanation with the measured values.
	Detail string
}

func (w Warning) String() string { return w.Code + ": " + w.Detail }

// Still is the chosen label frame.
type Still struct {
	// JPEG is the frame, with standard Huffman tables inserted when the
	// camera left them out, so any viewer can open it.
	JPEG []byte
	// Seq and Time are the frame's.
	Seq  uint64
	Time time.Time
	// Width and Height are the frame's size in pixels.
	Width, Height int
	// Score is its sharpness and exposure (zero when it could not be
	// decoded).
	Score Score
	// Barcodes are the symbols decoded in it (nil if none).
	Barcodes []Barcode
	// Trigger is true when it is the fallback: the frame at the trigger.
	Trigger bool
}

// ErrOutsideWindow is returned by Offer for a frame before the trigger or
// after the window.
var ErrOutsideWindow = errors.New("label: frame outside the label window")

// ErrSkipped is returned by Offer for a frame passed over to keep within
// SampleInterval.
var ErrSkipped = errors.New("label: frame skipped (sample interval)")

type scored struct {
	f     camera.Frame
	score Score
}

// Selector chooses the label still among the frames of a session's first
// seconds. It is pure: the caller feeds it frames and asks for the result;
// it keeps the trigger frame and the Candidates sharpest frames. Not safe
// for concurrent use.
type Selector struct {
	opts       Options
	start, end time.Time
	trigger    *camera.Frame
	best       []scored // sharpest first, at most opts.Candidates
	lastScored time.Time
	scoredN    int
	badN       int
	lastErr    error
}

// NewSelector starts a selection for a trigger (the button press) at now.
// Frames with a Time in [now, now+opts.Window] are considered.
func NewSelector(opts Options, now time.Time) (*Selector, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Selector{opts: o, start: now, end: now.Add(o.Window)}, nil
}

// Done reports whether the window has passed at now: Best may be called.
func (s *Selector) Done(now time.Time) bool { return !now.Before(s.end) }

// Offer gives the selector a frame. The first frame in the window is kept
// as the trigger frame; frames at least SampleInterval apart are decoded
// and scored. It returns the score, or ErrOutsideWindow, ErrSkipped, or an
// error wrapping ErrDecode for a frame that is not a valid JPEG.
func (s *Selector) Offer(f camera.Frame) (Score, error) {
	if f.Time.Before(s.start) || f.Time.After(s.end) {
		return Score{}, ErrOutsideWindow
	}
	if s.trigger == nil {
		t := f
		s.trigger = &t
	}
	if s.scoredN > 0 && f.Time.Sub(s.lastScored) < s.opts.SampleInterval {
		return Score{}, ErrSkipped
	}
	s.lastScored = f.Time
	g, err := DecodeLuma(camera.EnsureHuffman(f.Data))
	if err != nil {
		s.badN++
		s.lastErr = err
		return Score{}, fmt.Errorf("label: frame %d: %w", f.Seq, err)
	}
	s.scoredN++
	sc := Measure(g)
	s.best = append(s.best, scored{f, sc})
	sort.SliceStable(s.best, func(i, j int) bool { return s.best[i].score.Sharpness > s.best[j].score.Sharpness })
	if len(s.best) > s.opts.Candidates {
		s.best = s.best[:s.opts.Candidates]
	}
	return sc, nil
}

// Best returns the label still: the sharpest candidate in which a barcode
// decodes, else the frame at the trigger; and warnings when it is poor.
// It decodes barcodes in up to Candidates frames, which takes tens to
// hundreds of milliseconds per frame: call it off any latency-sensitive
// goroutine.
func (s *Selector) Best() (Still, []Warning) {
	var warns []Warning
	if s.badN > 0 {
		warns = append(warns, Warning{WarnUndecodable, fmt.Sprintf("%d frame(s) skipped, last: %v", s.badN, s.lastErr)})
	}
	if s.trigger == nil {
		return Still{}, append(warns, Warning{WarnNoFrames, "no camera frame in the label window"})
	}
	for _, c := range s.best {
		data := camera.EnsureHuffman(c.f.Data)
		g, err := DecodeLuma(data)
		if err != nil {
			continue // scored before, so not expected
		}
		codes := Decode(g)
		if len(codes) == 0 {
			continue
		}
		st := still(c.f, data, c.score)
		st.Barcodes = codes
		return st, append(warns, s.quality(st.Score)...)
	}
	// Fallback: the frame at the trigger.
	st := still(*s.trigger, camera.EnsureHuffman(s.trigger.Data), Score{})
	st.Trigger = true
	warns = append(warns, Warning{WarnNoBarcode, fmt.Sprintf("no barcode decoded in the %d sharpest of %d scored frames; using the frame at the trigger", min(len(s.best), s.opts.Candidates), s.scoredN)})
	if g, err := DecodeLuma(st.JPEG); err == nil {
		st.Score = Measure(g)
		warns = append(warns, s.quality(st.Score)...)
	}
	return st, warns
}

// still makes the Still of frame f, whose data with Huffman tables ensured
// is data.
func still(f camera.Frame, data []byte, sc Score) Still {
	return Still{JPEG: data, Seq: f.Seq, Time: f.Time, Width: f.Width, Height: f.Height, Score: sc}
}

// quality returns the legibility warnings for a score.
func (s *Selector) quality(sc Score) []Warning {
	var w []Warning
	if sc.Sharpness < s.opts.MinSharpness {
		w = append(w, Warning{WarnBlurry, fmt.Sprintf("sharpness %.0f below %.0f", sc.Sharpness, s.opts.MinSharpness)})
	}
	if sc.Mean < s.opts.MinMean || sc.Dark > s.opts.MaxClipped {
		w = append(w, Warning{WarnDark, fmt.Sprintf("mean luma %.0f (min %.0f), %.0f%% clipped black", sc.Mean, s.opts.MinMean, 100*sc.Dark)})
	}
	if sc.Mean > s.opts.MaxMean || sc.Bright > s.opts.MaxClipped {
		w = append(w, Warning{WarnBright, fmt.Sprintf("mean luma %.0f (max %.0f), %.0f%% clipped white", sc.Mean, s.opts.MaxMean, 100*sc.Bright)})
	}
	return w
}
