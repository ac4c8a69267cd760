package web

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/result"
	"weighin/internal/verdict"
)

// bundles opens sessions' files read-only, confined to the sessions
// directory: os.Root refuses any name that leaves it (.., absolute paths,
// symlinks pointing out), and only regular files at a bundle's top level
// are served (no symlink at all, no directory, no hidden file).
type bundles struct {
	dir string
}

var errNotFound = errors.New("not found")

// validSession reports whether id is a bundle directory name.
func validSession(id string) bool {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return false
	}
	_, ok := evidence.ParseSessionDirName(id)
	return ok
}

// validName reports whether name may be a bundle's file name as served.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00") {
		return false
	}
	return path.Clean(name) == name
}

// open opens session's file name, a regular file.
func (b bundles) open(session, name string) (*os.File, fs.FileInfo, error) {
	if !validSession(session) || !validName(name) {
		return nil, nil, errNotFound
	}
	root, err := os.OpenRoot(b.dir)
	if err != nil {
		return nil, nil, errNotFound
	}
	defer root.Close()
	sub, err := root.OpenRoot(session)
	if err != nil {
		return nil, nil, errNotFound
	}
	defer sub.Close()
	fi, err := sub.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil, errNotFound
	}
	f, err := sub.Open(name)
	if err != nil {
		return nil, nil, errNotFound
	}
	fi2, err := f.Stat()
	if err != nil || !fi2.Mode().IsRegular() || !os.SameFile(fi, fi2) {
		f.Close()
		return nil, nil, errNotFound
	}
	return f, fi2, nil
}

// files lists session's regular top-level files, sorted.
func (b bundles) files(session string) ([]fs.FileInfo, error) {
	if !validSession(session) {
		return nil, errNotFound
	}
	root, err := os.OpenRoot(b.dir)
	if err != nil {
		return nil, errNotFound
	}
	defer root.Close()
	d, err := root.Open(session)
	if err != nil {
		return nil, errNotFound
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return nil, errNotFound
	}
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	for _, e := range ents {
		if !e.Type().IsRegular() || !validName(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out = append(out, fi)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (b bundles) read(session, name string, max int64) ([]byte, error) {
	f, _, err := b.open(session, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// view is what the session page shows of a bundle.
type view struct {
	ID        string
	Result    result.Result
	KeyFP     string
	Sealed    bool
	Video     string   // the MP4 export played, "" when none exists
	Parts     []string // every MP4 export
	Originals []string // video-NNN.mkv
	Label     bool
	Stills    []string
	SheetPNG  string
	SheetPDF  string
	Pack      string
	ClaimEN   string
	ClaimZH   string
	Short     string
	Outcomes  []string
	Files     []fs.FileInfo
	// Mapping is every export addendum's map from its MP4s to the
	// originals and the video time axis.
	Mapping []export.Segment
	// Offset is the video time of the played MP4's time 0 (0 but for
	// the second and later part of a split export).
	Offset float64
	// Marks are the result's marks placed on the video time axis and in
	// the played MP4.
	Marks []placedMark
	// Offloaded: the data files went once verified in the off-site store
	// (offsite.delete_local_after_verified); the page says so instead of
	// offering files that are not here.
	Offloaded bool
}

// exportPreference orders the MP4 exports the player picks from: the
// phone preset first, then chat, then full.
var exportPreference = []string{"export-phone.mp4", "export-chat.mp4", "export-full.mp4"}

func isExport(name string) bool {
	return strings.HasPrefix(name, "export-") && strings.HasSuffix(name, ".mp4")
}
func isStill(name string) bool {
	return name != "label.jpg" && (strings.HasSuffix(name, ".jpg") || strings.HasSuffix(name, ".png") && name != "evidence-sheet.png")
}
func isSheet(name string) bool { return name == "evidence-sheet.png" || name == "evidence-sheet.pdf" }
func isPack(name string) bool  { return strings.HasSuffix(name, ".zip") }

// shareable reports whether a share link grants the file name: the player's
// MP4s, the stills, the sheet and the pack; never the originals, the
// manifest or anything else.
func shareable(name string) bool {
	return isExport(name) || name == "label.jpg" || isStill(name) || isSheet(name) || isPack(name)
}

func (b bundles) view(session string) (*view, error) {
	files, err := b.files(session)
	if err != nil {
		return nil, err
	}
	v := &view{ID: session, Files: files}
	has := map[string]bool{}
	for _, fi := range files {
		n := fi.Name()
		has[n] = true
		switch {
		case isExport(n):
			v.Parts = append(v.Parts, n)
		case strings.HasPrefix(n, "video-") && strings.HasSuffix(n, ".mkv"):
			v.Originals = append(v.Originals, n)
		case n == "label.jpg":
			v.Label = true
		case n == "evidence-sheet.png":
			v.SheetPNG = n
		case n == "evidence-sheet.pdf":
			v.SheetPDF = n
		case isPack(n):
			v.Pack = n
		case isStill(n):
			v.Stills = append(v.Stills, n)
		case strings.HasPrefix(n, "addendum-") && strings.HasSuffix(n, "-"+export.RecordKind+".json"):
			v.Mapping = append(v.Mapping, b.exportMapping(session, n)...)
		case strings.HasSuffix(n, ".json") && (strings.HasPrefix(n, "outcome-") || strings.HasPrefix(n, "addendum-") && strings.Contains(n, "outcome")):
			if data, err := b.read(session, n, 1<<20); err == nil {
				v.Outcomes = append(v.Outcomes, outcomeText(n, data))
			}
		}
	}
	for _, p := range exportPreference {
		if has[p] {
			v.Video = p
			break
		}
	}
	if v.Video == "" && len(v.Parts) > 0 {
		v.Video = v.Parts[0]
	}
	v.Sealed = has["manifest.json"] && !has["unsealed.json"]
	if data, err := b.read(session, evidence.TombstoneFile, 1<<20); err == nil {
		if t, _, err := evidence.ParseTombstone(data); err == nil {
			v.Offloaded = t.Reason == evidence.ReasonOffloaded
		}
	}
	data, err := b.read(session, "manifest.json", 8<<20)
	if err == nil {
		var m struct {
			Result         result.Result `json:"result"`
			KeyFingerprint string        `json:"key_fingerprint"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("manifest.json: %v", err)
		}
		v.Result, v.KeyFP = m.Result, m.KeyFingerprint
	}
	if v.Result.SessionID == "" {
		v.Result.SessionID = session
	}
	v.Offset, v.Marks = placeMarks(v.Result.Marks, v.Mapping, v.Video)
	claim := v.Result.Dispute
	if data, err := b.read(session, "dispute.txt", 1<<20); err == nil {
		claim = string(data)
	}
	v.ClaimEN, v.ClaimZH = verdict.SplitMessage(claim)
	v.Short, _, _ = strings.Cut(strings.TrimSpace(v.ClaimEN), "\n\n")
	return v, nil
}

// outcomeText summarises an outcome addendum: its status, resolution and
// note wherever the document keeps them.
func outcomeText(name string, data []byte) string {
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil {
		return name
	}
	var find func(m map[string]any) map[string]any
	find = func(m map[string]any) map[string]any {
		if _, ok := m["status"]; ok {
			return m
		}
		for _, v := range m {
			if sub, ok := v.(map[string]any); ok {
				if f := find(sub); f != nil {
					return f
				}
			}
		}
		return nil
	}
	o := find(doc)
	if o == nil {
		return name
	}
	parts := []string{fmt.Sprint(o["status"])}
	for _, k := range []string{"resolution", "amount", "currency", "note"} {
		if v, ok := o[k]; ok && v != nil && v != "" {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	at := ""
	if v, ok := doc["recorded_at"]; ok {
		at = fmt.Sprint(v) + " "
	}
	return at + strings.Join(parts, " · ") + " (" + name + ")"
}

// weightSeries is weight.csv (t_ms,raw,grams,stable) as at most maxPoints
// points on the video time axis (0 = the first frame of video-000.mkv, the
// pre-roll included): t in seconds, g in grams. Shift is what was added to
// the log's times: a weight.csv written with t = 0 at the press (before the
// one time axis; the pre-roll is then missing from it) ends with the
// recording, so when it ends more than half a second before the video, it
// is moved to end with it; a log on the video axis already does.
type weightSeries struct {
	T     []float64 `json:"t"`
	G     []float64 `json:"g"`
	Shift float64   `json:"shift_s"`
}

const maxPoints = 2000

func (b bundles) weights(session string, videoS float64) (*weightSeries, error) {
	f, _, err := b.open(session, "weight.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var ts, gs []float64
	col := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if line == 1 {
			for i, h := range fields {
				col[h] = i
			}
			if _, ok := col["t_ms"]; !ok {
				return nil, fmt.Errorf("weight.csv:1: no t_ms column")
			}
			if _, ok := col["grams"]; !ok {
				return nil, fmt.Errorf("weight.csv:1: no grams column")
			}
			continue
		}
		ti, gi := col["t_ms"], col["grams"]
		if ti >= len(fields) || gi >= len(fields) {
			continue
		}
		t, err1 := strconv.ParseFloat(fields[ti], 64)
		g, err2 := strconv.ParseFloat(fields[gi], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ts, gs = append(ts, t/1000), append(gs, g)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := &weightSeries{T: []float64{}, G: []float64{}}
	if n := len(ts); n > 0 && videoS-ts[n-1] > 0.5 {
		out.Shift = videoS - ts[n-1]
		for i := range ts {
			ts[i] += out.Shift
		}
	}
	step := (len(ts) + maxPoints - 1) / maxPoints
	if step < 1 {
		step = 1
	}
	for i := 0; i < len(ts); i += step {
		out.T, out.G = append(out.T, ts[i]), append(out.G, gs[i])
	}
	return out, nil
}

// ShareFiles are the files a share link grants that the share box offers
// as downloads: the MP4s, the pack, the sheet.
func (v *view) ShareFiles() []string {
	out := append([]string(nil), v.Parts...)
	for _, n := range []string{v.Pack, v.SheetPDF, v.SheetPNG} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// exportMapping reads an export addendum's mapping (nothing when it is
// unreadable: the marks then fall back to what the result alone tells).
func (b bundles) exportMapping(session, name string) []export.Segment {
	data, err := b.read(session, name, 8<<20)
	if err != nil {
		return nil
	}
	a, _, err := evidence.ParseAddendum(data)
	if err != nil {
		return nil
	}
	var rec struct {
		Mapping []export.Segment `json:"mapping"`
	}
	if json.Unmarshal(a.Body, &rec) != nil {
		return nil
	}
	return rec.Mapping
}

// placedMark is a mark on the video time axis (VideoS, -1 when unknown)
// and in the played MP4 (T, -1 when the MP4 does not hold it).
type placedMark struct {
	N      int
	Label  string
	VideoS float64
	T      float64
	// Where says where the mark is when it cannot be shown on the axis.
	Where string
}

// placeMarks puts each mark, counted from the first frame of its own
// video file, on the session's video time axis and in the played MP4.
// Each file's start on the axis comes from the export addenda's mapping
// (a segment maps original time OriginalStartS to VideoStartS); the first
// video file starts at 0. It returns the played MP4's own offset on the
// axis too.
func placeMarks(marks []result.Mark, mapping []export.Segment, played string) (float64, []placedMark) {
	starts := map[string]float64{}
	offset, haveOffset := 0.0, false
	for _, sg := range mapping {
		starts[sg.Original] = sg.VideoStartS - sg.OriginalStartS
		if sg.File == played && !haveOffset {
			offset, haveOffset = sg.VideoStartS-sg.ExportStartS, true
		}
	}
	out := make([]placedMark, 0, len(marks))
	for i, m := range marks {
		pm := placedMark{N: i + 1, Label: m.Label, VideoS: -1, T: -1}
		if pm.Label == "" {
			pm.Label = fmt.Sprintf("Mark %d", i+1)
		}
		start, ok := starts[m.File]
		if !ok && firstVideo(m.File) {
			start, ok = 0, true
		}
		if !ok {
			pm.Where = fmt.Sprintf("%.1f s into %s", m.TS, m.File)
			out = append(out, pm)
			continue
		}
		pm.VideoS = start + m.TS
		switch {
		case played == "":
		case len(mapping) == 0 || !haveOffset:
			// An MP4 without a mapping: taken to be on the video axis.
			pm.T = pm.VideoS
		default:
			for _, sg := range mapping {
				if sg.File == played && pm.VideoS >= sg.VideoStartS-0.001 && pm.VideoS < sg.VideoStartS+sg.ExportEndS-sg.ExportStartS+0.001 {
					pm.T = sg.ExportStartS + pm.VideoS - sg.VideoStartS
					break
				}
			}
			if pm.T < 0 {
				pm.Where = "in another part of the export"
			}
		}
		out = append(out, pm)
	}
	return offset, out
}

// firstVideo reports whether name is the recording's first file, which
// starts the video time axis.
func firstVideo(name string) bool {
	return name == "" || name == "video-000.mkv" || name == "video.mkv"
}
