package trace

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   string
		want []Sample
	}{
		{"minimal", "t_ms,raw\n0,8000\n100,8010\n", []Sample{{0, 8000}, {100 * ms, 8010}}},
		{"bundle weight.csv", "t_ms,raw,grams,stable\n0,8000,0.00,1\n100,428000,1000.00,0\n", []Sample{{0, 8000}, {100 * ms, 428000}}},
		{"columns by name, any order", "grams_true,raw,t_ms\n1.5,-12,7\n", []Sample{{7 * ms, -12}}},
		{"CRLF", "t_ms,raw\r\n0,1\r\n5,2\r\n", []Sample{{0, 1}, {5 * ms, 2}}},
		{"BOM and blank lines", "\ufefft_ms,raw\n\n0,1\n\n", []Sample{{0, 1}}},
		{"equal times", "t_ms,raw\n10,1\n10,2\n", []Sample{{10 * ms, 1}, {10 * ms, 2}}},
		{"24-bit limits", "t_ms,raw\n0,8388607\n1,-8388608\n", []Sample{{0, RawMax}, {ms, RawMin}}},
		{"spaces around fields", "t_ms, raw\n 0 , 5 \n", []Sample{{0, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read("x.csv", strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Read(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Read(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		msg  string // the whole message
	}{
		{"empty file", "", ErrNoHeader, "f.csv:1: missing header: empty file"},
		{"missing header", "0,8000\n100,8001\n", ErrNoHeader, `f.csv:1: missing header: first line "0,8000" is data; want a header naming t_ms and raw`},
		{"missing raw column", "t_ms,grams\n0,1\n", ErrNoColumn, `f.csv:1: missing column: header "t_ms,grams" lacks raw`},
		{"missing t_ms column", "time,raw\n0,1\n", ErrNoColumn, `f.csv:1: missing column: header "time,raw" lacks t_ms`},
		{"non-numeric raw", "t_ms,raw\n0,1\n100,abc\n", ErrBadField, `f.csv:3: bad field: raw "abc" is not a signed 24-bit integer`},
		{"non-numeric time", "t_ms,raw\n0.5,1\n", ErrBadField, `f.csv:2: bad field: t_ms "0.5" is not a non-negative integer of milliseconds`},
		{"raw beyond 24 bits", "t_ms,raw\n0,8388608\n", ErrBadField, `f.csv:2: bad field: raw "8388608" is not a signed 24-bit integer`},
		{"negative time", "t_ms,raw\n-1,1\n", ErrBadField, `f.csv:2: bad field: t_ms "-1" is not a non-negative integer of milliseconds`},
		{"time going backwards", "t_ms,raw\n0,1\n200,1\n\n100,1\n", ErrTimeBack, "f.csv:5: time goes backwards: t_ms 100 after 200"},
		{"no samples", "t_ms,raw,grams,stable\n", ErrNoSamples, "f.csv:1: no samples: the file has a header and no data"},
		{"no samples, CRLF blank lines", "t_ms,raw\r\n\r\n", ErrNoSamples, "f.csv:2: no samples: the file has a header and no data"},
		{"short line", "t_ms,raw,grams\n0,1\n", ErrFieldCount, "f.csv:2: wrong number of fields: 2 fields, header has 3"},
		// Issue 13: a column given twice is refused; a line too long is
		// reported on its own line, not the one before.
		{"t_ms twice", "t_ms,raw,t_ms\n0,1,5\n", ErrDupColumn, `f.csv:1: column given twice: header "t_ms,raw,t_ms" names t_ms twice`},
		{"raw twice", "t_ms,raw, raw\n0,1,2\n", ErrDupColumn, `f.csv:1: column given twice: header "t_ms,raw, raw" names raw twice`},
		{"other column twice", "t_ms,raw,grams,grams\n0,1,2,3\n", ErrDupColumn, `f.csv:1: column given twice: header "t_ms,raw,grams,grams" names grams twice`},
		{"line 3 too long", "t_ms,raw\n0,1\n" + strings.Repeat("9", 2<<20) + "\n", bufio.ErrTooLong, "f.csv:3: bufio.Scanner: token too long"},
		{"header too long", strings.Repeat("x", 2<<20), bufio.ErrTooLong, "f.csv:1: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read("f.csv", strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if err.Error() != tt.msg {
				t.Errorf("Read(%q) message\n got %q\nwant %q", tt.in, err.Error(), tt.msg)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.csv"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.csv: ") {
		t.Fatalf("ReadFile(missing) = %v, want a not-exist error naming the file", err)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	recs := []Record{
		{Sample: Sample{T: 0, Raw: 8000}, Grams: 0, Stable: true},
		{Sample: Sample{T: 100 * time.Millisecond, Raw: 780843}, Grams: 1840.1234, Stable: false},
		{Sample: Sample{T: 200 * time.Millisecond, Raw: RawMin}, Grams: -0.004, Stable: true},
	}
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "t_ms,raw,grams,stable\n0,8000,0.00,1\n100,780843,1840.12,0\n200,-8388608,-0.00,1\n"
	if b.String() != want {
		t.Fatalf("written\n%s\nwant\n%s", b.String(), want)
	}
	got, err := Read("w.csv", &b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if got[i] != r.Sample {
			t.Errorf("sample %d: got %v, want %v", i, got[i], r.Sample)
		}
	}
}

func TestWriterRejects(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	if err := w.Write(Record{Sample: Sample{Raw: RawMax + 1}}); err == nil {
		t.Error("Write accepted a raw count beyond 24 bits")
	}
	if err := w.Write(Record{Sample: Sample{T: -time.Millisecond}}); err == nil {
		t.Error("Write accepted a negative time")
	}
}

func TestWriterEmptyIsHeaderOnly(t *testing.T) {
	var b bytes.Buffer
	if err := NewWriter(&b).Flush(); err != nil {
		t.Fatal(err)
	}
	if b.String() != Header+"\n" {
		t.Fatalf("empty log = %q, want the header", b.String())
	}
	if _, err := Read("e.csv", &b); !errors.Is(err, ErrNoSamples) {
		t.Fatalf("reading an empty log: %v, want ErrNoSamples", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterSurfacesErrors(t *testing.T) {
	w := NewWriter(failWriter{})
	if err := w.Write(Record{}); err != nil {
		t.Fatal(err) // buffered
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
}

func TestTruth(t *testing.T) {
	dir := t.TempDir()
	good := Truth{Name: "x", RateSPS: 10, Offset: 8000, CountsPerGram: 420,
		Placements: []Placement{{MassG: 100, ToleranceG: 1, SetDownMs: 1000, EnteredMs: 1500, RemovedMs: 3000, EmptyMs: 3400}}}
	b, err := MarshalTruth(good)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "x.truth.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(good, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	bad := good
	bad.Placements = []Placement{{MassG: 1, SetDownMs: 2000, EnteredMs: 1000}}
	b, _ = MarshalTruth(bad)
	os.WriteFile(p, b, 0o644)
	if _, err := ReadTruth(p); !errors.Is(err, ErrBadTruth) {
		t.Errorf("ReadTruth(out of order) = %v, want ErrBadTruth", err)
	}
}

func TestTolerance(t *testing.T) {
	for _, tt := range []struct{ m, want float64 }{{0, 1}, {50, 1}, {2000, 1}, {2100, 1.05}, {4900, 2.45}, {-4900, 2.45}} {
		if got := Tolerance(tt.m); got != tt.want {
			t.Errorf("Tolerance(%v) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

var errLine = regexp.MustCompile(`^fuzz\.csv:[1-9][0-9]*: `)

func FuzzRead(f *testing.F) {
	f.Add("t_ms,raw\n0,8000\n100,8010\n")
	f.Add("t_ms,raw,grams,stable\r\n0,8000,0.00,1\r\n")
	f.Add("0,8000\n")
	f.Add("t_ms,raw\n100,1\n0,1\n")
	f.Add("raw,t_ms\n1,x\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Read("fuzz.csv", strings.NewReader(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errLine.MatchString(err.Error()) {
				t.Fatalf("error %q is not FILE:LINE: reason", err)
			}
			if got != nil {
				t.Fatalf("samples returned with an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no samples and no error")
		}
		for i, s := range got {
			if s.Raw < RawMin || s.Raw > RawMax || s.T < 0 {
				t.Fatalf("sample %d out of range: %+v", i, s)
			}
			if i > 0 && s.T < got[i-1].T {
				t.Fatalf("time goes backwards at %d", i)
			}
		}
		// What was read writes back and reads the same.
		var b bytes.Buffer
		w := NewWriter(&b)
		for _, s := range got {
			if err := w.Write(Record{Sample: s}); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		again, err := Read("again.csv", &b)
		if err != nil || !cmp.Equal(again, got) {
			t.Fatalf("round trip: %v, %v", err, cmp.Diff(got, again))
		}
	})
}

// TestStepWriter: weight.csv's step column is empty but on a marked
// sample, and the log still reads as a trace.
func TestStepWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewStepWriter(&b)
	for _, r := range []Record{
		{Sample: Sample{T: 0, Raw: 780843}, Grams: 1840.12, Stable: true},
		{Sample: Sample{T: 100 * time.Millisecond, Raw: 310443}, Grams: 720.04, Stable: true, HasStep: true, StepG: -1120.04},
	} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "t_ms,raw,grams,stable,step\n0,780843,1840.12,1,\n100,310443,720.04,1,-1120.0\n"
	if b.String() != want {
		t.Fatalf("written\n%s\nwant\n%s", b.String(), want)
	}
	got, err := Read("w.csv", &b)
	if err != nil || len(got) != 2 || got[1].Raw != 310443 {
		t.Fatalf("read back %v, %v", got, err)
	}
}
