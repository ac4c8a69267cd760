package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MediaInfo is what ffprobe says about a file.
type MediaInfo struct {
	Codec         string
	Width, Height int
	PixFmt        string
	Profile       string
	Level         int
	Audio         bool
	AudioCodec    string
	// Subtitles is true when the file has a subtitle track.
	Subtitles bool
	// Packets is the number of video packets (frames).
	Packets int64
	// Duration: the last video packet's time plus the typical frame
	// interval (Matroska from the recorder carries no header duration).
	Duration time.Duration
	// FormatDuration is the container's duration (0 when absent).
	FormatDuration time.Duration
	// FPS is the median frame rate, rounded.
	FPS int
}

type probeJSON struct {
	Streams []struct {
		Index     int    `json:"index"`
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		PixFmt    string `json:"pix_fmt"`
		Profile   string `json:"profile"`
		Level     int    `json:"level"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Packets []struct {
		StreamIndex int    `json:"stream_index"`
		PTSTime     string `json:"pts_time"`
	} `json:"packets"`
}

// Probe runs ffprobe once on path: its streams, and every video packet's
// time.
func Probe(ctx context.Context, t Tools, path string) (MediaInfo, error) {
	var out bytes.Buffer
	if err := run(ctx, t.FFprobe, []string{"-v", "error", "-show_entries",
		"stream=index,codec_type,codec_name,width,height,pix_fmt,profile,level:format=duration:packet=stream_index,pts_time",
		"-of", "json", path}, runOpts{stdout: &out}); err != nil {
		return MediaInfo{}, err
	}
	var pj probeJSON
	if err := json.Unmarshal(out.Bytes(), &pj); err != nil {
		return MediaInfo{}, fmt.Errorf("export: ffprobe %s: %v", path, err)
	}
	var mi MediaInfo
	vindex := -1
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "video":
			if vindex < 0 {
				vindex = s.Index
				mi.Codec, mi.Width, mi.Height, mi.PixFmt, mi.Profile, mi.Level = s.CodecName, s.Width, s.Height, s.PixFmt, s.Profile, s.Level
			}
		case "audio":
			if !mi.Audio {
				mi.Audio, mi.AudioCodec = true, s.CodecName
			}
		case "subtitle":
			mi.Subtitles = true
		}
	}
	if vindex < 0 {
		return MediaInfo{}, fmt.Errorf("export: %s has no video stream", path)
	}
	if d, err := strconv.ParseFloat(pj.Format.Duration, 64); err == nil {
		mi.FormatDuration = time.Duration(d * float64(time.Second))
	}
	var pts []float64
	for _, p := range pj.Packets {
		if p.StreamIndex != vindex {
			continue
		}
		if f, err := strconv.ParseFloat(p.PTSTime, 64); err == nil {
			pts = append(pts, f)
		}
	}
	mi.Packets = int64(len(pts))
	if len(pts) == 0 {
		return mi, nil
	}
	sort.Float64s(pts)
	ivl := medianInterval(pts)
	mi.Duration = time.Duration((pts[len(pts)-1] - pts[0] + ivl) * float64(time.Second)).Round(time.Millisecond)
	if ivl > 0 {
		mi.FPS = int(math.Round(1 / ivl))
	}
	return mi, nil
}

func medianInterval(pts []float64) float64 {
	if len(pts) < 2 {
		return 0
	}
	d := make([]float64, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		if x := pts[i] - pts[i-1]; x > 0 {
			d = append(d, x)
		}
	}
	if len(d) == 0 {
		return 0
	}
	sort.Float64s(d)
	return d[len(d)/2]
}

// Check is the verdict of ffprobe on one output file.
type Check struct {
	Codec    string  `json:"codec"`
	PixFmt   string  `json:"pix_fmt"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Packets  int64   `json:"packets"`
	Expected int64   `json:"expected_frames"`
	Duration float64 `json:"duration_s"`
}

// CheckOutput judges an output with ffprobe: H.264 in yuv420p at the
// planned size, a packet count within 1 % of the expected frames and a
// duration within 0.5 s of the planned one.
func CheckOutput(ctx context.Context, t Tools, path string, w, h int, want time.Duration, fps int) (Check, error) {
	mi, err := Probe(ctx, t, path)
	if err != nil {
		return Check{}, err
	}
	exp := int64(math.Round(want.Seconds() * float64(fps)))
	c := Check{Codec: mi.Codec, PixFmt: mi.PixFmt, Width: mi.Width, Height: mi.Height, Packets: mi.Packets, Expected: exp, Duration: mi.FormatDuration.Seconds()}
	var probs []string
	if mi.Codec != "h264" {
		probs = append(probs, fmt.Sprintf("codec %s, want h264", mi.Codec))
	}
	if mi.PixFmt != "yuv420p" {
		probs = append(probs, fmt.Sprintf("pixel format %s, want yuv420p", mi.PixFmt))
	}
	if mi.Width != w || mi.Height != h {
		probs = append(probs, fmt.Sprintf("size %dx%d, want %dx%d", mi.Width, mi.Height, w, h))
	}
	if math.Abs(float64(mi.Packets-exp)) > math.Max(1, 0.01*float64(exp)) {
		probs = append(probs, fmt.Sprintf("%d video packets, want %d ± 1 %%", mi.Packets, exp))
	}
	if d := mi.FormatDuration - want; d > 500*time.Millisecond || d < -500*time.Millisecond {
		probs = append(probs, fmt.Sprintf("duration %.3f s, want %.3f s ± 0.5 s", mi.FormatDuration.Seconds(), want.Seconds()))
	}
	if len(probs) > 0 {
		return c, fmt.Errorf("%w: %s: %s", ErrCheck, path, strings.Join(probs, "; "))
	}
	return c, nil
}
