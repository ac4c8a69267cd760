package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/config"
)

func TestDemoConfig(t *testing.T) {
	dir := "/tmp/weighin-demo-123"
	cfg, err := config.Parse("demo.yaml", []byte(demoConfig(dir, 41883)))
	if err != nil {
		t.Fatalf("the demo's configuration is invalid: %v", err)
	}
	if cfg.StateDir != dir+"/state" || cfg.API.Socket != dir+"/weighd.sock" || cfg.MQTT.EmbeddedListen != "127.0.0.1:41883" ||
		cfg.MQTT.Broker != "" || cfg.Scale.Rate != 80 || cfg.StationID != "demo" {
		t.Errorf("demo configuration = %+v", cfg)
	}
	// Everything else is the shipped default.
	def := config.Default()
	if cfg.Verdict != def.Verdict || cfg.Scale.SCKPin != def.Scale.SCKPin || cfg.Session != def.Session {
		t.Errorf("the demo changes more than its own keys: verdict %+v, session %+v", cfg.Verdict, cfg.Session)
	}
}

func TestSummarizeMessages(t *testing.T) {
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{1}, 100)...)
	msgs := []message{
		{topic: "weighin/s/state", payload: []byte(`{"weight_g":0}`)},
		{topic: "weighin/s/availability", payload: []byte("online")},
		{topic: "weighin/s/state", payload: []byte(`{"weight_g":1840.2,  "stable":true}`)},
		{topic: "weighin/s/label", payload: jpeg},
		{topic: "weighin/s/results", payload: []byte(strings.Repeat("x", 100))},
		{topic: "weighin/s/raw", payload: []byte{0xC3, 0x28}},
	}
	got := summarizeMessages(msgs, map[string]bool{"weighin/s/state": true, "weighin/s/availability": true, "weighin/s/label": true})
	want := "6 messages on 5 topics (retained: kept by the broker for the next subscriber)\n" +
		"  weighin/s/availability                     1× retained last      6 B  online\n" +
		"  weighin/s/label                            1× retained last    104 B  <JPEG image>\n" +
		"  weighin/s/raw                              1× -        last      2 B  <binary>\n" +
		"  weighin/s/results                          1× -        last    100 B  " + strings.Repeat("x", 60) + "…\n" +
		"  weighin/s/state                            2× retained last     35 B  {\"weight_g\":1840.2, \"stable\":true}\n"
	if got != want {
		t.Errorf("summary\n%s\nwant\n%s", got, want)
	}
}

// TestDemoEndToEnd builds weighd and runs the demo against it: the whole
// product on simulated hardware, as `make demo` does.
func TestDemoEndToEnd(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cmd/weighctl demo test needs the go command to build weighd: %v", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "weighd")
	build := exec.Command(goBin, "build", "-o", bin, "weighin/cmd/weighd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build weighd: %v\n%s", err, out)
	}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", work)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"demo", "--weighd", bin, "--timeout", "90s"}, &out, &errb)
	t.Logf("demo took %.1f s", time.Since(start).Seconds())
	if code != exitOK {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{
		"== verdict\nunderweight by ", "most likely missing: Leather jacket (505 g) (tier 3)",
		"== bundle\n", "/state/sessions/000001-",
		"sealed, verdict underweight", "1 bundle(s): 0 failed integrity",
		"Order Reference: KB-2026-04417 (tracking number LB123456789CN)", "Issue Type: Missing Item",
		"订单号：KB-2026-04417", "问题类型：缺少商品",
		"weighin/demo/result", "weighin/demo/availability", "homeassistant/device/demo/config",
		"weighd stopped (SIGTERM)",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for _, line := range strings.Split(o, "\n") {
		if strings.Contains(line, "weighin/demo/result ") && !strings.Contains(line, "retained") ||
			strings.Contains(line, "weighin/demo/results ") && strings.Contains(line, "retained") {
			t.Errorf("retained flag wrong: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", o)
	}
	left, _ := filepath.Glob(filepath.Join(work, "weighin-demo-*"))
	if len(left) > 0 {
		t.Errorf("the demo left %v behind", left)
	}
}

// TestDemoWeighdFails: a weighd that cannot start ends the demo with exit
// 1, its log shown and the directory kept; a port taken under it is retried.
func TestDemoWeighdFails(t *testing.T) {
	tmp := t.TempDir()
	fake := filepath.Join(tmp, "weighd")
	script := "#!/bin/sh\necho 'level=ERROR msg=\"embedded broker\" err=\"listen tcp: bind: address already in use\"' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", work)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--weighd", fake, "--timeout", "30s"}, &out, &errb)
	if code != exitProblem {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitProblem, out.String(), errb.String())
	}
	if n := strings.Count(out.String(), "was taken: starting weighd again"); n != 2 {
		t.Errorf("%d retries, want 2:\n%s", n, out.String())
	}
	for _, want := range []string{"weighd exited while waiting for the API", "address already in use", "kept "} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(work, "weighin-demo-*", "weighd.log")); len(left) != 1 {
		t.Errorf("the failed run's directory with weighd.log was not kept: %v", left)
	}
}
