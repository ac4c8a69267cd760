package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/result"
	"weighin/internal/steps"
)

// ErrNotVerified is returned for a bundle that fails verification: it is
// never exported. The message lists the problems.
var ErrNotVerified = errors.New("export: bundle fails verification")

// ErrNoVideo is returned for a bundle without a video file.
var ErrNoVideo = errors.New("export: bundle has no video")

// Original is one sealed file an export reads, as the manifest lists it.
type Original struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// VideoFile is one file of the recording on the export's time axis.
type VideoFile struct {
	Original
	Path string
	// Offset is where the file starts on the time axis (the sum of the
	// durations before it); Info.Duration is its length.
	Offset time.Duration
	Info   MediaInfo
}

// Source is a verified, sealed bundle ready to export.
type Source struct {
	Dir            string
	SessionID      string
	ManifestSHA256 string
	Result         result.Result
	Videos         []VideoFile
	// WeightLog is weight.csv as the manifest lists it, if present.
	WeightLog *Original
	Timeline  *Timeline
	// Width, Height, FPS of the first file; Audio when any file has sound.
	Width, Height, FPS int
	Audio              bool
	Duration           time.Duration
	Notes              []string
}

var videoNameRE = regexp.MustCompile(`^video(-[0-9]{3,})?\.mkv$`)

// IsOriginalVideo reports a name of the recorder's video files
// (video-NNN.mkv), the originals an export reads.
func IsOriginalVideo(name string) bool { return videoNameRE.MatchString(name) }

// OpenSource verifies the bundle in dir (a bundle that fails is refused
// with ErrNotVerified and the reasons), then reads what an export needs:
// the manifest, every video file's frames (ffprobe), the subtitle track
// (ffmpeg), weight.csv and the marks. It reads only; nothing in dir is
// written.
func OpenSource(ctx context.Context, t Tools, dir string) (*Source, error) {
	rep, err := evidence.VerifyBundle(dir, evidence.VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if !rep.OK() {
		var ps []string
		for _, p := range rep.Problems {
			ps = append(ps, p.String())
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrNotVerified, dir, strings.Join(ps, "; "))
	}
	if rep.State != "sealed" {
		return nil, fmt.Errorf("%w: %s: state %s", ErrNotVerified, dir, rep.State)
	}
	data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m, _, err := evidence.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	src := &Source{Dir: dir, SessionID: m.Result.SessionID, ManifestSHA256: rep.ManifestSHA256, Result: m.Result}
	for _, f := range m.Files {
		o := Original{Name: f.Name, Bytes: f.Bytes, SHA256: f.SHA256}
		switch {
		case videoNameRE.MatchString(f.Name):
			src.Videos = append(src.Videos, VideoFile{Original: o, Path: filepath.Join(dir, f.Name)})
		case f.Name == "weight.csv":
			src.WeightLog = &o
		}
	}
	if len(src.Videos) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoVideo, dir)
	}
	var cues []Cue
	var off time.Duration
	offsets := map[string]time.Duration{}
	for i := range src.Videos {
		v := &src.Videos[i]
		mi, err := Probe(ctx, t, v.Path)
		if err != nil {
			return nil, err
		}
		if mi.Packets == 0 {
			src.Notes = append(src.Notes, v.Name+" has no frames")
			continue
		}
		v.Info, v.Offset = mi, off
		offsets[v.Name] = off
		if i == 0 {
			src.Width, src.Height, src.FPS = mi.Width, mi.Height, mi.FPS
		}
		src.Audio = src.Audio || mi.Audio
		if mi.Subtitles {
			var srt bytes.Buffer
			err = run(ctx, t.FFmpeg, []string{"-hide_banner", "-nostdin", "-v", "error", "-i", v.Path, "-map", "0:s:0", "-c:s", "srt", "-f", "srt", "pipe:1"}, runOpts{stdout: &srt})
			if err != nil {
				return nil, err
			}
			c, err := ParseSRT(srt.Bytes(), off)
			if err != nil {
				return nil, fmt.Errorf("export: subtitles of %s: %w", v.Name, err)
			}
			cues = append(cues, c...)
		} else {
			src.Notes = append(src.Notes, v.Name+" has no subtitle track: no time shown for it")
		}
		off += mi.Duration
	}
	src.Duration = off
	if src.Duration <= 0 {
		return nil, fmt.Errorf("%w: %s: no frames", ErrNoVideo, dir)
	}
	var log []Reading
	if src.WeightLog != nil {
		f, err := os.Open(filepath.Join(dir, src.WeightLog.Name))
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		log, err = ReadWeightLog(f)
		f.Close()
		if err != nil {
			src.Notes = append(src.Notes, err.Error()+"; the subtitle track's weights are shown")
			log = nil
		}
	}
	tl, notes, err := buildTimeline(cues, log, src.Duration)
	if err != nil {
		return nil, err
	}
	src.Notes = append(src.Notes, notes...)
	tl.OrderRef, tl.Tracking, tl.SessionID, tl.ClockSynced = m.Result.OrderRef, m.Result.Tracking, m.Result.SessionID, m.Result.ClockSynced
	for _, mk := range m.Result.Marks {
		base, ok := offsets[mk.File]
		if !ok {
			base = 0
		}
		tl.Marks = append(tl.Marks, Mark{At: base + time.Duration(mk.TS*float64(time.Second)), Label: mk.Label})
	}
	for _, st := range m.Result.Steps { // on the one time axis already
		tl.Steps = append(tl.Steps, Mark{At: time.Duration(st.SettledS * float64(time.Second)), Label: steps.OverlayText(st)})
	}
	src.Timeline = tl
	return src, nil
}
