// Package sheet draws a sealed session's evidence sheet: one A4 page, as a
// PNG (evidence-sheet.png) and a PDF (evidence-sheet.pdf), for the dispute
// channels that take no video (PayPal, eBay, card schemes: JPG/PNG/PDF
// under 5–10 MB). The page holds the label still, the weigh-in frame with
// its reading, a plot of the weight over the session with its marks and
// item steps (gonum/plot), the verdict and its numbers, the order and
// tracking number, the date, the session id, the station key's fingerprint,
// the SHA-256 of the original video files and of the manifest, and the
// commands that verify the bundle. The PDF (go-pdf/fpdf) adds the claim in
// English and in Chinese.
//
// Both renderings draw the same layout (Layout: one list of boxes in
// millimetres), so each fact is placed once. The PDF embeds two TrueType
// fonts, subset to the glyphs used: DejaVu Sans from Debian's
// fonts-dejavu-core for the Latin text and Droid Sans Fallback
// (DroidSansFallbackFull.ttf) from fonts-droid-fallback for the Chinese
// claim. Without the DejaVu font no PDF is made (an error names the
// package); without Droid Sans Fallback the PDF is made without the Chinese
// claim, says so on the page, and Render returns a note. The PNG uses the
// Liberation fonts compiled into gonum/plot and needs no file.
//
// The package only draws: Input carries everything, read by the caller
// (internal/pack) from a verified bundle.
package sheet

import (
	"fmt"
	"math"
	"strings"
	"time"

	"weighin/internal/result"
	"weighin/internal/verdict"
)

// MaxBytes caps each rendering (the strictest common limit, PayPal's and
// Amazon's 10 MB); Render fails rather than produce a larger file.
const MaxBytes = 10_000_000

// File names of the sheet in a bundle and a pack.
const (
	PNGName = "evidence-sheet.png"
	PDFName = "evidence-sheet.pdf"
)

// Page size, millimetres (A4 portrait).
const (
	PageW = 210.0
	PageH = 297.0
)

// Point is one weight reading on the video time axis.
type Point struct {
	T     time.Duration
	Grams float64
}

// Mark is a marked moment on the video time axis.
type Mark struct {
	At    time.Duration
	Label string
}

// Step is an item step (issue 22's detector): when it settled, by how
// much the weight changed, and the items it was matched to.
type Step struct {
	At     time.Duration
	DeltaG float64
	Items  []string
}

// Hash is one file's SHA-256.
type Hash struct {
	Name   string
	SHA256 string
}

// Input is everything the sheet shows.
type Input struct {
	Result         result.Result
	ManifestSHA256 string
	// Originals are the video files' hashes, as the manifest lists them.
	Originals []Hash
	// LabelJPEG is label.jpg (nil when the bundle has none).
	LabelJPEG []byte
	// WeighinJPEG is the weigh-in frame with the exports' overlay, taken
	// at WeighinAt.
	WeighinJPEG []byte
	WeighinAt   time.Duration
	Weights     []Point
	Marks       []Mark
	Steps       []Step
	// Zone is the time zone of the dates shown (nil: UTC).
	Zone *time.Location
	// Claim is dispute.txt: English, a blank line, then Chinese.
	Claim string
}

// Kind of a box of the layout.
type Kind int

// The kinds of box.
const (
	KindText  Kind = iota // one line of text
	KindMono              // one line of monospaced text
	KindImage             // a JPEG (Image), fitted into the box
	KindPlot              // the weight plot
	KindRule              // a thin horizontal line
)

// Box is one element of the page, in millimetres from the top left.
type Box struct {
	Kind       Kind
	X, Y, W, H float64
	Text       string
	Size       float64 // points
	Bold       bool
	Image      []byte
	// PDFOnly boxes (the claim) are not drawn on the PNG.
	PDFOnly bool
	// Page is 2 for a claim too long for the first page at a readable
	// size (PDF only); 0 or 1 otherwise.
	Page int
	// CJK text needs the Chinese font.
	CJK bool
}

// Measure is a renderer's text width in millimetres at size points.
type Measure func(text string, size float64, bold, mono bool) float64

const (
	margin  = 12.0
	ptToMM  = 25.4 / 72
	lineGap = 1.35
)

// Layout places every element of the page. measure wraps the claim to the
// renderer's own metrics; nothing else depends on it.
func Layout(in Input, measure Measure) []Box {
	r := in.Result
	zone := in.Zone
	if zone == nil {
		zone = time.UTC
	}
	var bs []Box
	y := margin
	line := func(size float64, bold bool, text string) {
		y += size * ptToMM
		bs = append(bs, Box{Kind: KindText, X: margin, Y: y, W: PageW - 2*margin, Size: size, Bold: bold, Text: text})
		y += size * ptToMM * (lineGap - 1)
	}
	mono := func(size float64, text string) {
		y += size * ptToMM
		bs = append(bs, Box{Kind: KindMono, X: margin, Y: y, W: PageW - 2*margin, Size: size, Text: text})
		y += size * ptToMM * (lineGap - 1)
	}
	gap := func(mm float64) { y += mm }
	rule := func() {
		gap(1.5)
		bs = append(bs, Box{Kind: KindRule, X: margin, Y: y, W: PageW - 2*margin})
		gap(1.5)
	}

	line(16, true, "Weigh-in evidence sheet")
	line(10, false, fmt.Sprintf("Session %s  ·  %s", r.SessionID, startedText(r, zone)))
	line(10, false, fmt.Sprintf("Order %s  ·  Tracking %s", orNone(r.OrderRef), orNone(r.Tracking)))
	rule()

	// The two pictures side by side, captions under them.
	imgW := (PageW - 2*margin - 6) / 2
	imgH := imgW * 9 / 16
	top := y
	bs = append(bs,
		Box{Kind: KindImage, X: margin, Y: top, W: imgW, H: imgH, Image: in.LabelJPEG, Text: "no label still"},
		Box{Kind: KindImage, X: margin + imgW + 6, Y: top, W: imgW, H: imgH, Image: in.WeighinJPEG, Text: "no weigh-in frame"})
	y = top + imgH + 9*ptToMM
	bs = append(bs,
		Box{Kind: KindText, X: margin, Y: y, W: imgW, Size: 9, Text: "Shipping label (label.jpg)"},
		Box{Kind: KindText, X: margin + imgW + 6, Y: y, W: imgW, Size: 9, Text: fmt.Sprintf("Weigh-in frame at %s of the video: %s", clock(in.WeighinAt), gramsText(r.MeasuredG, r.MeasuredStable))})
	gap(3)

	plotH := 62.0
	bs = append(bs, Box{Kind: KindPlot, X: margin, Y: y, W: PageW - 2*margin, H: plotH})
	y += plotH
	rule()

	line(12, true, "Verdict: "+verdictText(r))
	for _, l := range numbers(r) {
		line(10, false, l)
	}
	for _, l := range stepLines(in.Steps) {
		line(9, false, l)
	}
	rule()

	line(10, true, "Integrity")
	mono(8, "Station key  "+orNone(r.KeyFingerprint))
	mono(8, "manifest.json SHA-256  "+in.ManifestSHA256)
	for _, h := range in.Originals {
		mono(8, h.Name+" SHA-256  "+h.SHA256)
	}
	gap(1)
	line(9, true, "Verify the bundle (OpenSSH and coreutils):")
	for _, c := range VerifyCommands() {
		mono(8, c)
	}
	rule()

	// The claim: English, then Chinese, wrapped; on the PDF only.
	en, zh := verdict.SplitMessage(in.Claim)
	if en == "" && zh == "" {
		return bs
	}
	w := PageW - 2*margin
	var enL, zhL []string
	fits := func(size, room float64) bool {
		enL = wrap(en, w, func(s string) float64 { return measure(s, size, false, false) })
		zhL = wrap(zh, w, func(s string) float64 { return measure(s, size, false, false) })
		return float64(len(enL)+len(zhL)+2)*size*ptToMM*lineGap <= room
	}
	// On the first page at 7 pt or more; else the whole claim on a page of
	// its own, at 9 pt (smaller only if it must).
	page, size := 1, 9.0
	for ; size >= 7 && !fits(size, PageH-margin-y); size -= 0.5 {
	}
	if size < 7 {
		bs = append(bs, Box{Kind: KindText, X: margin, Y: y + 9*ptToMM, W: w, Size: 9, Bold: true, Text: "Claim (English, then Chinese): page 2", PDFOnly: true})
		page, y = 2, margin
		for size = 9; size > 5 && !fits(size, PageH-2*margin); size -= 0.5 {
		}
	}
	add := func(text string, bold, cjk bool, sz float64) {
		y += sz * ptToMM
		bs = append(bs, Box{Kind: KindText, X: margin, Y: y, W: w, Size: sz, Bold: bold, Text: text, PDFOnly: true, CJK: cjk, Page: page})
		y += sz * ptToMM * (lineGap - 1)
	}
	add("Claim (English, then Chinese) — dispute.txt of session "+r.SessionID, true, false, size)
	for _, l := range enL {
		add(l, false, false, size)
	}
	if len(zhL) > 0 {
		y += 1
	}
	for _, l := range zhL {
		add(l, false, true, size)
	}
	return bs
}

// VerifyCommands are the commands printed on the sheet: a bundle's own
// check with standard tools (run in the bundle or the unzipped pack).
func VerifyCommands() []string {
	return []string{
		"ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s manifest.sig < manifest.json",
		"ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s SHA256SUMS.sig < SHA256SUMS",
		"sha256sum --check --ignore-missing SHA256SUMS      (or: weighctl verify DIR)",
	}
}

// wrap breaks text into lines no wider than w: at spaces, or between any
// two characters of a run without spaces (Chinese).
func wrap(text string, w float64, width func(string) float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		para = strings.TrimRight(para, " ")
		if para == "" {
			out = append(out, "")
			continue
		}
		cur := ""
		for _, word := range splitWords(para) {
			next := cur + word
			if cur != "" && width(strings.TrimRight(next, " ")) > w {
				out = append(out, strings.TrimRight(cur, " "))
				next = strings.TrimLeft(word, " ")
			}
			cur = next
		}
		out = append(out, strings.TrimRight(cur, " "))
	}
	return out
}

// splitWords cuts a line into pieces that may not be broken: a word with
// its following space, or a single Han (or other wide) character.
func splitWords(s string) []string {
	var out []string
	cur := []rune{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range s {
		switch {
		case isWide(r): // CJK: break anywhere
			flush()
			out = append(out, string(r))
		case r == ' ':
			cur = append(cur, r)
			flush()
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func gramsText(g float64, stable bool) string {
	s := fmt.Sprintf("%.1f g", g)
	if stable {
		return s + " stable"
	}
	return s + " not stable"
}

func startedText(r result.Result, zone *time.Location) string {
	t, err := time.Parse(time.RFC3339, r.StartedAt)
	if err != nil {
		return "started " + orNone(r.StartedAt)
	}
	s := "started " + t.In(zone).Format("2006-01-02 15:04:05 MST")
	if !r.ClockSynced {
		s += " (clock not synced)"
	}
	return s
}

func verdictText(r result.Result) string {
	s := strings.ReplaceAll(orNone(r.Verdict), "_", " ")
	s += fmt.Sprintf("  (tier %d", r.Tier)
	if r.IssueType != "" {
		s += ", issue " + strings.ReplaceAll(r.IssueType, "_", " ")
	}
	if r.ExteriorCondition != "" {
		s += ", exterior " + strings.ReplaceAll(r.ExteriorCondition, "_", " ")
	}
	return s + ")"
}

func numbers(r result.Result) []string {
	label := "label weight: not given"
	if r.LabelG != nil {
		label = fmt.Sprintf("label weight: %.1f g (resolution %.1f g)", *r.LabelG, r.LabelResolutionG)
	}
	out := []string{label + "   ·   measured: " + gramsText(r.MeasuredG, r.MeasuredStable)}
	if r.DeltaG != nil {
		d := fmt.Sprintf("difference: %+.1f g", *r.DeltaG)
		if r.DeltaPct != nil {
			d += fmt.Sprintf(" (%+.1f %%)", *r.DeltaPct)
		}
		out = append(out, d+fmt.Sprintf("   ·   tolerance: ±%.1f g", r.ToleranceG))
	} else if r.ToleranceG > 0 {
		out = append(out, fmt.Sprintf("tolerance: ±%.1f g", r.ToleranceG))
	}
	for _, c := range r.MissingCandidates {
		out = append(out, fmt.Sprintf("missing item(s) that explain it: %s (%.1f g, residual %.1f g)", strings.Join(c.Items, ", "), c.TotalG, c.ResidualG))
	}
	if r.WeighinDisturbed {
		out = append(out, "the weigh-in was disturbed (a hand or a touch): no weight-based claim")
	}
	return out
}

func stepLines(steps []Step) []string {
	var out []string
	for i, s := range steps {
		if i == 6 {
			out = append(out, fmt.Sprintf("… and %d more steps (manifest.json)", len(steps)-6))
			break
		}
		items := "unmatched"
		if len(s.Items) > 0 {
			items = strings.Join(s.Items, " + ")
		}
		out = append(out, fmt.Sprintf("step at %s: %+.1f g — %s", clock(s.At), s.DeltaG, items))
	}
	return out
}

// FromResult takes the marks and the item steps from a sealed result, on
// the video time axis: t_s of a mark or a step counts from the start of its
// file, so offsets gives each file's start (the export's time axis).
func FromResult(r result.Result, offsets map[string]time.Duration) (marks []Mark, steps []Step) {
	at := func(file string, ts float64) time.Duration {
		return offsets[file] + time.Duration(math.Round(ts*1000))*time.Millisecond
	}
	for _, m := range r.Marks {
		marks = append(marks, Mark{At: at(m.File, m.TS), Label: m.Label})
	}
	for _, s := range r.Steps {
		steps = append(steps, Step{At: at(s.File, s.TS), DeltaG: s.DeltaG, Items: s.Items})
	}
	return marks, steps
}

// isWide reports a CJK character (ideographs, kana, CJK punctuation, full
// width forms): set in the CJK font, and a line may break beside it.
func isWide(r rune) bool {
	return r >= 0x2e80 && r <= 0x9fff || r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xffef
}
