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

// TestExportBoundAndVerified: an export is bound to its bundle in a signed
// addendum; weighctl verify accepts it, and fails on a flipped byte in each
// derived file, on an added file and on a removed one.
func TestExportBoundAndVerified(t *testing.T) {
	state := t.TempDir()
	b, err := exporttest.Make(state, exporttest.Spec{Duration: 3 * time.Second, PreRoll: time.Second, Width: 320, Height: 180, FPS: 10,
		Distinct: 2, Quality: 60, ClockSynced: true, OrderRef: "12345", Tracking: "LX123456785CN"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weighd.yaml")
	if err := os.WriteFile(cfg, []byte("state_dir: "+state+"\nexport:\n  encoder: libx264\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"export", "--config", cfg, b.SessionID}, &stdout, &stderr); code != exitOK {
		t.Fatalf("weighctl export = %d, stderr:\n%s", code, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != filepath.Join(b.Dir, "export-chat.mp4") {
		t.Fatalf("printed %q, want the file in the bundle", got)
	}
	verify := func() (int, string) {
		var o, e bytes.Buffer
		code := run(ctx, []string{"verify", "--config", cfg, b.Dir}, &o, &e)
		return code, o.String() + e.String()
	}
	if code, out := verify(); code != exitOK {
		t.Fatalf("verify of the exported bundle = %d:\n%s", code, out)
	}
	matches, _ := filepath.Glob(filepath.Join(b.Dir, "addendum-*-export.json"))
	if len(matches) != 1 {
		t.Fatalf("export addenda %v, want one", matches)
	}
	derived, _ := filepath.Glob(filepath.Join(b.Dir, "export-chat*"))
	if len(derived) < 2 { // the MP4 and its overlay script
		t.Fatalf("derived files %v", derived)
	}
	for _, p := range derived {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		flipped := append([]byte(nil), data...)
		flipped[len(flipped)/2] ^= 0x01
		if err := os.WriteFile(p, flipped, 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out := verify(); code == exitOK {
			t.Errorf("verify passed with a flipped byte in %s:\n%s", filepath.Base(p), out)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	extra := filepath.Join(b.Dir, "export-chat-extra.mp4")
	if err := os.WriteFile(extra, []byte("not listed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code == exitOK || !strings.Contains(out, "export-chat-extra.mp4") {
		t.Errorf("verify with an added file = %d:\n%s", code, out)
	}
	if err := os.Remove(extra); err != nil {
		t.Fatal(err)
	}
	mp4 := filepath.Join(b.Dir, "export-chat.mp4")
	data, _ := os.ReadFile(mp4)
	if err := os.Remove(mp4); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code == exitOK || !strings.Contains(out, "export-chat.mp4") {
		t.Errorf("verify with the export removed = %d:\n%s", code, out)
	}
	if err := os.WriteFile(mp4, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != exitOK {
		t.Errorf("verify after restoring = %d:\n%s", code, out)
	}
}
