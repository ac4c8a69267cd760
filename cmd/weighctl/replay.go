package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"

	"weighin/internal/config"
	"weighin/internal/trace"
	"weighin/internal/weighing"
)

// runReplay is `weighctl replay --offset COUNTS --scale COUNTS_PER_GRAM
// [--rate 10|80] FILE.csv`: it feeds a load-cell trace through the daemon's
// own weighing pipeline (internal/weighing with config.Default().Scale, zero
// tracking starting from no correction) and prints one JSON object per line
// at each change of state; see the contract in
// shared/design/architecture.md.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := config.Default().Scale
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	offset := fs.Float64("offset", math.NaN(), "raw count of the empty platform (required)")
	scale := fs.Float64("scale", math.NaN(), "counts per gram, non-zero (required)")
	rate := fs.Int("rate", def.Rate, "HX711 output rate of the trace: 10 or 80 SPS")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: weighctl replay --offset COUNTS --scale COUNTS_PER_GRAM [--rate 10|80] FILE.csv")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	switch {
	case fs.NArg() != 1:
		return usageError(stderr, fs, "want exactly one FILE.csv, got %d arguments", fs.NArg())
	case math.IsNaN(*offset) || math.IsInf(*offset, 0):
		return usageError(stderr, fs, "--offset COUNTS is required")
	case math.IsNaN(*scale) || math.IsInf(*scale, 0) || *scale == 0:
		return usageError(stderr, fs, "--scale COUNTS_PER_GRAM is required and must not be 0")
	case *rate != 10 && *rate != 80:
		return usageError(stderr, fs, "--rate must be 10 or 80, got %d", *rate)
	}
	samples, err := trace.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	sc := def
	sc.Rate = *rate
	p, err := weighing.New(weighing.FromConfig(sc, *offset, *scale))
	if err != nil {
		fmt.Fprintln(stderr, "weighctl replay:", err)
		return exitUsage
	}
	w := bufio.NewWriter(stdout)
	var line []byte
	for i, s := range samples {
		if i%4096 == 0 && ctx.Err() != nil {
			w.Flush()
			fmt.Fprintln(stderr, "weighctl replay:", ctx.Err())
			return exitProblem
		}
		r, changed := p.Add(s.T, s.Raw)
		if !changed {
			continue
		}
		line = appendEvent(line[:0], r)
		if _, err := w.Write(line); err != nil {
			fmt.Fprintln(stderr, "weighctl replay:", err)
			return exitProblem
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "weighctl replay:", err)
		return exitProblem
	}
	return exitOK
}

// appendEvent formats one replay line: t_ms and state, and for a steady
// state the grams and spread with 2 decimals.
func appendEvent(b []byte, r weighing.Reading) []byte {
	b = append(b, `{"t_ms":`...)
	b = strconv.AppendInt(b, r.T.Milliseconds(), 10)
	b = append(b, `,"state":"`...)
	b = append(b, r.State.String()...)
	b = append(b, '"')
	if r.Stable {
		b = append(b, `,"grams":`...)
		b = appendFixed2(b, r.Grams)
		b = append(b, `,"spread_g":`...)
		b = appendFixed2(b, r.Spread)
	}
	return append(b, "}\n"...)
}

// appendFixed2 writes v with 2 decimals, never "-0.00".
func appendFixed2(b []byte, v float64) []byte {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0
	}
	return strconv.AppendFloat(b, v, 'f', 2, 64)
}
