package pack

import (
	"archive/zip"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/export/exporttest"
	"weighin/internal/sheet"
)

// unzip extracts the pack into a new directory.
func unzip(t *testing.T, zipPath string) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.Contains(f.Name, "/") {
			t.Fatalf("%s is not at the zip's root", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		data, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func flip(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func problemsOf(t *testing.T, dir string) []evidence.Problem {
	t.Helper()
	r, err := Verify(dir, evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Problems
}

func names(dir string) []string {
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestPackMadeAndVerified makes a real pack of a small recorded bundle
// (320×180, 8 s, two marks): the stills, the sheet and the chat export
// bound by addenda, the zip with PACKSUMS; verify passes on the unzipped
// pack and with ssh-keygen and sha256sum, and fails after a flipped byte
// in the MP4, the sheet or VERIFY.txt, and on an added file.
func TestPackMadeAndVerified(t *testing.T) {
	tools, err := export.FindTools("", "")
	if err != nil {
		t.Fatalf("%v (`make deps` installs it)", err)
	}
	state := t.TempDir()
	b, err := exporttest.Make(state, exporttest.Spec{
		Duration: 8 * time.Second, PreRoll: 3 * time.Second, Width: 320, Height: 180, FPS: 10, Distinct: 4,
		OrderRef: "A-1001", Tracking: "LP00123", Marks: []exporttest.MarkSpec{{At: 4 * time.Second, Label: "opened"}, {At: 6 * time.Second, Label: "item out"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := evidence.Open(state, slog.New(slog.DiscardHandler), evidence.Options{StationID: "teststation"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var steps []string
	opt := Options{StateDir: state, Tools: tools, Export: export.Options{NormalPriority: true, Zone: time.UTC},
		Add: store, Sign: store, Fonts: sheet.DebianFonts,
		Progress: func(step string, pct float64) {
			if len(steps) == 0 || steps[len(steps)-1] != step {
				steps = append(steps, step)
			}
		}}
	ctx := context.Background()
	res, err := Make(ctx, b.Dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pack %s: %d bytes, %d files; steps %v", res.Zip, res.ZipBytes, len(res.Files), steps)
	if want := []string{"stills", "sheet", "export", "zip"}; !slices.Equal(steps, want) {
		t.Errorf("progress steps %v, want %v", steps, want)
	}
	if p, _ := Pending(state); len(p) != 0 {
		t.Errorf("pending after the pack: %v", p)
	}
	// The bundle itself still verifies, with the new addenda.
	rep, err := evidence.VerifyBundle(b.Dir, evidence.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("bundle after the pack: %v %v", err, rep.Problems)
	}
	kinds := map[string]int{}
	for _, a := range rep.Addenda {
		kinds[a.Kind]++
	}
	if kinds[KindStill] != 1 || kinds[KindSheet] != 1 || kinds[export.RecordKind] != 1 {
		t.Errorf("addenda %v, want one still, one sheet, one export", kinds)
	}
	for _, n := range []string{sheet.PNGName, sheet.PDFName} {
		st, err := os.Stat(filepath.Join(b.Dir, n))
		if err != nil || st.Size() > sheet.MaxBytes {
			t.Errorf("%s: %v (%v bytes)", n, err, st)
		}
	}

	dir := unzip(t, res.Zip)
	got := names(dir)
	for _, want := range []string{"export-chat.mp4", sheet.PNGName, sheet.PDFName, WeighinStill, "still-mark-01.jpg", "still-mark-02.jpg",
		"label.jpg", "dispute.txt", "weight.csv", "manifest.json", "manifest.sig", "SHA256SUMS", "SHA256SUMS.sig", "allowed_signers",
		VerifyFile, SumsFile, SumsSigFile} {
		if !slices.Contains(got, want) {
			t.Errorf("pack lacks %s (has %v)", want, got)
		}
	}
	if slices.Contains(got, "video-000.mkv") {
		t.Error("the original video is in the pack without --with-original")
	}
	r, err := Verify(dir, evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("unzipped pack fails: %v", r.Problems)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "video-000.mkv: not included") }) {
		t.Errorf("notes %v, want video-000.mkv not included", r.Notes)
	}
	// The seller's standard tools, as VERIFY.txt says.
	kg := exec.Command("ssh-keygen", "-Y", "verify", "-f", "allowed_signers", "-I", evidence.Principal, "-n", evidence.Namespace, "-s", SumsSigFile)
	kg.Dir = dir
	kg.Stdin, _ = os.Open(filepath.Join(dir, SumsFile))
	if out, err := kg.CombinedOutput(); err != nil {
		t.Errorf("ssh-keygen on PACKSUMS: %v\n%s", err, out)
	}
	sum := exec.Command("sha256sum", "--check", "--quiet", SumsFile)
	sum.Dir = dir
	if out, err := sum.CombinedOutput(); err != nil {
		t.Errorf("sha256sum --check PACKSUMS: %v\n%s", err, out)
	}
	verifyTxt, _ := os.ReadFile(filepath.Join(dir, VerifyFile))
	for _, a := range rep.Addenda {
		if !strings.Contains(string(verifyTxt), a.File) {
			t.Errorf("VERIFY.txt has no command for %s", a.File)
		}
	}

	for _, name := range []string{"export-chat.mp4", sheet.PNGName, sheet.PDFName, VerifyFile} {
		d := copyDir(t, dir)
		flip(t, filepath.Join(d, name))
		ps := problemsOf(t, d)
		if !slices.ContainsFunc(ps, func(p evidence.Problem) bool { return p.File == name }) {
			t.Errorf("flipped byte in %s: problems %v, want it named", name, ps)
		}
	}
	d := copyDir(t, dir)
	if err := os.WriteFile(filepath.Join(d, "extra.jpg"), []byte("not from the station"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ps := problemsOf(t, d); !slices.ContainsFunc(ps, func(p evidence.Problem) bool { return p.File == "extra.jpg" }) {
		t.Errorf("added file: problems %v", ps)
	}
	d = copyDir(t, dir)
	if err := os.Remove(filepath.Join(d, WeighinStill)); err != nil {
		t.Fatal(err)
	}
	if ps := problemsOf(t, d); !slices.ContainsFunc(ps, func(p evidence.Problem) bool { return p.File == WeighinStill }) {
		t.Errorf("removed still: problems %v", ps)
	}

	// Made again: nothing new is bound; the zip is written anew.
	before := len(rep.Addenda)
	if _, err := Make(ctx, b.Dir, opt); err != nil {
		t.Fatal(err)
	}
	rep2, _ := evidence.VerifyBundle(b.Dir, evidence.VerifyOptions{})
	if len(rep2.Addenda) != before || !rep2.OK() {
		t.Errorf("second pack: %d addenda (was %d), problems %v", len(rep2.Addenda), before, rep2.Problems)
	}
}

func TestRemoveOldest(t *testing.T) {
	state := t.TempDir()
	if n, err := RemoveOldest(state); n != 0 || err != nil {
		t.Fatalf("no packs: %d %v", n, err)
	}
	dir := filepath.Join(state, Dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"b-pack.zip", "a-pack.zip", "notes.txt"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 10+i), 0o640); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := RemoveOldest(state); n != 10 || err != nil {
		t.Fatalf("first: %d %v, want b-pack.zip's 10 bytes", n, err)
	}
	if n, _ := RemoveOldest(state); n != 11 {
		t.Fatalf("second: %d, want a-pack.zip's 11 bytes", n)
	}
	if n, _ := RemoveOldest(state); n != 0 || !slices.Equal(names(dir), []string{"notes.txt"}) {
		t.Fatalf("third: %d, left %v", n, names(dir))
	}
}
