package audit

import (
	"bytes"
	"strings"
	"testing"

	"weighin/internal/evidence"
)

// TestDecision is the one rule: integrity problems fail, continuity
// findings fail only with Strict; an off-site origin renames the bundle
// and adds the store's problems.
func TestDecision(t *testing.T) {
	reports := func() []*evidence.Report {
		return []*evidence.Report{
			{Bundle: "/tmp/none/000001-a", State: "sealed", Findings: []string{"gap of 900 ms"}},
			{Bundle: "/tmp/none/000002-b", State: "sealed"},
		}
	}
	tests := []struct {
		name     string
		strict   bool
		origins  map[string]Origin
		ok       bool
		failures []string
		text     string
	}{
		{name: "findings only", ok: true, text: "ok    /tmp/none/000001-a  sealed"},
		{name: "strict", strict: true, failures: []string{"/tmp/none/000001-a: continuity: gap of 900 ms"}, text: "FAIL  /tmp/none/000001-a  sealed"},
		{name: "store problem", origins: map[string]Origin{"/tmp/none/000002-b": {Name: "s3://b/x/000002-b", Problems: []evidence.Problem{{File: "video.mkv", Reason: "store: sha256 differs"}}}},
			failures: []string{"s3://b/x/000002-b/video.mkv: store: sha256 differs"}, text: "FAIL  s3://b/x/000002-b  sealed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Bundles: reports()}
			r.finish(Options{Strict: tt.strict, Origins: tt.origins})
			if r.OK != tt.ok {
				t.Errorf("OK = %v, want %v", r.OK, tt.ok)
			}
			if got := strings.Join(r.Failures(), "\n"); got != strings.Join(tt.failures, "\n") {
				t.Errorf("failures %q, want %q", got, tt.failures)
			}
			var b bytes.Buffer
			r.Write(&b)
			if !strings.Contains(b.String(), tt.text+"\n") || !strings.Contains(b.String(), "key trusted: the key named in the manifests") {
				t.Errorf("text lacks %q:\n%s", tt.text, b.String())
			}
		})
	}
}
