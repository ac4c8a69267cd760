// Package audit is weighctl verify's analysis: it verifies evidence
// bundles (or unzipped dispute packs, or a whole chain) with
// internal/evidence and internal/pack, adds the state directory's journal,
// the RFC 3161 tokens (internal/timestamp) and the off-site store's own
// checksum problems, and decides the one verdict: every bundle's integrity,
// and with Strict its continuity too. The report prints as text (Write) or
// JSON (its fields).
package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/offsite"
	"weighin/internal/pack"
	"weighin/internal/recorder"
	"weighin/internal/result"
	"weighin/internal/timestamp"
)

// Options say what is trusted and checked.
type Options struct {
	evidence.VerifyOptions
	// KeySource says which key was trusted (Key's file, the fingerprint),
	// "" for the key named in the manifests.
	KeySource string
	// Strict fails a bundle on its continuity findings too.
	Strict bool
	// Roots are the timestamp authorities' roots (timestamp.Roots).
	Roots *x509.CertPool
	// JournalDir is the state directory whose journal a bundle is checked
	// against, "" for none (a copy elsewhere).
	JournalDir func(bundle string) string
	// Origins are the bundles read back from an off-site store, by their
	// local directory.
	Origins map[string]Origin
}

// Origin is where a bundle verified in a local directory came from: its
// name in the store and the store's own checksum problems.
type Origin struct {
	Name     string
	Problems []evidence.Problem
}

// Report is the verification of one or more bundles (weighctl verify
// --json).
type Report struct {
	OK     bool `json:"ok"`
	Strict bool `json:"strict"`
	// KeySource says which key was trusted: a file, a fingerprint, or ""
	// for the key named in the manifests.
	KeySource string                `json:"key_source"`
	Chain     *evidence.ChainReport `json:"chain,omitempty"`
	Bundles   []*evidence.Report    `json:"bundles"`
	// Timestamps are the RFC 3161 token checks, by bundle directory.
	Timestamps map[string]*timestamp.Report `json:"timestamps"`
}

// VideoAnalyzer is evidence.VerifyOptions.AnalyzeVideo with the
// recorder's analysis at gap threshold.
func VideoAnalyzer(threshold time.Duration) func(path string) (result.Continuity, error) {
	return func(path string) (result.Continuity, error) {
		st, err := recorder.Analyze(path, threshold)
		if err != nil {
			return result.Continuity{}, err
		}
		return st.Continuity(), nil
	}
}

// TrustedKey is the key the verification trusts without --key or
// --fingerprint: the station key of the state directory the bundles at
// first are in (every bundle of a chain), nil and "" when there is none.
func TrustedKey(first string, chain bool) (ed25519.PublicKey, string) {
	if p := evidence.StationKeyFor(first, chain); p != "" {
		if k, err := evidence.ReadKeyFile(p); err == nil {
			return k, p
		}
	}
	return nil, ""
}

// Bundles verifies each directory: a bundle, or an unzipped dispute pack.
// An error is a directory that cannot be verified at all (not a bundle).
func Bundles(ctx context.Context, dirs []string, o Options) (*Report, error) {
	r := &Report{Bundles: []*evidence.Report{}}
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		verify := evidence.VerifyBundle
		if pack.IsPack(dir) {
			verify = pack.Verify
		}
		b, err := verify(dir, o.VerifyOptions)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if o.JournalDir != nil {
			if sd := o.JournalDir(dir); sd != "" {
				session := filepath.Base(filepath.Clean(dir))
				for _, jp := range evidence.VerifyJournal(sd, o.Key, func(s string) bool { return s == session }) {
					b.Problems = append(b.Problems, evidence.Problem{File: filepath.Base(jp.File), Reason: "journal: " + jp.Reason})
				}
			}
		}
		r.Bundles = append(r.Bundles, b)
	}
	r.finish(o)
	return r, nil
}

// Chain verifies every bundle of dir (a state directory or its sessions/)
// and the hash chain through them; head, when set, is the chain head
// published last.
func Chain(dir, head string, o Options) (*Report, error) {
	ch, err := evidence.VerifyChain(dir, evidence.ChainOptions{VerifyOptions: o.VerifyOptions, Head: head})
	if err != nil {
		return nil, err
	}
	r := &Report{Chain: ch, Bundles: ch.Bundles}
	r.finish(o)
	return r, nil
}

// finish adds the timestamp tokens' checks and the off-site origins, then
// decides.
func (r *Report) finish(o Options) {
	r.Strict, r.KeySource = o.Strict, o.KeySource
	// RFC 3161 tokens: imprint, signature, chain to the shipped and
	// trust.tsa_ca_file roots, time within the TSA certificate's validity.
	// A bundle without its token yet gets a note.
	r.Timestamps = map[string]*timestamp.Report{}
	for _, b := range r.Bundles {
		if st, err := os.Stat(b.Bundle); err != nil || !st.IsDir() {
			continue
		}
		tr := timestamp.Verify(os.DirFS(b.Bundle), o.Roots)
		r.Timestamps[b.Bundle] = tr
		for _, p := range tr.Problems {
			b.Problems = append(b.Problems, evidence.Problem{File: p.File, Reason: "timestamp: " + p.Reason})
		}
		for _, n := range tr.Notes {
			b.Notes = append(b.Notes, "timestamp: "+n)
		}
	}
	for _, b := range r.Bundles {
		if origin, ok := o.Origins[b.Bundle]; ok {
			b.Problems = append(b.Problems, origin.Problems...)
			if tr := r.Timestamps[b.Bundle]; tr != nil {
				delete(r.Timestamps, b.Bundle)
				r.Timestamps[origin.Name] = tr
			}
			b.Bundle = origin.Name
		}
	}
	r.OK = r.Chain == nil || len(r.Chain.Problems) == 0
	for _, b := range r.Bundles {
		if r.failed(b) {
			r.OK = false
		}
	}
}

// failed is the one rule: an integrity problem, or with Strict a
// continuity finding.
func (r *Report) failed(b *evidence.Report) bool {
	return !b.OK() || r.Strict && len(b.Findings) > 0
}

// Failures are the report's failures, one line each naming the file: the
// integrity problems, with Strict the continuity findings, and the chain's
// problems.
func (r *Report) Failures() []string {
	var out []string
	for _, b := range r.Bundles {
		for _, p := range b.Problems {
			out = append(out, fileOf(b.Bundle, p.File)+": "+p.Reason)
		}
		if r.Strict {
			for _, f := range b.Findings {
				out = append(out, fmt.Sprintf("%s: continuity: %s", b.Bundle, f))
			}
		}
	}
	if r.Chain != nil {
		for _, p := range r.Chain.Problems {
			out = append(out, r.Chain.Dir+": "+p.Reason)
		}
	}
	return out
}

// fileOf names a file of a bundle: a path, or under an off-site bundle's
// s3:// name (which filepath.Join would cut to "s3:/").
func fileOf(bundle, file string) string {
	if strings.Contains(bundle, "://") {
		return strings.TrimSuffix(bundle, "/") + "/" + file
	}
	return filepath.Join(bundle, file)
}

// Write prints the report as weighctl verify does: a block per bundle, the
// chain, the key trusted and the totals.
func (r *Report) Write(w io.Writer) {
	failed, findings := 0, 0
	for _, b := range r.Bundles {
		status := "ok"
		if !b.OK() {
			failed++
		} else if len(b.Findings) > 0 {
			findings++
		}
		if r.failed(b) {
			status = "FAIL"
		}
		fmt.Fprintf(w, "%-4s  %s  %s", status, b.Bundle, b.State)
		if b.Verdict != "" {
			fmt.Fprintf(w, ", verdict %s", b.Verdict)
		}
		fmt.Fprintln(w)
		if b.KeyFingerprint != "" {
			fmt.Fprintf(w, "      key %s, manifest sha256 %s\n", b.KeyFingerprint, b.ManifestSHA256)
		}
		writeFiles(w, b)
		for _, o := range b.Outcomes {
			fmt.Fprintf(w, "      %s: %s (%s)\n", o.File, o.Outcome, o.RecordedAt)
		}
		for _, a := range b.Addenda {
			if a.Kind != evidence.KindOutcome {
				fmt.Fprintf(w, "      %s: %s, %d file(s) (%s)\n", a.File, a.Kind, len(a.Files), a.RecordedAt)
			}
		}
		for _, p := range b.Problems {
			fmt.Fprintf(w, "      FAIL %s: %s\n", p.File, p.Reason)
		}
		for _, f := range b.Findings {
			fmt.Fprintf(w, "      finding: %s\n", f)
		}
		for _, n := range b.Notes {
			fmt.Fprintf(w, "      note: %s\n", n)
		}
	}
	if r.Chain != nil {
		for _, p := range r.Chain.Problems {
			fmt.Fprintf(w, "FAIL  chain: %s\n", p.Reason)
		}
		fmt.Fprintf(w, "chain: %d bundles, head %s, key %s\n", len(r.Bundles), r.Chain.Head, r.Chain.KeyFingerprint)
	}
	trust := "the key named in the manifests: compare its fingerprint with the one published with the results"
	if r.KeySource != "" {
		trust = r.KeySource
	}
	fmt.Fprintf(w, "key trusted: %s\n", trust)
	fmt.Fprintf(w, "%d bundle(s): %d failed integrity, %d with continuity findings\n", len(r.Bundles), failed, findings)
}

// writeFiles prints the count of a bundle's files by status.
func writeFiles(w io.Writer, b *evidence.Report) {
	if len(b.Files) == 0 {
		return
	}
	counts := map[string]int{}
	for _, f := range b.Files {
		counts[f.Status]++
	}
	fmt.Fprintf(w, "      files:")
	for _, s := range []string{"ok", "removed", "not included", "missing", "size", "sha256"} {
		if counts[s] > 0 {
			fmt.Fprintf(w, " %d %s", counts[s], s)
		}
	}
	fmt.Fprintln(w)
}

// FromStore reads each session back from the off-site store into a
// directory of its own under tmp (with its neighbours' manifests), to be
// verified there as a local bundle: dirs are the directories, origins
// (Options.Origins) name the sessions in the store and carry its checksum
// problems.
func FromStore(ctx context.Context, store *offsite.Store, stationID string, sessions []string, tmp string) (dirs []string, origins map[string]Origin, err error) {
	origins = map[string]Origin{}
	for i, session := range sessions {
		dir, problems, err := offsite.FetchBundle(ctx, store, stationID, session, filepath.Join(tmp, fmt.Sprint(i)))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", session, err)
		}
		dirs = append(dirs, dir)
		origins[dir] = Origin{Name: "s3://" + store.Bucket() + "/" + store.SessionPrefix(stationID, session), Problems: problems}
	}
	return dirs, origins, nil
}
