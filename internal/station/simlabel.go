package station

import (
	"context"
	"fmt"
	"sync"
	"time"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
)

// CmdSimLabel (weighd --sim only) holds a shipping label up to the
// synthetic camera: value is the tracking number, drawn as a Code 128
// barcode on a label at the camera's size and shown for SimLabelFor, so
// that a session started meanwhile reads the tracking number from it.
const CmdSimLabel = "sim_label"

// SimLabelFor is how long sim_label shows the label: longer than a press
// takes to start a session, and long enough to fill a short label window.
const SimLabelFor = 4 * time.Second

// simLabel opens the simulator's synthetic cameras and keeps the one opened
// last, so that sim_label can show a label on it. A show outlives a reopen
// of the camera (after sim_unplug): the new source shows the rest of it.
type simLabel struct {
	opts cameratest.Opts

	mu    sync.Mutex
	cur   *cameratest.Synthetic
	data  []byte    // the label on show, nil for none
	until time.Time // the show's end
}

// open is the camera.OpenFunc of the simulated camera.
func (l *simLabel) open(context.Context) (camera.Source, error) {
	s, err := cameratest.NewSynthetic(l.opts)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = s
	if d := time.Until(l.until); l.data != nil && d > 0 {
		if err := s.Show(l.data, d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// show shows data on the current camera, and on any opened before the end
// of d.
func (l *simLabel) show(data []byte, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.data, l.until = data, time.Now().Add(d)
	if l.cur == nil {
		return nil // the camera is not open yet: it shows the label when it is
	}
	return l.cur.Show(data, d)
}

// simShowLabel is the sim_label command.
func (s *Station) simShowLabel(tracking string) error {
	if s.hw.sim == nil || s.hw.sim.label == nil {
		return fmt.Errorf("%s: %w", CmdSimLabel, errNotSim)
	}
	data, err := cameratest.LabelJPEG(tracking, s.cfg.Camera.Width, s.cfg.Camera.Height, s.cfg.Camera.JPEGQuality)
	if err != nil {
		return fmt.Errorf("%s: %w", CmdSimLabel, err)
	}
	if err := s.hw.sim.label.show(data, SimLabelFor); err != nil {
		return fmt.Errorf("%s: %w", CmdSimLabel, err)
	}
	s.log.Info("simulated label held up to the camera", "tracking", tracking, "for", SimLabelFor)
	return nil
}
