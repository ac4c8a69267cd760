package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"

	"weighin/internal/trace"
	"weighin/internal/weighing"
)

const replayUsage = `usage: weighctl replay --offset COUNTS --scale COUNTS_PER_GRAM [--rate 10|80] [--config FILE] FILE.csv

Feeds a load-cell trace through the daemon's own weighing pipeline (the
scale section of the configuration, zero tracking starting from no
correction) and prints one JSON object per line at each change of state:
unstable, stable or empty (contract: docs/contracts.md).

Exit status: 0 replayed; 1 interrupted or output failed; 2 usage error or
a bad trace (FILE:LINE: reason).
`

// runReplay is weighctl replay.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("replay", replayUsage, stderr)
	offset := c.Float64("offset", math.NaN(), "raw count of the empty platform (required)")
	scale := c.Float64("scale", math.NaN(), "counts per gram, non-zero (required)")
	rate := c.Int("rate", 0, "HX711 output rate of the trace: 10 or 80 SPS (default: scale.rate of the configuration)")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if *rate == 0 {
		*rate = c.cfg.Scale.Rate
	}
	switch {
	case len(pos) != 1:
		return c.usageError("want exactly one FILE.csv, got %d arguments", len(pos))
	case math.IsNaN(*offset) || math.IsInf(*offset, 0):
		return c.usageError("--offset COUNTS is required")
	case math.IsNaN(*scale) || math.IsInf(*scale, 0) || *scale == 0:
		return c.usageError("--scale COUNTS_PER_GRAM is required and must not be 0")
	case *rate != 10 && *rate != 80:
		return c.usageError("--rate must be 10 or 80, got %d", *rate)
	}
	samples, err := trace.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	sc := c.cfg.Scale
	sc.Rate = *rate
	p, err := weighing.New(weighing.FromConfig(sc, *offset, *scale))
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	w := bufio.NewWriter(stdout)
	var line []byte
	for i, s := range samples {
		if i%4096 == 0 && ctx.Err() != nil {
			w.Flush()
			return c.fail(exitProblem, "%v", ctx.Err())
		}
		r, changed := p.Add(s.T, s.Raw)
		if !changed {
			continue
		}
		line = appendEvent(line[:0], r)
		if _, err := w.Write(line); err != nil {
			return c.fail(exitProblem, "%v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return c.fail(exitProblem, "%v", err)
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
