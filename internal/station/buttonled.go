package station

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/led"
	"weighin/internal/api"
	"weighin/internal/result"
	"weighin/internal/scalestatus"
	"weighin/internal/session"
)

// runButton turns presses into events for loop.
func (s *Station) runButton(ctx context.Context) error {
	if s.hw.nextPress == nil {
		return nil
	}
	for {
		k, err := s.hw.nextPress(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("button", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		s.log.Info("press", "kind", k.String())
		select {
		case s.events <- pressEv{kind: k}:
		case <-ctx.Done():
			return nil
		}
	}
}

// runLED drives the status LED from the station's status.
func (s *Station) runLED(ctx context.Context) error {
	if s.hw.led == nil {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.hw.led.Run(ctx) })
	g.Go(func() error {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				s.hw.led.Set(s.ledPattern())
			}
		}
	})
	return g.Wait()
}

// ledPattern chooses the LED pattern from the status.
func (s *Station) ledPattern() led.Pattern {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Audio.On = s.audioOnLocked()
	return patternFor(&st)
}

// patternFor: an error (or a load over capacity) outranks everything, then
// recording (stopping soon, or not), a paused session, a scale that needs attention (its HID POS status: requires
// calibration; once warmed up, requires re-zero or under zero), a
// discrepancy in the last result, warming up, a stable weight.
func patternFor(st *api.Status) led.Pattern {
	hid := scalestatus.Status(st.Status)
	switch {
	case st.Scale.LastErr != "" || st.LastError != "" || hid == scalestatus.OverCapacity:
		return led.Error
	case st.Recording && st.AutoStopInS != nil:
		return led.AutoStop
	case st.Recording && st.Audio.On:
		return led.RecordingSound
	case st.Recording:
		return led.Recording
	case st.SessionState == session.PhasePaused.String():
		return led.Paused
	case hid == scalestatus.RequiresCalibration,
		!st.WarmingUp && (hid == scalestatus.RequiresRezero || hid == scalestatus.UnderZero):
		return led.Attention
	case st.LastResult != nil && st.LastResult.Verdict != result.VerdictMatch && st.LastResult.Verdict != result.VerdictNoLabelWeight && st.SessionState == session.PhaseIdle.String():
		return led.Discrepancy
	case st.WarmingUp:
		return led.WarmingUp
	case st.Stable && st.WeightState == "stable":
		return led.Stable
	}
	return led.Idle
}
