package export

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSubtitle(t *testing.T) {
	wall := time.Date(2026, 11, 26, 10, 15, 3, 0, time.UTC)
	tests := []struct {
		text string
		want SubInfo
	}{
		{"2026-11-26 10:15:03 UTC  |  1840.1 g stable  |  order 12345", SubInfo{Wall: wall, HasGrams: true, Grams: 1840.1, Stable: true}},
		{"2026-11-26 10:15:03 UTC  |  12.5 g unstable", SubInfo{Wall: wall, HasGrams: true, Grams: 12.5}},
		{"2026-11-26 10:15:03 UTC (clock not synced)  |  2351.0 g", SubInfo{Wall: wall, HasGrams: true, Grams: 2351}},
		{"time unknown  |  weight n/a", SubInfo{}},
		{"MARK: torn sleeve", SubInfo{Mark: true}},
		{"STEP: −1118.4 g", SubInfo{Step: true}},
	}
	for _, tt := range tests {
		got, err := ParseSubtitle(tt.text)
		if err != nil {
			t.Errorf("ParseSubtitle(%q): %v", tt.text, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSubtitle(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
	for _, bad := range []string{"yesterday  |  1 g", "2026-11-26 10:15:03 UTC  |  heavy"} {
		if _, err := ParseSubtitle(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseSubtitle(%q) = %v, want an error naming the text", bad, err)
		}
	}
}

func TestParseSRT(t *testing.T) {
	srt := "1\n00:00:00,000 --> 00:00:00,250\nline one\n\n2\n00:01:02,500 --> 00:01:04,500\nMARK: a\nb\n\n"
	got, err := ParseSRT([]byte(srt), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cue{{At: 10 * time.Second, Dur: 250 * time.Millisecond, Text: "line one"}, {At: 72500 * time.Millisecond, Dur: 2 * time.Second, Text: "MARK: a\nb"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSRT (-want +got):\n%s", diff)
	}
	if _, err := ParseSRT([]byte("1\n00:00 --> x\n"), 0); err == nil || !strings.Contains(err.Error(), "srt line 2") {
		t.Errorf("bad timing: %v, want an error naming line 2", err)
	}
}

func TestReadWeightLog(t *testing.T) {
	got, err := ReadWeightLog(strings.NewReader("t_ms,raw,grams,stable\r\n0,8000,0.00,1\r\n100,780843,1840.12,0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Reading{{0, 0, true}, {100 * time.Millisecond, 1840.12, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ csv, want string }{
		{"t_ms,raw\n0,1\n", `weight.csv:1: no column "grams"`},
		{"t_ms,raw,grams,stable\n0,1,x,1\n", `weight.csv:2: grams "x" is not a number`},
		{"t_ms,raw,grams,stable\n0,1,1,yes\n", `weight.csv:2: stable "yes" is not 0 or 1`},
		{"t_ms,raw,grams,stable\n5,1,1,1\n4,1,1,1\n", `weight.csv:3: t_ms 4 goes back in time`},
	} {
		if _, err := ReadWeightLog(strings.NewReader(tt.csv)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadWeightLog(%q) = %v, want %q", tt.csv, err, tt.want)
		}
	}
}

// cuesFor makes the recorder's subtitle cues (every 250 ms) for a clock
// starting at wall0 plus sub-second phase and a weight function.
func cuesFor(n int, wall0 time.Time, weight func(time.Duration) float64) []Cue {
	var cues []Cue
	for i := range n {
		at := time.Duration(i) * 250 * time.Millisecond
		w := wall0.Add(at).UTC().Format("2006-01-02 15:04:05 UTC")
		cues = append(cues, Cue{At: at, Dur: 250 * time.Millisecond, Text: w + "  |  " + FormatGrams(weight(at)) + " stable"})
	}
	return cues
}

func TestTimelineClockAndWeights(t *testing.T) {
	wall0 := time.Date(2026, 11, 26, 10, 14, 59, 600e6, time.UTC) // 0.6 s into a second
	step := func(d time.Duration) float64 {
		if d < 10*time.Second {
			return 2351
		}
		return 1846
	}
	cues := cuesFor(80, wall0, step) // 20 s
	// A weight log on the contract's axis, every 100 ms.
	var log []Reading
	for d := time.Duration(0); d < 20*time.Second; d += 100 * time.Millisecond {
		log = append(log, Reading{T: d, Grams: step(d), Stable: true})
	}
	tl, notes, err := buildTimeline(cues, log, 20*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	if tl.WeightSource != "weight.csv" || tl.WeightOffset != 0 || len(notes) != 0 {
		t.Errorf("source %s offset %v notes %v, want weight.csv at 0 without notes", tl.WeightSource, tl.WeightOffset, notes)
	}
	// The clock is recovered to within the 250 ms of the cues, from
	// second-resolution text.
	for _, at := range []time.Duration{0, 3 * time.Second, 19 * time.Second} {
		got, ok := tl.WallAt(at)
		if want := wall0.Add(at); !ok || got.Sub(want).Abs() > 250*time.Millisecond {
			t.Errorf("WallAt(%v) = %v, %v; want %v ± 250 ms", at, got, ok, want)
		}
	}
	// A legacy log counted from the press, 5 s after video time 0, is
	// found and shifted.
	var legacy []Reading
	for d := time.Duration(0); d < 15*time.Second; d += 100 * time.Millisecond {
		legacy = append(legacy, Reading{T: d, Grams: step(d + 5*time.Second), Stable: true})
	}
	tl, notes, _ = buildTimeline(cues, legacy, 20*time.Second, false)
	// (to within the 250 ms between subtitle cues)
	if tl.WeightSource != "weight.csv" || (tl.WeightOffset-5*time.Second).Abs() > 250*time.Millisecond || len(notes) != 1 {
		t.Errorf("legacy log: source %s offset %v notes %v, want weight.csv shifted by 5s ± 250 ms with a note", tl.WeightSource, tl.WeightOffset, notes)
	}
	if r, _ := tl.WeightAt(12 * time.Second); r.Grams != 1846 {
		t.Errorf("legacy log at 12 s = %v, want 1846", r.Grams)
	}
	// A log the manifest puts on the video axis is taken as it is, even
	// where a shift would match the subtitles better: no search.
	tl, notes, _ = buildTimeline(cues, legacy, 20*time.Second, true)
	if tl.WeightSource != "weight.csv" || tl.WeightOffset != 0 || len(notes) != 0 {
		t.Errorf("video-axis log: source %s offset %v notes %v, want weight.csv at 0 without notes", tl.WeightSource, tl.WeightOffset, notes)
	}
	// A log that matches nothing is not shown; the subtitles are.
	junk := []Reading{{0, 5, true}, {time.Second, 7, true}}
	tl, notes, _ = buildTimeline(cues, junk, 20*time.Second, false)
	if tl.WeightSource != "subtitles" || len(notes) != 1 {
		t.Errorf("junk log: source %s notes %v, want subtitles with a note", tl.WeightSource, notes)
	}
	// A clock step (NTP sync mid-recording) starts a new run.
	stepped := cuesFor(40, wall0, step)
	later := cuesFor(40, wall0.Add(time.Hour+10*time.Second), step)
	for i := range later {
		later[i].At += 10 * time.Second
	}
	tl, _, _ = buildTimeline(append(stepped, later...), nil, 20*time.Second, false)
	if len(tl.Wall) != 2 {
		t.Fatalf("clock step: %d runs, want 2: %+v", len(tl.Wall), tl.Wall)
	}
	if got, _ := tl.WallAt(15 * time.Second); got.Sub(wall0.Add(time.Hour+15*time.Second)).Abs() > 250*time.Millisecond {
		t.Errorf("after the step WallAt(15s) = %v", got)
	}
}

func TestTextAt(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tl := &Timeline{
		Wall:    []WallRun{{From: 0, To: time.Minute, Base: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}},
		Weights: []Reading{{0, -0.02, true}, {2 * time.Second, 1840.1, false}, {3 * time.Second, 12345.67, true}},
	}
	tests := []struct {
		at     time.Duration
		synced bool
		want   FrameText
	}{
		{500 * time.Millisecond, true, FrameText{"2026-11-26 11:15:00 CET", "0.0 g stable", "00:00"}},
		{2500 * time.Millisecond, false, FrameText{"2026-11-26 11:15:02 CET (clock not synced)", "1840.1 g unstable", "00:02"}},
		{75 * time.Second, true, FrameText{"time unknown", "12345.7 g stable", "01:15"}},
	}
	for _, tt := range tests {
		tl.ClockSynced = tt.synced
		if got := TextAt(tl, berlin, tt.at); got != tt.want {
			t.Errorf("TextAt(%v) = %+v, want %+v", tt.at, got, tt.want)
		}
	}
}

func TestRenderASS(t *testing.T) {
	tl := &Timeline{
		Wall:     []WallRun{{From: 0, To: time.Minute, Base: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}},
		Weights:  []Reading{{0, 2351, true}, {30 * time.Second, 1846, true}},
		Marks:    []Mark{{At: 31 * time.Second, Label: `torn {\b1} sleeve`}},
		Steps:    []Mark{{At: 38 * time.Second, Label: "−1118.4 g Sneakers"}, {At: 10 * time.Second, Label: "−45 g"}},
		OrderRef: "12345", Tracking: "LX123456785CN", SessionID: "000001-20261126T101505Z-LX123456785CN", ClockSynced: true,
	}
	ass := string(RenderASS(OverlaySpec{Timeline: tl, Span: Span{30 * time.Second, 40 * time.Second}, Width: 640, Height: 360, FPS: 15, Zone: time.UTC}))
	for _, want := range []string{
		"PlayResY: 360",
		"Dialogue: 0,0:00:00.00,0:00:01.00,Clock,,0,0,0,,2026-11-26 10:15:30 UTC\n",
		"Dialogue: 0,0:00:00.00,0:00:11.00,Weight,,0,0,0,,1846.0 g stable\n",
		"Dialogue: 0,0:00:00.00,0:00:01.00,Elapsed,,0,0,0,,00:30\n",
		"Dialogue: 0,0:00:09.00,0:00:11.00,Elapsed,,0,0,0,,00:39\n",
		"Dialogue: 0,0:00:01.00,0:00:03.00,Mark,,0,0,0,,MARK 1  00:31  torn (/b1) sleeve\n",
		"Dialogue: 0,0:00:08.00,0:00:11.00,Step,,0,0,0,,−1118.4 g Sneakers\n", // 4 s, cut at the part's end
		"order 12345  LX123456785CN",
		"session 000001-20261126T101505Z-LX123456785CN",
	} {
		if !strings.Contains(ass, want) {
			t.Errorf("overlay lacks %q:\n%s", want, ass)
		}
	}
	if strings.Contains(ass, "−45 g") {
		t.Errorf("overlay shows a step of 10 s in a part from 30 s:\n%s", ass)
	}
	// Every style's text is at least 4 % of the frame height.
	for _, l := range strings.Split(ass, "\n") {
		if !strings.HasPrefix(l, "Style: ") {
			continue
		}
		f := strings.Split(l, ",")
		var size float64
		if _, err := fmtSscan(f[2], &size); err != nil || size < 0.04*360 {
			t.Errorf("style %s: font size %s below 4 %% of 360 (%.1f)", f[0], f[2], 0.04*360)
		}
	}
	if MinTextShare < 0.04 || math.IsNaN(MinTextShare) {
		t.Errorf("MinTextShare %v below 4 %%", MinTextShare)
	}
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
