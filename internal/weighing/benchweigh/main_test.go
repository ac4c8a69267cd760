package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRun runs the bench over the committed traces: a row per rate and
// contender, and the pipeline without wrong stable weights.
func TestRun(t *testing.T) {
	var b bytes.Buffer
	if err := run(&b, "../../../testdata/traces", true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"reference set: 28 traces", "lat med", "10    pipeline", "10    baseline", "80    pipeline", "80    baseline"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pipeline wrong:") {
		t.Errorf("the pipeline showed a wrong stable weight:\n%s", out)
	}
	if err := run(&b, t.TempDir(), false); err == nil {
		t.Error("an empty directory is not an error")
	}
}
