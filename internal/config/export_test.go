package config

import (
	"strings"
	"testing"
	"time"
)

func TestExportSection(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"zone", "export:\n  time_zone: Mars/Olympus\n", `w.yaml:2: export.time_zone: unknown time zone "Mars/Olympus" (an IANA name such as Europe/Berlin, or empty for the local zone)`},
		{"encoder", "export:\n  encoder: nvenc\n", `w.yaml:2: export.encoder: must be auto, h264_v4l2m2m or libx264, got "nvenc"`},
		{"preset", "export:\n  x264_preset: quick\n", `w.yaml:2: export.x264_preset: must be one of libx264's presets (ultrafast … veryslow), got "quick"`},
		{"crf", "export:\n  full_crf: 60\n", `w.yaml:2: export.full_crf: must be between 0 and 51, got 60`},
		{"ffmpeg path", "export:\n  ffmpeg: bin/ffmpeg\n", `w.yaml:2: export.ffmpeg: must be an absolute path or empty (found on PATH), got "bin/ffmpeg"`},
		{"unknown key", "export:\n  tz: UTC\n", `w.yaml:2: export.tz: unknown key (known: auto_pack, encoder, ffmpeg, ffprobe, full_crf, pack_with_original, time_zone, x264_preset)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.yaml, err, tt.want)
			}
		})
	}
	c, err := Parse("w.yaml", []byte("export:\n  time_zone: Europe/Berlin\n"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := c.Export.Location()
	if err != nil || loc.String() != "Europe/Berlin" {
		t.Fatalf("Location() = %v, %v; want Europe/Berlin", loc, err)
	}
	if got := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).In(loc).Format("15:04 MST"); got != "11:00 CET" {
		t.Errorf("10:00 UTC in Europe/Berlin = %s, want 11:00 CET", got)
	}
}
