package export_test

import (
	"fmt"
	"time"

	"weighin/internal/export"
)

// A 20-minute 720p30 unboxing does not fit WhatsApp's limit even at the
// lowest rung: the chat preset splits it into two parts of 10 minutes.
func ExampleMakePlan() {
	for _, d := range []time.Duration{time.Minute, 5 * time.Minute, 20 * time.Minute} {
		p, err := export.MakePlan(export.PlanInput{Duration: d, Width: 1280, Height: 720, FPS: 30, Cap: export.ChatCap})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v: %v %dx%d at %d kbps in %d part(s)\n", d, p.Rung, p.Width, p.Rung.Height, p.VideoKbps, len(p.Parts))
	}
	// Output:
	// 1m0s: 720p30 1280x720 at 1840 kbps in 1 part(s)
	// 5m0s: 360p30 640x360 at 368 kbps in 1 part(s)
	// 20m0s: 360p15 640x360 at 184 kbps in 2 part(s)
}

// The weight as the picture shows it: plain grams, one decimal, no
// thousands separator.
func ExampleFormatGrams() {
	fmt.Println(export.FormatGrams(1840.12), export.FormatGrams(12345.67), export.FormatGrams(-0.01))
	// Output: 1840.1 g 12345.7 g 0.0 g
}
