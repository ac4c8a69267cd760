package evidence

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"weighin/internal/result"
)

func TestContinuityFindings(t *testing.T) {
	good := result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 30, MaxGapMS: 40}
	tests := []struct {
		name        string
		c           result.Continuity
		interrupted bool
		want        []string // substrings, one per finding, in order
	}{
		{"clean", good, false, nil},
		{"frames/duration convention", result.Continuity{Frames: 300, DurationS: 10, MeanFPS: 30, MaxGapMS: 40}, false, nil},
		{"interrupted", good, true, []string{"interrupted"}},
		{"no frames", result.Continuity{}, false, []string{"no video frames"}},
		{"gaps", result.Continuity{Frames: 281, DurationS: 10, MeanFPS: 28, MaxGapMS: 850,
			Gaps: []result.Gap{{AtS: 2, File: "video.mkv", GapMS: 300}, {AtS: 7.25, File: "video.mkv", GapMS: 850}}},
			false, []string{"2 gap(s) in the video; longest 850 ms at 7.2 s in video.mkv"}},
		{"drops and duplicates", result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 30, MaxGapMS: 40,
			Dropped: map[string]int64{"queue_full": 3, "corrupt_jpeg": 1}, Duplicated: 2},
			false, []string{"4 frame(s) dropped: corrupt_jpeg 1 queue_full 3", "2 duplicated"}},
		{"fps inconsistent", result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 25, MaxGapMS: 40},
			false, []string{"inconsistent continuity: mean_fps 25.000"}},
		{"gap above max", result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 30, MaxGapMS: 40,
			Gaps: []result.Gap{{AtS: 1, File: "video.mkv", GapMS: 500}}},
			false, []string{"1 gap(s)", "exceeds max_gap_ms"}},
		{"gap outside", result.Continuity{Frames: 301, DurationS: 10, MeanFPS: 30, MaxGapMS: 500,
			Gaps: []result.Gap{{AtS: 60, File: "video.mkv", GapMS: 500}}},
			false, []string{"1 gap(s)", "outside the recording"}},
		{"negative", result.Continuity{Frames: 3, DurationS: -1}, false, []string{"negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ContinuityFindings(result.Result{Continuity: tc.c, Interrupted: tc.interrupted})
			if len(got) != len(tc.want) {
				t.Fatalf("ContinuityFindings(%+v) = %q, want %d findings like %q", tc.c, got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("finding %d = %q, want it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestVerifyReanalysis: with a video analyser, verification compares the
// manifest's continuity with the file's.
func TestVerifyReanalysis(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	res := sampleResult(result.VerdictMatch)
	out := sealOne(t, st, t0, true, res)
	dir := filepath.Join(state, SessionsDir, out.SessionID)
	probe := func(path string) (result.Continuity, error) {
		n, err := ffprobeFrames(t, path)
		return result.Continuity{Frames: n, DurationS: float64(n-1) / 10}, err
	}
	rep, _ := VerifyBundle(dir, VerifyOptions{AnalyzeVideo: probe})
	if !rep.OK() || len(rep.Findings) != 0 || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "30 frames") }) {
		t.Fatalf("matching video: findings %q notes %q", rep.Findings, rep.Notes)
	}
	// A recorder that over-reported its frames is caught.
	res.Continuity = result.Continuity{Frames: 45, DurationS: 4.4, MeanFPS: 10, MaxGapMS: 100}
	out = sealOne(t, st, t0.Add(1e9), true, res)
	rep, _ = VerifyBundle(filepath.Join(state, SessionsDir, out.SessionID), VerifyOptions{AnalyzeVideo: probe})
	if !rep.OK() || !slices.ContainsFunc(rep.Findings, func(f string) bool { return strings.Contains(f, "finds 30 frames, the manifest says 45") }) {
		t.Fatalf("mismatching video: problems %v findings %q", rep.Problems, rep.Findings)
	}
}
