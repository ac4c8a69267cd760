package station

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/motion"
	"weighin/internal/recorder"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/scalestatus"
	"weighin/internal/steps"
	"weighin/internal/trace"
	"weighin/internal/verdict"
	"weighin/internal/weighing"
)

// The unpacking, weighed (issue 22), as the station runs it:
//
//   - every camera frame is offered to a motion.Watcher (video.go), which
//     keeps one per interval over the platform region
//     (camera.platform_region);
//   - at the session's FreezeWeight the watcher judges the weigh-in's
//     stability window (weighinCheck, with the scale's HID POS status of
//     that moment);
//   - once the recorder has started, every reading of the recording goes
//     to a steps.Detector on the one time axis (seconds from the first
//     frame of video-000.mkv, pre-roll included);
//   - the sealer matches the steps to the parcel's items and lets
//     verdict.DecideSteps choose the evidence (seal.go).

// newMotion builds the platform's motion watcher from the configuration;
// it keeps the stability window's look-back and 2 s more (the delay
// between the freeze and the question). A region the configuration check
// let through but motion refuses falls back to the default (logged by the
// caller).
//
// A region calibrated with `weighctl calibrate --region` (calib.RegionFile
// in the state directory) wins over camera.platform_region; one that does
// not load is reported and the configured one is used.
func newMotion(cfg config.Config) (*motion.Watcher, error) {
	r, err := motion.RegionFrom(cfg.Camera.PlatformRegion)
	if err != nil {
		r = motion.DefaultRegion
	}
	if saved, lerr := calib.LoadRegion(cfg.StateDir); lerr == nil {
		r = saved
	} else if !errors.Is(lerr, calib.ErrNoRegion) {
		err = errors.Join(err, lerr)
	}
	keep := motion.LookBack(cfg.Scale.StableWindow) + 2*time.Second
	w, werr := motion.NewWatcher(motion.Opts{Region: r}, keep)
	if werr != nil {
		// Only the region can make it fail: the default always works.
		w, _ = motion.NewWatcher(motion.Opts{Region: motion.DefaultRegion}, keep)
		err = werr
	}
	return w, err
}

// weighinCheck is what the station knew of the weigh-in at its freeze:
// whether the camera saw motion on the platform, and the scale's status.
type weighinCheck struct {
	disturbed bool
	known     bool // the camera had frames of the window
	status    scalestatus.Status
}

// checkWeighin judges the weigh-in frozen now.
func (l *loopState) checkWeighin(now time.Time) weighinCheck {
	v := l.s.motion.WeighIn(now, l.s.cfg.Scale.StableWindow)
	return weighinCheck{disturbed: v.Disturbed, known: v.Known, status: l.scaleStatus()}
}

// scaleStatus is the HID POS status of the pipeline's latest reading.
func (l *loopState) scaleStatus() scalestatus.Status {
	return statusOf(l.last, l.scaleErr == nil && l.haveReading, l.s.calibrated(), l.s.cfg.Scale)
}

// statusOf is the one place a reading becomes its HID POS status.
func statusOf(r weighing.Reading, reading, calibrated bool, cfg config.Scale) scalestatus.Status {
	return scalestatus.Of(scalestatus.State{
		Reading: reading, Calibrated: calibrated, Overload: r.Overload,
		Grams: r.Grams, Steady: r.State == weighing.Stable || r.State == weighing.Empty,
		ZeroBandG: cfg.ZeroBandG,
	})
}

// calibrated reports whether a usable calibration is loaded (as the
// status shows it).
func (s *Station) calibrated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.Calibrated
}

// recordingStarted sets up the step detector and the weigh-in's id once
// the recorder has started and video time 0 is known.
func (l *loopState) recordingStarted(cur *current) {
	o := cur.origin
	if o == nil {
		return
	}
	cur.videoT0 = o.first
	// weight.csv's axis: video time 0 in scale time, from the latest
	// reading's scale time and arrival.
	row := 0
	if cur.wlog != nil {
		row = cur.wlog.start(l.last.T-l.lastAt.Sub(o.first), cur.pressT, time.Now())
	}
	det, err := steps.New(steps.Opts{})
	if err != nil {
		l.s.log.Warn("step detector", "err", err)
		return
	}
	cur.det = det
	// The weigh-in is the frozen weight at the press: weight.csv's row of
	// the press, taken while the newest pre-roll frame was shown, at the
	// pre-roll's span in video time.
	frame := int64(o.preFrames - 1)
	if frame < 0 {
		frame = 0
	}
	cur.weightID = scalestatus.WeightID{Sample: int64(row), TMS: o.preSpan.Milliseconds(), File: recorder.FileName(0), Frame: frame}.String()
}

// addStep feeds one reading of the recording to the step detector, at its
// video time, and returns the steps that became firm with it (the live
// view, steps.Live), which the weight log and the subtitle track mark.
func (cur *current) addStep(now time.Time, r weighing.Reading) []result.Step {
	if cur.det == nil || cur.videoT0.IsZero() || cur.recStopped {
		return nil
	}
	if r.State == weighing.Undecided {
		return nil
	}
	t := now.Sub(cur.videoT0).Seconds()
	if cur.det.Add(t, r.Grams) != nil {
		return nil
	}
	return cur.live.Firm(cur.det, t)
}

// StepNotePrefix starts the subtitle written when a step became firm:
// "STEP: −1118.4 g" (steps.OverlayText without the item names, which only
// the matching at the seal gives; the manifest's steps are the record).
const StepNotePrefix = "STEP: "

// markStep puts the newest firm step into the weight log's step column.
func markStep(rec *trace.Record, firm []result.Step) {
	if n := len(firm); n > 0 {
		rec.HasStep, rec.StepG = true, firm[n-1].DeltaG
	}
}

// noteSteps writes a subtitle for each firm step, at the frame shown now,
// for steps.OverlaySeconds. Like a mark it waits for room in the video
// queue (a step is rare; the weight updates between are the ones skipped).
func (l *loopState) noteSteps(now time.Time, firm []result.Step) {
	for _, st := range firm {
		st.Items = nil
		text := StepNotePrefix + steps.OverlayText(st)
		l.s.video <- videoCmd{mark: &markCmd{at: now, label: text, note: true}} // as a mark is
	}
}

// unpacking is the seal's part of issue 22: the steps matched to the
// parcel's items, the verdict's choice of evidence, the steps' video
// frames.
func (s *Station) unpacking(in sealInput, vin verdict.Input, out verdict.Outcome) (verdict.Outcome, verdict.Unpacking) {
	u := verdict.Unpacking{WeighinDisturbed: in.check.disturbed}
	if in.det != nil {
		m, err := verdict.MeasureSteps(*in.det, itemsOf(in.parcel), in.params, in.check.disturbed)
		if err != nil {
			s.log.Warn("matching the steps", "session", in.es.ID(), "err", err)
		} else {
			u = m
		}
	}
	out, u = verdict.DecideSteps(in.params, vin, out, u)
	steps.Locate(u.Steps, frameAt(in.stats.stats.Files, in.fileStarts))
	return out, u
}

func itemsOf(p *registry.Parcel) []verdict.Item {
	if p == nil {
		return nil
	}
	return p.Items
}

// frameAt names the video frame at video time t from the recording's
// files, each taken as evenly spaced frames over its duration (the camera
// runs at a steady rate; a gap shows in the continuity). starts, when
// given, are the files' starts on the session's axis (a continuation
// after a pause starts later than the end of the file before it); else
// each file starts where the one before ends.
func frameAt(files []recorder.FileInfo, starts []float64) func(t float64) (string, int64, bool) {
	return func(t float64) (string, int64, bool) {
		start := 0.0
		for i, f := range files {
			if i < len(starts) {
				start = starts[i]
			}
			d := f.Duration.Seconds()
			if f.Frames > 0 && d > 0 && t >= start && t < start+d {
				n := int64((t - start) / d * float64(f.Frames))
				return f.Name, min(n, f.Frames-1), true
			}
			start += d
		}
		return "", 0, false
	}
}

// applyWeighin writes the weigh-in's identity and status into res.
func applyWeighin(res *result.Result, c weighinCheck, weightID string) {
	res.WeighinDisturbed = c.disturbed
	res.WeighinStatus = string(c.status)
	res.WeightID = weightID
}

// calibrateRegion is the API's calibrate_region: the platform region
// "x,y,w,h" validated, saved in the state directory and used from the next
// weigh-in on.
func (s *Station) calibrateRegion(value string) (api.RegionReply, error) {
	r, err := motion.ParseRegion(value)
	if err != nil {
		return api.RegionReply{}, fmt.Errorf("calibrate_region: %w", err)
	}
	if err := calib.SaveRegion(s.cfg.StateDir, r, time.Now(), clockSynced()); err != nil {
		return api.RegionReply{}, err
	}
	if err := s.motion.SetRegion(r); err != nil {
		return api.RegionReply{}, err
	}
	s.log.Info("platform region calibrated", "region", r.Slice())
	return api.RegionReply{Region: r.Slice(), File: filepath.Join(s.cfg.StateDir, calib.RegionFile)}, nil
}
