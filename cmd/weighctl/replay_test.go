package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"weighin/internal/trace"
	"weighin/internal/weighing"
)

func replay(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"replay"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestReplayContract replays a committed synthetic trace and checks the
// exact lines: the contract's format, and the pipeline's behaviour on two
// parcels in a row.
func TestReplayContract(t *testing.T) {
	code, out, errs := replay(t, "--offset", "8000", "--scale", "420", "../../testdata/traces/two-parcels-10sps.csv")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := `{"t_ms":500,"state":"empty","grams":0.01,"spread_g":0.45}
{"t_ms":3100,"state":"unstable"}
{"t_ms":3800,"state":"stable","grams":700.74,"spread_g":1.00}
{"t_ms":10100,"state":"unstable"}
{"t_ms":10700,"state":"empty","grams":0.00,"spread_g":0.70}
{"t_ms":15100,"state":"unstable"}
{"t_ms":16300,"state":"stable","grams":2100.24,"spread_g":0.97}
{"t_ms":23100,"state":"unstable"}
{"t_ms":23900,"state":"empty","grams":0.00,"spread_g":0.65}
`
	if out != want {
		t.Errorf("replay output\n%s\nwant\n%s", out, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("line %q is not JSON: %v", line, err)
		}
	}
}

// TestReplayRate80 checks --rate 80 on an 80 SPS trace: the parcel is
// weighed within tolerance and the platform ends empty.
func TestReplayRate80(t *testing.T) {
	code, out, errs := replay(t, "--offset", "8000", "--scale", "420", "--rate", "80", "../../testdata/traces/removal-1100g-80sps.csv")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	type line struct {
		TMs   int64    `json:"t_ms"`
		State string   `json:"state"`
		Grams *float64 `json:"grams"`
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		if (v.State == "unstable") != (v.Grams == nil) {
			t.Errorf("%q: grams must be present exactly for stable and empty", l)
		}
		lines = append(lines, v)
	}
	found := false
	for _, l := range lines {
		if l.State == "stable" && *l.Grams > 1099 && *l.Grams < 1101 {
			found = true
		}
	}
	if !found || lines[len(lines)-1].State != "empty" {
		t.Errorf("no stable 1100 g, or not empty at the end:\n%s", out)
	}
}

// TestReplayBundleLog: a bundle's weight.csv (t_ms,raw,grams,stable, CRLF
// here) replays exactly like the raw trace it was written from.
func TestReplayBundleLog(t *testing.T) {
	src := "../../testdata/traces/setdown-1840g-10sps.csv"
	samples, err := trace.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := trace.NewWriter(&b)
	for _, s := range samples {
		if err := w.Write(trace.Record{Sample: s, Grams: float64(s.Raw-8000) / 420, Stable: s.T > 5000}); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	p := filepath.Join(t.TempDir(), "weight.csv")
	if err := os.WriteFile(p, bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, fromTrace, _ := replay(t, "--offset", "8000", "--scale", "420", src)
	code, fromBundle, errs := replay(t, "--offset", "8000", "--scale", "420", p)
	if code != exitOK || fromBundle != fromTrace || !strings.Contains(fromBundle, `"state":"stable","grams":18`) {
		t.Fatalf("exit %d %s\nbundle log:\n%s\ntrace:\n%s", code, errs, fromBundle, fromTrace)
	}
}

// TestReplayReadFaults: nine read faults on a loaded 80 SPS trace add no
// line: one stable weight, no extra unstable.
func TestReplayReadFaults(t *testing.T) {
	src := "../../testdata/traces/spikes-loaded-80sps.csv"
	_, out, _ := replay(t, "--offset", "8000", "--scale", "420", "--rate", "80", src)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d lines, want empty, unstable, stable:\n%s", n, out)
	}
	if got := strings.Count(out, `"state":"stable"`); got != 1 {
		t.Errorf("%d stable lines; the read faults must not add any:\n%s", got, out)
	}
}

func TestReplayNothingUntilDecided(t *testing.T) {
	p := filepath.Join(t.TempDir(), "short.csv")
	os.WriteFile(p, []byte("t_ms,raw\n100,8000\n200,8000\n300,8001\n"), 0o644)
	code, out, errs := replay(t, "--offset", "8000", "--scale", "420", p)
	if code != exitOK || out != "" || errs != "" {
		t.Fatalf("3 samples: exit %d, stdout %q, stderr %q; want 0 and nothing", code, out, errs)
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.csv", "t_ms,raw\n0,8000\n")
	tests := []struct {
		name string
		args []string
		want string // stderr starts with this
	}{
		{"missing header", []string{"--offset", "8000", "--scale", "420", file("nohdr.csv", "0,8000\n100,8000\n")}, filepath.Join(dir, "nohdr.csv") + ":1: missing header"},
		{"missing column", []string{"--offset", "8000", "--scale", "420", file("nocol.csv", "t_ms,grams\n0,1\n")}, filepath.Join(dir, "nocol.csv") + ":1: missing column"},
		{"non-numeric field", []string{"--offset", "8000", "--scale", "420", file("nan.csv", "t_ms,raw\n0,8000\n100,eight\n")}, filepath.Join(dir, "nan.csv") + `:3: bad field: raw "eight"`},
		{"time going backwards", []string{"--offset", "8000", "--scale", "420", file("back.csv", "t_ms,raw\r\n100,1\r\n50,1\r\n")}, filepath.Join(dir, "back.csv") + ":3: time goes backwards"},
		{"no samples", []string{"--offset", "8000", "--scale", "420", file("empty.csv", "t_ms,raw,grams,stable\n")}, filepath.Join(dir, "empty.csv") + ":1: no samples"},
		{"missing file", []string{"--offset", "8000", "--scale", "420", filepath.Join(dir, "nope.csv")}, filepath.Join(dir, "nope.csv") + ": open"},
		{"no --offset", []string{"--scale", "420", good}, "weighctl replay: --offset COUNTS is required"},
		{"zero --scale", []string{"--offset", "8000", "--scale", "0", good}, "weighctl replay: --scale COUNTS_PER_GRAM is required and must not be 0"},
		{"bad --rate", []string{"--offset", "8000", "--scale", "420", "--rate", "40", good}, "weighctl replay: --rate must be 10 or 80, got 40"},
		{"no file", []string{"--offset", "8000", "--scale", "420"}, "weighctl replay: want exactly one FILE.csv, got 0 arguments"},
		{"two files", []string{"--offset", "8000", "--scale", "420", good, good}, "weighctl replay: want exactly one FILE.csv, got 2 arguments"},
		{"unknown flag", []string{"--offset", "8000", "--scale", "420", "--fast", good}, "flag provided but not defined: -fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := replay(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.HasPrefix(errs, tt.want) {
				t.Errorf("stderr %q, want it to start with %q", errs, tt.want)
			}
		})
	}
}

func TestReplayHelp(t *testing.T) {
	code, _, errs := replay(t, "--help")
	if code != exitOK || !strings.Contains(errs, "usage: weighctl replay --offset COUNTS --scale COUNTS_PER_GRAM") {
		t.Fatalf("--help: exit %d, %q", code, errs)
	}
}

func TestAppendFixed2(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0.015, "0.02"}, {-0.001, "0.00"}, {1840.125, "1840.13"}, {-3.5, "-3.50"}} {
		if got := string(appendFixed2(nil, tt.v)); got != tt.want {
			t.Errorf("appendFixed2(%v) = %s, want %s", tt.v, got, tt.want)
		}
	}
	r := weighing.Reading{State: weighing.Unstable}
	if got := string(appendEvent(nil, r)); got != `{"t_ms":0,"state":"unstable"}`+"\n" {
		t.Errorf("unstable line %q", got)
	}
}
