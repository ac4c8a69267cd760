package station

import (
	"context"
	"errors"
	"fmt"
	"time"

	"weighin/drivers/hx711"
	"weighin/internal/calib"
	"weighin/internal/weighing"
)

// scaleReq is an order for the scale goroutine, which alone owns the
// weighing pipeline: tare, or a calibration step.
type scaleReq struct {
	kind  string // "tare", "zero", "span"
	massG float64
	reply chan error
}

// calTimeout bounds one calibration step (readings must settle in it).
const calTimeout = 20 * time.Second

// errOverCapacity is the scale fault of a load beyond the cell's range:
// the HX711 returns its saturation code and the pipeline reports overload.
var errOverCapacity = errors.New("the scale is over capacity: take the load off")

// scaleFaultReason is why a start is refused while the scale is at fault:
// over capacity, or not answering.
func scaleFaultReason(err error) string {
	if errors.Is(err, errOverCapacity) {
		return err.Error()
	}
	return "the scale is not answering: " + err.Error()
}

// calibrator is a two-point calibration in progress, fed by the scale
// goroutine: the procedure, the request waiting for the step's answer and
// the step's deadline.
type calibrator struct {
	gain     int
	path     string
	proc     *calib.Procedure
	req      *scaleReq
	deadline time.Time
}

// request starts a step (zero or span).
func (c *calibrator) request(r scaleReq, now time.Time) {
	switch r.kind {
	case "zero":
		if c.req != nil {
			c.req.reply <- errors.New("calibration restarted")
		}
		c.proc = calib.NewProcedure(calib.Options{Gain: c.gain})
	case "span":
		if c.proc == nil || c.proc.Phase() != calib.AwaitMass {
			r.reply <- fmt.Errorf("%w: run calibrate_zero on the empty platform first", calib.ErrPhase)
			return
		}
		if err := c.proc.PlaceMass(r.massG); err != nil {
			c.proc = nil
			r.reply <- err
			return
		}
	}
	c.req, c.deadline = &r, now.Add(calTimeout)
}

// answer ends the step in progress with err.
func (c *calibrator) answer(err error) {
	c.req.reply <- err
	c.proc, c.req = nil, nil
}

// add feeds one conversion; it returns a finished calibration for the
// caller to save and apply (the caller answers then).
func (c *calibrator) add(raw int32, now time.Time) *calib.Calibration {
	if c.proc == nil || c.req == nil {
		return nil
	}
	phase, err := c.proc.Add(raw)
	switch {
	case err != nil:
		c.answer(err)
	case phase == calib.AwaitMass && c.req.kind == "zero":
		c.req.reply <- nil
		c.req = nil
	case phase == calib.Done:
		res, err := c.proc.Result(now, clockSynced())
		if err != nil {
			c.answer(err)
			return nil
		}
		return &res
	case now.After(c.deadline):
		c.answer(c.proc.Abort())
	}
	return nil
}

// failed notes a read failure: a step past its deadline ends.
func (c *calibrator) failed(err error, now time.Time) {
	if c.req != nil && now.After(c.deadline) {
		c.answer(fmt.Errorf("calibration: the scale is not answering: %w", err))
	}
}

// loadPipeline builds the weighing pipeline from the saved calibration, or
// the simulator's factory one, or none (offset 0, scale 1, not calibrated).
func (s *Station) loadPipeline() (*weighing.Pipeline, error) {
	calPath := calib.Path(s.cfg.StateDir, s.cfg.Scale.CalibrationFile)
	cal, err := calib.Load(calPath)
	calibrated := err == nil
	if err == nil {
		if err := cal.Check(s.cfg.Scale.Gain); err != nil {
			s.log.Warn("calibration does not fit the configured gain: recalibrate", "err", err)
			calibrated = false
		}
	} else if !errors.Is(err, calib.ErrNotCalibrated) {
		s.log.Warn("calibration unreadable: recalibrate with weighctl calibrate", "path", calPath, "err", err)
	}
	if !calibrated {
		cal = calib.Calibration{Offset: 0, Scale: 1}
		if s.hw.factoryOK {
			cal.Offset, cal.Scale = s.hw.factoryOffset, s.hw.factoryScale
			calibrated = true
		}
	}
	s.setCalibration(cal.Offset, cal.Scale, calibrated)
	return weighing.New(weighing.FromConfig(s.cfg.Scale, cal.Offset, cal.Scale))
}

// scaleBackoff is the wait after the nth failed read in a row.
func scaleBackoff(n int) time.Duration {
	return min(time.Duration(n)*100*time.Millisecond, 2*time.Second)
}

// runScale reads the HX711, runs the weighing pipeline and sends every
// sample to loop: one attempt at a time (readOnce), the loop owning the
// requests, the back-off and the logging.
func (s *Station) runScale(ctx context.Context) error {
	p, err := s.loadPipeline()
	if err != nil {
		return err
	}
	cal := &calibrator{gain: s.cfg.Scale.Gain, path: calib.Path(s.cfg.StateDir, s.cfg.Scale.CalibrationFile)}
	t0 := time.Now()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.scaleReqs:
			if r.kind == "tare" {
				r.reply <- p.Tare()
			} else {
				cal.request(r, time.Now())
			}
		default:
		}
		err := s.readOnce(ctx, &p, cal, t0)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			if failures > 0 {
				s.log.Info("hx711 answering again", "after_failures", failures)
				failures = 0
			}
			continue
		}
		failures++
		s.noteScaleError(err)
		if failures == 1 {
			s.sendScale(ctx, scaleFaultEv{err: err}) // loop refuses to start on a stale weight
		}
		if failures == 1 || failures%100 == 0 {
			s.log.Warn("hx711 read failed", "err", err, "failures", failures)
		}
		cal.failed(err, time.Now())
		select {
		case <-time.After(scaleBackoff(failures)):
		case <-ctx.Done():
			return nil
		}
	}
}

// readOnce reads one conversion and hands it to the calibration and the
// pipeline, whose reading goes to loop. A saturated conversion is a
// reading (the pipeline's overload path); once the pipeline reports
// overload, loop also gets errOverCapacity, so that a start is refused
// with that reason. Any other read error is returned.
func (s *Station) readOnce(ctx context.Context, p **weighing.Pipeline, cal *calibrator, t0 time.Time) error {
	raw, err := s.hw.readRaw(ctx)
	if err != nil && !errors.Is(err, hx711.ErrSaturated) {
		return err
	}
	if c := cal.add(raw, time.Now()); c != nil {
		err := calib.Save(cal.path, *c)
		if err == nil {
			var np *weighing.Pipeline
			if np, err = weighing.New(weighing.FromConfig(s.cfg.Scale, c.Offset, c.Scale)); err == nil {
				*p = np
				s.setCalibration(c.Offset, c.Scale, true)
				s.log.Info("calibrated", "offset", c.Offset, "counts_per_gram", c.Scale, "path", cal.path)
			}
		}
		cal.answer(err)
	}
	reading, _ := (*p).Add(time.Since(t0), raw)
	s.sendScale(ctx, sampleEv{raw: raw, reading: reading})
	if reading.Overload {
		s.sendScale(ctx, scaleFaultEv{err: errOverCapacity})
	}
	return nil
}

// sendScale hands an event to loop, unless the station stops.
func (s *Station) sendScale(ctx context.Context, e event) {
	select {
	case s.events <- e:
	case <-ctx.Done():
	}
}

// scaleDo hands a request to the scale goroutine and waits for its answer.
func (s *Station) scaleDo(ctx context.Context, kind string, massG float64) error {
	reply := make(chan error, 1)
	select {
	case s.scaleReqs <- scaleReq{kind: kind, massG: massG, reply: reply}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tare is the session's Tare effect. It runs in loop, which must keep
// draining samples, so it does not wait for the answer.
func (s *Station) tare(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.scaleReqs <- scaleReq{kind: "tare", reply: reply}:
	default:
		return errors.New("scale busy")
	}
	go func() {
		select {
		case err := <-reply:
			if err != nil {
				s.log.Warn("tare refused", "err", err)
				s.setError("tare: " + err.Error())
			} else {
				s.log.Info("tared")
			}
		case <-ctx.Done(): // the scale goroutine stopped with the request unread
		}
	}()
	return nil
}
