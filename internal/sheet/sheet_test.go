package sheet

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/result"
	"weighin/internal/verdict"
)

// testJPEG is a w×h picture with a gradient and a dark block, like a still.
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 0x80, A: 0xff})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const claimZH = "订单 A-1001：包裹比标签轻 510 克，我希望全额退款。"

func testInput(t *testing.T) Input {
	label, dg, pct := 2351.0, -510.0, -21.7
	r := result.Result{
		SessionID: "000042-20261126T101505Z-LP00123", StartedAt: "2026-11-26T10:15:05Z", ClockSynced: true,
		OrderRef: "A-1001", Tracking: "LP00123", LabelG: &label, LabelResolutionG: 1, MeasuredG: 1841, MeasuredStable: true,
		DeltaG: &dg, DeltaPct: &pct, ToleranceG: 25, Verdict: result.VerdictUnderweight, Tier: 1, IssueType: "missing_item",
		KeyFingerprint:    "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
		MissingCandidates: []result.MissingCandidate{{Items: []string{"Belt"}, TotalG: 505, ResidualG: 5}},
	}
	in := Input{
		Result: r, ManifestSHA256: strings.Repeat("ab", 32),
		Originals: []Hash{{Name: "video-000.mkv", SHA256: strings.Repeat("cd", 32)}},
		LabelJPEG: testJPEG(t, 1280, 720), WeighinJPEG: testJPEG(t, 1280, 720), WeighinAt: 5 * time.Second,
		Marks: []Mark{{At: 8 * time.Second, Label: "box opened"}, {At: 20 * time.Second, Label: "belt missing"}},
		Steps: []Step{{At: 21 * time.Second, DeltaG: -505, Items: []string{"Sneakers"}}},
		Claim: "Order A-1001 arrived 510 g lighter than its label says. I am requesting a full refund.\n\n" + claimZH + "\n",
	}
	for ms := 0; ms <= 30000; ms += 100 {
		g := 1841.0
		if ms < 2000 {
			g = float64(ms) * 1841 / 2000
		} else if ms > 21000 {
			g = 1336
		}
		in.Weights = append(in.Weights, Point{T: time.Duration(ms) * time.Millisecond, Grams: g})
	}
	return in
}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (Debian package poppler-utils; make deps installs it): %v", name, err)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// notBlank counts the pixels of img that are not near white.
func inked(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r < 0xe000 || g < 0xe000 || bb < 0xe000 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func TestSheetPNGAndPDF(t *testing.T) {
	in := testInput(t)
	pngData, err := PNG(in)
	if err != nil {
		t.Fatal(err)
	}
	pdfData, notes, err := PDF(in, DebianFonts, time.Date(2026, 11, 26, 10, 20, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes with every font present: %v", notes)
	}
	t.Logf("png %d bytes, pdf %d bytes", len(pngData), len(pdfData))
	for name, n := range map[string]int{"png": len(pngData), "pdf": len(pdfData)} {
		if n > MaxBytes || n > 2_000_000 {
			t.Errorf("%s is %d bytes, over the 2 MB aim (cap %d)", name, n, MaxBytes)
		}
	}
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1240 || b.Dy() != 1754 {
		t.Errorf("png is %v, want 1240×1754", b)
	}
	if f := inked(img); f < 0.15 {
		t.Errorf("png: only %.1f %% of the page drawn", f*100)
	}

	dir := t.TempDir()
	pdfPath := filepath.Join(dir, PDFName)
	if err := os.WriteFile(pdfPath, pdfData, 0o644); err != nil {
		t.Fatal(err)
	}
	info := runTool(t, "pdfinfo", pdfPath)
	if !strings.Contains(info, "Pages:           1") || !strings.Contains(info, "A4") {
		t.Errorf("pdfinfo:\n%s", info)
	}
	runTool(t, "pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", pdfPath, filepath.Join(dir, "page"))
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pages) != 1 {
		t.Fatalf("pdftoppm made %v", pages)
	}
	f, err := os.Open(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	page, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fr := inked(page); fr < 0.15 {
		t.Errorf("page 1 rendered by pdftoppm is nearly blank: %.1f %% drawn", fr*100)
	}
	text := runTool(t, "pdftotext", "-layout", pdfPath, "-")
	for _, want := range []string{claimZH, "I am requesting a full refund", "A-1001", "LP00123", strings.Repeat("ab", 32), "underweight", "SHA256:abcdefghijklmnopqrstuvwxyz", "ssh-keygen -Y verify"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q:\n%s", want, text)
		}
	}
}

func TestPDFWithoutCJKFont(t *testing.T) {
	fonts := DebianFonts
	fonts.CJK = filepath.Join(t.TempDir(), "missing.ttf")
	pdfData, notes, err := PDF(testInput(t), fonts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "fonts-droid-fallback") {
		t.Errorf("notes %v, want the missing CJK font named", notes)
	}
	p := filepath.Join(t.TempDir(), "s.pdf")
	if err := os.WriteFile(p, pdfData, 0o644); err != nil {
		t.Fatal(err)
	}
	text := runTool(t, "pdftotext", p, "-")
	if strings.Contains(text, "订单") || !strings.Contains(text, "Chinese claim not shown") {
		t.Errorf("without the CJK font:\n%s", text)
	}
	fonts.Sans = fonts.CJK
	if _, _, err := PDF(testInput(t), fonts, time.Now()); err == nil || !strings.Contains(err.Error(), "fonts-dejavu-core") {
		t.Errorf("missing Latin font: %v", err)
	}
}

func TestWrapAndSplit(t *testing.T) {
	width := func(s string) float64 { return float64(len([]rune(s))) }
	got := wrap("one two three four", 9, width)
	if strings.Join(got, "|") != "one two|three|four" {
		t.Errorf("wrap: %q", got)
	}
	got = wrap("一二三四五六", 4, width)
	if strings.Join(got, "|") != "一二三四|五六" {
		t.Errorf("wrap han: %q", got)
	}
	en, zh := verdict.SplitMessage("Hello.\n\nFields: x\n\n你好。\n\n字段")
	if en != "Hello.\n\nFields: x" || zh != "你好。\n\n字段" {
		t.Errorf("split %q %q", en, zh)
	}
}

// TestLongClaimOnPage2: a claim too long for the first page at 7 pt goes
// whole onto a second page; its last Chinese line is still extractable.
func TestLongClaimOnPage2(t *testing.T) {
	in := testInput(t)
	var en, zh strings.Builder
	for i := range 30 {
		fmt.Fprintf(&en, "- Evidence line %d: the parcel weighed less than its label says.\n", i)
		fmt.Fprintf(&zh, "- 证据 %d：包裹比面单轻。\n", i)
	}
	in.Claim = en.String() + "\n" + zh.String() + "处理方案：全额退款。\n"
	data, _, err := PDF(in, DebianFonts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "long.pdf")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if info := runTool(t, "pdfinfo", p); !strings.Contains(info, "Pages:           2") {
		t.Errorf("pdfinfo:\n%s", info)
	}
	page2 := runTool(t, "pdftotext", "-f", "2", "-l", "2", p, "-")
	for _, want := range []string{"处理方案：全额退款。", "证据 29", "Evidence line 0:"} {
		if !strings.Contains(page2, want) {
			t.Errorf("page 2 lacks %q:\n%s", want, page2)
		}
	}
	if page1 := runTool(t, "pdftotext", "-f", "1", "-l", "1", p, "-"); !strings.Contains(page1, "page 2") {
		t.Errorf("page 1 does not point to the claim on page 2:\n%s", page1)
	}
}
