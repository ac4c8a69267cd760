package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Still writes the frame at video time at as a JPEG at out, at the source's
// size, with the same overlay as the exports (time, weight, order and
// tracking, session, elapsed time, the mark banner). out must be outside
// the bundle; its directory holds two small temporary files meanwhile.
func Still(ctx context.Context, t Tools, src *Source, at time.Duration, zone *time.Location, out string) error {
	if at < 0 || at >= src.Duration {
		return fmt.Errorf("export: still at %v is outside the video (0–%v)", at, src.Duration)
	}
	if zone == nil {
		zone = time.Local
	}
	dir := filepath.Dir(out)
	tmp, err := os.MkdirTemp(dir, ".still-")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(tmp)
	h := src.Height - src.Height%2
	w := outWidth(src.Width, src.Height, h)
	fps := max(src.FPS, 1)
	script := RenderASS(OverlaySpec{Timeline: src.Timeline, Span: Span{Start: at, End: min(at+time.Second, src.Duration)}, Width: w, Height: h, FPS: fps, Zone: zone})
	e := &exporter{src: src}
	err = errors.Join(
		os.WriteFile(filepath.Join(tmp, "still.ass"), script, 0o640),
		os.WriteFile(filepath.Join(tmp, "input.ffconcat"), []byte(e.concatList()), 0o640))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	partial := filepath.Join(tmp, "still.jpg")
	vf := fmt.Sprintf("scale=%d:%d:flags=bicubic,format=yuvj420p,ass=still.ass", w, h)
	args := []string{"-hide_banner", "-nostdin", "-y", "-v", "error", "-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64),
		"-f", "concat", "-safe", "0", "-i", "input.ffconcat", "-frames:v", "1", "-vf", vf, "-q:v", "3", "-f", "image2", partial}
	if err := run(ctx, t.FFmpeg, args, runOpts{dir: tmp, idle: true}); err != nil {
		return err
	}
	if err := syncPath(partial); err != nil {
		return err
	}
	if err := os.Rename(partial, out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
