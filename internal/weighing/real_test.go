package weighing_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"weighin/internal/weighing"
	"weighin/internal/weighing/scoring"
)

// realDir is ../shared/real-traces from the project's root: the recordings
// are read there and never copied into the repository. CI has ../shared
// beside the clone; without it this test fails, it does not skip.
const realDir = "../../" + scoring.RealDir

// realWorst10 is the target for the worst delay at 10 SPS.
const realWorst10 = 2 * time.Second

// realShortfalls: plateaus whose delay misses realWorst10, asserted at their
// measured bound (docs/perf-weighing.md). None today.
var realShortfalls = map[string]time.Duration{}

// TestRealRecordings scores the daemon's pipeline on the twelve real HX711
// recordings by their README's rules and asserts the targets: every
// plateau found, no stable report off every plateau inside an event, and
// at 10 SPS a delay (from the first moment the last 0.5 s of samples all
// lie within the plateau's tolerance) of at most 0.5 s median, 2.0 s worst.
func TestRealRecordings(t *testing.T) {
	cases, err := scoring.LoadReal(realDir)
	if err != nil {
		t.Fatalf("the real recordings must be at %s (../shared/real-traces beside the clone): %v", realDir, err)
	}
	if len(cases) != 12 {
		t.Fatalf("%d recordings in %s, want 12", len(cases), realDir)
	}
	var scores []scoring.RealScore
	for _, c := range cases {
		p, err := scoring.RealPipeline(c)
		if err != nil {
			t.Fatal(err)
		}
		rs := scoring.ScoreReal(c, p)
		scores = append(scores, rs)
		for _, v := range rs.Violations {
			t.Errorf("stable report inside an event: %v", v)
		}
		for _, pl := range rs.Plateaus {
			if !pl.Found {
				t.Errorf("%s #%d: no stable report within %.2f g of the %.2f g plateau", pl.Trace, pl.Index, pl.TolG, pl.LevelG)
			}
		}
	}
	all := scoring.SummarizeReal(scores, 0)
	s10 := scoring.SummarizeReal(scores, 10)
	t.Logf("real recordings: %d of %d plateaus found (%d by net grams); 10 SPS delay median %v, worst %v (%s); %d stable reports inside events",
		all.Found, all.Plateaus, all.FoundNet, s10.MedianDelay, s10.WorstDelay, s10.WorstDelayAt, all.Violations)
	if all.Plateaus != 28 {
		t.Errorf("%d plateaus in the recordings, want 28", all.Plateaus)
	}
	if s10.MedianDelay > 500*time.Millisecond {
		t.Errorf("10 SPS delay median %v; want at most 500ms", s10.MedianDelay)
	}
	for _, rs := range scores {
		for _, pl := range rs.Plateaus {
			key := fmt.Sprintf("%s#%d", pl.Trace, pl.Index)
			bound := realWorst10
			if b, ok := realShortfalls[key]; ok {
				t.Logf("%s: delay %v misses the %v target (known shortfall, bound %v)", key, pl.Delay, realWorst10, b)
				bound = b
			}
			if rs.Rate == 10 && pl.Delay > bound {
				t.Errorf("%s: delay %v; want at most %v", key, pl.Delay, bound)
			}
		}
	}
}

// TestChipGarbageNeverStable: the Raspberry Pi's corrupted reads (repeated
// −5050 g, ±330,000 g, re-reads 1 ms apart) never become a stable weight,
// and neither does the drift log's single +51 kg glitch.
func TestChipGarbageNeverStable(t *testing.T) {
	cases, err := scoring.LoadReal(realDir)
	if err != nil {
		t.Fatalf("the real recordings must be at %s: %v", realDir, err)
	}
	n := 0
	for _, c := range cases {
		if c.Truth.Name != "real-pi-10sps-corrupted-reads" && c.Truth.Name != "real-pi-10sps-drift-38min" {
			continue
		}
		n++
		p, err := scoring.RealPipeline(c)
		if err != nil {
			t.Fatal(err)
		}
		corruptFrom := time.Duration(math.MaxInt64)
		for _, e := range c.Truth.Events {
			if e.Kind == "corrupted" {
				corruptFrom = time.Duration(e.T0 * float64(time.Second))
			}
		}
		for _, s := range c.Samples {
			r, changed := p.Add(s.T, s.Raw)
			if r.Stable && math.Abs(r.Grams+r.Zero) > 200 {
				t.Fatalf("%s: t=%v %s %.1f g: chip garbage became a steady weight", c.Truth.Name, s.T, r.State, r.Grams)
			}
			if changed && r.Stable && s.T >= corruptFrom {
				t.Fatalf("%s: t=%v %s %.1f g reported while the reads are corrupted", c.Truth.Name, s.T, r.State, r.Grams)
			}
		}
		if r := p.Reading(); corruptFrom < time.Duration(math.MaxInt64) && r.State != weighing.Unstable {
			t.Errorf("%s: ends %s; want unstable while the reads are garbage", c.Truth.Name, r.State)
		}
	}
	if n != 2 {
		t.Fatalf("found %d of the two Raspberry Pi recordings", n)
	}
}
