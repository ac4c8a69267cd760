// Package pack makes a sealed session's dispute pack: one zip a buyer
// uploads and a seller can check with standard tools.
//
// Make (preset "pack") and MakeSheet (preset "sheet") work on a verified,
// sealed bundle (export.OpenSource refuses any other) and add to it only
// through signed addenda (Addender, the evidence store's AddAddendum):
//
//  1. stills (kind "still"): the weigh-in frame and a frame at every mark,
//     JPEGs with the exports' overlay (export.Still), still-weighin.jpg and
//     still-mark-NN.jpg;
//  2. the evidence sheet (kind "sheet"): evidence-sheet.png and .pdf
//     (internal/sheet);
//  3. the chat export (kind "export", export.Export with preset chat);
//  4. the zip, outside the bundle (<state>/packs/<session>-pack.zip): every
//     file of the bundle but the original video (unless WithOriginal) and
//     the exports of other presets, a VERIFY.txt telling a seller how to
//     check it, and PACKSUMS (sha256sum lines of every file in the zip,
//     VERIFY.txt included) with PACKSUMS.sig, signed by the station key.
//
// Each step is skipped when the bundle already has its files, so a pack cut
// short (a recording pausing the queue, a shutdown, a crash) is made again
// from where it stopped; a marker directory <state>/tmp/pack-<session>
// lists it in Pending until it is done.
//
// Verify checks an unzipped pack: PACKSUMS and its signature, that every
// file present is listed, and the bundle's own verification over the files
// present, where originals listed in the manifest but absent are "not
// included", never a failure.
package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/fsync"
	"weighin/internal/result"
	"weighin/internal/sheet"
)

// Presets and addendum kinds of this package.
const (
	PresetPack  = "pack"
	PresetSheet = "sheet"
	KindStill   = "still"
	KindSheet   = "sheet"
)

// Files of a pack.
const (
	SumsFile    = "PACKSUMS"
	SumsSigFile = "PACKSUMS.sig"
	VerifyFile  = "VERIFY.txt"
	// Dir is where the zips go, under the state directory.
	Dir = "packs"
)

// ZipName is the pack's file name.
func ZipName(session string) string { return session + "-pack.zip" }

// Addender adds files to a sealed bundle under a signed addendum (the
// evidence store).
type Addender interface {
	AddAddendum(bundleDir, kind string, body any, files []evidence.AddendumFile) (evidence.Addendum, error)
}

// Signer signs a detached document with the station key (namespace
// weighin).
type Signer interface {
	Sign(data []byte) []byte
}

// Options configure a pack.
type Options struct {
	// StateDir holds the work directories (<state>/tmp) and, unless OutDir
	// is set, the zips (<state>/packs).
	StateDir string
	OutDir   string
	Tools    export.Tools
	// Export are the chat export's options (Preset and WorkDir are set
	// here); its Zone is the stills' and the sheet's time zone too.
	Export export.Options
	Add    Addender
	Sign   Signer
	Fonts  sheet.Fonts
	// WithOriginal puts the original video files into the zip.
	WithOriginal bool
	// Progress, when set, is told the step ("stills", "sheet", "export",
	// "zip") and the pack's percent done.
	Progress func(step string, percent float64)
	// Now is the clock of the PDF's date and the zip's entries (default
	// time.Now).
	Now func() time.Time
}

// Result is a finished pack (or sheet).
type Result struct {
	SessionID string `json:"session_id"`
	// Zip is the pack's path ("" for the sheet preset).
	Zip      string `json:"zip,omitempty"`
	ZipBytes int64  `json:"zip_bytes,omitempty"`
	// Files are the files made or taken into the pack, in the bundle.
	Files []File   `json:"files"`
	Notes []string `json:"notes,omitempty"`
}

// File is one file of a pack.
type File struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// StillInfo is one still in a still addendum's body.
type StillInfo struct {
	Name string  `json:"name"`
	AtS  float64 `json:"at_s"`
	// What is "weighin" or "mark"; Label the mark's label.
	What  string `json:"what"`
	Label string `json:"label,omitempty"`
}

// StillRecord is the body of a still addendum.
type StillRecord struct {
	SessionID      string      `json:"session_id"`
	ManifestSHA256 string      `json:"manifest_sha256"`
	Stills         []StillInfo `json:"stills"`
}

// SheetRecord is the body of a sheet addendum.
type SheetRecord struct {
	SessionID      string   `json:"session_id"`
	ManifestSHA256 string   `json:"manifest_sha256"`
	Files          []string `json:"files"`
	Fonts          []string `json:"fonts"`
	Notes          []string `json:"notes,omitempty"`
}

// WeighinStill is the weigh-in frame's file name.
const WeighinStill = "still-weighin.jpg"

func markStill(i int) string { return fmt.Sprintf("still-mark-%02d.jpg", i+1) }

var stillRE = regexp.MustCompile(`^still-(weighin|mark-[0-9]{2,})\.jpg$`)

// IsStill reports a still's file name.
func IsStill(name string) bool { return stillRE.MatchString(name) }

func (o *Options) progress(step string, pct float64) {
	if o.Progress != nil {
		o.Progress(step, pct)
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) zone() *time.Location {
	if o.Export.Zone != nil {
		return o.Export.Zone
	}
	return time.UTC
}

// workDir is a pack's marker and scratch directory:
// <state>/tmp/pack-<preset>-<session>.
func workDir(stateDir, preset, session string) string {
	return filepath.Join(stateDir, "tmp", "pack-"+preset+"-"+session)
}

// Job is a pack or sheet begun and not finished.
type Job struct{ Session, Preset string }

// Pending lists the packs and sheets begun and not finished (a shutdown or
// a crash cut them short), for the daemon to queue again at start.
func Pending(stateDir string) ([]Job, error) {
	des, err := os.ReadDir(filepath.Join(stateDir, "tmp"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	var out []Job
	for _, de := range des {
		for _, preset := range []string{PresetPack, PresetSheet} {
			if s, ok := strings.CutPrefix(de.Name(), "pack-"+preset+"-"); ok && de.IsDir() && s != "" {
				out = append(out, Job{Session: s, Preset: preset})
			}
		}
	}
	return out, nil
}

// MakeSheet makes the stills and the evidence sheet of the sealed bundle
// in dir, each bound by its addendum (skipped when already there).
func MakeSheet(ctx context.Context, dir string, opt Options) (*Result, error) {
	src, err := export.OpenSource(ctx, opt.Tools, dir)
	if err != nil {
		return nil, err
	}
	wd, err := begin(opt.StateDir, PresetSheet, src.SessionID)
	if err != nil {
		return nil, err
	}
	res := &Result{SessionID: src.SessionID}
	if err := stillsAndSheet(ctx, src, wd, &opt, res, 100); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(wd); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	res.Files = present(dir, func(n string) bool { return IsStill(n) || n == sheet.PNGName || n == sheet.PDFName })
	return res, nil
}

// Make makes the dispute pack of the sealed bundle in dir: the stills, the
// sheet and the chat export (each only if missing), then the zip.
func Make(ctx context.Context, dir string, opt Options) (*Result, error) {
	if opt.Sign == nil || opt.Add == nil {
		return nil, errors.New("pack: no signer or addender")
	}
	src, err := export.OpenSource(ctx, opt.Tools, dir)
	if err != nil {
		return nil, err
	}
	wd, err := begin(opt.StateDir, PresetPack, src.SessionID)
	if err != nil {
		return nil, err
	}
	res := &Result{SessionID: src.SessionID}
	if err := stillsAndSheet(ctx, src, wd, &opt, res, 30); err != nil {
		return nil, err
	}
	if len(matching(dir, isChatExport)) == 0 {
		o := opt.Export
		o.Preset, o.WorkDir = export.PresetChat, export.WorkDirFor(opt.StateDir, src.SessionID, export.PresetChat)
		outer := o.Progress
		o.Progress = func(p export.Progress) {
			opt.progress("export", 30+0.65*p.Percent())
			if outer != nil {
				outer(p)
			}
		}
		er, err := export.Export(ctx, opt.Tools, src, o)
		if err != nil {
			return nil, err
		}
		binder := export.BinderFunc(func(d string, rec export.Record, files []export.File) error {
			_, err := opt.Add.AddAddendum(d, export.RecordKind, rec, files)
			return err
		})
		if err := export.Finish(binder, src, er); err != nil {
			return nil, err
		}
	}
	opt.progress("zip", 95)
	out := opt.OutDir
	if out == "" {
		out = filepath.Join(opt.StateDir, Dir)
	}
	zipPath, n, files, err := writeZip(dir, out, src.SessionID, &opt)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(wd); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	res.Zip, res.ZipBytes, res.Files = zipPath, n, files
	opt.progress("zip", 100)
	return res, nil
}

func begin(stateDir, preset, session string) (string, error) {
	wd := workDir(stateDir, preset, session)
	if err := os.MkdirAll(wd, 0o700); err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	return wd, nil
}

func isChatExport(name string) bool {
	return strings.HasPrefix(name, "export-"+export.PresetChat) && strings.HasSuffix(name, ".mp4")
}

func matching(dir string, f func(string) bool) []string {
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() && f(de.Name()) {
			out = append(out, de.Name())
		}
	}
	return out
}

func present(dir string, f func(string) bool) []File {
	var out []File
	for _, n := range matching(dir, f) {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			out = append(out, File{Name: n, Bytes: st.Size()})
		}
	}
	return out
}

// WeighinAt is the weigh-in frame's video time: the first stable reading
// within the result's tolerance (at least 1 g) of the measured weight, else
// the first reading at that weight at all, else 0.
func WeighinAt(tl *export.Timeline, measured, tolerance float64) time.Duration {
	tol := max(tolerance, 1)
	for _, stableOnly := range []bool{true, false} {
		for _, r := range tl.Weights {
			if (r.Stable || !stableOnly) && math.Abs(r.Grams-measured) <= tol {
				return r.T
			}
		}
	}
	return 0
}

// stillsAndSheet makes the stills, then the sheet, each bound once; share
// is the part of the pack's percent they take.
func stillsAndSheet(ctx context.Context, src *export.Source, wd string, opt *Options, res *Result, share float64) error {
	dir := src.Dir
	weighinAt := WeighinAt(src.Timeline, src.Result.MeasuredG, src.Result.ToleranceG)
	if len(matching(dir, IsStill)) == 0 {
		rec := StillRecord{SessionID: src.SessionID, ManifestSHA256: src.ManifestSHA256}
		shots := []StillInfo{{Name: WeighinStill, AtS: weighinAt.Seconds(), What: "weighin"}}
		for i, m := range src.Timeline.Marks {
			if m.At >= 0 && m.At < src.Duration {
				shots = append(shots, StillInfo{Name: markStill(i), AtS: m.At.Seconds(), What: "mark", Label: m.Label})
			}
		}
		var files []evidence.AddendumFile
		for i, s := range shots {
			opt.progress("stills", share*0.6*float64(i)/float64(len(shots)))
			p := filepath.Join(wd, s.Name)
			at := time.Duration(s.AtS * float64(time.Second))
			if err := export.Still(ctx, opt.Tools, src, min(at, src.Duration-time.Millisecond), opt.zone(), p); err != nil {
				return err
			}
			files = append(files, evidence.AddendumFile{Name: s.Name, Path: p})
		}
		rec.Stills = shots
		if _, err := opt.Add.AddAddendum(dir, KindStill, rec, files); err != nil {
			return fmt.Errorf("pack: stills of %s: %w", src.SessionID, err)
		}
	}
	if len(matching(dir, func(n string) bool { return n == sheet.PNGName })) > 0 {
		opt.progress("sheet", share)
		return nil
	}
	opt.progress("sheet", share*0.6)
	in, err := sheetInput(src, weighinAt, opt.zone())
	if err != nil {
		return err
	}
	pngData, err := sheet.PNG(in)
	if err != nil {
		return err
	}
	pdfData, notes, err := sheet.PDF(in, opt.Fonts, opt.now())
	if err != nil {
		return err
	}
	res.Notes = append(res.Notes, notes...)
	if err := errors.Join(
		os.WriteFile(filepath.Join(wd, sheet.PNGName), pngData, 0o640),
		os.WriteFile(filepath.Join(wd, sheet.PDFName), pdfData, 0o640)); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	rec := SheetRecord{SessionID: src.SessionID, ManifestSHA256: src.ManifestSHA256,
		Files: []string{sheet.PNGName, sheet.PDFName}, Fonts: []string{opt.Fonts.Sans, opt.Fonts.SansBold, opt.Fonts.Mono, opt.Fonts.CJK}, Notes: notes}
	_, err = opt.Add.AddAddendum(dir, KindSheet, rec, []evidence.AddendumFile{
		{Name: sheet.PNGName, Path: filepath.Join(wd, sheet.PNGName)},
		{Name: sheet.PDFName, Path: filepath.Join(wd, sheet.PDFName)}})
	if err != nil {
		return fmt.Errorf("pack: sheet of %s: %w", src.SessionID, err)
	}
	opt.progress("sheet", share)
	return nil
}

// sheetInput reads what the sheet shows from the verified source.
func sheetInput(src *export.Source, weighinAt time.Duration, zone *time.Location) (sheet.Input, error) {
	in := sheet.Input{Result: src.Result, ManifestSHA256: src.ManifestSHA256, WeighinAt: weighinAt, Zone: zone, Claim: src.Result.Dispute}
	offsets := map[string]time.Duration{}
	for _, v := range src.Videos {
		in.Originals = append(in.Originals, sheet.Hash{Name: v.Name, SHA256: v.SHA256})
		offsets[v.Name] = v.Offset
	}
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(src.Dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return data, err
	}
	var err error
	if in.LabelJPEG, err = read("label.jpg"); err != nil {
		return in, fmt.Errorf("pack: %w", err)
	}
	if in.WeighinJPEG, err = read(WeighinStill); err != nil {
		return in, fmt.Errorf("pack: %w", err)
	}
	if claim, err := read("dispute.txt"); err == nil && len(claim) > 0 {
		in.Claim = string(claim)
	}
	for _, w := range src.Timeline.Weights {
		in.Weights = append(in.Weights, sheet.Point{T: w.T, Grams: w.Grams})
	}
	for _, m := range src.Timeline.Marks {
		in.Marks = append(in.Marks, sheet.Mark{At: m.At, Label: m.Label})
	}
	_, in.Steps = sheet.FromResult(src.Result, offsets)
	return in, nil
}

// inZip says whether a bundle file goes into the pack: all but the
// original video (unless withOriginal) and the exports of other presets.
func inZip(name string, withOriginal bool) bool {
	switch {
	case export.IsOriginalVideo(name):
		return withOriginal
	case strings.HasPrefix(name, "export-"):
		return strings.HasPrefix(name, "export-"+export.PresetChat)
	}
	return true
}

// writeZip writes <out>/<session>-pack.zip: the bundle's files for the
// pack, VERIFY.txt, PACKSUMS and PACKSUMS.sig, all at the zip's root.
func writeZip(dir, out, session string, opt *Options) (string, int64, []File, error) {
	if err := os.MkdirAll(out, 0o750); err != nil {
		return "", 0, nil, fmt.Errorf("pack: %w", err)
	}
	names := matching(dir, func(n string) bool { return inZip(n, opt.WithOriginal) })
	verifyTxt := VerifyText(session, names, opt.WithOriginal)
	var sums bytes.Buffer
	type entry struct {
		name string
		data []byte // nil: read from the bundle
	}
	var entries []entry
	listed := map[string]string{}
	for _, n := range names {
		sum, err := fileSHA256(filepath.Join(dir, n))
		if err != nil {
			return "", 0, nil, err
		}
		listed[n] = sum
		entries = append(entries, entry{name: n})
	}
	listed[VerifyFile] = sha256Hex(verifyTxt)
	entries = append(entries, entry{name: VerifyFile, data: verifyTxt})
	keys := make([]string, 0, len(listed))
	for k := range listed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&sums, "%s  %s\n", listed[k], k)
	}
	sig := opt.Sign.Sign(sums.Bytes())
	entries = append(entries, entry{name: SumsFile, data: sums.Bytes()}, entry{name: SumsSigFile, data: sig})

	final := filepath.Join(out, ZipName(session))
	tmp, err := os.CreateTemp(out, ".pack-*.zip")
	if err != nil {
		return "", 0, nil, fmt.Errorf("pack: %w", err)
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	mod := opt.now().UTC()
	var files []File
	for _, e := range entries {
		method := zip.Deflate
		if ext := filepath.Ext(e.name); slices.Contains([]string{".mp4", ".jpg", ".png", ".pdf", ".mkv"}, ext) {
			method = zip.Store // already compressed
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method, Modified: mod})
		if err != nil {
			tmp.Close()
			return "", 0, nil, fmt.Errorf("pack: %w", err)
		}
		var n int64
		if e.data != nil {
			k, err2 := w.Write(e.data)
			n, err = int64(k), err2
		} else {
			n, err = copyFrom(w, filepath.Join(dir, e.name))
		}
		if err != nil {
			tmp.Close()
			return "", 0, nil, fmt.Errorf("pack: %s: %w", e.name, err)
		}
		files = append(files, File{Name: e.name, Bytes: n})
	}
	err = zw.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err == nil {
		err = fsync.Dir(out)
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("pack: %w", err)
	}
	st, err := os.Stat(final)
	if err != nil {
		return "", 0, nil, fmt.Errorf("pack: %w", err)
	}
	return final, st.Size(), files, nil
}

func copyFrom(w io.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, f)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("pack: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// VerifyText is VERIFY.txt: how a seller checks the pack with standard
// tools (OpenSSH's ssh-keygen, coreutils' sha256sum); names are the
// bundle's files in the pack (for the addenda's commands).
func VerifyText(session string, names []string, withOriginal bool) []byte {
	kg := func(sig, doc string) string {
		return fmt.Sprintf("   ssh-keygen -Y verify -f %s -I %s -n %s -s %s < %s\n", evidence.AllowedSignersFile, evidence.Principal, evidence.Namespace, sig, doc)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "How to check this dispute pack (session %s)\n\n", session)
	b.WriteString(`Every file here was made by a weigh-in station and signed with its key.
Unzip the pack into an empty directory and run these commands there
(ssh-keygen from OpenSSH, sha256sum from coreutils).

1. The pack listing. allowed_signers holds the station's public key:
   compare the fingerprint ssh-keygen prints with the one on the evidence
   sheet and in the published result.

`)
	b.WriteString(kg(SumsSigFile, SumsFile))
	fmt.Fprintf(&b, "   sha256sum --check %s\n\n", SumsFile)
	b.WriteString(`   The first says "Good ... signature", the second OK for every file.
   A file changed after the station signed the pack fails here, and so
   does any file in the directory that PACKSUMS does not list.

2. The sealed bundle: manifest.json lists the original files, SHA256SUMS
   their hashes, both signed by the same key.

`)
	b.WriteString(kg(evidence.ManifestSigFile, evidence.ManifestFile))
	b.WriteString(kg(evidence.SumsSigFile, evidence.SumsFile))
	fmt.Fprintf(&b, "   sha256sum --check --ignore-missing %s\n\n", evidence.SumsFile)
	b.WriteString(`3. The files made after the seal (the MP4, the stills, the evidence
   sheet, timestamps) are listed with their SHA-256 in signed addenda,
   each naming the manifest's SHA-256:

`)
	for _, n := range names {
		if strings.HasPrefix(n, "addendum-") && strings.HasSuffix(n, ".json") {
			b.WriteString(kg(strings.TrimSuffix(n, ".json")+".sig", n))
		}
	}
	b.WriteString("\n   then compare the sha256 of each file an addendum lists with sha256sum FILE.\n\n")
	if withOriginal {
		b.WriteString("The original recording (video-NNN.mkv) is in this pack.\n")
	} else {
		b.WriteString(`The original recording (video-NNN.mkv) is not in this pack: manifest.json
lists it with its SHA-256, and the buyer can hand it over on request.
`)
	}
	b.WriteString(`
With the station's software one command does all of it:

   weighctl verify .
`)
	return b.Bytes()
}

// IsPreset reports the presets of this package (pack, sheet).
func IsPreset(name string) bool { return name == PresetPack || name == PresetSheet }

// HasClaim reports a session the station makes a pack for after the seal:
// one with a claim, a tier of at least 1 or an issue type set.
func HasClaim(r result.Result) bool { return r.Tier >= 1 || r.IssueType != "" }

// Run makes preset (pack or sheet) of the bundle in dir.
func Run(ctx context.Context, preset, dir string, opt Options) (*Result, error) {
	switch preset {
	case PresetPack:
		return Make(ctx, dir, opt)
	case PresetSheet:
		return MakeSheet(ctx, dir, opt)
	}
	return nil, fmt.Errorf("pack: unknown preset %q (want %s or %s)", preset, PresetPack, PresetSheet)
}

// RemoveOldest removes the oldest pack zip in <state>/packs (retention's
// derived files: a pack can be made again from its bundle) and returns its
// size; 0 when there is none.
func RemoveOldest(stateDir string) (int64, error) {
	des, err := os.ReadDir(filepath.Join(stateDir, Dir))
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pack: %w", err)
	}
	var oldest os.FileInfo
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), "-pack.zip") {
			continue
		}
		if fi, err := de.Info(); err == nil && (oldest == nil || fi.ModTime().Before(oldest.ModTime())) {
			oldest = fi
		}
	}
	if oldest == nil {
		return 0, nil
	}
	if err := os.Remove(filepath.Join(stateDir, Dir, oldest.Name())); err != nil {
		return 0, fmt.Errorf("pack: %w", err)
	}
	return oldest.Size(), nil
}
