package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/pack"
	"weighin/internal/sheet"
)

// runPackPreset is `weighctl export --preset pack|sheet` with weighd
// stopped: the stills, the evidence sheet and (pack) the chat export bound
// to the bundle through the state directory's evidence store, then the zip
// in <state>/packs (or --out).
func runPackPreset(ctx context.Context, c *cli, dir, preset, out string, withOriginal, jsonOut bool, stdout, stderr io.Writer) int {
	cfg := c.cfg
	zone, err := cfg.Export.Location()
	if err != nil {
		return c.fail(exitUsage, "export.time_zone: %v", err)
	}
	tools, err := export.FindTools(cfg.Export.FFmpeg, cfg.Export.FFprobe)
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := evidence.Open(cfg.StateDir, log, evidence.Options{StationID: stationIDOf(cfg)})
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	defer store.Close()
	bar := newProgressBar(stderr)
	res, err := pack.Run(ctx, preset, dir, pack.Options{
		StateDir: cfg.StateDir, OutDir: out, Tools: tools, Add: store, Sign: store, Fonts: sheet.DebianFonts,
		WithOriginal: withOriginal,
		Export:       export.Options{Encoder: cfg.Export.Encoder, X264Preset: cfg.Export.X264Preset, FullCRF: cfg.Export.FullCRF, Zone: zone},
		Progress: func(_ string, pct float64) {
			bar.update(export.Progress{Done: durationPct(pct), Total: durationPct(100)})
		},
	})
	bar.finish()
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "weighctl export: note: %s\n", n)
	}
	if jsonOut {
		writeJSON(stdout, res)
		return exitOK
	}
	if res.Zip != "" {
		fmt.Fprintln(stdout, res.Zip)
		return exitOK
	}
	for _, f := range res.Files {
		fmt.Fprintln(stdout, filepath.Join(dir, f.Name))
	}
	return exitOK
}

// durationPct maps a percent onto the progress bar's time axis.
func durationPct(p float64) time.Duration { return time.Duration(p * float64(time.Second)) }
