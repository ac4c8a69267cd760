package evidence

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// Problem is an integrity failure: a file missing, altered, unsigned or out
// of the chain. File is relative to the bundle directory.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// String is "file: reason".
func (p Problem) String() string { return p.File + ": " + p.Reason }

// FileCheck is the state of one file listed in the manifest.
type FileCheck struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	// Status is "ok", "missing", "size", "sha256" or "removed" (by
	// retention, per the tombstone).
	Status string `json:"status"`
}

// AddendumInfo is one verified addendum.
type AddendumInfo struct {
	File       string      `json:"file"`
	N          int         `json:"n"`
	Kind       string      `json:"kind"`
	RecordedAt string      `json:"recorded_at"`
	Files      []FileCheck `json:"files"`
}

// OutcomeInfo is one verified outcome: a legacy outcome-NNN.json or an
// addendum of kind outcome.
type OutcomeInfo struct {
	File       string  `json:"file"`
	N          int     `json:"n"`
	RecordedAt string  `json:"recorded_at"`
	Outcome    Outcome `json:"outcome"`
}

// Report is the verification of one bundle. It is OK when it has no
// Problems; Findings are about the recording (gaps, drops, interruption)
// rather than integrity.
type Report struct {
	Bundle                 string         `json:"bundle"`
	SessionID              string         `json:"session_id"`
	Seq                    int64          `json:"seq"`
	State                  string         `json:"state"`
	KeyFingerprint         string         `json:"key_fingerprint"`
	ManifestSHA256         string         `json:"manifest_sha256"`
	PreviousManifestSHA256 string         `json:"previous_manifest_sha256"`
	Verdict                string         `json:"verdict"`
	Interrupted            bool           `json:"interrupted"`
	Tombstone              *Tombstone     `json:"tombstone,omitempty"`
	Files                  []FileCheck    `json:"files"`
	Outcomes               []OutcomeInfo  `json:"outcomes"`
	Addenda                []AddendumInfo `json:"addenda"`
	Problems               []Problem      `json:"problems"`
	Findings               []string       `json:"findings"`
	Notes                  []string       `json:"notes"`

	key ed25519.PublicKey
}

// OK reports whether the bundle passed every integrity check.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Reason: fmt.Sprintf(format, args...)})
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// VerifyOptions configure verification.
type VerifyOptions struct {
	// Key, when set, is the only key accepted (the station's published
	// key). Without it the key named in each manifest is checked for
	// consistency across the chain and its fingerprint reported, to be
	// compared with the one published with the results.
	Key ed25519.PublicKey
	// Fingerprint, when set, is the only key fingerprint accepted
	// (SHA256:…, as published with every result).
	Fingerprint string
	// AnalyzeVideo, when set, re-analyses each video file (by path) so its
	// continuity can be compared with the manifest's.
	AnalyzeVideo func(path string) (result.Continuity, error)
}

var videoRE = regexp.MustCompile(`^video(-[0-9]{3,})?\.mkv$`)

// VerifyFS verifies the bundle whose files are at the root of fsys: the
// manifest and its signature, every file's size and SHA-256, SHA256SUMS and
// its signature, the tombstone and outcome addenda if any, and the
// consistency of the continuity statistics. It does not look at other
// bundles (see VerifyBundle) and does not re-analyse videos.
func VerifyFS(fsys fs.FS, opts VerifyOptions) *Report {
	return verifyContent(fsys, "", opts)
}

// verifyContent is VerifyFS; dir, when not empty, is the bundle's path on
// disk, for video re-analysis.
func verifyContent(fsys fs.FS, dir string, opts VerifyOptions) *Report {
	r := &Report{State: "damaged", Files: []FileCheck{}, Outcomes: []OutcomeInfo{}, Addenda: []AddendumInfo{}, Problems: []Problem{}, Findings: []string{}, Notes: []string{}}
	des, err := fs.ReadDir(fsys, ".")
	if err != nil {
		r.problem(".", "cannot list the bundle: %v", err)
		return r
	}
	present := map[string]bool{}
	for _, de := range des {
		present[de.Name()] = de.Type().IsRegular()
		if !de.Type().IsRegular() {
			r.problem(de.Name(), "not a regular file")
		}
	}
	if _, ok := present[ManifestFile]; !ok {
		if present[UnsealedFile] {
			r.State = "unsealed"
			r.problem(UnsealedFile, "bundle not sealed: an interrupted session awaiting recovery (weighd seals it at its next start)")
		} else {
			r.problem(ManifestFile, "missing")
		}
		return r
	}
	data, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		r.problem(ManifestFile, "%v", err)
		return r
	}
	r.ManifestSHA256 = sha256Hex(data)
	m, key, err := ParseManifest(data)
	if err != nil {
		r.problem(ManifestFile, "%v", detail(err))
		return r
	}
	r.key = key
	r.SessionID, r.Seq = m.Result.SessionID, m.Result.Seq
	r.KeyFingerprint = m.KeyFingerprint
	r.PreviousManifestSHA256 = m.PreviousManifestSHA256
	r.Verdict, r.Interrupted = m.Result.Verdict, m.Result.Interrupted
	r.State = "sealed"

	checkSig(r, fsys, ManifestFile, ManifestSigFile, data, key)
	if opts.Key != nil && !key.Equal(opts.Key) {
		r.problem(ManifestFile, "signed by key %s, expected the station key %s", m.KeyFingerprint, sshsig.Fingerprint(opts.Key))
	}
	if opts.Fingerprint != "" && m.KeyFingerprint != opts.Fingerprint {
		r.problem(ManifestFile, "signed by key %s, expected the published key %s", m.KeyFingerprint, opts.Fingerprint)
	}
	if present[UnsealedFile] {
		r.problem(UnsealedFile, "left beside a manifest: the seal was not finished")
	}

	known := map[string]bool{
		ManifestFile: true, ManifestSigFile: true, SumsFile: true, SumsSigFile: true,
		TombstoneFile: true, TombstoneSigFile: true, UnsealedFile: true,
	}
	for _, f := range m.Files {
		known[f.Name] = true
	}
	if _, ok := present[TombstoneFile]; ok {
		verifyTombstone(r, fsys, present, m, key)
	} else {
		verifyFiles(r, fsys, m)
		verifySums(r, fsys, present, m, key)
	}
	tip := verifyOutcomes(r, fsys, present, key)
	verifyAddenda(r, fsys, present, known, tip, key)
	for name := range present {
		if !known[name] && !outcomeRE.MatchString(name) && !addendumRE.MatchString(name) {
			r.problem(name, "listed by neither %s nor an addendum (not covered by a signature)", ManifestFile)
		}
	}
	slices.SortFunc(r.Problems, func(a, b Problem) int {
		if a.File != b.File {
			if a.File < b.File {
				return -1
			}
			return 1
		}
		return 0
	})

	r.Findings = append(r.Findings, ContinuityFindings(m.Result)...)
	if dir != "" && opts.AnalyzeVideo != nil && r.State == "sealed" {
		reanalyze(r, dir, m, opts.AnalyzeVideo)
	}
	return r
}

func checkSig(r *Report, fsys fs.FS, doc, sigName string, data []byte, key ed25519.PublicKey) bool {
	sig, err := fs.ReadFile(fsys, sigName)
	if err != nil {
		r.problem(sigName, "missing: %s is not signed", doc)
		return false
	}
	if err := sshsig.Verify(key, Namespace, data, sig); err != nil {
		r.problem(sigName, "signature of %s does not verify with key %s: %v", doc, sshsig.Fingerprint(key), err)
		return false
	}
	if !sshsig.IsCanonical(sig) {
		r.problem(sigName, "valid, but not as the station wrote it: the file was edited")
		return false
	}
	return true
}

func verifyFiles(r *Report, fsys fs.FS, m *Manifest) {
	for _, f := range m.Files {
		fc := FileCheck{Name: f.Name, Bytes: f.Bytes, Status: "ok"}
		n, sum, err := hashFile(fsys, f.Name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fc.Status = "missing"
			r.problem(f.Name, "missing (listed in %s)", ManifestFile)
		case err != nil:
			fc.Status = "missing"
			r.problem(f.Name, "unreadable: %v", err)
		case n != f.Bytes:
			fc.Status = "size"
			r.problem(f.Name, "%d bytes, %s says %d", n, ManifestFile, f.Bytes)
		case sum != f.SHA256:
			fc.Status = "sha256"
			r.problem(f.Name, "sha256 %s does not match %s (%s): content altered", sum, ManifestFile, f.SHA256)
		}
		r.Files = append(r.Files, fc)
	}
}

func verifySums(r *Report, fsys fs.FS, present map[string]bool, m *Manifest, key ed25519.PublicKey) {
	data, err := fs.ReadFile(fsys, SumsFile)
	if err != nil {
		r.problem(SumsFile, "missing")
		return
	}
	if want := SumsListing(m.Files, r.ManifestSHA256); !bytes.Equal(data, want) {
		r.problem(SumsFile, "does not match %s", ManifestFile)
	}
	checkSig(r, fsys, SumsFile, SumsSigFile, data, key)
}

func verifyTombstone(r *Report, fsys fs.FS, present map[string]bool, m *Manifest, key ed25519.PublicKey) {
	r.State = "tombstoned"
	data, err := fs.ReadFile(fsys, TombstoneFile)
	if err != nil {
		r.problem(TombstoneFile, "%v", err)
		return
	}
	t, tkey, err := ParseTombstone(data)
	if err != nil {
		r.problem(TombstoneFile, "%v", detail(err))
		return
	}
	r.Tombstone = t
	offloaded := t.Reason == ReasonOffloaded
	if offloaded {
		r.State = StateOffloaded
	}
	checkSig(r, fsys, TombstoneFile, TombstoneSigFile, data, key)
	if !tkey.Equal(key) {
		r.problem(TombstoneFile, "names key %s, the manifest %s", sshsig.Fingerprint(tkey), r.KeyFingerprint)
	}
	if t.ManifestSHA256 != r.ManifestSHA256 || t.SessionID != m.Result.SessionID || t.Seq != m.Result.Seq {
		r.problem(TombstoneFile, "is for %s (manifest %s), not this bundle (%s, manifest %s)", t.SessionID, t.ManifestSHA256, m.Result.SessionID, r.ManifestSHA256)
	}
	if offloaded {
		// An offloaded bundle keeps its signed SHA256SUMS.
		verifySums(r, fsys, present, m, key)
	}
	removed := map[string]bool{}
	for _, f := range t.Removed {
		removed[f.Name] = true
	}
	absent := 0
	for _, f := range m.Files {
		st := "removed"
		switch {
		case removed[f.Name] && present[f.Name]:
			// Left over by an unfinished removal, or a copy read back
			// from the off-site store: whatever is there must be intact.
			if n, sum, err := hashFile(fsys, f.Name); err != nil || n != f.Bytes || sum != f.SHA256 {
				st = "sha256"
				r.problem(f.Name, "removed by the tombstone, but present and not as %s lists it", ManifestFile)
			} else if offloaded {
				st = "ok"
			} else {
				r.note("%s: left over by an unfinished removal (weighd finishes it at start)", f.Name)
			}
		case removed[f.Name]:
			absent++
		default:
			// Kept (allowed_signers): must still be intact.
			st = "ok"
			if n, sum, err := hashFile(fsys, f.Name); err != nil || n != f.Bytes || sum != f.SHA256 {
				st = "sha256"
				r.problem(f.Name, "kept by the tombstone but missing or altered")
			}
		}
		r.Files = append(r.Files, FileCheck{Name: f.Name, Bytes: f.Bytes, Status: st})
	}
	switch {
	case offloaded && absent > 0:
		r.note("%s (weighctl verify --offsite %s): the data files went at %s once their off-site copies were verified", OffloadedNote, m.Result.SessionID, t.RemovedAt)
	case offloaded:
		r.note("offloaded at %s; every data file is present here and matches %s", t.RemovedAt, ManifestFile)
	default:
		r.note("data removed by retention at %s (%s: %s)", t.RemovedAt, t.Reason, t.Detail)
	}
}

// OffloadedNote is what weighctl verify and the web app say of an
// offloaded bundle whose data files are only in the off-site store.
const OffloadedNote = "offloaded — verify from the store"

// verifyOutcomes checks the legacy outcome-NNN.json chain and returns the
// SHA-256 of its last document ("" if none, "?" if it is broken), which the
// first addendum names.
func verifyOutcomes(r *Report, fsys fs.FS, present map[string]bool, key ed25519.PublicKey) string {
	nums := map[int]bool{}
	maxN := 0
	for name := range present {
		if m := outcomeRE.FindStringSubmatch(name); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil || fmt.Sprintf("%03d", n) != m[1] {
				r.problem(name, "not a valid outcome file name")
				continue
			}
			nums[n] = true
			maxN = max(maxN, n)
		}
	}
	prev := ""
	for n := 1; n <= maxN; n++ {
		name := OutcomeFileName(n)
		sigName := outcomeSigName(name)
		if !nums[n] || !present[name] {
			if present[sigName] {
				r.problem(sigName, "signature without %s", name)
			} else {
				r.problem(name, "missing, but a later outcome exists")
			}
			prev = "?"
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			r.problem(name, "%v", err)
			prev = "?"
			continue
		}
		a, akey, err := ParseOutcomeAddendum(data)
		if err != nil {
			r.problem(name, "%v", detail(err))
			prev = "?"
			continue
		}
		checkSig(r, fsys, name, sigName, data, key)
		switch {
		case !akey.Equal(key):
			r.problem(name, "names key %s, the manifest %s", sshsig.Fingerprint(akey), r.KeyFingerprint)
		case a.N != n:
			r.problem(name, "says it is outcome %d", a.N)
		case a.ManifestSHA256 != r.ManifestSHA256:
			r.problem(name, "is for manifest %s, not this one (%s)", a.ManifestSHA256, r.ManifestSHA256)
		case prev != "?" && a.PreviousSHA256 != prev:
			r.problem(name, "previous_sha256 %q does not match the previous outcome (%q)", a.PreviousSHA256, prev)
		}
		r.Outcomes = append(r.Outcomes, OutcomeInfo{File: name, N: n, RecordedAt: a.RecordedAt, Outcome: a.Outcome})
		prev = sha256Hex(data)
	}
	return prev
}

// verifyAddenda checks the addendum chain: numbers 1..N with one file each,
// every addendum signed by the manifest's key, for this manifest, linked to
// the previous one (the first to the legacy outcomes' tip), and every file it
// lists present, intact and listed nowhere else. The files it lists join
// known.
func verifyAddenda(r *Report, fsys fs.FS, present, known map[string]bool, tip string, key ed25519.PublicKey) {
	byN := map[int][]string{}
	sigs := map[int][]string{}
	maxN := 0
	for name := range present {
		m := addendumRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || fmt.Sprintf("%03d", n) != m[1] {
			r.problem(name, "not a valid addendum file name")
			continue
		}
		maxN = max(maxN, n)
		if m[3] == "json" {
			byN[n] = append(byN[n], name)
		} else if !present[strings.TrimSuffix(name, ".sig")+".json"] {
			sigs[n] = append(sigs[n], name)
		}
	}
	prev := tip
	for n := 1; n <= maxN; n++ {
		names := byN[n]
		slices.Sort(names)
		for _, sig := range sigs[n] {
			if len(names) == 0 {
				r.problem(strings.TrimSuffix(sig, ".sig")+".json", "missing (its signature %s is there)", sig)
			} else {
				r.problem(sig, "signature without its addendum")
			}
		}
		switch {
		case len(names) == 0 && len(sigs[n]) == 0:
			r.problem(fmt.Sprintf("addendum-%03d-*.json", n), "missing, but a later addendum exists")
			prev = "?"
			continue
		case len(names) == 0:
			prev = "?"
			continue
		case len(names) > 1:
			r.problem(names[1], "a second addendum numbered %d (beside %s)", n, names[0])
			prev = "?"
			continue
		}
		name := names[0]
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			r.problem(name, "%v", err)
			prev = "?"
			continue
		}
		a, akey, err := ParseAddendum(data)
		if err != nil {
			r.problem(name, "%v", detail(err))
			prev = "?"
			continue
		}
		checkSig(r, fsys, name, AddendumSigName(a.N, a.Kind), data, key)
		switch {
		case !akey.Equal(key):
			r.problem(name, "names key %s, the manifest %s", sshsig.Fingerprint(akey), r.KeyFingerprint)
		case a.N != n || a.FileName() != name:
			r.problem(name, "says it is addendum %d of kind %q (%s)", a.N, a.Kind, a.FileName())
		case a.ManifestSHA256 != r.ManifestSHA256:
			r.problem(name, "is for manifest %s, not this one (%s)", a.ManifestSHA256, r.ManifestSHA256)
		case prev != "?" && a.PreviousSHA256 != prev:
			r.problem(name, "previous_sha256 %q does not match the previous addendum or outcome (%q)", a.PreviousSHA256, prev)
		}
		info := AddendumInfo{File: name, N: n, Kind: a.Kind, RecordedAt: a.RecordedAt, Files: []FileCheck{}}
		for _, f := range a.Files {
			fc := FileCheck{Name: f.Name, Bytes: f.Bytes, Status: "ok"}
			if known[f.Name] {
				r.problem(f.Name, "listed by %s but already part of the bundle", name)
				fc.Status = "sha256"
			} else if n, sum, err := hashFile(fsys, f.Name); errors.Is(err, fs.ErrNotExist) {
				fc.Status = "missing"
				r.problem(f.Name, "missing (listed in %s)", name)
			} else if err != nil {
				fc.Status = "missing"
				r.problem(f.Name, "unreadable: %v", err)
			} else if n != f.Bytes {
				fc.Status = "size"
				r.problem(f.Name, "%d bytes, %s says %d", n, name, f.Bytes)
			} else if sum != f.SHA256 {
				fc.Status = "sha256"
				r.problem(f.Name, "sha256 %s does not match %s (%s): content altered", sum, name, f.SHA256)
			}
			known[f.Name] = true
			info.Files = append(info.Files, fc)
		}
		r.Addenda = append(r.Addenda, info)
		if a.Kind == KindOutcome {
			o, _ := a.Outcome()
			r.Outcomes = append(r.Outcomes, OutcomeInfo{File: name, N: n, RecordedAt: a.RecordedAt, Outcome: o})
		}
		prev = sha256Hex(data)
	}
}

// ContinuityFindings lists what a result's continuity statistics say about
// the recording (gaps, dropped or repeated frames, an interruption), and
// any inconsistency between the figures themselves (mean_fps against frames
// and duration, max_gap_ms against the gaps).
func ContinuityFindings(res result.Result) []string {
	c := res.Continuity
	var out []string
	if res.Interrupted {
		out = append(out, "session interrupted (crash or power cut); sealed at recovery with the recording up to the cut")
	}
	if c.Frames == 0 {
		out = append(out, "no video frames recorded")
	}
	if len(c.Gaps) > 0 {
		longest := c.Gaps[0]
		for _, g := range c.Gaps {
			if g.GapMS > longest.GapMS {
				longest = g
			}
		}
		out = append(out, fmt.Sprintf("%d gap(s) in the video; longest %.0f ms at %.1f s in %s", len(c.Gaps), longest.GapMS, longest.AtS, longest.File))
	}
	var dropped int64
	for _, n := range c.Dropped {
		dropped += n
	}
	if dropped > 0 {
		reasons := make([]string, 0, len(c.Dropped))
		for k := range c.Dropped {
			reasons = append(reasons, k)
		}
		slices.Sort(reasons)
		s := fmt.Sprintf("%d frame(s) dropped:", dropped)
		for _, k := range reasons {
			s += fmt.Sprintf(" %s %d", k, c.Dropped[k])
		}
		out = append(out, s)
	}
	if c.Duplicated > 0 {
		out = append(out, fmt.Sprintf("%d duplicated frame(s)", c.Duplicated))
	}
	if a := c.Audio; a != nil {
		if a.MissingMS > 0 {
			out = append(out, fmt.Sprintf("%d gap(s) in the sound; %.0f ms missing, longest %.0f ms", len(a.Gaps), a.MissingMS, a.MaxGapMS))
		}
		if a.LostSamples > 0 {
			out = append(out, fmt.Sprintf("%d audio sample(s) lost by the capture (overrun or replug)", a.LostSamples))
		}
		var dropped int64
		for _, n := range a.DroppedSamples {
			dropped += n
		}
		if dropped > 0 {
			out = append(out, fmt.Sprintf("%d audio sample(s) dropped by the recorder", dropped))
		}
	}
	// Consistency of the figures among themselves.
	bad := func(format string, args ...any) {
		out = append(out, "inconsistent continuity: "+fmt.Sprintf(format, args...))
	}
	if c.Frames < 0 || c.DurationS < 0 || c.MeanFPS < 0 || c.MaxGapMS < 0 || math.IsNaN(c.DurationS+c.MeanFPS+c.MaxGapMS) {
		bad("negative or NaN figures")
		return out
	}
	if c.Frames >= 2 && c.DurationS > 0 {
		// Either convention: frames/duration or intervals/duration.
		a, b := float64(c.Frames)/c.DurationS, float64(c.Frames-1)/c.DurationS
		if !near(c.MeanFPS, a, 0.02) && !near(c.MeanFPS, b, 0.02) {
			bad("mean_fps %.3f, but %d frames in %.3f s give %.3f", c.MeanFPS, c.Frames, c.DurationS, b)
		}
		// No gap can be shorter than the average frame interval would allow
		// a gap-free recording to have.
		if c.MaxGapMS > 0 && c.MaxGapMS/1000 > c.DurationS+1e-6 {
			bad("max_gap_ms %.0f exceeds the duration %.3f s", c.MaxGapMS, c.DurationS)
		}
	}
	for _, g := range c.Gaps {
		if g.GapMS > c.MaxGapMS+0.5 {
			bad("gap of %.0f ms at %.1f s exceeds max_gap_ms %.0f", g.GapMS, g.AtS, c.MaxGapMS)
			break
		}
		if g.GapMS <= 0 || g.AtS < 0 || g.AtS > c.DurationS+g.GapMS/1000+1 {
			bad("gap at %.1f s of %.0f ms lies outside the recording", g.AtS, g.GapMS)
			break
		}
	}
	return out
}

func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-9)
}

// reanalyze compares the manifest's continuity with a fresh analysis of the
// video files.
func reanalyze(r *Report, dir string, m *Manifest, analyze func(string) (result.Continuity, error)) {
	var frames, samples int64
	var dur float64
	var n int
	sound := false
	for _, f := range m.Files {
		if !videoRE.MatchString(f.Name) {
			continue
		}
		n++
		c, err := analyze(filepath.Join(dir, f.Name))
		if err != nil {
			r.Findings = append(r.Findings, fmt.Sprintf("%s: re-analysis failed: %v", f.Name, err))
			return
		}
		frames += c.Frames
		dur += c.DurationS
		if c.Audio != nil {
			sound = true
			samples += c.Audio.Samples
		}
	}
	if n == 0 {
		return
	}
	want := m.Result.Continuity
	if frames != want.Frames {
		r.Findings = append(r.Findings, fmt.Sprintf("re-analysis of the video finds %d frames, the manifest says %d", frames, want.Frames))
	}
	tol := 0.1
	if want.MeanFPS > 0 {
		tol = max(tol, 2/want.MeanFPS)
	}
	if math.Abs(dur-want.DurationS) > tol*float64(n) {
		r.Findings = append(r.Findings, fmt.Sprintf("re-analysis of the video finds %.3f s, the manifest says %.3f s", dur, want.DurationS))
	}
	r.note("video re-analysed: %d frames, %.3f s", frames, dur)
	switch a := want.Audio; {
	case a == nil && sound:
		r.Findings = append(r.Findings, "re-analysis finds an audio track the manifest does not list")
	case a != nil && samples != a.Samples:
		r.Findings = append(r.Findings, fmt.Sprintf("re-analysis of the audio finds %d samples, the manifest says %d", samples, a.Samples))
	case a != nil:
		r.note("audio re-analysed: %d samples at %d Hz, %.3f s", samples, a.Rate, float64(samples)/float64(max(a.Rate, 1)))
	}
}

// ErrNotBundle is returned when the path given to VerifyBundle or
// VerifyChain is not a readable directory.
var ErrNotBundle = errors.New("evidence: not a bundle directory")

// VerifyBundle verifies the bundle directory dir (see VerifyFS), re-analyses
// its videos when opts.AnalyzeVideo is set, and checks its links with the
// neighbouring bundles on disk: its previous_manifest_sha256 against the
// previous bundle's manifest, the next bundle's link to it, and that all
// three are signed by the same key. The error is only for a dir that cannot
// be read as a directory; everything wrong inside is in the report.
func VerifyBundle(dir string, opts VerifyOptions) (*Report, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is a file", ErrNotBundle, dir)
	}
	r := verifyContent(os.DirFS(dir), dir, opts)
	r.Bundle = dir
	base := filepath.Base(filepath.Clean(dir))
	if r.SessionID != "" && r.SessionID != base {
		r.note("directory is named %q, the session is %q", base, r.SessionID)
	}
	if r.ManifestSHA256 == "" || r.key == nil {
		return r, nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	prevName, nextName := neighbours(parent, r.Seq)
	if prevName != "" {
		pm, pkey, psha, err := readManifestAt(filepath.Join(parent, prevName))
		switch {
		case err != nil:
			r.note("previous bundle %s unreadable (%v): link not checked", prevName, err)
		case psha != r.PreviousManifestSHA256:
			r.problem(ManifestFile, "previous_manifest_sha256 %s does not match the previous bundle on disk, %s (manifest %s)", r.PreviousManifestSHA256, prevName, psha)
		case !pkey.Equal(r.key):
			r.problem(ManifestFile, "signed by %s, the previous bundle %s by %s", r.KeyFingerprint, prevName, pm.KeyFingerprint)
		default:
			r.note("linked to the previous bundle %s", prevName)
		}
	} else if r.PreviousManifestSHA256 != "" {
		r.note("previous bundle not on disk: link not checked")
	}
	if nextName != "" {
		nm, nkey, _, err := readManifestAt(filepath.Join(parent, nextName))
		switch {
		case err != nil:
			r.note("next bundle %s unreadable (%v): link not checked", nextName, err)
		case nm.PreviousManifestSHA256 != r.ManifestSHA256:
			r.problem(ManifestFile, "the next bundle %s was chained to manifest %s, not to this one (%s): this manifest was replaced after it", nextName, nm.PreviousManifestSHA256, r.ManifestSHA256)
		case !nkey.Equal(r.key):
			r.problem(ManifestFile, "signed by %s, the next bundle %s by %s", r.KeyFingerprint, nextName, nm.KeyFingerprint)
		default:
			r.note("linked from the next bundle %s", nextName)
		}
	}
	return r, nil
}

func readManifestAt(dir string) (*Manifest, ed25519.PublicKey, string, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, nil, "", err
	}
	m, key, err := ParseManifest(data)
	if err != nil {
		return nil, nil, "", err
	}
	return m, key, sha256Hex(data), nil
}

// neighbours finds the bundle directories with the nearest lower and higher
// sequence numbers than seq in parent.
func neighbours(parent string, seq int64) (prev, next string) {
	des, err := os.ReadDir(parent)
	if err != nil {
		return "", ""
	}
	var ps, ns int64
	for _, de := range des {
		s, ok := ParseSessionDirName(de.Name())
		if !ok || !de.IsDir() {
			continue
		}
		if s < seq && s > ps {
			ps, prev = s, de.Name()
		}
		if s > seq && (ns == 0 || s < ns) {
			ns, next = s, de.Name()
		}
	}
	return prev, next
}

// ChainReport is the verification of a station's whole chain.
type ChainReport struct {
	Dir     string    `json:"dir"`
	Bundles []*Report `json:"bundles"`
	// Head is the SHA-256 of the newest manifest in the chain.
	Head string `json:"head"`
	// Problems are chain-wide failures (a head that does not match).
	Problems       []Problem `json:"problems"`
	KeyFingerprint string    `json:"key_fingerprint"`
}

// OK reports whether every bundle and the chain passed.
func (c *ChainReport) OK() bool {
	if len(c.Problems) > 0 {
		return false
	}
	for _, b := range c.Bundles {
		if !b.OK() {
			return false
		}
	}
	return true
}

// ChainOptions configure VerifyChain.
type ChainOptions struct {
	VerifyOptions
	// Head, when set, is the chain head published last (for instance in
	// Home Assistant's history); the newest manifest on disk must match it,
	// which detects removal of the newest bundles.
	Head string
}

// VerifyChain verifies every bundle in dir (a sessions directory, or a state
// directory holding one), tombstones included, and the hash chain through
// them: the oldest bundle starts the chain (no previous manifest), each
// names its predecessor's manifest hash, all are signed by one key, and
// sequence numbers match the directory names. In a state directory (or its
// sessions/ beside a journal) the station's journal is compared with the
// bundles both ways (VerifyJournal).
func VerifyChain(dir string, opts ChainOptions) (*ChainReport, error) {
	stateDir := ""
	if st, err := os.Stat(filepath.Join(dir, SessionsDir)); err == nil && st.IsDir() {
		stateDir, dir = dir, filepath.Join(dir, SessionsDir)
	} else if parent := filepath.Dir(filepath.Clean(dir)); filepath.Base(filepath.Clean(dir)) == SessionsDir {
		if _, err := os.Stat(filepath.Join(parent, JournalFile)); err == nil {
			stateDir = parent
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	type item struct {
		seq  int64
		name string
	}
	var items []item
	for _, de := range des {
		if seq, ok := ParseSessionDirName(de.Name()); ok && de.IsDir() {
			items = append(items, item{seq, de.Name()})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	c := &ChainReport{Dir: dir, Bundles: []*Report{}, Problems: []Problem{}}
	prev, prevName := "", ""
	var chainKey ed25519.PublicKey = opts.Key
	for i, it := range items {
		path := filepath.Join(dir, it.name)
		r := verifyContent(os.DirFS(path), path, opts.VerifyOptions)
		r.Bundle = it.name
		c.Bundles = append(c.Bundles, r)
		switch {
		case r.State == "unsealed" && i == len(items)-1:
			// The session being recorded, or awaiting recovery.
			r.Problems = slices.DeleteFunc(r.Problems, func(p Problem) bool { return p.File == UnsealedFile })
			r.note("newest session not sealed yet (recording, or awaiting recovery at the next start)")
			continue
		case r.ManifestSHA256 == "" || r.key == nil:
			prev = "?"
			continue
		}
		if r.SessionID != it.name {
			r.problem(ManifestFile, "manifest is for session %q, found in directory %q", r.SessionID, it.name)
		}
		switch {
		case prev == "?":
			r.note("previous bundle damaged: link not checked")
		case r.PreviousManifestSHA256 != prev && prevName == "":
			r.problem(ManifestFile, "the chain does not start here: previous_manifest_sha256 %s names a manifest not on disk (bundles removed without a tombstone?)", r.PreviousManifestSHA256)
		case r.PreviousManifestSHA256 != prev:
			r.problem(ManifestFile, "previous_manifest_sha256 %s does not match the previous bundle %s (manifest %s): a bundle was removed or a manifest replaced", r.PreviousManifestSHA256, prevName, prev)
		}
		if chainKey == nil {
			chainKey = r.key
		} else if !r.key.Equal(chainKey) && opts.Key == nil && opts.Fingerprint == "" {
			r.problem(ManifestFile, "signed by %s, the chain before it by %s", r.KeyFingerprint, sshsig.Fingerprint(chainKey))
		}
		prev, prevName = r.ManifestSHA256, it.name
	}
	if chainKey != nil {
		c.KeyFingerprint = sshsig.Fingerprint(chainKey)
	}
	if prev != "?" {
		c.Head = prev
	}
	if stateDir != "" {
		// The journal says what was sealed and added: a bundle that lost
		// its seal or its newest addendum fails here.
		for _, p := range VerifyJournal(stateDir, chainKey, nil) {
			c.Problems = append(c.Problems, Problem{File: p.File, Reason: "journal: " + p.File + ": " + p.Reason})
		}
	}
	if opts.Head != "" && c.Head != opts.Head {
		c.Problems = append(c.Problems, Problem{File: filepath.Base(dir), Reason: fmt.Sprintf("chain head is %q, the published head is %s: newer bundles are missing or replaced", c.Head, opts.Head)})
	}
	return c, nil
}

// detail is a parse error without the "evidence: bad format" prefix.
func detail(err error) string {
	return strings.TrimPrefix(err.Error(), ErrFormat.Error()+": ")
}
