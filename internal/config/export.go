package config

import (
	"path/filepath"
	"time"
	_ "time/tzdata" // export.time_zone is checked (and used) without the system's zoneinfo
)

// Export configures the MP4 exports of sealed bundles (internal/export).
type Export struct {
	// TimeZone is the IANA zone the date and time in the picture are shown
	// in, e.g. "Europe/Berlin". Empty means the station's local zone.
	TimeZone string `yaml:"time_zone"`
	// Encoder is auto (h264_v4l2m2m when a probe encode succeeds, else
	// libx264), h264_v4l2m2m or libx264.
	Encoder string `yaml:"encoder"`
	// X264Preset is libx264's speed preset.
	X264Preset string `yaml:"x264_preset"`
	// FullCRF is libx264's constant quality for the full preset (0–51,
	// lower is better).
	FullCRF int `yaml:"full_crf"`
	// FFmpeg and FFprobe are the programs; empty means found on PATH.
	FFmpeg  string `yaml:"ffmpeg"`
	FFprobe string `yaml:"ffprobe"`
	// AutoPack makes the dispute pack (internal/pack: stills, evidence
	// sheet, chat export, zip) after the seal of every session with a
	// claim (tier ≥ 1 or an issue type set).
	AutoPack bool `yaml:"auto_pack"`
	// PackWithOriginal puts the original video into the packs weighd makes.
	PackWithOriginal bool `yaml:"pack_with_original"`
}

func defaultExport() Export {
	return Export{TimeZone: "", Encoder: "auto", X264Preset: "veryfast", FullCRF: 23, AutoPack: true}
}

// Location is the time zone of TimeZone (time.Local when empty).
func (e Export) Location() (*time.Location, error) {
	if e.TimeZone == "" {
		return time.Local, nil
	}
	return time.LoadLocation(e.TimeZone)
}

func (e Export) validate(p *problems) {
	if _, err := e.Location(); err != nil {
		p.add("export.time_zone", "unknown time zone %q (an IANA name such as Europe/Berlin, or empty for the local zone)", e.TimeZone)
	}
	switch e.Encoder {
	case "auto", "h264_v4l2m2m", "libx264":
	default:
		p.add("export.encoder", "must be auto, h264_v4l2m2m or libx264, got %q", e.Encoder)
	}
	switch e.X264Preset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow":
	default:
		p.add("export.x264_preset", "must be one of libx264's presets (ultrafast … veryslow), got %q", e.X264Preset)
	}
	intBetween(p, "export.full_crf", e.FullCRF, 0, 51)
	for _, x := range []struct{ key, v string }{{"export.ffmpeg", e.FFmpeg}, {"export.ffprobe", e.FFprobe}} {
		if x.v != "" && !filepath.IsAbs(x.v) {
			p.add(x.key, "must be an absolute path or empty (found on PATH), got %q", x.v)
		}
	}
}
