package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
	"weighin/internal/station"
)

// labelCamera opens the simulator's synthetic cameras and keeps the one opened
// last, so that sim_label can show a label on it. A show outlives a reopen
// of the camera (after sim_unplug): the new source shows the rest of it.
type labelCamera struct {
	opts cameratest.Opts

	mu    sync.Mutex
	cur   *cameratest.Synthetic
	data  []byte    // the label on show, nil for none
	until time.Time // the show's end
	hand  bool      // sim_hand: a hand sways over the platform region
}

// open is the camera.OpenFunc of the simulated camera.
func (l *labelCamera) open(context.Context) (camera.Source, error) {
	s, err := cameratest.NewSynthetic(l.opts)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = s
	s.SetHand(l.hand)
	if d := time.Until(l.until); l.data != nil && d > 0 {
		if err := s.Show(l.data, d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setHand shows (or takes away) a hand over the platform region, on the
// current camera and on every one opened after.
func (l *labelCamera) setHand(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hand = on
	if l.cur != nil {
		l.cur.SetHand(on)
	}
}

// show shows data on the current camera, and on any opened before the end
// of d.
func (l *labelCamera) show(data []byte, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.data, l.until = data, time.Now().Add(d)
	if l.cur == nil {
		return nil // the camera is not open yet: it shows the label when it is
	}
	return l.cur.Show(data, d)
}

// showLabel is the sim_label command: the tracking number drawn as a Code
// 128 barcode on a label at the camera's size, shown for
// station.SimLabelFor.
func (s *Sim) showLabel(tracking string) error {
	data, err := cameratest.LabelJPEG(tracking, s.cfg.Camera.Width, s.cfg.Camera.Height, s.cfg.Camera.JPEGQuality)
	if err != nil {
		return fmt.Errorf("%s: %w", station.CmdSimLabel, err)
	}
	if err := s.label.show(data, station.SimLabelFor); err != nil {
		return fmt.Errorf("%s: %w", station.CmdSimLabel, err)
	}
	s.log.Info("simulated label held up to the camera", "tracking", tracking, "for", station.SimLabelFor)
	return nil
}
