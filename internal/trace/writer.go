package trace

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Record is one line of a recorded weight log: the raw conversion and what
// the weighing pipeline made of it.
type Record struct {
	Sample
	// Grams is the pipeline's net weight for this sample.
	Grams float64
	// Stable is the pipeline's stability flag for this sample.
	Stable bool
	// HasStep marks the sample at which the station confirmed a step in
	// the weight while recording (the live view of internal/steps); StepG
	// is its change from the previous settled level. Written only by a
	// StepWriter.
	HasStep bool
	StepG   float64
}

// Header is the header line Writer writes (without the line end).
const Header = "t_ms,raw,grams,stable"

// StepHeader is the header line of a StepWriter: a bundle's weight.csv.
const StepHeader = Header + ",step"

// Writer writes `t_ms,raw,grams,stable` lines, the format of `weighctl
// record` and of a bundle's weight.csv, which Read accepts as is. It buffers;
// call Flush before closing the underlying file.
type Writer struct {
	w      *bufio.Writer
	header bool
	steps  bool
	buf    []byte
}

// NewStepWriter is NewWriter with a fifth column, `step`: empty, or on a
// record with HasStep its StepG in grams with 1 decimal ("-1118.4").
// Readers that find columns by name (Read, replay) ignore it.
func NewStepWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), steps: true}
}

// NewWriter returns a Writer on w. The header is written with the first
// record (or by Flush, so an empty log is still a valid header-only file).
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Write appends one record. Times are written in whole milliseconds, grams
// with 2 decimals, stable as 0 or 1.
func (w *Writer) Write(r Record) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	if r.Raw < RawMin || r.Raw > RawMax {
		return fmt.Errorf("trace: write: raw %d outside the 24-bit range", r.Raw)
	}
	if r.T < 0 {
		return fmt.Errorf("trace: write: negative time %v", r.T)
	}
	b := w.buf[:0]
	b = strconv.AppendInt(b, r.T.Milliseconds(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Raw), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, r.Grams, 'f', 2, 64)
	if r.Stable {
		b = append(b, ",1"...)
	} else {
		b = append(b, ",0"...)
	}
	if w.steps {
		b = append(b, ',')
		if r.HasStep {
			b = strconv.AppendFloat(b, r.StepG, 'f', 1, 64)
		}
	}
	b = append(b, '\n')
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("trace: write: %w", err)
	}
	return nil
}

func (w *Writer) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	h := Header
	if w.steps {
		h = StepHeader
	}
	if _, err := w.w.WriteString(h + "\n"); err != nil {
		return fmt.Errorf("trace: write header: %w", err)
	}
	return nil
}

// Flush writes buffered lines (and the header, if nothing was written yet).
func (w *Writer) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("trace: flush: %w", err)
	}
	return nil
}
