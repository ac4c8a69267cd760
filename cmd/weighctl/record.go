package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"weighin/drivers/hx711"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/trace"
)

const recordUsage = `usage: weighctl record --out FILE.csv [--seconds N] [--config FILE]

Records a raw load-cell trace from the HX711 on the configured pins
(scale.sck_pin, scale.dout_pin, scale.gain, scale.rate) into a trace CSV with
the columns t_ms,raw: the format weighctl replay and the tests read. Stop
it early with Ctrl-C; what was recorded is kept.

weighd owns the pins while it runs: record refuses when weighd answers on
its socket (systemctl stop weighd first).

Exit status: 0 recorded; 1 the scale failed (pins, timeouts) or weighd is
running; 2 usage error.
`

// maxConsecutiveReadErrors ends a recording whose scale stopped answering.
const maxConsecutiveReadErrors = 5

// runRecord is `weighctl record`.
func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("record", recordUsage, stderr)
	g := addGlobals(fl)
	out := fl.String("out", "", "the trace CSV to write (required)")
	seconds := fl.Float64("seconds", 30, "how long to record")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	switch {
	case len(pos) > 0:
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	case *out == "":
		return usageError(stderr, fl, "--out FILE.csv is required")
	case !(*seconds > 0) || *seconds > 24*3600:
		return usageError(stderr, fl, "--seconds must be greater than 0 and at most 86400, got %v", *seconds)
	}
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl record: %v\n", err)
		return exitUsage
	}
	if weighdRunning(ctx, cfg) {
		fmt.Fprintf(stderr, "weighctl record: weighd is running (it answers on %s) and owns the HX711 pins; stop it first: systemctl stop weighd\n", cfg.API.Socket)
		return exitProblem
	}
	dev, err := openScale(cfg.Scale, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "weighctl record: %v\n", err)
		return exitProblem
	}
	defer dev.Halt()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintf(stderr, "weighctl record: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "recording %s for %g s into %s (Ctrl-C stops early)\n", dev, *seconds, *out)
	n, err := recordTrace(ctx, dev.Read, time.Now, time.Duration(*seconds*float64(time.Second)), f, stderr)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	st := dev.Stats()
	fmt.Fprintf(stdout, "recorded %d samples into %s (%d glitches discarded, %d timeouts, %d resets)\n", n, *out, st.Glitches, st.Timeouts, st.Resets)
	if err != nil {
		fmt.Fprintf(stderr, "weighctl record: %v\n", err)
		return exitProblem
	}
	return exitOK
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
// configured pins. Only cmd/ calls host.Init.
func openScale(sc config.Scale, stderr io.Writer) (*hx711.Dev, error) {
	state, err := host.Init()
	if err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	for _, f := range state.Failed {
		fmt.Fprintf(stderr, "weighctl: periph driver %s failed: %v\n", f.D, f.Err)
	}
	sckPin := gpioreg.ByName(sc.SCKPin)
	if sckPin == nil {
		return nil, fmt.Errorf("scale.sck_pin %q: no such GPIO on this machine (is /dev/gpiochip0 there, and are you in group gpio?)", sc.SCKPin)
	}
	doutPin := gpioreg.ByName(sc.DOUTPin)
	if doutPin == nil {
		return nil, fmt.Errorf("scale.dout_pin %q: no such GPIO on this machine", sc.DOUTPin)
	}
	return newScale(sckPin, doutPin, sc, nil)
}

// newScale opens the HX711 with the configuration's gain, rate and read
// timeout; clk is nil (the system clock) except in tests.
func newScale(sck gpio.PinOut, dout gpio.PinIn, sc config.Scale, clk hx711.Clock) (*hx711.Dev, error) {
	gain, err := hx711.GainFor(sc.Gain)
	if err != nil {
		return nil, err
	}
	return hx711.New(sck, dout, &hx711.Opts{Gain: gain, Rate: sc.Rate, Timeout: sc.ReadTimeout, Clock: clk})
}

// recordTrace reads conversions until limit has passed or ctx ends and
// writes them as t_ms,raw lines (the trace contract's two required
// columns). t_ms counts from the first sample, on now's clock. A cancelled ctx is a normal
// end; maxConsecutiveReadErrors failed reads in a row are an error.
func recordTrace(ctx context.Context, read func(context.Context) (int32, error), now func() time.Time, limit time.Duration, w io.Writer, stderr io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("t_ms,raw\n"); err != nil {
		return 0, err
	}
	var start time.Time
	n, bad := 0, 0
	var line []byte
	for {
		if ctx.Err() != nil {
			break
		}
		raw, err := read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			bad++
			fmt.Fprintf(stderr, "weighctl record: read: %v\n", err)
			if bad >= maxConsecutiveReadErrors {
				bw.Flush()
				return n, fmt.Errorf("%d reads in a row failed, last: %w", bad, err)
			}
			continue
		}
		bad = 0
		at := now()
		if n == 0 {
			start = at
		}
		if raw < trace.RawMin || raw > trace.RawMax {
			return n, fmt.Errorf("raw %d outside the 24-bit range", raw)
		}
		line = strconv.AppendInt(line[:0], at.Sub(start).Milliseconds(), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(raw), 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return n, err
		}
		n++
		if at.Sub(start) >= limit {
			break
		}
	}
	if n == 0 {
		bw.Flush()
		return 0, errors.New("no sample recorded")
	}
	return n, bw.Flush()
}
