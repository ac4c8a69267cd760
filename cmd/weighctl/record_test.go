package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
	"weighin/internal/config"
	"weighin/internal/trace"
)

// newScale opens the HX711 on given pins as openScale does; clk is the
// simulated chip's clock in tests.
func newScale(sck gpio.PinOut, dout gpio.PinIn, sc config.Scale, clk hx711.Clock) (*hx711.Dev, error) {
	o, err := hx711.OptsFor(sc.Gain, sc.Rate, sc.ReadTimeout)
	if err != nil {
		return nil, err
	}
	o.Clock = clk
	return hx711.New(sck, dout, &o)
}

// TestRecordTraceChip records from the real driver over the simulated chip
// (on a virtual clock shared by both, so the timing guard holds under -race)
// and reads the file back with the trace parser the tests and replay use.
func TestRecordTraceChip(t *testing.T) {
	clk := hx711test.NewVirtualClock(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	chip, err := hx711test.New(hx711test.Opts{Clock: clk, Rate: 80, Noise: hx711test.RefNoise(80), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	chip.Load().Set(1000)
	sc := config.Default().Scale
	sc.Rate = 80
	dev, err := newScale(chip.SCK(), chip.DOUT(), sc, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Halt()
	var buf, errb bytes.Buffer
	n, err := recordTrace(context.Background(), dev.Read, nil, clk.Now, 2*time.Second, &buf, &errb)
	if err != nil {
		t.Fatalf("recordTrace: %v (stderr %q)", err, errb.String())
	}
	if !strings.HasPrefix(buf.String(), trace.Header+"\n") {
		t.Fatalf("header: %q", buf.String()[:min(20, buf.Len())])
	}
	samples, err := trace.Read("recorded.csv", &buf)
	if err != nil {
		t.Fatalf("the recorded file does not parse as a trace: %v", err)
	}
	if len(samples) != n || n < 2 {
		t.Fatalf("%d samples parsed, %d recorded", len(samples), n)
	}
	if samples[0].T != 0 || samples[n-1].T < 2*time.Second {
		t.Errorf("times run from %v to %v, want 0 to at least 2s", samples[0].T, samples[n-1].T)
	}
	// 80 SPS: about 160 conversions in 2 s, each 12.5 ms after the last.
	if n < 150 || n > 170 {
		t.Errorf("%d samples in 2 s at 80 SPS, want about 160", n)
	}
	for i := 1; i < n; i++ {
		if d := samples[i].T - samples[i-1].T; d < 10*time.Millisecond || d > 15*time.Millisecond {
			t.Errorf("samples %d and %d are %v apart, want 12.5 ms (80 SPS)", i-1, i, d)
			break
		}
	}
	want := float64(hx711test.RefOffset) + 1000*hx711test.RefCountsPerGram
	for i, s := range samples {
		if i > 0 && s.T < samples[i-1].T {
			t.Fatalf("sample %d: time goes back (%v after %v)", i, s.T, samples[i-1].T)
		}
		if d := float64(s.Raw) - want; d > 20*hx711test.RefCountsPerGram || d < -20*hx711test.RefCountsPerGram {
			t.Errorf("sample %d: raw %d, want about %.0f (1000 g)", i, s.Raw, want)
		}
	}
	t.Logf("%d samples in 2 s (virtual) from the simulated chip at 80 SPS", n)
}

func TestRecordTraceErrors(t *testing.T) {
	var calls int
	failing := func(context.Context) (int32, error) {
		calls++
		return 0, errors.New("hx711: read: timeout")
	}
	var buf, errb bytes.Buffer
	_, err := recordTrace(context.Background(), failing, nil, time.Now, time.Second, &buf, &errb)
	if err == nil || calls != maxConsecutiveReadErrors || !strings.Contains(err.Error(), "5 reads in a row failed") {
		t.Errorf("after %d failing reads: %v", calls, err)
	}
	// Cancelling ends the recording normally and keeps what was read.
	ctx, cancel := context.WithCancel(context.Background())
	reads := 0
	counting := func(ctx context.Context) (int32, error) {
		reads++
		if reads == 3 {
			cancel()
			return 0, ctx.Err()
		}
		return int32(8000 + reads), nil
	}
	buf.Reset()
	n, err := recordTrace(ctx, counting, nil, time.Now, time.Hour, &buf, &errb)
	if err != nil || n != 2 || strings.Count(buf.String(), "\n") != 3 {
		t.Errorf("cancelled recording: n %d, err %v, file %q", n, err, buf.String())
	}
	// Nothing read at all is an error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := recordTrace(ctx2, counting, nil, time.Now, time.Hour, &buf, &errb); err == nil {
		t.Error("a recording without samples returned no error")
	}
}

func TestRecordCommand(t *testing.T) {
	_, sock := startFake(t)
	out := filepath.Join(t.TempDir(), "trace.csv")
	code, _, errs := runCtl(t, "record", "--out", out, "--seconds", "1", "--socket", sock, "--config", noConfig)
	if code != exitProblem || !strings.Contains(errs, "weighd is running") || !strings.Contains(errs, "owns the HX711 pins") {
		t.Errorf("record with weighd running: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("record created the file although weighd owns the pins")
	}
	for _, args := range [][]string{{}, {"--out", out, "--seconds", "0"}, {"--out", out, "extra"}} {
		if code, _, _ := runCtl(t, append([]string{"record", "--config", noConfig}, args...)...); code != exitUsage {
			t.Errorf("record %q: exit %d, want %d", args, code, exitUsage)
		}
	}
}
