package weighing

import (
	"errors"
	"fmt"
	"math"
	"time"

	"weighin/internal/config"
)

// Options configure a Pipeline. Use FromConfig for the daemon's values.
type Options struct {
	// Offset is the raw count of the empty platform (from calibration).
	Offset float64
	// Scale is the sensitivity in counts per gram (from calibration); it may
	// be negative (a cell wired the other way round), never zero.
	Scale float64
	// Rate is the HX711 output rate, 10 or 80 SPS. It sets the smoothing
	// the stability detector looks through (one conversion period of
	// 100 ms) and how long a window must be filled.
	Rate int
	// Window is how long the readings must agree to be stable
	// (config scale.stable_window).
	Window time.Duration
	// ThresholdG and ThresholdPct: the allowed spread in the window is
	// max(ThresholdG, ThresholdPct % of the load)
	// (config scale.stable_threshold_g, stable_threshold_pct).
	ThresholdG   float64
	ThresholdPct float64
	// ZeroBandG: a steady weight within ±ZeroBandG is empty, and zero
	// tracking acts only there (config scale.zero_band_g).
	ZeroBandG float64
	// ZeroTrackGPerS bounds how fast zero tracking moves the zero; 0 turns
	// it off (config scale.zero_track_g_per_s).
	ZeroTrackGPerS float64
	// WarmUp: readings taken less than WarmUp after the cell was powered
	// are flagged WarmingUp (config scale.warm_up).
	WarmUp time.Duration
}

// FromConfig returns the daemon's options: the weighing keys of the scale
// section and a calibration (offset in counts, scale in counts per gram).
// weighctl replay uses exactly this with config.Default().Scale.
func FromConfig(s config.Scale, offset, scale float64) Options {
	return Options{
		Offset: offset, Scale: scale, Rate: s.Rate,
		Window:     s.StableWindow,
		ThresholdG: s.StableThresholdG, ThresholdPct: s.StableThresholdPct,
		ZeroBandG: s.ZeroBandG, ZeroTrackGPerS: s.ZeroTrackGPerS,
		WarmUp: s.WarmUp,
	}
}

// ErrOptions marks options that make no sense.
var ErrOptions = errors.New("weighing: bad options")

// Validate reports every problem with o.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrOptions}, args...)...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(o.Offset) {
		bad("offset %v is not a number", o.Offset)
	}
	if !finite(o.Scale) || o.Scale == 0 {
		bad("scale %v counts per gram must be a non-zero number", o.Scale)
	}
	if o.Rate != 10 && o.Rate != 80 {
		bad("rate %d must be 10 or 80 SPS", o.Rate)
	}
	if o.Window < 100*time.Millisecond || o.Window > 10*time.Second {
		bad("window %v must be between 100ms and 10s", o.Window)
	}
	if !finite(o.ThresholdG) || o.ThresholdG <= 0 {
		bad("threshold %v g must be positive", o.ThresholdG)
	}
	if !finite(o.ThresholdPct) || o.ThresholdPct < 0 {
		bad("threshold %v %% must not be negative", o.ThresholdPct)
	}
	if !finite(o.ZeroBandG) || o.ZeroBandG <= 0 {
		bad("zero band %v g must be positive", o.ZeroBandG)
	}
	if !finite(o.ZeroTrackGPerS) || o.ZeroTrackGPerS < 0 {
		bad("zero tracking %v g/s must not be negative", o.ZeroTrackGPerS)
	}
	if o.WarmUp < 0 {
		bad("warm-up %v must not be negative", o.WarmUp)
	}
	return errors.Join(errs...)
}

// Threshold is the stability threshold for a load of grams:
// max(ThresholdG, ThresholdPct % of |grams|).
func (o Options) Threshold(grams float64) float64 {
	return math.Max(o.ThresholdG, o.ThresholdPct/100*math.Abs(grams))
}
