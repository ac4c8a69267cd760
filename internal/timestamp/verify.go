package timestamp

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"

	"weighin/internal/evidence"
)

// TokenCheck is the verification of one bundle file's token.
type TokenCheck struct {
	// For is the stamped file, Token its token file.
	For   string `json:"for"`
	Token string `json:"token"`
	// Status is "ok", "failed" or "pending" (no token yet: a note, not a
	// failure).
	Status  string `json:"status"`
	TSA     string `json:"tsa,omitempty"`
	TSATime string `json:"tsa_time,omitempty"`
	Serial  string `json:"serial,omitempty"`
	// Reason says why it failed.
	Reason string `json:"reason,omitempty"`
}

// Problem is a token that fails, or a token file that belongs to nothing.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// String is "file: reason".
func (p Problem) String() string { return p.File + ": " + p.Reason }

// Report is the verification of a bundle's timestamp tokens. It is OK when
// it has no Problems; Notes report pending tokens and the TSA's time
// against the station's.
type Report struct {
	Tokens   []TokenCheck `json:"tokens"`
	Problems []Problem    `json:"problems"`
	Notes    []string     `json:"notes"`
}

// OK reports whether every token present verifies.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// addendumRE matches an addendum document (addendum-NNN-<kind>.json).
var addendumRE = regexp.MustCompile(`^addendum-[0-9]{3,}-([a-z0-9][a-z0-9_-]*)\.json$`)

// Stamped lists the files of a bundle that get a token, given the names of
// its files: SHA256SUMS, and every addendum document not of kind Kind.
func Stamped(names []string) []string {
	var out []string
	for _, n := range names {
		if n == evidence.SumsFile {
			out = append(out, n)
		} else if m := addendumRE.FindStringSubmatch(n); m != nil && Stamps(m[1]) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Verify checks the timestamp tokens of the bundle whose files are at the
// root of fsys (os.DirFS(bundleDir), or an unzipped dispute pack): for each
// file that gets a token (see Stamped), its <name>.tsr is checked with
// CheckResponse against roots, with <name>.tsa.pem as extra certificates.
// A missing token is pending, a note; a token that fails, or one for no
// file of the bundle, is a problem. For SHA256SUMS it compares the TSA's
// time with the station's start time from manifest.json.
func Verify(fsys fs.FS, roots *x509.CertPool) *Report {
	r := &Report{Tokens: []TokenCheck{}, Problems: []Problem{}, Notes: []string{}}
	des, err := fs.ReadDir(fsys, ".")
	if err != nil {
		r.Problems = append(r.Problems, Problem{".", "cannot list the bundle: " + err.Error()})
		return r
	}
	present := map[string]bool{}
	var names []string
	for _, de := range des {
		present[de.Name()] = true
		names = append(names, de.Name())
	}
	claimed := map[string]bool{}
	for _, f := range Stamped(names) {
		tsr, chain := TokenName(f), ChainName(f)
		claimed[tsr], claimed[chain] = true, true
		tc := TokenCheck{For: f, Token: tsr, Status: "pending"}
		if !present[tsr] {
			r.Tokens = append(r.Tokens, tc)
			r.Notes = append(r.Notes, fmt.Sprintf("%s: no timestamp token yet (pending in the station's queue, or no TSA was configured)", f))
			continue
		}
		tok, err := checkFile(fsys, f, tsr, chain, present[chain], roots)
		if err != nil {
			tc.Status, tc.Reason = "failed", err.Error()
			r.Tokens = append(r.Tokens, tc)
			r.Problems = append(r.Problems, Problem{tsr, err.Error()})
			continue
		}
		tc.Status, tc.TSA, tc.TSATime, tc.Serial = "ok", tok.TSA(), tok.Time.UTC().Format(time.RFC3339), tok.Serial.String()
		r.Tokens = append(r.Tokens, tc)
		if f == evidence.SumsFile {
			r.Notes = append(r.Notes, stationTime(fsys, tok))
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: timestamped by %s at %s", f, tok.TSA(), tc.TSATime))
		}
	}
	for _, n := range names {
		if claimed[n] || !(strings.HasSuffix(n, ".tsr") || strings.HasSuffix(n, ".tsa.pem")) {
			continue
		}
		if n == TokenName(evidence.SumsFile) && present[evidence.TombstoneFile] {
			r.Notes = append(r.Notes, n+": SHA256SUMS was removed by retention, so its token cannot be checked")
			continue
		}
		if n == ChainName(evidence.SumsFile) && present[evidence.TombstoneFile] {
			continue
		}
		r.Problems = append(r.Problems, Problem{n, "a timestamp file for no file of the bundle"})
	}
	return r
}

// checkFile verifies the token tsr of the bundle file f.
func checkFile(fsys fs.FS, f, tsr, chain string, haveChain bool, roots *x509.CertPool) (*Token, error) {
	resp, err := fs.ReadFile(fsys, tsr)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, f)
	if err != nil {
		return nil, err
	}
	var extra []*x509.Certificate
	if haveChain {
		pemData, err := fs.ReadFile(fsys, chain)
		if err != nil {
			return nil, err
		}
		if extra, err = ParsePEM(pemData); err != nil {
			return nil, fmt.Errorf("%s: %v", chain, err)
		}
	}
	sum := sha256.Sum256(data)
	tok, err := CheckResponse(resp, sum[:], roots, extra)
	if errors.Is(err, ErrImprint) {
		return nil, fmt.Errorf("%w, not this %s: %s", ErrImprint, f, strings.TrimPrefix(err.Error(), ErrImprint.Error()+": "))
	}
	return tok, err
}

// stationTime compares the SHA256SUMS token's time with the session's
// start by the station's clock.
func stationTime(fsys fs.FS, tok *Token) string {
	at := tok.Time.UTC().Format(time.RFC3339)
	head := fmt.Sprintf("%s: timestamped by %s at %s", evidence.SumsFile, tok.TSA(), at)
	data, err := fs.ReadFile(fsys, evidence.ManifestFile)
	if err != nil {
		return head
	}
	m, _, err := evidence.ParseManifest(data)
	if err != nil {
		return head
	}
	started, err := time.Parse(time.RFC3339, m.Result.StartedAt)
	if !m.Result.ClockSynced || err != nil {
		return head + "; the station's clock was not synchronised when the session started (bundle named unsynced): this is the bundle's trusted time, it existed sealed by then"
	}
	d := tok.Time.Sub(started).Round(time.Second)
	if d < 0 {
		return fmt.Sprintf("%s, %s before the session's start by the station's clock (%s): the station's clock was ahead", head, -d, m.Result.StartedAt)
	}
	return fmt.Sprintf("%s, %s after the session's start by the station's clock (%s)", head, d, m.Result.StartedAt)
}
