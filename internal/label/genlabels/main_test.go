package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReproducible: the generator reproduces the committed test images and
// labels.json byte for byte.
func TestReproducible(t *testing.T) {
	var keep func(label, variant string) bool
	if raceEnabled {
		// The race detector slows the float-heavy rendering tenfold: check
		// a few images (all of them in the non-race passes).
		keep = func(label, variant string) bool {
			return label == "two-code128" && (variant == "clean" || variant == "covered" || variant == "dimblur")
		}
	}
	files, err := generate(keep)
	if err != nil {
		t.Fatal(err)
	}
	dir := "../../../testdata/labels"
	committed, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if keep == nil && len(committed) != len(files) {
		t.Errorf("testdata/labels has %d files, the generator makes %d", len(committed), len(files))
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v (run: go run ./internal/label/genlabels)", name, err)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s differs from the generator's output (run: go run ./internal/label/genlabels)", name)
		}
	}
}
