package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cue is one entry of a recording's subtitle track on the export's time
// axis: what the station showed from At for Dur.
type Cue struct {
	At, Dur time.Duration
	Text    string
}

// Reading is the weight at a moment of video time, from the weight log or
// the subtitle track.
type Reading struct {
	T      time.Duration
	Grams  float64
	Stable bool
}

// Mark is a marked moment on the export's time axis.
type Mark struct {
	At    time.Duration
	Label string
}

// Timeline is the sealed data the overlay shows, on one time axis (video
// time 0 = the first frame of video-000.mkv): the wall clock and weight the
// subtitle track carries, the weight log's readings, the marks.
type Timeline struct {
	// Wall maps video time to the station's wall clock, in runs.
	Wall []WallRun
	// Weights are the readings shown, sorted by T.
	Weights []Reading
	// WeightSource says where Weights came from ("weight.csv", or
	// "subtitles" when the log is missing, empty or disagrees with the
	// subtitle track).
	WeightSource string
	// WeightOffset is added to the weight log's t_ms to place it on the
	// video axis (0 when the log follows the contract).
	WeightOffset time.Duration
	Marks        []Mark
	// Steps are the manifest's item steps: At their settled_s, Label
	// steps.OverlayText ("−1118.4 g Sneakers"), shown for
	// steps.OverlaySeconds.
	Steps       []Mark
	OrderRef    string
	Tracking    string
	SessionID   string
	ClockSynced bool
	Duration    time.Duration
}

// WallRun is a stretch of video time over which the wall clock ran
// steadily: wall(t) = Base + (t − From) for From ≤ t < To.
type WallRun struct {
	From, To time.Duration
	Base     time.Time
}

// WallAt is the wall clock at video time t, false when unknown.
func (tl *Timeline) WallAt(t time.Duration) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(tl.Wall, t, func(r WallRun, t time.Duration) int {
		switch {
		case r.To <= t:
			return -1
		case r.From > t:
			return 1
		}
		return 0
	})
	if i < len(tl.Wall) && tl.Wall[i].From <= t && t < tl.Wall[i].To {
		r := tl.Wall[i]
		return r.Base.Add(t - r.From), true
	}
	return time.Time{}, false
}

// WeightAt is the latest reading at or before t, false before the first.
func (tl *Timeline) WeightAt(t time.Duration) (Reading, bool) {
	return readingAt(tl.Weights, t)
}

func readingAt(rs []Reading, t time.Duration) (Reading, bool) {
	i, found := slices.BinarySearchFunc(rs, t, func(r Reading, t time.Duration) int { return cmpDur(r.T, t) })
	if found {
		// the last of equal times
		for i+1 < len(rs) && rs[i+1].T == t {
			i++
		}
		return rs[i], true
	}
	if i == 0 {
		return Reading{}, false
	}
	return rs[i-1], true
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SubInfo is one subtitle line of the recorder parsed: "<time>  |  <g> g
// stable|unstable  |  order <ref>".
type SubInfo struct {
	Wall     time.Time // zero when the line has no time
	HasGrams bool
	Grams    float64
	Stable   bool
	Mark     bool
	Step     bool
}

// subSep separates the fields of the recorder's subtitle line.
const subSep = "  |  "

// ParseSubtitle reads one of the recorder's subtitle lines. It accepts the
// time as "2006-01-02 15:04:05 UTC", optionally followed by "(clock not
// synced)", or "time unknown"; the weight as "1840.1 g", optionally
// followed by "stable" or "unstable", or "weight n/a". A "MARK: " line is
// reported as a mark; a "STEP: " line (a step's live marker) as Step.
// Anything else is an error naming the text.
func ParseSubtitle(text string) (SubInfo, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "MARK: ") {
		return SubInfo{Mark: true}, nil
	}
	if strings.HasPrefix(text, "STEP: ") {
		return SubInfo{Step: true}, nil
	}
	fields := strings.Split(text, subSep)
	var si SubInfo
	ts := strings.TrimSpace(strings.TrimSuffix(fields[0], "(clock not synced)"))
	if ts != "time unknown" && ts != "" {
		w, err := time.Parse("2006-01-02 15:04:05 MST", ts)
		if err != nil {
			return SubInfo{}, fmt.Errorf("subtitle %q: time: %v", text, err)
		}
		si.Wall = w.UTC()
	}
	if len(fields) > 1 {
		wf := strings.TrimSpace(fields[1])
		if wf != "weight n/a" {
			num, rest, ok := strings.Cut(wf, " g")
			g, err := strconv.ParseFloat(num, 64)
			if !ok || err != nil {
				return SubInfo{}, fmt.Errorf("subtitle %q: weight %q is not \"<grams> g\"", text, wf)
			}
			si.HasGrams, si.Grams = true, g
			si.Stable = strings.TrimSpace(rest) == "stable"
		}
	}
	return si, nil
}

// ParseSRT reads SubRip text (as ffmpeg writes a Matroska S_TEXT/UTF8
// track) into cues, shifted by offset.
func ParseSRT(data []byte, offset time.Duration) ([]Cue, error) {
	var cues []Cue
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		if _, err := strconv.Atoi(l); err != nil {
			return nil, fmt.Errorf("srt line %d: want a cue number, got %q", line, l)
		}
		if !sc.Scan() {
			return nil, fmt.Errorf("srt line %d: cue without timing", line)
		}
		line++
		a, b, ok := strings.Cut(sc.Text(), " --> ")
		if !ok {
			return nil, fmt.Errorf("srt line %d: bad timing %q", line, sc.Text())
		}
		from, err1 := parseSRTTime(a)
		to, err2 := parseSRTTime(b)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("srt line %d: %v", line, err)
		}
		var text []string
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				break
			}
			text = append(text, sc.Text())
		}
		cues = append(cues, Cue{At: from + offset, Dur: to - from, Text: strings.Join(text, "\n")})
	}
	return cues, sc.Err()
}

func parseSRTTime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var h, m, sec, ms int
	if _, err := fmt.Sscanf(s, "%d:%d:%d,%d", &h, &m, &sec, &ms); err != nil {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond, nil
}

// ReadWeightLog reads a bundle's weight.csv (columns t_ms, grams, stable
// found by name). Errors name the line.
func ReadWeightLog(r io.Reader) ([]Reading, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weight.csv: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"t_ms", "grams", "stable"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("weight.csv:1: no column %q in header %q", need, strings.Join(head, ","))
		}
	}
	var out []Reading
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("weight.csv:%d: %v", line, err)
		}
		get := func(k string) string {
			if i := col[k]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		ms, err := strconv.ParseInt(get("t_ms"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("weight.csv:%d: t_ms %q is not an integer", line, get("t_ms"))
		}
		g, err := strconv.ParseFloat(get("grams"), 64)
		if err != nil || math.IsNaN(g) || math.IsInf(g, 0) {
			return nil, fmt.Errorf("weight.csv:%d: grams %q is not a number", line, get("grams"))
		}
		st := get("stable")
		if st != "0" && st != "1" {
			return nil, fmt.Errorf("weight.csv:%d: stable %q is not 0 or 1", line, st)
		}
		if n := len(out); n > 0 && time.Duration(ms)*time.Millisecond < out[n-1].T {
			return nil, fmt.Errorf("weight.csv:%d: t_ms %d goes back in time", line, ms)
		}
		out = append(out, Reading{T: time.Duration(ms) * time.Millisecond, Grams: g, Stable: st == "1"})
	}
}

// wallRuns turns subtitle times (second resolution) into runs of a steady
// clock. Each cue at video time a showing wall second w says the clock read
// in [w, w+1 s) at a: the offset wall − video time lies in [w−a, w−a+1 s).
// Consecutive cues whose intervals intersect form one run, whose offset is
// the intersection's lower end; a clock step (NTP, a stale line) starts a
// new run.
func wallRuns(cues []timedWall, end time.Duration) []WallRun {
	var runs []WallRun
	var lo, hi time.Duration // offset bounds, relative to epoch
	var from time.Duration
	open := false
	flush := func(to time.Duration) {
		if open && to > from {
			runs = append(runs, WallRun{From: from, To: to, Base: epoch.Add(lo + from)})
		}
		open = false
	}
	for _, c := range cues {
		if c.wall.IsZero() {
			flush(c.at)
			continue
		}
		l := c.wall.Sub(epoch) - c.at
		h := l + time.Second
		if open && l < hi && h > lo {
			lo, hi = max(lo, l), min(hi, h)
			continue
		}
		flush(c.at)
		lo, hi, from, open = l, h, c.at, true
	}
	flush(end)
	return runs
}

type timedWall struct {
	at   time.Duration
	wall time.Time
}

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// alignWeights places the weight log on the video axis. The contract puts
// t_ms 0 at video time 0; bundles written before that count from the press,
// a pre-roll later. The offset is the one (in 10 ms steps up to ±30 s, 0
// preferred on a tie) at which the log agrees best with the weights the
// subtitle track shows; the log is used when, at that offset, it spans at
// least half of those and agrees with at least 90 % of the ones it spans;
// otherwise ok is false and the subtitle track is used.
func alignWeights(log, subs []Reading) (offset time.Duration, ok bool) {
	if len(log) == 0 {
		return 0, false
	}
	if len(subs) == 0 {
		return 0, true
	}
	// At most 600 subtitle weights, evenly spread, decide (a 20-minute
	// recording has 4800).
	if n := len(subs); n > 600 {
		sample := make([]Reading, 0, 600)
		for i := range 600 {
			sample = append(sample, subs[i*n/600])
		}
		subs = sample
	}
	// score counts, of the subtitle weights inside the log's span at off,
	// those the log agrees with.
	first, last := log[0].T, log[len(log)-1].T
	score := func(off time.Duration) (match, covered int) {
		for _, s := range subs {
			lt := s.T - off
			if lt < first || lt > last+time.Second {
				continue
			}
			covered++
			if r, _ := readingAt(log, lt); math.Abs(r.Grams-s.Grams) <= 0.051+1e-9 {
				match++
			}
		}
		return match, covered
	}
	// The best offset has the fewest disagreements among those spanning at
	// least half of the subtitle weights; then the widest span; then the
	// one nearest 0.
	better := func(m, c, bm, bc int) bool {
		if c*2 < len(subs) {
			return false
		}
		if bc*2 < len(subs) {
			return true
		}
		if c-m != bc-bm {
			return c-m < bc-bm
		}
		return c > bc
	}
	best := time.Duration(0)
	bestMatch, bestCov := score(0)
	// The contract's axis is taken when it fits; the search is for bundles
	// written before it.
	if bestCov*2 < len(subs) || bestMatch*10 < bestCov*9 {
		for step := time.Duration(1); step <= 3000; step++ {
			for _, off := range []time.Duration{step * 10 * time.Millisecond, -step * 10 * time.Millisecond} {
				if m, c := score(off); better(m, c, bestMatch, bestCov) {
					best, bestMatch, bestCov = off, m, c
				}
			}
			if bestMatch == len(subs) {
				break
			}
		}
	}
	if bestCov*2 < len(subs) || bestMatch*10 < bestCov*9 {
		return 0, false
	}
	return best, true
}

// buildTimeline combines the subtitle cues and the weight log. videoAxis:
// the manifest says the log is on the video axis (result.WeightAxisVideo),
// so it is taken as it is; older logs are aligned (alignWeights).
func buildTimeline(cues []Cue, log []Reading, end time.Duration, videoAxis bool) (*Timeline, []string, error) {
	var walls []timedWall
	var subs []Reading
	var notes []string
	bad := 0
	for _, c := range cues {
		si, err := ParseSubtitle(c.Text)
		if err != nil {
			bad++
			if bad == 1 {
				notes = append(notes, err.Error())
			}
			continue
		}
		if si.Mark || si.Step {
			continue
		}
		walls = append(walls, timedWall{at: c.At, wall: si.Wall})
		if si.HasGrams {
			subs = append(subs, Reading{T: c.At, Grams: si.Grams, Stable: si.Stable})
		}
	}
	if bad > 0 {
		notes = append(notes, fmt.Sprintf("%d subtitle lines not understood", bad))
	}
	tl := &Timeline{Wall: wallRuns(walls, end), Duration: end}
	off, ok := time.Duration(0), len(log) > 0
	if !videoAxis {
		off, ok = alignWeights(log, subs)
	}
	switch {
	case ok:
		tl.WeightSource, tl.WeightOffset = "weight.csv", off
		tl.Weights = make([]Reading, len(log))
		for i, r := range log {
			r.T += off
			tl.Weights[i] = r
		}
		if off != 0 {
			notes = append(notes, fmt.Sprintf("weight.csv is %v off the video axis (written before the one time axis); shifted to match the subtitle track", off))
		}
	default:
		tl.WeightSource, tl.Weights = "subtitles", subs
		if len(log) > 0 {
			notes = append(notes, "weight.csv disagrees with the subtitle track; the subtitle track's weights are shown")
		}
	}
	return tl, notes, nil
}
