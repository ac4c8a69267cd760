// Package cameratest provides frame sources with the shape of the real
// camera driver (a blocking Next(ctx) (camera.Frame, error) and Close),
// paced by the clock: Synthetic draws a moving test pattern with the frame
// number and time in it, and Replay plays back an MJPEG stream file
// (concatenated JPEGs). `weighd --sim` uses Synthetic as its camera; tests
// use both. Synthetic can show a given JPEG for a while (Show), such as a
// shipping label with a Code 128 barcode drawn by LabelJPEG, as a label held
// up to the camera. Both work with camera.Reconnector, and with testing/synctest
// (they wait on time.Timer).
package cameratest

import (
	"context"
	"time"
)

// pacer releases frame k at start + k·interval. A caller that falls behind
// by whole intervals skips them, as a camera drops frames nobody dequeues.
type pacer struct {
	start    time.Time
	interval time.Duration
	tick     int64
}

// wait blocks until the next frame is due and returns its tick and the
// number of ticks skipped.
func (p *pacer) wait(ctx context.Context) (tick, skipped int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	due := p.start.Add(time.Duration(p.tick) * p.interval)
	now := time.Now()
	if late := now.Sub(due); late >= p.interval {
		skipped = int64(late / p.interval)
		p.tick += skipped
		due = p.start.Add(time.Duration(p.tick) * p.interval)
	}
	if d := due.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			p.tick -= skipped
			return 0, 0, ctx.Err()
		case <-t.C:
		}
	}
	tick = p.tick
	p.tick++
	return tick, skipped, nil
}
