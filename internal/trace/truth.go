package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Truth is the NAME.truth.json sidecar of a synthetic trace: what really lay
// on the platform, and when. All times are trace milliseconds (t_ms).
type Truth struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Seed        uint64 `json:"seed"`
	// RateSPS is the HX711 output rate of the trace: 10 or 80.
	RateSPS int `json:"rate_sps"`
	// Offset and CountsPerGram are the calibration to replay the trace with
	// (weighctl replay --offset --scale).
	Offset        float64 `json:"offset"`
	CountsPerGram float64 `json:"counts_per_gram"`
	// NoiseG is the standard deviation of the conversion noise, in grams.
	NoiseG float64 `json:"noise_g"`
	// DriftGPerMin is the zero drift of the cell (thermal), if any.
	DriftGPerMin float64 `json:"drift_g_per_min,omitempty"`
	// DurationMs is the time of the last sample.
	DurationMs  int64         `json:"duration_ms"`
	Placements  []Placement   `json:"placements"`
	Disturbance []Disturbance `json:"disturbances"`
	// SpikesMs lists the samples replaced by a read fault (HX711 glitch).
	SpikesMs []int64 `json:"spikes_ms"`
}

// Placement is one object on the platform.
type Placement struct {
	MassG float64 `json:"mass_g"`
	// ToleranceG is the band the reading must be within: max(1 g, 0.05 % of
	// the mass).
	ToleranceG float64 `json:"tolerance_g"`
	// SetDownMs is when the load began to rise.
	SetDownMs int64 `json:"set_down_ms"`
	// EnteredMs is when the true load entered, and then stayed in, the
	// tolerance band around MassG (until RemovedMs).
	EnteredMs int64 `json:"entered_ms"`
	// RemovedMs is when the lifting began; 0 = still on at the end.
	RemovedMs int64 `json:"removed_ms,omitempty"`
	// EmptyMs is when, after removal, the true load entered and stayed in
	// the tolerance band around zero; 0 = not removed.
	EmptyMs int64 `json:"empty_ms,omitempty"`
}

// Disturbance is a window in which no stable weight may be reported unless
// it is within tolerance of the true mass (a bounce, a hand swaying the
// parcel).
type Disturbance struct {
	Kind    string `json:"kind"`
	StartMs int64  `json:"start_ms"`
	EndMs   int64  `json:"end_ms"`
}

// Tolerance is the band used for truth: max(1 g, 0.05 % of the mass).
func Tolerance(massG float64) float64 {
	return math.Max(1, 0.0005*math.Abs(massG))
}

// ErrBadTruth marks a truth file that parses but makes no sense.
var ErrBadTruth = errors.New("bad truth")

// ReadTruth reads and checks a NAME.truth.json file.
func ReadTruth(path string) (Truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := t.check(); err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func (t Truth) check() error {
	if t.RateSPS != 10 && t.RateSPS != 80 {
		return fmt.Errorf("%w: rate_sps %d is not 10 or 80", ErrBadTruth, t.RateSPS)
	}
	if t.CountsPerGram == 0 {
		return fmt.Errorf("%w: counts_per_gram is 0", ErrBadTruth)
	}
	for i, p := range t.Placements {
		if p.SetDownMs > p.EnteredMs || (p.RemovedMs != 0 && (p.EnteredMs > p.RemovedMs || p.RemovedMs > p.EmptyMs)) {
			return fmt.Errorf("%w: placement %d: times out of order", ErrBadTruth, i)
		}
	}
	for i, d := range t.Disturbance {
		if d.StartMs > d.EndMs {
			return fmt.Errorf("%w: disturbance %d ends before it starts", ErrBadTruth, i)
		}
	}
	return nil
}

// MarshalTruth encodes t as indented JSON with a final newline, the form the
// generator writes.
func MarshalTruth(t Truth) ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("trace: truth: %w", err)
	}
	return append(b, '\n'), nil
}
