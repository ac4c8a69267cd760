package station

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/label"
	"weighin/internal/recorder"
	"weighin/internal/steps"
)

// videoCmd is an order for the video goroutine, which alone calls the
// recorder (its Push, SetInfo, Start, Mark and Stop belong to one goroutine).
// Its answers go into the session's channels, never to loop's events.
type videoCmd struct {
	start *startCmd
	mark  *markCmd
	info  *recInfo
	stop  chan<- stopResult
}

// startCmd starts a recording into dir; the recorder's answer goes into
// reply (capacity 1, the session's).
type startCmd struct {
	dir   string
	reply chan<- error
	// origin, when set, is filled in before reply is sent: where video
	// time 0 lies (the pre-roll the recording starts with).
	origin *videoOrigin
	// next: a continuation, into the first video file dir does not hold.
	next bool
}

// videoOrigin is where a recording's video time 0 lies: the capture time
// of the first frame of video-000.mkv (the pre-roll's oldest), and how many
// pre-roll frames, spanning how long, the recording began with.
type videoOrigin struct {
	first     time.Time
	preFrames int
	preSpan   time.Duration
}

type markCmd struct {
	at    time.Time
	label string
	note  bool // a step's subtitle (recorder.Note), not a mark
}

type recInfo struct {
	wall   time.Time
	synced bool
	grams  float64
	stable bool
	order  string
}

// labelCmd is an order for the label goroutine.
type labelCmd struct {
	start  *labelStart
	finish bool
}

// labelStart opens a session's label window at at; the still (once) goes
// into out (capacity 1, the session's).
type labelStart struct {
	at  time.Time
	out chan<- labelResult
}

// stopTimeout bounds the wait for the recorder to finalise a recording.
const stopTimeout = 30 * time.Second

// runVideo runs the camera (reconnecting after an unplug), the label
// goroutine, and the video goroutine that feeds the recorder's pre-roll and
// recording and offers frames to the label goroutine. It returns when all
// three have ended.
func (s *Station) runVideo(ctx context.Context) error {
	frames := make(chan camera.Frame, 8)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.recon.Run(ctx, func(f camera.Frame) {
			select {
			case frames <- f:
			default: // the video goroutine is behind: the gap shows in the continuity
			}
		})
	})
	g.Go(func() error {
		s.runLabel(ctx)
		return nil
	})
	// The microphone: its blocks go to the video goroutine, which alone
	// calls the recorder. A missing microphone is the source's warning
	// (it keeps retrying), never a refused recording: the files then have
	// no audio track, or a gap in it.
	var sound chan audio.Block
	if s.hw.audio != nil {
		sound = make(chan audio.Block, 16)
		g.Go(func() error {
			for {
				b, err := s.hw.audio.Read(ctx)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Warn("microphone ended; recording without sound", "err", err)
					}
					return nil
				}
				select {
				case sound <- b:
				default: // the video goroutine is behind: the gap shows in the audio's continuity
				}
			}
		})
	}
	g.Go(func() error { return s.videoLoop(ctx, frames, sound) })
	return g.Wait()
}

// videoLoop is the video goroutine.
func (s *Station) videoLoop(ctx context.Context, frames <-chan camera.Frame, sound <-chan audio.Block) error {
	var last time.Time // the capture time of the last frame pushed
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-frames:
			s.rec.Push(f)
			last = f.Time
			// The platform's motion watcher keeps a frame per interval
			// (a copy) and decodes only when a weigh-in is judged.
			s.motion.Frame(f.Time, f.Data)
			n, span, bytes := s.rec.PreRoll()
			s.noteFrame(f, n, span, bytes)
			select {
			case s.labelFrames <- f:
			default: // the label goroutine is busy scoring: skip this one
			}
			if s.web != nil { // the web app's live viewers: never waits
				s.web.Frame(f)
			}
		case b := <-sound:
			s.rec.PushAudio(b)
			s.noteAudio(b)
		case c := <-s.video:
			s.doVideo(ctx, c, last)
		}
	}
}

func (s *Station) doVideo(ctx context.Context, c videoCmd, last time.Time) {
	switch {
	case c.info != nil:
		s.rec.SetClockSynced(c.info.synced)
		s.rec.SetInfo(c.info.wall, c.info.grams, c.info.stable, c.info.order)
	case c.start != nil:
		// Video time 0 is the oldest pre-roll frame, which Start writes
		// first; without a pre-roll, the first live frame (about now).
		n, span, _ := s.rec.PreRoll()
		if o := c.start.origin; o != nil {
			o.preFrames, o.preSpan, o.first = n, span, time.Now()
			if n > 0 && !last.IsZero() {
				o.first = last.Add(-span)
			}
		}
		first := 0
		if c.start.next {
			first = nextVideoFile(c.start.dir)
		}
		err := s.rec.StartAt(c.start.dir, first)
		if errors.Is(err, recorder.ErrStopping) {
			// An earlier Stop gave up waiting: collect that recording now,
			// or the recorder refuses every start from here on.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			_, serr := s.rec.Stop(sctx)
			cancel()
			s.log.Warn("collected a recording whose stop had timed out", "err", serr)
			err = s.rec.StartAt(c.start.dir, first)
		}
		c.start.reply <- err
	case c.mark != nil && c.mark.note:
		if err := s.rec.Note(c.mark.at, c.mark.label, time.Duration(steps.OverlaySeconds*float64(time.Second))); err != nil {
			s.log.Warn("step subtitle", "err", err)
		}
	case c.mark != nil:
		if err := s.rec.Mark(c.mark.at, c.mark.label); err != nil {
			s.log.Warn("mark", "err", err)
		}
	case c.stop != nil:
		// A slow card may take longer than stopTimeout to take the queued
		// frames: keep waiting while the station runs. The bundle must not
		// be sealed (hashed) while the recorder still writes its files.
		var stats recorder.Stats
		var err error
		for {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
			stats, err = s.rec.Stop(sctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				break
			}
			s.log.Warn("the recorder is still writing the recording; waiting", "waited", stopTimeout)
		}
		c.stop <- stopResult{stats: stats, err: err}
	}
}

// nextVideoFile is the number of the first video file dir does not hold.
func nextVideoFile(dir string) int {
	n := 0
	for {
		if _, err := os.Lstat(filepath.Join(dir, recorder.FileName(n))); err != nil {
			return n
		}
		n++
	}
}

// runLabel scores frames for the label still during a session's first
// seconds and delivers the best one.
func (s *Station) runLabel(ctx context.Context) {
	var sel *label.Selector
	var cur *labelStart
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	finish := func() {
		if sel == nil {
			return
		}
		still, warns := sel.Best()
		ok := len(still.JPEG) > 0
		if ok {
			still.JPEG = camera.EnsureHuffman(still.JPEG)
		}
		for _, w := range warns {
			s.log.Info("label still", "warning", w.Code)
		}
		r := labelResult{still: still, ok: ok}
		if ok {
			// The one choice of the label's tracking number.
			if t, err := label.ChooseTracking(still.Barcodes, func(n string) (bool, error) { return s.reg.Has(ctx, n) }); err == nil {
				r.tracking = t.Number
			} else if errors.Is(err, label.ErrNoTracking) {
				r.offer = label.OfferTracking(still.Barcodes)
			}
		}
		cur.out <- r
		sel, cur = nil, nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-s.labelCtl:
			if c.finish {
				finish()
			}
			if c.start != nil {
				finish()
				ns, err := label.NewSelector(label.Options{Window: s.cfg.Session.LabelWindow}, c.start.at)
				if err != nil {
					s.log.Error("label selector", "err", err)
					c.start.out <- labelResult{}
					continue
				}
				sel, cur = ns, c.start
			}
		case f := <-s.labelFrames:
			if sel == nil {
				continue
			}
			if _, err := sel.Offer(f); err != nil && !errors.Is(err, label.ErrSkipped) && !errors.Is(err, label.ErrOutsideWindow) {
				s.log.Debug("label frame", "err", err)
			}
			if sel.Done(f.Time) {
				finish()
			}
		case now := <-tick.C:
			if sel != nil && sel.Done(now) {
				finish()
			}
		}
	}
}
