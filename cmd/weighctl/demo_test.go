package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/result"
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
	msgs := []publish.Message{
		{Topic: "weighin/s/state", Payload: []byte(`{"weight_g":0}`)},
		{Topic: "weighin/s/availability", Payload: []byte("online")},
		{Topic: "weighin/s/state", Payload: []byte(`{"weight_g":1840.2,  "stable":true}`)},
		{Topic: "weighin/s/label", Payload: jpeg},
		{Topic: "weighin/s/results", Payload: []byte(strings.Repeat("x", 100))},
		{Topic: "weighin/s/raw", Payload: []byte{0xC3, 0x28}},
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

// TestDemoEndToEnd runs the demo against weighd: the whole product on
// simulated hardware, as `make demo` does. The end-to-end assertions are
// here, on what the demo printed and on the bundle it kept.
func TestDemoEndToEnd(t *testing.T) {
	bin, err := buildWeighd()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Setenv("TMPDIR", work)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"demo", "--weighd", bin, "--timeout", "240s", "--keep"}, &out, &errb)
	t.Logf("demo took %.1f s", time.Since(start).Seconds())
	if code != exitOK {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{
		"registered parcel LB123456789CN through the API",
		"== verdict\nunderweight by ", "most likely missing: Leather jacket (505 g) (tier 3)",
		"== bundle\n", "/state/sessions/000001-",
		"sealed, verdict underweight", "1 bundle(s): 0 failed integrity",
		"Order Reference: KB-2026-04417 (tracking number LB123456789CN)", "Issue Type: Missing Item",
		"订单号：KB-2026-04417", "问题类型：缺少商品",
		"weighin/demo/result", "weighin/demo/availability", "homeassistant/device/demo/config",
		"weighd stopped (SIGTERM)",
		"== dispute pack\n", "-pack.zip (", "evidence-sheet.pdf (", "export-chat.mp4 (", "still-weighin.jpg (",
		"(the unzipped pack)", "not included in the pack", "weighin/demo/export", "weighin/demo/still",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	resultSeen := false
	for _, line := range strings.Split(o, "\n") {
		if strings.Contains(line, "weighin/demo/result ") && !strings.Contains(line, "retained") ||
			strings.Contains(line, "weighin/demo/results ") && strings.Contains(line, "retained") {
			t.Errorf("retained flag wrong: %s", line)
		}
		resultSeen = resultSeen || strings.Contains(line, "weighin/demo/result ") && strings.Contains(line, "000001-")
	}
	if !resultSeen {
		t.Error("no result message for the session on weighin/demo/result")
	}
	kept, _ := filepath.Glob(filepath.Join(work, "weighin-demo-*"))
	if len(kept) != 1 {
		t.Fatalf("kept directories %v, want one", kept)
	}
	bundles, err := evidence.ListBundles(filepath.Join(kept[0], "state", evidence.SessionsDir))
	if err != nil || len(bundles) != 1 || !bundles[0].Sealed() {
		t.Fatalf("the demo's bundles: %+v, %v; want one sealed", bundles, err)
	}
	res := bundles[0].Result
	if res.Verdict != result.VerdictUnderweight || res.Tier != 3 || len(res.MissingCandidates) == 0 ||
		strings.Join(res.MissingCandidates[0].Items, ",") != "Leather jacket" {
		t.Errorf("want underweight, tier 3, missing Leather jacket; got %s, tier %d, candidates %v", res.Verdict, res.Tier, res.MissingCandidates)
	}
	if res.Tracking != demoParcel.Tracking || res.LabelG == nil || *res.LabelG != *demoParcel.LabelG {
		t.Errorf("want tracking %s read from the label and label weight %g g from the registry; got %q, %v", demoParcel.Tracking, *demoParcel.LabelG, res.Tracking, res.LabelG)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", o)
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
