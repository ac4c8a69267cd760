package recorder

import (
	"maps"
	"math"
	"time"

	"weighin/internal/result"
)

// Reasons for which the recorder drops a frame, as keys of Stats.Dropped.
const (
	// DropQueueFull: the writer was too far behind (a slow card); the frame
	// never reached the file.
	DropQueueFull = "queue full"
	// DropWriteFailed: the recording had already ended on a write error.
	DropWriteFailed = "write failed"
	// DropTimeBackwards: the frame's time was before the previous frame's.
	DropTimeBackwards = "time went backwards"
	// DropEmpty: the frame had no data.
	DropEmpty = "empty frame"
)

// Stats are a recording's continuity statistics, from Stop or Analyze.
type Stats struct {
	// Files lists the files of the recording in order.
	Files []FileInfo
	// Frames is the number of video frames in the files.
	Frames int64
	// Duration is the sum of the files' durations: from the first frame to
	// the last, plus the last frame's display time.
	Duration time.Duration
	// MaxGap is the largest interval between consecutive frames.
	MaxGap time.Duration
	// Gaps lists every interval above the gap threshold.
	Gaps []Gap
	// Dropped counts frames the recorder discarded, by reason (Drop*).
	// Analyze cannot see them and leaves it empty.
	Dropped map[string]int64
	// Duplicated counts frames that repeated the previous frame's sequence
	// number (not written). Analyze cannot see them.
	Duplicated int64
	// Marks are the marked moments, in video time of their file.
	Marks []Mark
	// Audio is the audio track's continuity (zero Format: no audio).
	Audio AudioStats
}

// FileInfo describes one file of a recording.
type FileInfo struct {
	// Name is the file's base name (video-000.mkv, …).
	Name string
	// Bytes is the file's size; SHA256 the hex digest of exactly those
	// bytes, computed while writing. Analyze leaves SHA256 empty.
	Bytes  int64
	SHA256 string
	// Frames and Duration are this file's share of the recording.
	Frames   int64
	Duration time.Duration
	// AudioSamples is the sample frames of this file's audio track.
	AudioSamples int64
	// Complete is true when the file was finalised (Cues, Tags written);
	// false when the recording ended on an error or the file was cut.
	Complete bool
}

// Gap is an interval between consecutive frames above the threshold.
type Gap struct {
	// File and At locate the last frame before the gap, in video time.
	File string
	At   time.Duration
	// Gap is the interval to the next frame.
	Gap time.Duration
}

// Mark is a marked moment.
type Mark struct {
	// File and At locate the moment: video time in that file.
	File string
	At   time.Duration
	// Label is the caller's text ("damage here").
	Label string
}

// Append adds the statistics of the recording that followed s (the next
// files of the same session: after rotation, or a continuation after a
// pause, whose interval is in neither) to s.
func (s *Stats) Append(o Stats) {
	s.Files = append(s.Files, o.Files...)
	s.Frames += o.Frames
	s.Duration += o.Duration
	s.MaxGap = max(s.MaxGap, o.MaxGap)
	s.Gaps = append(s.Gaps, o.Gaps...)
	s.Marks = append(s.Marks, o.Marks...)
	s.Duplicated += o.Duplicated
	for k, v := range o.Dropped {
		if s.Dropped == nil {
			s.Dropped = map[string]int64{}
		}
		s.Dropped[k] += v
	}
	s.Audio.add(o.Audio)
}

// MeanFPS is Frames divided by Duration, or 0 for an empty recording.
func (s Stats) MeanFPS() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Frames) / s.Duration.Seconds()
}

// Continuity converts s to the session result's continuity block.
func (s Stats) Continuity() result.Continuity {
	c := result.Continuity{
		Frames:     s.Frames,
		DurationS:  round3(s.Duration.Seconds()),
		MeanFPS:    round3(s.MeanFPS()),
		MaxGapMS:   round3(float64(s.MaxGap) / float64(time.Millisecond)),
		Gaps:       make([]result.Gap, 0, len(s.Gaps)),
		Duplicated: s.Duplicated,
	}
	for _, g := range s.Gaps {
		c.Gaps = append(c.Gaps, result.Gap{
			AtS: round3(g.At.Seconds()), File: g.File,
			GapMS: round3(float64(g.Gap) / float64(time.Millisecond)),
		})
	}
	if len(s.Dropped) > 0 {
		c.Dropped = maps.Clone(s.Dropped)
	}
	c.Audio = s.Audio.continuity()
	return c
}

// continuity is the audio's part of the result, nil without an audio
// track.
func (a AudioStats) continuity() *result.AudioContinuity {
	if a.Format.Rate <= 0 {
		return nil
	}
	c := &result.AudioContinuity{
		Codec: "pcm_s16le", Rate: a.Format.Rate, Channels: a.Format.Channels,
		Samples: a.Samples, DurationS: round3(a.Duration.Seconds()),
		MissingMS: round3(float64(a.Missing) / float64(time.Millisecond)),
		MaxGapMS:  round3(float64(a.MaxGap) / float64(time.Millisecond)),
		Gaps:      make([]result.Gap, 0, len(a.Gaps)), LostSamples: a.Lost,
	}
	for _, g := range a.Gaps {
		c.Gaps = append(c.Gaps, result.Gap{AtS: round3(g.At.Seconds()), File: g.File, GapMS: round3(float64(g.Gap) / float64(time.Millisecond))})
	}
	if len(a.Dropped) > 0 {
		c.DroppedSamples = maps.Clone(a.Dropped)
	}
	return c
}

// ResultMarks converts the marks to the session result's marks.
func (s Stats) ResultMarks() []result.Mark {
	out := make([]result.Mark, 0, len(s.Marks))
	for _, m := range s.Marks {
		out = append(out, result.Mark{TS: round3(m.At.Seconds()), File: m.File, Label: m.Label})
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
