package station

import (
	"context"
	"time"

	"weighin/internal/session"
)

// ledDriver shows the station's state on the status LED.
type ledDriver interface {
	show(phase string, discrepancy, warming, fault bool, now time.Time)
	off()
}

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
		s.log.Info("press", "kind", map[session.PressKind]string{session.PressShort: "short", session.PressLong: "long"}[k])
		s.send(ctx, pressEv{kind: k})
	}
}

// runLED drives the status LED from the status, 20 times a second.
func (s *Station) runLED(ctx context.Context) error {
	if s.hw.led == nil {
		return nil
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			s.mu.Lock()
			phase := s.status.SessionState
			warming := s.status.WarmingUp
			fault := s.status.Scale.LastErr != "" || s.status.LastError != ""
			disc := s.preview != nil && s.preview.Verdict != "" && s.preview.Verdict != "match" && s.preview.Verdict != "no_label_weight"
			s.mu.Unlock()
			s.hw.led.show(phase, disc, warming, fault, now)
		}
	}
}
