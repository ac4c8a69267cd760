package steps

import (
	"fmt"
	"math"
	"strings"

	"weighin/internal/result"
)

// OverlaySeconds is how long an export's overlay, the evidence sheet and
// the subtitle track show a step, from its SettledS.
const OverlaySeconds = 4.0

// OverlayText is the one-line caption of a step for the video overlay, the
// sheet and the subtitles: the signed weight to 0.1 g (a true minus sign)
// and the items by name — "−1118.4 g Sneakers", "−1330 g Sneakers +
// Belt", "+1120 g Sneakers (put back)", "−45 g" for a step no item
// explains.
func OverlayText(s result.Step) string {
	v := math.Round(math.Abs(s.DeltaG)*10) / 10
	w := fmt.Sprintf("%.1f", v)
	if v == math.Trunc(v) {
		w = fmt.Sprintf("%.0f", v)
	}
	sign := "−"
	if s.DeltaG > 0 {
		sign = "+"
	}
	out := sign + w + " g"
	if len(s.Items) > 0 {
		out += " " + strings.Join(s.Items, " + ")
		if s.Kind == result.StepAdded {
			out += " (put back)"
		}
	}
	return out
}
