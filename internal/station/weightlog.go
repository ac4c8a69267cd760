package station

import (
	"os"
	"time"

	"weighin/internal/trace"
)

// weightLog is a session's weight.csv on the video's time axis: t_ms 0 is
// video time 0, the first frame of video-000.mkv (the oldest pre-roll
// frame), so the readings of the pre-roll are in it too. Until the
// recorder has said where video time 0 lies, rows wait in pending; once it
// has, they are written and every sync interval the file is flushed and
// fsynced, as the recorder does with the video, so a power cut loses at
// most one interval of each.
type weightLog struct {
	f       *os.File
	w       *trace.Writer
	every   time.Duration
	synced  time.Time     // the last flush+fsync
	zero    time.Duration // scale time of video time 0, once known
	known   bool
	pending []trace.Record // scale times, before zero is known
	rows    int            // rows written
}

// newWeightLog starts the log in f with the readings of the pre-roll.
func newWeightLog(f *os.File, every time.Duration, preroll []trace.Record) *weightLog {
	return &weightLog{f: f, w: trace.NewStepWriter(f), every: every, pending: append([]trace.Record(nil), preroll...)}
}

// add takes one reading (its scale time in T).
func (wl *weightLog) add(r trace.Record, now time.Time) {
	if !wl.known {
		wl.pending = append(wl.pending, r)
		return
	}
	wl.write(r)
	if now.Sub(wl.synced) >= wl.every {
		wl.sync(now)
	}
}

func (wl *weightLog) write(r trace.Record) {
	r.T -= wl.zero
	if r.T < 0 {
		return // before the first frame
	}
	if wl.w.Write(r) == nil {
		wl.rows++
	}
}

// start places video time 0 at scale time zero and writes the rows that
// waited. It returns the index of the first row at or after scale time
// press (the weigh-in's row).
func (wl *weightLog) start(zero, press time.Duration, now time.Time) int {
	wl.zero, wl.known = zero, true
	row := -1
	for _, r := range wl.pending {
		if row < 0 && r.T >= press {
			row = wl.rows
		}
		wl.write(r)
	}
	if row < 0 {
		row = wl.rows
	}
	wl.pending = nil
	wl.sync(now)
	return row
}

func (wl *weightLog) sync(now time.Time) {
	wl.synced = now
	_ = wl.w.Flush()
	_ = wl.f.Sync()
}

// close flushes, fsyncs and closes the file. Rows still pending (the
// recording never started) are dropped: there is no video to place them on.
func (wl *weightLog) close() {
	wl.sync(time.Now())
	_ = wl.f.Close()
}

// recentReadings keeps the readings of the last span for the next
// session's pre-roll.
type recentReadings struct {
	span time.Duration
	rows []trace.Record
}

func (rr *recentReadings) add(r trace.Record) {
	rr.rows = append(rr.rows, r)
	cut := 0
	for cut < len(rr.rows) && r.T-rr.rows[cut].T > rr.span {
		cut++
	}
	if cut > len(rr.rows)/2 { // copy down now and then, not on every reading
		rr.rows = append(rr.rows[:0], rr.rows[cut:]...)
	}
}

// all returns the readings of the last span.
func (rr *recentReadings) all() []trace.Record {
	cut := 0
	if n := len(rr.rows); n > 0 {
		for cut < n && rr.rows[n-1].T-rr.rows[cut].T > rr.span {
			cut++
		}
	}
	return rr.rows[cut:]
}
