package export

import (
	"testing"
	"time"
)

// BenchmarkRenderASS: the overlay of a 20-minute part at 30 fps (36,000
// frames evaluated).
func BenchmarkRenderASS(b *testing.B) {
	tl := benchTimeline(20 * time.Minute)
	for b.Loop() {
		RenderASS(OverlaySpec{Timeline: tl, Span: Span{0, 20 * time.Minute}, Width: 640, Height: 360, FPS: 30, Zone: time.UTC})
	}
}

// BenchmarkAlignLegacyLog: finding a 20-minute weight log that counts from
// the press (the search the contract's axis skips).
func BenchmarkAlignLegacyLog(b *testing.B) {
	var cues []Cue
	var log []Reading
	w := func(d time.Duration) float64 { return 2000 - float64(d/(30*time.Second))*100 }
	wall := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for d := time.Duration(0); d < 20*time.Minute; d += 250 * time.Millisecond {
		cues = append(cues, Cue{At: d, Dur: 250 * time.Millisecond, Text: wall.Add(d).Format("2006-01-02 15:04:05 UTC") + "  |  " + FormatGrams(w(d)) + " stable"})
	}
	for d := time.Duration(0); d < 20*time.Minute-5*time.Second; d += 100 * time.Millisecond {
		log = append(log, Reading{T: d, Grams: w(d + 5*time.Second), Stable: true})
	}
	for b.Loop() {
		tl, _, _ := buildTimeline(cues, log, 20*time.Minute, false)
		if tl.WeightSource != "weight.csv" {
			b.Fatalf("weight source %s", tl.WeightSource)
		}
	}
}

func benchTimeline(d time.Duration) *Timeline {
	tl := &Timeline{Wall: []WallRun{{From: 0, To: d, Base: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}},
		OrderRef: "12345", Tracking: "LX123456785CN", SessionID: "000001-20261126T100005Z-LX123456785CN", ClockSynced: true}
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		tl.Weights = append(tl.Weights, Reading{T: t, Grams: 1840 + float64(t/time.Second%7)/10, Stable: true})
	}
	for t := time.Minute; t < d; t += 3 * time.Minute {
		tl.Marks = append(tl.Marks, Mark{At: t, Label: "mark"})
	}
	return tl
}
