package station

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/led"
	"weighin/internal/result"
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

// ledPattern chooses the LED pattern: an error outranks everything, then
// recording, a discrepancy in the last result, warming up, a stable weight.
func (s *Station) ledPattern() led.Pattern {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	switch {
	case st.Scale.LastErr != "" || st.LastError != "":
		return led.Error
	case st.Recording:
		return led.Recording
	case st.LastResult != nil && st.LastResult.Verdict != result.VerdictMatch && st.LastResult.Verdict != result.VerdictNoLabelWeight && st.SessionState == session.PhaseIdle.String():
		return led.Discrepancy
	case st.WarmingUp:
		return led.WarmingUp
	case st.Stable && st.WeightState == "stable":
		return led.Stable
	}
	return led.Idle
}
