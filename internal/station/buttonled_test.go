package station

import (
	"testing"

	"weighin/drivers/led"
	"weighin/internal/api"
	"weighin/internal/scalestatus"
)

// TestPatternFor: the LED shows the scale's HID POS status where it asks
// for service, without hiding an error or a recording.
func TestPatternFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   api.Status
		want led.Pattern
	}{
		{"stable", api.Status{Status: string(scalestatus.Stable), Stable: true, WeightState: "stable"}, led.Stable},
		{"in motion", api.Status{Status: string(scalestatus.InMotion), WeightState: "unstable"}, led.Idle},
		{"over capacity", api.Status{Status: string(scalestatus.OverCapacity)}, led.Error},
		{"requires calibration", api.Status{Status: string(scalestatus.RequiresCalibration)}, led.Attention},
		{"requires calibration, warming up", api.Status{Status: string(scalestatus.RequiresCalibration), WarmingUp: true}, led.Attention},
		{"requires re-zero", api.Status{Status: string(scalestatus.RequiresRezero)}, led.Attention},
		{"under zero", api.Status{Status: string(scalestatus.UnderZero)}, led.Attention},
		{"under zero, warming up", api.Status{Status: string(scalestatus.UnderZero), WarmingUp: true}, led.WarmingUp},
		{"recording outranks", api.Status{Status: string(scalestatus.RequiresRezero), Recording: true}, led.Recording},
		{"recording with sound", api.Status{Recording: true, Audio: api.AudioStatus{On: true}}, led.RecordingSound},
		{"sound while idle", api.Status{Status: string(scalestatus.Stable), Stable: true, WeightState: "stable", Audio: api.AudioStatus{On: true}}, led.Stable},
		{"an error outranks sound", api.Status{Recording: true, LastError: "x", Audio: api.AudioStatus{On: true}}, led.Error},
		{"an error outranks", api.Status{Status: string(scalestatus.RequiresCalibration), LastError: "x"}, led.Error},
	} {
		if got := patternFor(&tc.st); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
