package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"periph.io/x/host/v3"

	"weighin/drivers/hx711"
	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/config"
	"weighin/internal/statelock"
	"weighin/internal/trace"
	"weighin/internal/weighing"
)

const recordUsage = `usage: weighctl record --out FILE.csv [--seconds N]

Records the HX711 on the configured pins, opened as weighd opens it, into a
trace CSV (t_ms,raw,grams,stable; grams from the saved calibration, else 0)
that weighctl replay and the tests read. Ctrl-C stops early and keeps what
was recorded. Refuses while weighd runs: it owns the pins.
`

// maxConsecutiveReadErrors ends a recording whose scale stopped answering.
const maxConsecutiveReadErrors = 5

// runRecord is `weighctl record`.
func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("record", recordUsage, stderr)
	out := c.String("out", "", "the trace CSV to write (required)")
	seconds := c.Float64("seconds", 30, "how long to record")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	switch {
	case len(pos) > 0:
		return c.usageError("takes no arguments, got %q", pos[0])
	case *out == "":
		return c.usageError("--out FILE.csv is required")
	case !(*seconds > 0) || *seconds > 24*3600:
		return c.usageError("--seconds must be greater than 0 and at most 86400, got %v", *seconds)
	}
	if weighdRunning(ctx, c.cfg) {
		return c.fail(exitProblem, "weighd is running (it answers on %s) and owns the HX711 pins; stop it first: systemctl stop weighd", c.cfg.API.Socket)
	}
	// The daemon lock: weighd (or another recording) owns the pins while
	// it holds it. Without a state directory no weighd can run on it.
	if _, err := os.Stat(c.cfg.StateDir); err == nil {
		lock, err := statelock.Acquire(c.cfg.StateDir, "weighctl record")
		if err != nil {
			return c.fail(exitProblem, "%v", permissionHint(err))
		}
		defer lock.Release()
	}
	dev, err := openScale(c.cfg.Scale, stderr)
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	defer dev.Halt()
	cal, err := calib.Load(calib.Path(c.cfg.StateDir, c.cfg.Scale.CalibrationFile))
	if err != nil {
		c.fail(exitOK, "%v: the grams and stable columns are 0", err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	fmt.Fprintf(stderr, "recording %s for %g s into %s (Ctrl-C stops early)\n", dev, *seconds, *out)
	n, err := recordTrace(ctx, dev.Read, pipelineOf(c.cfg.Scale, cal), time.Now, time.Duration(*seconds*float64(time.Second)), f, stderr)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	st := dev.Stats()
	fmt.Fprintf(stdout, "recorded %d samples into %s (%d glitches discarded, %d timeouts, %d resets)\n", n, *out, st.Glitches, st.Timeouts, st.Resets)
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	return exitOK
}

// pipelineOf is the daemon's weighing pipeline for the grams and stable
// columns, or nil without a calibration.
func pipelineOf(sc config.Scale, cal calib.Calibration) *weighing.Pipeline {
	if cal.Scale == 0 {
		return nil
	}
	p, err := weighing.New(weighing.FromConfig(sc, cal.Offset, cal.Scale))
	if err != nil {
		return nil
	}
	return p
}

// weighdRunning reports whether weighd answers on its socket.
func weighdRunning(ctx context.Context, cfg config.Config) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var st api.Status
	err := api.NewClient(cfg.API.Socket).Status(ctx, &st)
	return err == nil || !errors.Is(err, api.ErrUnreachable)
}

// openScale initialises periph's host drivers and opens the HX711 on the
// configured pins with hx711.Open, as weighd does. Only cmd/ calls
// host.Init.
func openScale(sc config.Scale, stderr io.Writer) (*hx711.Dev, error) {
	state, err := host.Init()
	if err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	for _, f := range state.Failed {
		fmt.Fprintf(stderr, "weighctl: periph driver %s failed: %v\n", f.D, f.Err)
	}
	o, err := hx711.OptsFor(sc.Gain, sc.Rate, sc.ReadTimeout)
	if err != nil {
		return nil, err
	}
	return hx711.Open(sc.SCKPin, sc.DOUTPin, &o)
}

// recordTrace reads conversions until limit has passed or ctx ends and
// writes them with trace.Writer; p (nil: none) gives the grams and stable
// columns. t_ms counts from the first sample, on now's clock. A cancelled
// ctx is a normal end; maxConsecutiveReadErrors failed reads in a row are
// an error.
func recordTrace(ctx context.Context, read func(context.Context) (int32, error), p *weighing.Pipeline, now func() time.Time, limit time.Duration, w io.Writer, stderr io.Writer) (int, error) {
	tw := trace.NewWriter(w)
	var start time.Time
	n, bad := 0, 0
	for ctx.Err() == nil {
		raw, err := read(ctx)
		if err != nil && !errors.Is(err, hx711.ErrSaturated) {
			if ctx.Err() != nil {
				break
			}
			bad++
			fmt.Fprintf(stderr, "weighctl record: read: %v\n", err)
			if bad >= maxConsecutiveReadErrors {
				tw.Flush()
				return n, fmt.Errorf("%d reads in a row failed, last: %w", bad, err)
			}
			continue
		}
		bad = 0
		at := now()
		if n == 0 {
			start = at
		}
		rec := trace.Record{Sample: trace.Sample{T: at.Sub(start), Raw: raw}}
		if p != nil {
			r, _ := p.Add(rec.T, raw)
			rec.Grams, rec.Stable = r.Grams, r.Stable
		}
		if err := tw.Write(rec); err != nil {
			return n, err
		}
		n++
		if rec.T >= limit {
			break
		}
	}
	if err := tw.Flush(); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, errors.New("no sample recorded")
	}
	return n, nil
}
