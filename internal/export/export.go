package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrCheck is wrapped when ffprobe finds an output that does not match
// its plan, or an output over its cap.
var ErrCheck = errors.New("export: output check failed")

// Options configure one export.
type Options struct {
	// Preset is chat, phone or full.
	Preset string
	// WorkDir is where the files are made, outside the bundle; the caller
	// usually takes WorkDirFor. Finished files stay there until bound.
	WorkDir string
	// Encoder is auto, h264_v4l2m2m or libx264 (see ChooseEncoder).
	Encoder string
	// X264Preset is libx264's speed preset (default veryfast).
	X264Preset string
	// FullCRF is libx264's quality for the full preset (default 23).
	FullCRF int
	// Zone is the time zone of the date and time shown (default time.Local).
	Zone *time.Location
	// Progress, when set, is called as ffmpeg reports.
	Progress func(Progress)
	// Log receives what the export does; nil discards it.
	Log *slog.Logger
	// CapBytes, when not 0, replaces the preset's per-file cap (tests of
	// the part split on small sources; a smaller cap for a channel with a
	// lower limit).
	CapBytes int64
	// NormalPriority runs ffmpeg at this process's priority instead of the
	// idle class. For benchmarks and tests only: the station always
	// exports at idle priority so capture is never starved.
	NormalPriority bool
}

// WorkDirFor is the work directory of an export of session with preset,
// under the state directory: <state>/tmp/export-<session>-<preset>.
func WorkDirFor(stateDir, session, preset string) string {
	return filepath.Join(stateDir, "tmp", "export-"+session+"-"+preset)
}

// Output is one finished file of an export, in the work directory.
type Output struct {
	Name string `json:"name"`
	Path string `json:"-"`
	// Role is "video" for an MP4, "overlay" for the ASS script burned into it.
	Role   string `json:"role"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Part and Parts number the piece of the time axis the file covers.
	Part  int `json:"part"`
	Parts int `json:"parts"`
	// Check is ffprobe's verdict (videos only).
	Check *Check `json:"check,omitempty"`
}

// Command is one ffmpeg run as executed, in the work directory.
type Command struct {
	// Output is the file it made.
	Output string `json:"output"`
	// Args is the full argument list, ffmpeg's path first.
	Args []string `json:"args"`
	// Concat is the ffconcat list the command reads (its -i).
	Concat string `json:"concat"`
}

// Segment maps an interval of an output file to the original: export time
// t in [ExportStart, ExportEnd) of File is OriginalStart + (t −
// ExportStart) in Original, and VideoStart + (t − ExportStart) on the
// bundle's video time axis (the claim's timestamps).
type Segment struct {
	File           string  `json:"file"`
	ExportStartS   float64 `json:"export_start_s"`
	ExportEndS     float64 `json:"export_end_s"`
	Original       string  `json:"original"`
	OriginalStartS float64 `json:"original_start_s"`
	VideoStartS    float64 `json:"video_start_s"`
}

// OverlayInfo says what the picture shows and where it came from.
type OverlayInfo struct {
	TimeZone       string `json:"time_zone"`
	ClockSynced    bool   `json:"clock_synced"`
	WeightSource   string `json:"weight_source"`
	WeightOffsetMS int64  `json:"weight_offset_ms"`
	Font           string `json:"font"`
	Marks          int    `json:"marks"`
}

// Record is an export's account of itself: the body of the signed
// addendum that binds the derived files to the sealed originals.
type Record struct {
	Kind           string      `json:"kind"`
	Version        int         `json:"version"`
	Preset         string      `json:"preset"`
	CapBytes       int64       `json:"cap_bytes"`
	SessionID      string      `json:"session_id"`
	ManifestSHA256 string      `json:"manifest_sha256"`
	Originals      []Original  `json:"originals"`
	Files          []Output    `json:"files"`
	Encoder        string      `json:"encoder"`
	EncoderReason  string      `json:"encoder_reason"`
	FFmpegVersion  string      `json:"ffmpeg_version"`
	Plan           Plan        `json:"plan"`
	Commands       []Command   `json:"commands"`
	Mapping        []Segment   `json:"mapping"`
	Overlay        OverlayInfo `json:"overlay"`
	// Split says why the export is in parts, empty for one file.
	Split string   `json:"split,omitempty"`
	Notes []string `json:"notes"`
}

// RecordKind is the addendum kind of an export.
const RecordKind = "export"

// Result is a finished export: its record and its files in the work dir.
type Result struct {
	Record  Record
	Outputs []Output
	WorkDir string
	// Resumed counts the parts taken from an interrupted earlier run.
	Resumed int
}

// Videos are the MP4 outputs in order.
func (r *Result) Videos() []Output {
	var v []Output
	for _, o := range r.Outputs {
		if o.Role == "video" {
			v = append(v, o)
		}
	}
	return v
}

// jobFile in the work directory records the plan and the finished parts,
// so an export cut by a crash, a shutdown or a recording resumes.
const jobFile = "job.json"

type job struct {
	Key   string   `json:"key"`
	Done  []Output `json:"done"`
	Cmds  []Command
	State string `json:"state"` // running, done
}

// partialPrefix starts the name of a file ffmpeg is writing.
const partialPrefix = "partial-"

// Export makes the preset's MP4s of src in opt.WorkDir: plan, overlay,
// encode each part at idle priority, check each with ffprobe (and
// re-encode a part over its cap at a lower bitrate), and return the record.
// It never writes into the bundle. Parts finished by an earlier run with
// the same plan are kept (resume); everything else in the work dir is
// removed first. On failure the partial file is removed; on any failure but
// cancellation the work dir is removed too, so a full disk gets its space
// back. A cancelled export resumes when called again.
func Export(ctx context.Context, t Tools, src *Source, opt Options) (*Result, error) {
	if opt.WorkDir == "" {
		return nil, errors.New("export: no work directory")
	}
	if abs, err := filepath.Abs(opt.WorkDir); err == nil {
		if bd, err2 := filepath.Abs(src.Dir); err2 == nil && (abs == bd || strings.HasPrefix(abs, bd+string(filepath.Separator))) {
			return nil, fmt.Errorf("export: work directory %s is inside the bundle", opt.WorkDir)
		}
	}
	capBytes, err := PresetCap(opt.Preset)
	if err != nil {
		return nil, err
	}
	if opt.CapBytes != 0 {
		capBytes = opt.CapBytes
	}
	if opt.X264Preset == "" {
		opt.X264Preset = "veryfast"
	}
	if opt.FullCRF == 0 {
		opt.FullCRF = 23
	}
	if opt.Zone == nil {
		opt.Zone = time.Local
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	plan, err := MakePlan(PlanInput{Duration: src.Duration, Width: src.Width, Height: src.Height, FPS: src.FPS, Audio: src.Audio, Cap: capBytes})
	if err != nil {
		return nil, err
	}
	enc, reason, err := ChooseEncoder(ctx, t, opt.Encoder)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.WorkDir, 0o750); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	e := &exporter{t: t, src: src, opt: opt, plan: plan, enc: enc, cap: capBytes, log: log}
	e.key = e.jobKey()
	res, err := e.run(ctx)
	if err != nil {
		if ctx.Err() == nil {
			os.RemoveAll(opt.WorkDir)
		}
		return nil, err
	}
	res.Record.EncoderReason = reason
	return res, nil
}

type exporter struct {
	t    Tools
	src  *Source
	opt  Options
	plan Plan
	enc  string
	cap  int64
	log  *slog.Logger
	key  string
}

// jobKey identifies what is being made: the same key means a finished part
// of an earlier run is the part this run would make.
func (e *exporter) jobKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%d\n%s\n%s\n", e.src.ManifestSHA256, e.opt.Preset, e.enc, e.opt.X264Preset, e.opt.FullCRF, e.opt.Zone, e.t.Version)
	json.NewEncoder(h).Encode(e.plan)
	return hex.EncodeToString(h.Sum(nil))
}

// partName is the file name of part i (from 1) of n.
func partName(preset string, i, n int, ext string) string {
	if n == 1 {
		return "export-" + preset + ext
	}
	return fmt.Sprintf("export-%s-part%dof%d%s", preset, i, n, ext)
}

func (e *exporter) run(ctx context.Context) (*Result, error) {
	wd := e.opt.WorkDir
	var prev job
	if data, err := os.ReadFile(filepath.Join(wd, jobFile)); err == nil {
		_ = json.Unmarshal(data, &prev)
	}
	keep := map[string]Output{}
	if prev.Key == e.key {
		for _, o := range prev.Done {
			o.Path = filepath.Join(wd, o.Name)
			if n, sum, err := hashPath(o.Path); err == nil && n == o.Bytes && sum == o.SHA256 {
				keep[o.Name] = o
			}
		}
	}
	// Everything else in the work dir is a leftover: a partial file of a
	// crashed run, or a part of another plan.
	des, err := os.ReadDir(wd)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, de := range des {
		if _, ok := keep[de.Name()]; !ok && de.Name() != jobFile {
			os.RemoveAll(filepath.Join(wd, de.Name()))
		}
	}
	j := job{Key: e.key, State: "running"}
	for _, o := range prev.Done {
		if k, ok := keep[o.Name]; ok {
			j.Done = append(j.Done, k)
		}
	}
	if prev.Key == e.key {
		j.Cmds = prev.Cmds
	}
	if err := writeJSONAtomic(wd, jobFile, j); err != nil {
		return nil, err
	}
	n := len(e.plan.Parts)
	res := &Result{WorkDir: wd}
	concat := e.concatList()
	if err := os.WriteFile(filepath.Join(wd, "input.ffconcat"), []byte(concat), 0o640); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var cmds []Command
	for i, span := range e.plan.Parts {
		part := i + 1
		video, ass := partName(e.opt.Preset, part, n, ".mp4"), partName(e.opt.Preset, part, n, ".ass")
		vo, vok := keep[video]
		ao, aok := keep[ass]
		if vok && aok {
			res.Resumed++
			res.Outputs = append(res.Outputs, ao, vo)
			for _, c := range j.Cmds {
				if c.Output == video {
					cmds = append(cmds, c)
				}
			}
			e.report(part, span.End, 0)
			continue
		}
		script := RenderASS(OverlaySpec{Timeline: e.src.Timeline, Span: span, Width: e.plan.Width, Height: e.plan.Rung.Height, FPS: e.plan.Rung.FPS, Zone: e.opt.Zone})
		if err := writeFileSync(filepath.Join(wd, ass), script); err != nil {
			return nil, err
		}
		ao, err := describe(wd, ass, "overlay", part, n)
		if err != nil {
			return nil, err
		}
		vo, cmd, err := e.encodePart(ctx, part, span, video, ass, concat)
		if err != nil {
			return nil, err
		}
		res.Outputs = append(res.Outputs, ao, vo)
		cmds = append(cmds, cmd)
		j.Done = append(j.Done, ao, vo)
		j.Cmds = append(j.Cmds, cmd)
		if err := writeJSONAtomic(wd, jobFile, j); err != nil {
			return nil, err
		}
	}
	j.State = "done"
	if err := writeJSONAtomic(wd, jobFile, j); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(wd, "input.ffconcat"))
	res.Record = e.record(res.Outputs, cmds)
	return res, nil
}

func (e *exporter) report(part int, done time.Duration, speed float64) {
	if e.opt.Progress != nil {
		e.opt.Progress(Progress{Part: part, Parts: len(e.plan.Parts), Done: done, Total: e.src.Duration, Speed: speed})
	}
}

// concatList is the ffconcat list of the recording's files, each with its
// duration, so that the files follow each other on one time axis.
func (e *exporter) concatList() string {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	for _, v := range e.src.Videos {
		if v.Info.Packets == 0 {
			continue
		}
		fmt.Fprintf(&b, "file '%s'\nduration %s\n", strings.ReplaceAll(v.Path, "'", `'\''`), secs(v.Info.Duration))
	}
	return b.String()
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// level is the H.264 level for the output (as libx264 spells it).
func level(w, h, fps int) string {
	mbs := ((w + 15) / 16) * ((h + 15) / 16) * fps
	switch {
	case mbs <= 40500:
		return "3.0"
	case mbs <= 108000:
		return "3.1"
	case mbs <= 216000:
		return "3.2"
	case mbs <= 245760:
		return "4.0"
	}
	return "5.1"
}

// args is the ffmpeg command line for one part at kbps (0: quality-based).
func (e *exporter) args(span Span, out, ass string, kbps int) []string {
	p := e.plan
	frames := int64(span.Duration().Seconds()*float64(p.Rung.FPS) + 0.5)
	vf := fmt.Sprintf("fps=fps=%d:start_time=0,scale=%d:%d:flags=bicubic,format=yuv420p,ass=%s", p.Rung.FPS, p.Width, p.Rung.Height, ass)
	// One decoder and one filter thread, two encoder threads slicing each
	// frame, a 5-frame lookahead: the whole export stays within 150 MB on a
	// Pi, and two cores are left to capture.
	a := []string{e.t.FFmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-nostats", "-progress", "pipe:3",
		"-threads", "1", "-ss", secs(span.Start), "-t", secs(span.Duration()), "-f", "concat", "-safe", "0", "-i", "input.ffconcat",
		"-map", "0:v:0", "-filter_threads", "1", "-vf", vf, "-frames:v", strconv.FormatInt(frames, 10), "-c:v", e.enc}
	lvl := level(p.Width, p.Rung.Height, p.Rung.FPS)
	gop := strconv.Itoa(2 * p.Rung.FPS)
	switch e.enc {
	case EncoderV4L2:
		if kbps == 0 {
			kbps = int(bitsPerSecondAt(0.1, p.Width, p.Rung.Height, p.Rung.FPS) / 1000)
		}
		a = append(a, "-b:v", strconv.Itoa(kbps)+"k", "-level", strings.ReplaceAll(lvl, ".", ""), "-g", gop)
	default:
		a = append(a, "-preset", e.opt.X264Preset, "-profile:v", "high", "-level:v", lvl, "-g", gop,
			"-threads", "2", "-x264-params", "sliced-threads=1:rc-lookahead=5")
		if kbps == 0 {
			a = append(a, "-crf", strconv.Itoa(e.opt.FullCRF))
		} else {
			a = append(a, "-b:v", strconv.Itoa(kbps)+"k", "-maxrate", strconv.Itoa(kbps*3/2)+"k", "-bufsize", strconv.Itoa(kbps*2)+"k")
		}
	}
	if p.AudioKbps > 0 {
		a = append(a, "-map", "0:a:0?", "-c:a", "aac", "-b:a", strconv.Itoa(p.AudioKbps)+"k")
	} else {
		a = append(a, "-an")
	}
	return append(a, "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4", out)
}

// maxAttempts bounds the re-encodes of a part that came out over its cap.
const maxAttempts = 3

func (e *exporter) encodePart(ctx context.Context, part int, span Span, video, ass, concat string) (Output, Command, error) {
	wd := e.opt.WorkDir
	partial := partialPrefix + video
	kbps := e.plan.VideoKbps
	for attempt := 1; ; attempt++ {
		args := e.args(span, partial, ass, kbps)
		e.log.Info("export encode", "session", e.src.SessionID, "preset", e.opt.Preset, "part", part, "kbps", kbps, "attempt", attempt)
		err := run(ctx, args[0], args[1:], runOpts{dir: wd, idle: !e.opt.NormalPriority, progress: func(done time.Duration, speed float64) {
			e.report(part, span.Start+min(done, span.Duration()), speed)
		}})
		if err != nil {
			os.Remove(filepath.Join(wd, partial))
			return Output{}, Command{}, diskFull(wd, err)
		}
		path := filepath.Join(wd, partial)
		chk, err := CheckOutput(ctx, e.t, path, e.plan.Width, e.plan.Rung.Height, span.Duration(), e.plan.Rung.FPS)
		if err != nil {
			os.Remove(path)
			return Output{}, Command{}, diskFull(wd, err)
		}
		st, err := os.Stat(path)
		if err != nil {
			return Output{}, Command{}, fmt.Errorf("export: %w", err)
		}
		if e.cap > 0 && st.Size() > e.cap {
			os.Remove(path)
			if attempt == maxAttempts || kbps == 0 {
				return Output{}, Command{}, fmt.Errorf("%w: %s is %d bytes, over the %s cap of %d after %d attempts", ErrCheck, video, st.Size(), e.opt.Preset, e.cap, attempt)
			}
			kbps = int(float64(kbps) * float64(e.cap) * 0.95 / float64(st.Size()))
			continue
		}
		if err := syncPath(path); err != nil {
			os.Remove(path)
			return Output{}, Command{}, err
		}
		if err := os.Rename(path, filepath.Join(wd, video)); err != nil {
			os.Remove(path)
			return Output{}, Command{}, fmt.Errorf("export: %w", err)
		}
		if err := syncPath(wd); err != nil {
			return Output{}, Command{}, err
		}
		o, err := describe(wd, video, "video", part, len(e.plan.Parts))
		if err != nil {
			return Output{}, Command{}, err
		}
		o.Check = &chk
		e.report(part, span.End, 0)
		args[len(args)-1] = video // the record names the file as it is kept
		return o, Command{Output: video, Args: args, Concat: concat}, nil
	}
}

// record builds the export's record.
func (e *exporter) record(outs []Output, cmds []Command) Record {
	r := Record{
		Kind: RecordKind, Version: 1, Preset: e.opt.Preset, CapBytes: e.cap,
		SessionID: e.src.SessionID, ManifestSHA256: e.src.ManifestSHA256,
		Files: outs, Encoder: e.enc, FFmpegVersion: e.t.Version, Plan: e.plan, Commands: cmds,
		Overlay: OverlayInfo{
			TimeZone: e.opt.Zone.String(), ClockSynced: e.src.Timeline.ClockSynced,
			WeightSource: e.src.Timeline.WeightSource, WeightOffsetMS: e.src.Timeline.WeightOffset.Milliseconds(),
			Font: FontName + " Bold (" + FontPackage + ")", Marks: len(e.src.Timeline.Marks),
		},
		Notes: append([]string{}, e.src.Notes...),
	}
	for _, v := range e.src.Videos {
		r.Originals = append(r.Originals, v.Original)
	}
	if e.src.WeightLog != nil {
		r.Originals = append(r.Originals, *e.src.WeightLog)
	}
	n := len(e.plan.Parts)
	if n > 1 {
		r.Split = fmt.Sprintf("%s at %d bytes: %v of video does not fit one file even at %s; %d parts of at most %v each",
			e.opt.Preset, e.cap, e.src.Duration.Round(time.Second), e.plan.Rung, n, e.plan.Parts[0].Duration().Round(time.Second))
	}
	for i, span := range e.plan.Parts {
		name := partName(e.opt.Preset, i+1, n, ".mp4")
		for _, v := range e.src.Videos {
			if v.Info.Packets == 0 {
				continue
			}
			from, to := max(span.Start, v.Offset), min(span.End, v.Offset+v.Info.Duration)
			if to <= from {
				continue
			}
			r.Mapping = append(r.Mapping, Segment{
				File: name, ExportStartS: (from - span.Start).Seconds(), ExportEndS: (to - span.Start).Seconds(),
				Original: v.Name, OriginalStartS: (from - v.Offset).Seconds(), VideoStartS: from.Seconds(),
			})
		}
	}
	return r
}

// diskFull adds the cause to err when the work directory's file system is
// full: ffmpeg does not always fail on a short write (the file it leaves
// is then cut, and the check finds it), so the free space tells.
func diskFull(dir string, err error) error {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) == nil && int64(st.Bavail)*int64(st.Bsize) < 256<<10 {
		return fmt.Errorf("export: disk full in %s (%w): %w", dir, syscall.ENOSPC, err)
	}
	return err
}

func describe(dir, name, role string, part, parts int) (Output, error) {
	p := filepath.Join(dir, name)
	n, sum, err := hashPath(p)
	if err != nil {
		return Output{}, err
	}
	return Output{Name: name, Path: p, Role: role, Bytes: n, SHA256: sum, Part: part, Parts: parts}, nil
}

func hashPath(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("export: read %s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: fsync %s: %w", p, err)
	}
	return nil
}

func writeFileSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return fmt.Errorf("export: write %s: %w", p, err)
	}
	return nil
}

func writeJSONAtomic(dir, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := writeFileSync(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
