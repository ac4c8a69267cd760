package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/pack"
)

const exportUsage = `usage: weighctl export [--preset chat|phone|full|pack|sheet] [--out DIR] [--with-original] [--json] [--config FILE] SESSION

Makes H.264 MP4 copies of a sealed bundle's video with the weight, the date
and time, the order reference, the tracking number, the session id and the
elapsed time burned into the picture (ffmpeg, at idle priority). SESSION is
a session id, its sequence number, a unique prefix or a bundle directory.

Presets: chat (each file at most 15,000,000 bytes, for WhatsApp), phone
(48,000,000 bytes, an iOS notification), full (source size, quality-based),
sheet (stills at the weigh-in and at every mark, and the evidence sheet
evidence-sheet.png + .pdf, each under 10 MB, for payment disputes that take
no video), pack (the dispute pack: the sheet, the stills and the chat
export bound to the bundle, then one zip in <state>/packs — or --out —
with VERIFY.txt and a signed PACKSUMS; the original video only with
--with-original; the path of the zip is printed).
A recording too long for the cap is split into numbered parts. The bundle
is verified first and never modified; a bundle that fails verification is
not exported. An export cut short resumes where it stopped.

The files' paths are printed one per line; with --out they are copied
there as <session>-export-<preset>….mp4.

Exit status: 0 exported; 1 the export failed (bundle not verified, ffmpeg
missing or failing, disk full); 2 usage error or no such session.
`

// exportBinder records a finished export in its bundle as a signed
// addendum of kind "export" through the evidence store of the state
// directory; it returns the binder and a function that releases the store.
var exportBinder = func(cfg config.Config, stderr io.Writer) (export.Binder, func(), error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := evidence.Open(cfg.StateDir, log, evidence.Options{StationID: stationIDOf(cfg)})
	if err != nil {
		return nil, nil, err
	}
	return export.BinderFunc(func(dir string, rec export.Record, files []export.File) error {
		_, err := store.AddAddendum(dir, export.RecordKind, rec, files)
		return err
	}), func() { _ = store.Close() }, nil
}

// runExport is `weighctl export`.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("export", exportUsage, stderr)
	preset := c.String("preset", export.PresetChat, "chat, phone or full")
	out := c.String("out", "", "also copy the MP4s into this directory")
	jsonOut := c.Bool("json", false, "print the files and the export record as JSON")
	withOriginal := c.Bool("with-original", false, "pack: put the original video into the zip (weighd stopped)")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("want exactly one SESSION, got %d arguments", len(pos))
	}
	if _, err := export.PresetCap(*preset); err != nil && !pack.IsPreset(*preset) {
		return c.usageError("%v (or %s, %s)", err, pack.PresetPack, pack.PresetSheet)
	}
	fail := func(code int, err error) int { return c.fail(code, "%v", err) }
	cfg := c.cfg
	b, code := c.bundleOf(pos[0])
	if code != exitOK {
		return code
	}
	dir := b.Dir
	if *out != "" {
		if st, err := os.Stat(*out); err != nil || !st.IsDir() {
			return fail(exitUsage, fmt.Errorf("--out %s is not a directory", *out))
		}
	}
	// While weighd runs, a bundle of its state directory is exported by
	// weighd (its queue pauses for recordings, and its store writes the
	// addendum); weighctl writes directly only when weighd is stopped.
	var st api.Status
	if err := c.client().Status(ctx, &st); err == nil {
		if filepath.Dir(dir) == filepath.Join(st.StateDir, evidence.SessionsDir) {
			if *withOriginal {
				return fail(exitUsage, fmt.Errorf("--with-original needs weighd stopped (or export.pack_with_original in its configuration)"))
			}
			return exportThroughAPI(ctx, c, filepath.Base(dir), *preset, *out, *jsonOut, stdout, stderr)
		}
		if slices.Contains([]string{"starting", "recording", "sealing"}, st.SessionState) {
			return c.fail(exitProblem, "weighd is %s a session; export when it has finished", st.SessionState)
		}
	}
	if pack.IsPreset(*preset) {
		return runPackPreset(ctx, c, dir, *preset, *out, *withOriginal, *jsonOut, stdout, stderr)
	}
	zone, err := cfg.Export.Location()
	if err != nil {
		return fail(exitUsage, fmt.Errorf("export.time_zone: %v", err))
	}
	tools, err := export.FindTools(cfg.Export.FFmpeg, cfg.Export.FFprobe)
	if err != nil {
		return fail(exitProblem, err)
	}
	src, err := export.OpenSource(ctx, tools, dir)
	if err != nil {
		return fail(exitProblem, err)
	}
	// An export already bound to the (just verified) bundle is not made
	// again: a bundle never gets a second file of the same name.
	if done, _ := filepath.Glob(filepath.Join(dir, "export-"+*preset+"*.mp4")); len(done) > 0 && *out == "" && !*jsonOut {
		fmt.Fprintf(stderr, "weighctl export: %s already has its %s export (signed in an addendum)\n", src.SessionID, *preset)
		for _, p := range done {
			fmt.Fprintln(stdout, p)
		}
		return exitOK
	}
	bar := newProgressBar(stderr)
	res, err := export.Export(ctx, tools, src, export.Options{
		Preset: *preset, WorkDir: export.WorkDirFor(cfg.StateDir, src.SessionID, *preset),
		Encoder: cfg.Export.Encoder, X264Preset: cfg.Export.X264Preset, FullCRF: cfg.Export.FullCRF,
		Zone: zone, Progress: bar.update,
	})
	bar.finish()
	if err != nil {
		return fail(exitProblem, err)
	}
	paths := map[string]string{}
	for _, o := range res.Outputs {
		paths[o.Name] = o.Path
	}
	{
		binder, release, err := exportBinder(cfg, stderr)
		if err != nil {
			return fail(exitProblem, err)
		}
		err = export.Finish(binder, src, res)
		release()
		if err != nil {
			return fail(exitProblem, err)
		}
		for name := range paths {
			paths[name] = filepath.Join(src.Dir, name)
		}
	}
	type fileOut struct {
		Path   string `json:"path"`
		Name   string `json:"name"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	var files []fileOut
	for _, v := range res.Videos() {
		p := paths[v.Name]
		if *out != "" {
			dst := filepath.Join(*out, src.SessionID+"-"+v.Name)
			if err := copyFile(p, dst); err != nil {
				return fail(exitProblem, err)
			}
			p = dst
		}
		files = append(files, fileOut{Path: p, Name: v.Name, Bytes: v.Bytes, SHA256: v.SHA256})
	}
	if *jsonOut {
		writeJSON(stdout, struct {
			SessionID string        `json:"session_id"`
			Preset    string        `json:"preset"`
			Files     []fileOut     `json:"files"`
			Record    export.Record `json:"record"`
			Resumed   int           `json:"resumed_parts"`
		}{src.SessionID, *preset, files, res.Record, res.Resumed})
		return exitOK
	}
	if res.Record.Split != "" {
		fmt.Fprintf(stderr, "weighctl export: split: %s\n", res.Record.Split)
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f.Path)
	}
	return exitOK
}

// exportThroughAPI asks weighd for the export and waits for it, drawing
// the progress weighd's status reports.
func exportThroughAPI(ctx context.Context, c *cli, session, preset, out string, jsonOut bool, stdout, stderr io.Writer) int {
	cl := c.client()
	bar := newProgressBar(stderr)
	pctx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			var st api.Status
			if cl.Status(pctx, &st) == nil && st.Exports.Session == session && st.Exports.Preset == preset && st.Exports.State == "running" {
				bar.update(statusProgress(st.Exports))
			}
		}
	}()
	var res api.ExportResult
	err := cl.Export(ctx, session, preset, &res)
	stopPoll()
	<-polled
	bar.finish()
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	for i, f := range res.Files {
		if out == "" {
			continue
		}
		dst := filepath.Join(out, res.SessionID+"-"+f.Name)
		if err := copyFile(f.Path, dst); err != nil {
			return c.fail(exitProblem, "%v", err)
		}
		res.Files[i].Path = dst
	}
	if jsonOut {
		writeJSON(stdout, res)
		return exitOK
	}
	if res.Split != "" {
		fmt.Fprintf(stderr, "weighctl export: split: %s\n", res.Split)
	}
	for _, f := range res.Files {
		fmt.Fprintln(stdout, f.Path)
	}
	return exitOK
}

// statusProgress is weighd's export progress as the bar takes it: a time
// axis whose length gives back weighd's percent and ETA at its speed.
func statusProgress(x api.ExportStatus) export.Progress {
	total := 100.0
	if left := 1 - x.Percent/100; left > 0 && x.Speed > 0 && x.ETAS > 0 {
		total = x.ETAS * x.Speed / left
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return export.Progress{Part: x.Part, Parts: x.Parts, Done: sec(total * x.Percent / 100), Total: sec(total), Speed: x.Speed}
}

// copyFile copies src to a new file dst (never over an existing one),
// fsynced; a failed copy leaves nothing.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, in)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// progressBar draws percent, speed and ETA on a terminal; elsewhere it
// stays silent.
type progressBar struct {
	w    io.Writer
	on   bool
	last time.Time
	used bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	on := false
	if ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		on = err == nil
	}
	return &progressBar{w: w, on: on}
}

func (b *progressBar) update(p export.Progress) {
	if !b.on || time.Since(b.last) < 200*time.Millisecond && p.Done < p.Total {
		return
	}
	b.last, b.used = time.Now(), true
	fmt.Fprint(b.w, "\r"+progressLine(p, 30))
}

func (b *progressBar) finish() {
	if b.used {
		fmt.Fprintln(b.w)
	}
}

// progressLine is "[#####-----]  42.0 %  part 1/2  1.8x  ETA 0:31".
func progressLine(p export.Progress, width int) string {
	pct := p.Percent()
	n := int(pct / 100 * float64(width))
	line := fmt.Sprintf("[%s%s] %5.1f %%", strings.Repeat("#", n), strings.Repeat("-", width-n), pct)
	if p.Parts > 1 {
		line += fmt.Sprintf("  part %d/%d", p.Part, p.Parts)
	}
	if p.Speed > 0 {
		eta := p.ETA().Round(time.Second)
		line += fmt.Sprintf("  %.2fx  ETA %d:%02d", p.Speed, int(eta.Minutes()), int(eta.Seconds())%60)
	}
	return line
}
