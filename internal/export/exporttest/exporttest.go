// Package exporttest makes sealed evidence bundles for the export tests and
// benchmark: a real recording by internal/recorder (MJPEG in Matroska, the
// subtitle track, marks, rotation), a weight log on the video time axis and
// a manifest sealed by internal/evidence, so an export is judged on the
// files the station itself writes.
package exporttest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/recorder"
	"weighin/internal/recorder/recordertest"
	"weighin/internal/result"
)

// Spec describes the session to make. Zero fields take the defaults noted.
type Spec struct {
	// Duration is the whole video, pre-roll included (default 10 s).
	Duration time.Duration
	// PreRoll is the part of Duration before the press (default 5 s).
	PreRoll time.Duration
	// Width, Height and FPS of the camera (default 1280×720 at 30).
	Width, Height, FPS int
	// Distinct is the number of different JPEGs cycled (default 12).
	Distinct int
	// Quality of the JPEGs (default 80).
	Quality int
	// MaxFileDuration rotates the recording (default: the recorder's).
	MaxFileDuration time.Duration
	// Wall is the wall clock at video time 0 (default 2026-11-26 10:15:00 UTC).
	Wall time.Time
	// ClockSynced is whether the station's clock had synchronised.
	ClockSynced bool
	// Weight gives the reading at video time t (default Profile).
	Weight func(t time.Duration) (grams float64, stable bool)
	// OrderRef and Tracking go into the subtitles and the result.
	OrderRef, Tracking string
	// Marks are marked moments in video time with their labels.
	Marks []MarkSpec
	// Steps go into the result as they are (the item steps, issue 22).
	Steps []result.Step
	// AudioRate, when not 0, records sound at that rate (mono): a 440 Hz
	// tone at 0.05 of full scale, and a 10 ms click at 0.8 of full scale
	// at each of Clicks (video time), in 20 ms blocks.
	AudioRate int
	Clicks    []time.Duration
	// CutTo, when not 0, cuts video-000.mkv to this share of its bytes
	// before the seal (as a power cut leaves it), and the result is sealed
	// as interrupted.
	CutTo float64
}

// MarkSpec is one mark to make.
type MarkSpec struct {
	At    time.Duration
	Label string
}

// Profile is the default weight: the parcel set down in the pre-roll
// (0 g, rising from 1 s, 2351.0 g stable from 2 s), an item of 505 g
// lifted out at 20 s (1846.0 g stable from 21 s) and another of 210 g at
// 40 s (1636.0 g stable from 41 s).
func Profile(t time.Duration) (float64, bool) {
	s := t.Seconds()
	switch {
	case s < 1:
		return 0, true
	case s < 2:
		return math.Round((s-1)*2351*10) / 10, false
	case s < 20:
		return 2351.0, true
	case s < 21:
		return 2351.0 - math.Round((s-20)*505*10)/10, false
	case s < 40:
		return 1846.0, true
	case s < 41:
		return 1846.0 - math.Round((s-40)*210*10)/10, false
	}
	return 1636.0, true
}

// Bundle is a sealed bundle made by Make.
type Bundle struct {
	StateDir  string
	Dir       string
	SessionID string
	Result    result.Result
	Spec      Spec
}

// WeightAt is the weight log's reading for video time t: the row at or
// before t (the log has a row every 100 ms from 0).
func (b Bundle) WeightAt(t time.Duration) (float64, bool) {
	row := t.Truncate(100 * time.Millisecond)
	return b.Spec.Weight(row)
}

// Make records and seals one session in stateDir.
func Make(stateDir string, spec Spec) (Bundle, error) {
	if spec.Duration == 0 {
		spec.Duration = 10 * time.Second
	}
	if spec.PreRoll == 0 {
		spec.PreRoll = 5 * time.Second
	}
	if spec.Width == 0 {
		spec.Width, spec.Height = 1280, 720
	}
	if spec.FPS == 0 {
		spec.FPS = 30
	}
	if spec.Distinct == 0 {
		spec.Distinct = 12
	}
	if spec.Quality == 0 {
		spec.Quality = 80
	}
	if spec.Wall.IsZero() {
		spec.Wall = time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	}
	if spec.Weight == nil {
		spec.Weight = Profile
	}
	log := slog.New(slog.DiscardHandler)
	store, err := evidence.Open(stateDir, log, evidence.Options{StationID: "teststation"})
	if err != nil {
		return Bundle{}, err
	}
	defer store.Close()
	press := spec.Wall.Add(spec.PreRoll)
	sess, err := store.Begin(press, spec.ClockSynced, spec.Tracking)
	if err != nil {
		return Bundle{}, err
	}
	cfg := config.Default().Recorder
	cfg.PreRoll = spec.PreRoll + time.Second // the ring holds the whole pre-roll
	if spec.MaxFileDuration > 0 {
		cfg.MaxFileDuration = spec.MaxFileDuration
	}
	rec, err := recorder.New(cfg, recorder.Options{BlockWhenFull: true})
	if err != nil {
		return Bundle{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()
	jpegs, err := recordertest.JPEGs(spec.Distinct, spec.Width, spec.Height, spec.Quality, 7)
	if err != nil {
		return Bundle{}, err
	}
	n := int(spec.Duration.Seconds() * float64(spec.FPS))
	pressFrame := int(spec.PreRoll.Seconds() * float64(spec.FPS))
	t0 := time.Now()
	frameT := func(i int) time.Duration { return time.Duration(i) * time.Second / time.Duration(spec.FPS) }
	marks := spec.Marks
	var sample int64 // the next audio sample frame
	for i := range n {
		vt := frameT(i)
		for spec.AudioRate > 0 { // the blocks captured by this frame's time
			blk := int64(spec.AudioRate / 50)
			end := time.Duration((sample + blk) * int64(time.Second) / int64(spec.AudioRate))
			if end > vt {
				break
			}
			rec.PushAudio(audioBlock(spec, sample, int(blk), t0))
			sample += blk
		}
		g, st := spec.Weight(vt)
		wall := time.Time{}
		if !spec.Wall.IsZero() {
			wall = spec.Wall.Add(vt)
		}
		rec.SetInfo(wall, g, st, spec.OrderRef)
		if i == pressFrame {
			if err := rec.Start(sess.Dir()); err != nil {
				return Bundle{}, err
			}
		}
		rec.Push(camera.Frame{Data: jpegs[i%len(jpegs)], Seq: uint64(i), Time: t0.Add(vt), Width: spec.Width, Height: spec.Height})
		for len(marks) > 0 && i > pressFrame && marks[0].At <= vt {
			if err := rec.Mark(t0.Add(marks[0].At), marks[0].Label); err != nil {
				return Bundle{}, err
			}
			marks = marks[1:]
		}
	}
	stats, err := rec.Stop(context.Background())
	if err != nil {
		return Bundle{}, err
	}
	cancel()
	<-done
	if err := writeWeightLog(filepath.Join(sess.Dir(), "weight.csv"), spec); err != nil {
		return Bundle{}, err
	}
	if err := os.WriteFile(filepath.Join(sess.Dir(), "label.jpg"), jpegs[0], 0o644); err != nil {
		return Bundle{}, err
	}
	if err := os.WriteFile(filepath.Join(sess.Dir(), "dispute.txt"), []byte("Order "+spec.OrderRef+": test claim.\n"), 0o644); err != nil {
		return Bundle{}, err
	}
	var files []evidence.FileEntry
	for _, f := range stats.Files {
		if spec.CutTo > 0 && f.Name == recorder.FileName(0) {
			if err := os.Truncate(filepath.Join(sess.Dir(), f.Name), int64(float64(f.Bytes)*spec.CutTo)); err != nil {
				return Bundle{}, err
			}
			continue // hashed by the seal
		}
		files = append(files, evidence.FileEntry{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	g, st := spec.Weight(spec.PreRoll)
	res := result.Result{
		OrderRef: spec.OrderRef, Tracking: spec.Tracking, MeasuredG: g, MeasuredStable: st,
		Verdict: result.VerdictNoLabelWeight, Marks: stats.ResultMarks(), Continuity: stats.Continuity(),
		MissingCandidates: []result.MissingCandidate{}, Interrupted: spec.CutTo > 0,
		StopReason: result.StopButton, Steps: spec.Steps,
	}
	if res.Interrupted {
		res.StopReason = result.StopInterrupted
	}
	out, err := sess.Seal(res, files...)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{StateDir: stateDir, Dir: sess.Dir(), SessionID: out.SessionID, Result: out, Spec: spec}, nil
}

// audioBlock is n sample frames of the sound from sample on.
func audioBlock(spec Spec, sample int64, n int, t0 time.Time) audio.Block {
	at := func(i int64) time.Duration { return time.Duration(i * int64(time.Second) / int64(spec.AudioRate)) }
	d := make([]byte, 2*n)
	for j := range int64(n) {
		i := sample + j
		v := 0.05 * math.Sin(2*math.Pi*440*float64(i)/float64(spec.AudioRate))
		for _, c := range spec.Clicks {
			if t := at(i); t >= c && t < c+10*time.Millisecond {
				v = 0.8
				if i%2 == 1 {
					v = -0.8
				}
			}
		}
		s := int16(math.Round(v * 32767))
		d[2*j], d[2*j+1] = byte(uint16(s)), byte(uint16(s)>>8)
	}
	return audio.Block{At: t0.Add(at(sample)), Data: d, Format: audio.Format{Rate: spec.AudioRate, Channels: 1}}
}

// writeWeightLog writes t_ms,raw,grams,stable every 100 ms of video time
// (the contract's time axis), at 420 counts per gram over an offset of 8000.
func writeWeightLog(path string, spec Spec) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	buf := []byte("t_ms,raw,grams,stable\n")
	for t := time.Duration(0); t < spec.Duration; t += 100 * time.Millisecond {
		g, st := spec.Weight(t)
		s := "0"
		if st {
			s = "1"
		}
		buf = fmt.Appendf(buf, "%d,%d,%s,%s\n", t.Milliseconds(), int64(8000+g*420), strconv.FormatFloat(g, 'f', 2, 64), s)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
