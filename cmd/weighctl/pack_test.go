package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/export/exporttest"
	"weighin/internal/sheet"
)

// TestExportSheetCLI: `weighctl export --preset sheet` with weighd stopped
// binds the stills and the evidence sheet to the bundle through the state
// directory's store, prints their paths, and the bundle still verifies;
// made again, nothing new is bound.
func TestExportSheetCLI(t *testing.T) {
	state := t.TempDir()
	b, err := exporttest.Make(state, exporttest.Spec{Duration: 4 * time.Second, PreRoll: 2 * time.Second, Width: 320, Height: 180, FPS: 10,
		Distinct: 2, OrderRef: "12345", Tracking: "LX123456785CN", Marks: []exporttest.MarkSpec{{At: 3 * time.Second, Label: "opened"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "weighd.yaml")
	if err := os.WriteFile(cfg, []byte("state_dir: "+state+"\nexport:\n  time_zone: UTC\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"export", "--config", cfg, "--preset", "sheet", b.SessionID}, &stdout, &stderr); code != exitOK {
		t.Fatalf("weighctl export --preset sheet = %d, stderr:\n%s", code, stderr.String())
	}
	got := strings.Fields(stdout.String())
	want := []string{sheet.PDFName, sheet.PNGName, "still-mark-01.jpg", "still-weighin.jpg"}
	if len(got) != len(want) {
		t.Fatalf("printed %q, want the paths of %v", got, want)
	}
	for i, w := range want {
		if got[i] != filepath.Join(b.Dir, w) {
			t.Errorf("path %d: %s, want %s", i, got[i], filepath.Join(b.Dir, w))
		}
	}
	rep, err := evidence.VerifyBundle(b.Dir, evidence.VerifyOptions{})
	if err != nil || !rep.OK() || len(rep.Addenda) != 2 {
		t.Fatalf("bundle after the sheet: %v, problems %v, %d addenda (want still and sheet)", err, rep.Problems, len(rep.Addenda))
	}
	stdout.Reset()
	if code := run(ctx, []string{"export", "--config", cfg, "--preset", "sheet", b.SessionID}, &stdout, &stderr); code != exitOK {
		t.Fatalf("again: %d\n%s", code, stderr.String())
	}
	if rep, _ := evidence.VerifyBundle(b.Dir, evidence.VerifyOptions{}); len(rep.Addenda) != 2 {
		t.Errorf("made again: %d addenda, want 2", len(rep.Addenda))
	}
}
