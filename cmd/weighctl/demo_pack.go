package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"weighin/internal/api"
	"weighin/internal/doctor"
	"weighin/internal/pack"
	"weighin/internal/sheet"
)

// demoPack ends the demo with the dispute pack weighd makes after the seal
// of a session with a claim: it waits for it (the export command of preset
// pack answers when it is done), prints the zip's path and the sizes, and
// verifies the unzipped pack. Without ffmpeg weighd's exports are off: the
// demo says how to get it and carries on (it needs only Go).
func (d *demo) demoPack(ctx context.Context, c *api.Client, cfgPath, session string) error {
	w := d.out
	fmt.Fprintf(w, "\n== dispute pack\n")
	var st api.Status
	if err := c.Status(ctx, &st); err != nil {
		return err
	}
	if st.Exports.State == "off" {
		fmt.Fprintf(w, "not made: %s\n(install ffmpeg — apt-get install ffmpeg, or make deps — and run make demo again for the pack)\n", st.Exports.Reason)
		return nil
	}
	var res api.ExportResult
	if err := c.Export(ctx, session, pack.PresetPack, &res); err != nil {
		return fmt.Errorf("dispute pack: %w", err)
	}
	if len(res.Files) != 1 {
		return fmt.Errorf("dispute pack: weighd answered %d files", len(res.Files))
	}
	zipPath := res.Files[0].Path
	fmt.Fprintf(w, "%s (%s)\n", zipPath, doctor.HumanBytes(res.Files[0].Bytes))
	dir := filepath.Join(d.dir, "pack")
	names, err := unzipPack(zipPath, dir)
	if err != nil {
		return err
	}
	var sizes []string
	for _, n := range names {
		if strings.HasSuffix(n, ".mp4") || n == sheet.PNGName || n == sheet.PDFName || pack.IsStill(n) {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil {
				sizes = append(sizes, fmt.Sprintf("%s (%s)", n, doctor.HumanBytes(fi.Size())))
			}
		}
	}
	fmt.Fprintf(w, "%d files, among them %s\n", len(names), strings.Join(sizes, ", "))
	fmt.Fprintf(w, "\n== weighctl verify %s (the unzipped pack)\n", dir)
	if code := runVerify(ctx, []string{"--config", cfgPath, dir}, w, w); code != exitOK {
		return fmt.Errorf("weighctl verify of the unzipped pack exited %d", code)
	}
	return nil
}

// unzipPack extracts a pack's files (all at its root) into dir.
func unzipPack(zipPath, dir string) ([]string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var names []string
	for _, f := range zr.File {
		if f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return nil, fmt.Errorf("%s: %q is not a file at the pack's root", zipPath, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		out, err := os.OpenFile(filepath.Join(dir, f.Name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = io.Copy(out, rc)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		rc.Close()
		if err != nil {
			return nil, err
		}
		names = append(names, f.Name)
	}
	return names, nil
}
