// Package trace reads and writes load-cell traces: CSV files of HX711 raw
// counts with their time, as recorded on the station (`weighctl record`, a
// bundle's weight.csv) or synthesised for tests (package synth), and the
// NAME.truth.json sidecar that states what really happened in a synthetic
// trace.
//
// The CSV contract (shared/design/architecture.md, "Load-cell trace CSV"): a
// header line is required; columns are found by name, `t_ms` (integer
// milliseconds, non-decreasing) and `raw` (signed 24-bit HX711 count); other
// columns are ignored, so a bundle's `t_ms,raw,grams,stable` replays as is.
// CRLF line ends are accepted. A file with no samples is an error. Every
// error names the file and line: `FILE:LINE: reason`.
package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one HX711 conversion.
type Sample struct {
	// T is the time of the conversion, from the start of the trace (the
	// daemon: from power-up of the chip).
	T time.Duration
	// Raw is the signed 24-bit count.
	Raw int32
}

// Limits of a 24-bit two's complement HX711 count.
const (
	RawMax = 1<<23 - 1
	RawMin = -1 << 23
)

// Sentinel errors, matched with errors.Is through a *ParseError.
var (
	ErrNoHeader   = errors.New("missing header")
	ErrNoColumn   = errors.New("missing column")
	ErrDupColumn  = errors.New("column given twice")
	ErrBadField   = errors.New("bad field")
	ErrTimeBack   = errors.New("time goes backwards")
	ErrNoSamples  = errors.New("no samples")
	ErrFieldCount = errors.New("wrong number of fields")
)

// ParseError locates a problem in a trace file. Its message is
// `FILE:LINE: reason`.
type ParseError struct {
	File string
	// Line is 1-based; the header is line 1.
	Line int
	// Err is one of the sentinels above, or an I/O error.
	Err error
	// Detail explains the problem beyond the sentinel.
	Detail string
}

func (e *ParseError) Error() string {
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ReadFile reads a trace CSV file; errors name the path as given.
func ReadFile(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	return Read(path, f)
}

// Read parses a trace CSV from r; name is used in error messages.
func Read(name string, r io.Reader) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	perr := func(err error, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Err: err, Detail: fmt.Sprintf(format, args...)}
	}
	tCol, rawCol, nCols := -1, -1, 0
	for nCols == 0 && sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		nCols = len(fields)
		seen := map[string]bool{}
		for i, f := range fields {
			if f != "" && seen[f] {
				return nil, perr(ErrDupColumn, "header %q names %s twice", text, f)
			}
			seen[f] = true
			switch f {
			case "t_ms":
				tCol = i
			case "raw":
				rawCol = i
			}
		}
		if tCol < 0 && rawCol < 0 {
			if _, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
				return nil, perr(ErrNoHeader, "first line %q is data; want a header naming t_ms and raw", text)
			}
		}
		switch {
		case tCol < 0 && rawCol < 0:
			return nil, perr(ErrNoColumn, "header %q lacks t_ms and raw", text)
		case tCol < 0:
			return nil, perr(ErrNoColumn, "header %q lacks t_ms", text)
		case rawCol < 0:
			return nil, perr(ErrNoColumn, "header %q lacks raw", text)
		}
	}
	if err := sc.Err(); err != nil {
		line++ // the line Scan could not read (too long) is the next one
		return nil, perr(err, "")
	}
	if nCols == 0 {
		line = max(line, 1)
		return nil, perr(ErrNoHeader, "empty file")
	}
	var out []Sample
	var last int64
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != nCols {
			return nil, perr(ErrFieldCount, "%d fields, header has %d", len(fields), nCols)
		}
		ts := strings.TrimSpace(fields[tCol])
		t, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || t < 0 || t > int64(time.Duration(1<<62)/time.Millisecond) {
			return nil, perr(ErrBadField, "t_ms %q is not a non-negative integer of milliseconds", ts)
		}
		rs := strings.TrimSpace(fields[rawCol])
		raw, err := strconv.ParseInt(rs, 10, 32)
		if err != nil || raw < RawMin || raw > RawMax {
			return nil, perr(ErrBadField, "raw %q is not a signed 24-bit integer", rs)
		}
		if len(out) > 0 && t < last {
			return nil, perr(ErrTimeBack, "t_ms %d after %d", t, last)
		}
		last = t
		out = append(out, Sample{T: time.Duration(t) * time.Millisecond, Raw: int32(raw)})
	}
	if err := sc.Err(); err != nil {
		line++ // the line Scan could not read (too long) is the next one
		return nil, perr(err, "")
	}
	if len(out) == 0 {
		return nil, perr(ErrNoSamples, "the file has a header and no data")
	}
	return out, nil
}
