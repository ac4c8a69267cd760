package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/export"
	"weighin/internal/export/exporttest"
)

func TestExportCLI(t *testing.T) {
	state := t.TempDir()
	b, err := exporttest.Make(state, exporttest.Spec{Duration: 4 * time.Second, PreRoll: 2 * time.Second, Width: 640, Height: 360, FPS: 15,
		Distinct: 2, Quality: 60, ClockSynced: true, OrderRef: "12345", Tracking: "LX123456785CN"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weighd.yaml")
	if err := os.WriteFile(cfg, []byte("state_dir: "+state+"\nexport:\n  time_zone: Europe/Berlin\n  encoder: libx264\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"export", "--config", cfg, "--out", out, "--json", b.SessionID}, &stdout, &stderr); code != exitOK {
		t.Fatalf("weighctl export = %d, stderr:\n%s", code, stderr.String())
	}
	var doc struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
		Record export.Record `json:"record"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	want := filepath.Join(out, b.SessionID+"-export-chat.mp4")
	if len(doc.Files) != 1 || doc.Files[0].Path != want {
		t.Fatalf("files %+v, want %s", doc.Files, want)
	}
	if st, err := os.Stat(want); err != nil || st.Size() == 0 {
		t.Errorf("copied export: %v", err)
	}
	if doc.Record.Overlay.TimeZone != "Europe/Berlin" || doc.Record.Encoder != export.EncoderX264 {
		t.Errorf("record overlay %+v encoder %s: the export section was not applied", doc.Record.Overlay, doc.Record.Encoder)
	}
	// The paths, one per line, without --json; the finished parts are taken
	// again from the work directory, where they wait to be bound.
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, []string{"export", "--config", cfg, b.Dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("weighctl export BUNDLE = %d, stderr:\n%s", code, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); !strings.HasSuffix(got, "/export-chat.mp4") || strings.Contains(got, "\n") {
		t.Errorf("printed %q, want one path", got)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "--config", cfg, "--preset", "huge", b.SessionID}, exitUsage, `unknown preset "huge"`},
		{[]string{"export", "--config", cfg, "999"}, exitUsage, `no session "999"`},
		{[]string{"export", "--config", cfg}, exitUsage, "want exactly one SESSION"},
	} {
		stderr.Reset()
		if code := run(ctx, tt.args, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v = %d, %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	stderr.Reset()
	if code := run(ctx, []string{"export", "--config", cfg, b.SessionID}, &stdout, &stderr); code != exitProblem || !strings.Contains(stderr.String(), "install the Debian package ffmpeg") {
		t.Errorf("without ffmpeg: %d, %q; want 1 and the package named", code, stderr.String())
	}
}

func TestProgressLine(t *testing.T) {
	p := export.Progress{Part: 1, Parts: 2, Done: 30 * time.Second, Total: 2 * time.Minute, Speed: 1.5}
	if got, want := progressLine(p, 10), "[##--------]  25.0 %  part 1/2  1.50x  ETA 1:00"; got != want {
		t.Errorf("progressLine = %q, want %q", got, want)
	}
}
