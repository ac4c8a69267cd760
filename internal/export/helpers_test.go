package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/export/exporttest"
)

// testTools finds the real ffmpeg and ffprobe; their absence fails the
// test (make deps installs them).
func testTools(t testing.TB) Tools {
	t.Helper()
	tl, err := FindTools("", "")
	if err != nil {
		t.Fatalf("%v (`make deps` installs it)", err)
	}
	return tl
}

func lookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package %s; `make deps` installs it): %v", name, pkg, err)
	}
	return p
}

// dirHashes is the SHA-256 of every file in dir, by name.
func dirHashes(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameHashes(t testing.TB, before, after map[string]string) {
	t.Helper()
	for n, h := range before {
		if after[n] != h {
			t.Errorf("sealed file %s changed or went: %s → %q", n, h, after[n])
		}
	}
	for n := range after {
		if _, ok := before[n]; !ok {
			t.Errorf("file %s appeared in the bundle", n)
		}
	}
}

// ocrFrame extracts the frame of mp4 at sec, keeps the overlay's white
// text (everything else goes white, the text black) and returns what
// tesseract reads.
func ocrFrame(t testing.TB, tl Tools, mp4 string, sec float64) string {
	t.Helper()
	tess := lookTool(t, "tesseract", "tesseract-ocr")
	png := filepath.Join(t.TempDir(), "frame.png")
	args := []string{"-v", "error", "-y"}
	if sec > 0 {
		args = append(args, "-ss", fmt.Sprintf("%.3f", sec))
	}
	// Small frames are enlarged first: tesseract wants text taller than
	// the 4 % of 360 lines.
	args = append(args, "-i", mp4, "-frames:v", "1", "-vf", "scale=w='if(lt(ih,600),iw*2,iw)':h=-2:flags=bicubic,format=gray,lutyuv=y='if(gt(val,200),0,255)'", png)
	out, err := exec.Command(tl.FFmpeg, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("frame at %.3f s of %s: %v: %s", sec, mp4, err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tess, png, "-", "--psm", "11")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tesseract: %v: %s", err, stderr.String())
	}
	return stdout.String()
}

// Bundles shared by the tests: made once per test binary run.
var (
	smallOnce   sync.Once
	smallBundle exporttest.Bundle
	smallErr    error
)

// small is a 10 s 640×360 recording at 30 fps with a mark, sealed in its
// own state directory. Tests that change it work on a copy.
func small(t testing.TB) exporttest.Bundle {
	t.Helper()
	smallOnce.Do(func() {
		dir, err := os.MkdirTemp("", "export-small-")
		if err != nil {
			smallErr = err
			return
		}
		smallBundle, smallErr = exporttest.Make(dir, exporttest.Spec{
			Duration: 10 * time.Second, Width: 640, Height: 360, FPS: 30, Distinct: 4, Quality: 70,
			ClockSynced: true, OrderRef: "12345", Tracking: "LX123456785CN",
			Marks: []exporttest.MarkSpec{{At: 7 * time.Second, Label: "torn sleeve"}},
		})
	})
	if smallErr != nil {
		t.Fatalf("making the small bundle: %v", smallErr)
	}
	return smallBundle
}

// copyState copies a state directory (bundles and key) to a new temporary one.
func copyState(t testing.TB, b exporttest.Bundle) exporttest.Bundle {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", b.StateDir+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	rel, _ := filepath.Rel(b.StateDir, b.Dir)
	b.StateDir, b.Dir = dst, filepath.Join(dst, rel)
	return b
}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(exportChild())
	}
	code := m.Run()
	if smallBundle.StateDir != "" {
		os.RemoveAll(smallBundle.StateDir)
	}
	os.Exit(code)
}

func containsAll(s string, want ...string) []string {
	var missing []string
	for _, w := range want {
		if !strings.Contains(s, w) {
			missing = append(missing, w)
		}
	}
	return missing
}
