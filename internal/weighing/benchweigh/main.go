// Command benchweigh compares the daemon's weighing pipeline with a naive
// moving-average scale, in trace time: on the real HX711 recordings in
// ../shared/real-traces (plateaus found, delay from the moment the data
// allows it, stable reports inside events), and on the synthetic sets —
// the reference model (testdata/traces), the second physical model
// (testdata/traces-b), the σ 3 g cell (testdata/traces-noisy) and random
// hold-out scenarios: the delay from the moment the true load settled
// (entered the tolerance band) to the first correct stable weight, the
// error of the stable weights, and the wrong stable weights shown.
//
//	go run ./internal/weighing/benchweigh -traces testdata/traces [-v]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"weighin/internal/trace/synth"
	"weighin/internal/weighing/scoring"
)

func main() {
	dir := flag.String("traces", "testdata/traces", "directory of NAME.csv + NAME.truth.json")
	verbose := flag.Bool("v", false, "print every placement and violation")
	holdout := flag.Int("holdout", 200, "also score this many random hold-out scenarios (synth.Random, seed 1)")
	holdoutB := flag.Int("holdout-b", 100, "also score this many random model-B scenarios (synth.RandomB, seed 1)")
	real := flag.String("real", scoring.RealDir, "directory of the real recordings (read there, never copied); empty: skip")
	dirB := flag.String("traces-b", "testdata/traces-b", "model B's trace set (the hold-out model)")
	dirN := flag.String("traces-noisy", "testdata/traces-noisy", "the sigma 3 g cell's trace set")
	flag.Parse()
	if *real != "" {
		if err := reportReal(os.Stdout, *real, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "benchweigh:", err)
			os.Exit(1)
		}
		fmt.Println()
	}
	if err := run(os.Stdout, *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "benchweigh:", err)
		os.Exit(1)
	}
	for _, set := range []struct {
		dir, title string
		floor      float64
	}{
		{*dirB, "model B (second physical model, hold-out)", 0},
		{*dirN, "noisy cell (sigma 3 g at 10 SPS on model B's platform; tolerance max(2 g, 0.05 %))", 2},
	} {
		cases, err := scoring.LoadDir(set.dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchweigh:", err)
			os.Exit(1)
		}
		fmt.Println()
		if err := report(os.Stdout, fmt.Sprintf("%s: %d traces in %s", set.title, len(cases), set.dir), scoring.WithTolFloor(cases, set.floor), *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "benchweigh:", err)
			os.Exit(1)
		}
	}
	if *holdout > 0 {
		fmt.Println()
		if err := report(os.Stdout, fmt.Sprintf("hold-out: %d random scenarios (synth.Random seed 1), not used for tuning", *holdout),
			scoring.Generated(synth.Random(1, *holdout)), *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "benchweigh:", err)
			os.Exit(1)
		}
	}
	if *holdoutB > 0 {
		fmt.Println()
		if err := report(os.Stdout, fmt.Sprintf("model-B hold-out: %d random model-B scenarios (synth.RandomB seed 1), not used for tuning", *holdoutB),
			scoring.GeneratedB(synth.RandomB(1, *holdoutB)), *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "benchweigh:", err)
			os.Exit(1)
		}
	}
}

func run(w io.Writer, dir string, verbose bool) error {
	cases, err := scoring.LoadDir(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "weighing, in trace time: lat = settled (truth entered the band) -> first correct stable report; trust = settled -> correct\n")
	fmt.Fprintf(w, "and no wrong stable report after it until removal; err = worst |reported - mass| of the stable reports while settled;\n")
	fmt.Fprintf(w, "hold = |weight shown - mass| just before removal (what a press freezes; unst:N = not stable then)\n")
	fmt.Fprintf(w, "pipeline = internal/weighing with config.Default().Scale; baseline = moving average of 10, stable when the last 5 averages agree within 1 g;\n")
	fmt.Fprintf(w, "base-1s = the baseline with its counts scaled to 80 SPS (average of 80, 40 averages agree: the same 1 s / 0.5 s as at 10 SPS)\n\n")
	return report(w, fmt.Sprintf("reference set: %d traces in %s", len(cases), dir), cases, verbose)
}

func report(w io.Writer, title string, cases []scoring.Case, verbose bool) error {
	ours, base, err := scoring.ScoreAll(cases)
	if err != nil {
		return err
	}
	timed, _ := scoring.ScoreWith(cases, func(c scoring.Case) (scoring.Weigher, error) { return scoring.TimedBaseline(c), nil })
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "%-5s %-9s %7s %7s %9s %9s %9s %9s %9s %9s %9s %9s %8s %7s %s\n", "rate", "who", "placed", "missed", "lat med", "lat worst", "trust med", "trust max", "err med", "err worst", "hold med", "hold max", "flicker", "wrong", "wrong stable reports by kind")
	for _, rate := range []int{10, 80} {
		for _, who := range []struct {
			name   string
			scores []scoring.TraceScore
		}{{"pipeline", ours}, {"baseline", base}, {"base-1s", timed}} {
			if who.name == "base-1s" && rate == 10 {
				continue // the same as the baseline at 10 SPS
			}
			s := scoring.Summarize(who.scores, rate)
			trustMax := sec(s.WorstTrust)
			if s.Untrusted > 0 {
				trustMax = fmt.Sprintf("never:%d", s.Untrusted)
			}
			holdMax := fmt.Sprintf("%.2fg", s.WorstHoldErrG)
			if s.HoldUnstable > 0 {
				holdMax = fmt.Sprintf("unst:%d", s.HoldUnstable)
			}
			fmt.Fprintf(w, "%-5s %-9s %7d %7d %9s %9s %9s %9s %8.2fg %8.2fg %8.2fg %9s %8d %7d %s\n",
				fmt.Sprintf("%d", rate), who.name, s.Placements, s.Missed,
				sec(s.MedianLatency), sec(s.WorstLatency), sec(s.MedianTrust), trustMax, s.MedianErrG, s.WorstErrG,
				s.MedianHoldErrG, holdMax, s.Flickers, s.Violations, kinds(s.ByKind))
		}
	}
	so := scoring.Summarize(ours, 0)
	fmt.Fprintf(w, "\npipeline worst latency at %s, worst error at %s (%.2f of its tolerance)\n", so.WorstLatencyAt, so.WorstErrorAt, so.WorstErrOverTol)
	if verbose {
		for i := range ours {
			for _, who := range []struct {
				name string
				ts   scoring.TraceScore
			}{{"pipeline", ours[i]}, {"baseline", base[i]}} {
				for _, p := range who.ts.Placements {
					fmt.Fprintf(w, "%-28s %-9s #%d %7.1fg found=%-5v latency %6s err %.2fg\n", who.ts.Name, who.name, p.Index, p.MassG, p.Found, sec(p.Latency), p.MaxErrG)
				}
				for _, v := range who.ts.Violations {
					fmt.Fprintf(w, "  %s wrong: %s\n", who.name, v)
				}
			}
		}
	}
	return nil
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func kinds(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func reportReal(w io.Writer, dir string, verbose bool) error {
	cases, err := scoring.LoadReal(dir)
	if err != nil {
		return err
	}
	var ours, base []scoring.RealScore
	for _, c := range cases {
		p, err := scoring.RealPipeline(c)
		if err != nil {
			return err
		}
		ours = append(ours, scoring.ScoreReal(c, p))
		base = append(base, scoring.ScoreReal(c, scoring.NewBaseline(c.Truth.Offset, c.Truth.Scale)))
	}
	fmt.Fprintf(w, "real recordings: %d traces in %s\n", len(cases), dir)
	fmt.Fprintf(w, "%-5s %-9s %8s %6s %9s %9s %9s %10s %9s %8s %s\n", "rate", "who", "plateaus", "found", "found net", "delay med", "delay max", "err/tol md", "in-event", "off-lvl", "worst at")
	for _, rate := range []int{10, 80, 0} {
		for _, who := range []struct {
			name   string
			scores []scoring.RealScore
		}{{"pipeline", ours}, {"baseline", base}} {
			s := scoring.SummarizeReal(who.scores, rate)
			r := fmt.Sprint(rate)
			if rate == 0 {
				r = "all"
			}
			fmt.Fprintf(w, "%-5s %-9s %8d %6d %9d %9s %9s %10.2f %9d %8d %s\n", r, who.name, s.Plateaus, s.Found, s.FoundNet, sec(s.MedianDelay), sec(s.WorstDelay), s.MedianErrOverTol, s.Violations, s.StableOffLevel, s.WorstDelayAt)
		}
	}
	if verbose {
		for i := range ours {
			for _, p := range ours[i].Plateaus {
				fmt.Fprintf(w, "%-28s #%d %8.2fg tol %5.2fg found=%-5v ready %7.2fs delay %6s err %.2fg\n", p.Trace, p.Index, p.LevelG, p.TolG, p.Found, p.Ready.Seconds(), sec(p.Delay), p.ErrG)
			}
			for _, v := range ours[i].Violations {
				fmt.Fprintf(w, "  pipeline wrong: %s\n", v)
			}
		}
	}
	return nil
}
