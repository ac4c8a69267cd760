package station

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// runScale reads the HX711, runs the weighing pipeline and sends every
// sample to loop.
func (s *Station) runScale(ctx context.Context) error {
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
	p, err := weighing.New(weighing.FromConfig(s.cfg.Scale, cal.Offset, cal.Scale))
	if err != nil {
		return err
	}
	t0 := time.Now()
	var proc *calib.Procedure
	var procReq *scaleReq
	var procDeadline time.Time
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.scaleReqs:
			switch r.kind {
			case "tare":
				r.reply <- p.Tare()
			case "zero":
				if procReq != nil {
					procReq.reply <- errors.New("calibration restarted")
				}
				proc = calib.NewProcedure(calib.Options{Gain: s.cfg.Scale.Gain})
				procReq, procDeadline = &r, time.Now().Add(calTimeout)
			case "span":
				if proc == nil || proc.Phase() != calib.AwaitMass {
					r.reply <- fmt.Errorf("%w: run calibrate_zero on the empty platform first", calib.ErrPhase)
					continue
				}
				if err := proc.PlaceMass(r.massG); err != nil {
					proc = nil
					r.reply <- err
					continue
				}
				procReq, procDeadline = &r, time.Now().Add(calTimeout)
			}
		default:
		}

		raw, err := s.hw.readRaw(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			s.noteScaleError(err)
			if failures == 1 {
				select { // loop refuses to start a session on a stale weight
				case s.events <- scaleFaultEv{err: err}:
				case <-ctx.Done():
					return nil
				}
			}
			if failures == 1 || failures%100 == 0 {
				s.log.Warn("hx711 read failed", "err", err, "failures", failures)
			}
			if procReq != nil && time.Now().After(procDeadline) {
				procReq.reply <- fmt.Errorf("calibration: the scale is not answering: %w", err)
				proc, procReq = nil, nil
			}
			select {
			case <-time.After(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second)):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if failures > 0 {
			s.log.Info("hx711 answering again", "after_failures", failures)
			failures = 0
		}
		if proc != nil && procReq != nil {
			phase, err := proc.Add(raw)
			switch {
			case err != nil:
				procReq.reply <- err
				proc, procReq = nil, nil
			case phase == calib.AwaitMass && procReq.kind == "zero":
				procReq.reply <- nil
				procReq = nil
			case phase == calib.Done:
				c, err := proc.Result(time.Now(), clockSynced())
				if err == nil {
					err = calib.Save(calPath, c)
				}
				if err == nil {
					np, perr := weighing.New(weighing.FromConfig(s.cfg.Scale, c.Offset, c.Scale))
					if perr != nil {
						err = perr
					} else {
						p = np
						s.setCalibration(c.Offset, c.Scale, true)
						s.log.Info("calibrated", "offset", c.Offset, "counts_per_gram", c.Scale, "path", calPath)
					}
				}
				procReq.reply <- err
				proc, procReq = nil, nil
			case time.Now().After(procDeadline):
				procReq.reply <- proc.Abort()
				proc, procReq = nil, nil
			}
		}
		reading, _ := p.Add(time.Since(t0), raw)
		select {
		case s.events <- sampleEv{raw: raw, reading: reading}:
		case <-ctx.Done():
			return nil
		}
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
