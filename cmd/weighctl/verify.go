package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/identity"
	"weighin/internal/offsite"
	"weighin/internal/pack"
	"weighin/internal/recorder"
	"weighin/internal/result"
	"weighin/internal/timestamp"
)

const verifyUsage = `usage: weighctl verify [flags] BUNDLE...
       weighctl verify --chain [flags] DIR
       weighctl verify --offsite [flags] SESSION...

Checks evidence bundles offline (or unzipped dispute packs: a BUNDLE
directory with a PACKSUMS is checked as one, see below): the manifest's signature, every file's size
and SHA-256, SHA256SUMS, outcome addenda, tombstones, the links to the
neighbouring bundles on disk, and the continuity of the recording (the
statistics in the manifest, and a fresh analysis of the video files).
--chain checks every bundle of DIR (a state directory or its sessions/)
and the hash chain through them, tombstones included. --offsite reads each
SESSION (its id, as the bundle's directory name) back from the off-site
store of offsite.* in the configuration, for the station's effective id,
and checks it the same way (timestamp tokens and the links to its
neighbours in the store included), adding a problem for every object whose
bytes differ from the SHA-256 the store recorded at upload.

A dispute pack (weighctl export --preset pack, unzipped): PACKSUMS and its
signature, every file present listed there with its SHA-256, and the
bundle's checks over the files present; the originals the manifest lists
but the pack leaves out are "not included", never a failure.

Without --key or --fingerprint the key is the one in the manifests (and the
state directory's station_ed25519.pub when the bundles are in one): compare
the fingerprint printed with the one published with the results.

Exit status: 0 all good; 1 an integrity failure (the file is named), or
with --strict a continuity finding; 2 usage error.
`

// runVerify is `weighctl verify`.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("verify", verifyUsage, stderr)
	jsonOut := c.Bool("json", false, "print the report as JSON")
	strict := c.Bool("strict", false, "fail (exit 1) on continuity findings too: gaps, dropped frames, an interrupted session")
	chain := c.Bool("chain", false, "verify every bundle of DIR and the chain through them")
	keyFile := c.String("key", "", "accept only the key in this file (.pub, authorized_keys or allowed_signers line)")
	fingerprint := c.String("fingerprint", "", "accept only the key with this fingerprint (SHA256:…, as published with the results)")
	head := c.String("head", "", "with --chain: the chain head published last; the newest manifest must match it")
	fromStore := c.Bool("offsite", false, "verify SESSION... from the off-site store (offsite.* of the configuration)")
	noVideo := c.Bool("no-video", false, "do not re-analyse the video files")
	gap := c.Duration("gap-threshold", 0, "gap threshold for the video re-analysis (default: recorder.gap_threshold of the configuration)")
	paths, code, done := c.parse(args)
	if done {
		return code
	}
	switch {
	case len(paths) == 0:
		return c.fail(exitUsage, "name at least one bundle directory (or --chain DIR)")
	case *chain && len(paths) != 1:
		return c.fail(exitUsage, "--chain takes exactly one directory")
	case *head != "" && !*chain:
		return c.fail(exitUsage, "--head goes with --chain")
	case *keyFile != "" && *fingerprint != "":
		return c.fail(exitUsage, "give --key or --fingerprint, not both")
	case *fingerprint != "" && !strings.HasPrefix(*fingerprint, "SHA256:"):
		return c.fail(exitUsage, "--fingerprint %q: want SHA256:… as ssh-keygen -l prints it", *fingerprint)
	case *gap < 0:
		return c.fail(exitUsage, "--gap-threshold must not be negative")
	}
	if *gap == 0 {
		*gap = c.cfg.Recorder.GapThreshold
	}
	// --offsite: each session is read back from the store into a
	// temporary directory (with its neighbours' manifests) and verified
	// there as a local bundle; the store's own checksum problems are added.
	var storeProblems map[string][]evidence.Problem
	storeNames := map[string]string{}
	if *fromStore {
		if *chain {
			return c.fail(exitUsage, "--offsite verifies sessions, not --chain")
		}
		if !c.cfg.Offsite.Enabled() {
			return c.fail(exitUsage, "--offsite: offsite.endpoint is not set in the configuration")
		}
		id, err := identity.Peek(c.cfg.StateDir, c.cfg.StationID)
		if err != nil {
			return c.fail(exitUsage, "--offsite: station id: %v", err)
		}
		store, err := offsite.StoreFromConfig(c.cfg)
		if err != nil {
			return c.fail(exitUsage, "--offsite: %v", err)
		}
		tmp, err := os.MkdirTemp("", "weighctl-offsite-*")
		if err != nil {
			return c.fail(exitProblem, "%v", err)
		}
		defer os.RemoveAll(tmp)
		storeProblems = map[string][]evidence.Problem{}
		for i, session := range paths {
			parent := filepath.Join(tmp, fmt.Sprint(i))
			dir, problems, err := offsite.FetchBundle(ctx, store, id.ID, session, parent)
			if err != nil {
				return c.fail(exitProblem, "--offsite %s: %v", session, err)
			}
			paths[i] = dir
			storeProblems[dir] = problems
			storeNames[dir] = "s3://" + store.Bucket() + "/" + store.SessionPrefix(id.ID, session)
		}
	}

	opts := evidence.VerifyOptions{Fingerprint: *fingerprint}
	keySource := ""
	switch {
	case *keyFile != "":
		k, err := evidence.ReadKeyFile(*keyFile)
		if err != nil {
			return c.fail(exitUsage, "--key %s: %v", *keyFile, err)
		}
		opts.Key = k
		keySource = "--key " + *keyFile
	case *fingerprint != "":
		keySource = "--fingerprint " + *fingerprint
	case *fromStore:
		// The key of this station's state directory, when there is one.
		if k, err := evidence.ReadKeyFile(filepath.Join(c.cfg.StateDir, evidence.PublicKeyFile)); err == nil {
			opts.Key = k
			keySource = filepath.Join(c.cfg.StateDir, evidence.PublicKeyFile)
		}
	default:
		if p := evidence.StationKeyFor(paths[0], *chain); p != "" {
			if k, err := evidence.ReadKeyFile(p); err == nil {
				opts.Key = k
				keySource = p
			}
		}
	}
	if !*noVideo {
		threshold := *gap
		opts.AnalyzeVideo = func(path string) (result.Continuity, error) {
			st, err := recorder.Analyze(path, threshold)
			if err != nil {
				return result.Continuity{}, err
			}
			return st.Continuity(), nil
		}
	}

	out := verifyOutput{Strict: *strict, KeySource: keySource, Bundles: []*evidence.Report{}}
	if *chain {
		ch, err := evidence.VerifyChain(paths[0], evidence.ChainOptions{VerifyOptions: opts, Head: *head})
		if err != nil {
			return c.fail(exitUsage, "%v", err)
		}
		out.Chain = ch
		out.Bundles = ch.Bundles
	} else {
		for _, p := range paths {
			if err := ctx.Err(); err != nil {
				return c.fail(exitUsage, "%v", err)
			}
			verify := evidence.VerifyBundle
			if pack.IsPack(p) { // an unzipped dispute pack
				verify = pack.Verify
			}
			r, err := verify(p, opts)
			if err != nil {
				return c.fail(exitUsage, "%s: %v", p, err)
			}
			if sd := c.journalDir(p); sd != "" {
				session := filepath.Base(filepath.Clean(p))
				for _, jp := range evidence.VerifyJournal(sd, opts.Key, func(s string) bool { return s == session }) {
					r.Problems = append(r.Problems, evidence.Problem{File: filepath.Base(jp.File), Reason: "journal: " + jp.Reason})
				}
			}
			out.Bundles = append(out.Bundles, r)
		}
	}
	// RFC 3161 tokens (internal/timestamp): imprint, signature, chain to the
	// shipped and trust.tsa_ca_file roots, time within the TSA
	// certificate's validity. A bundle without its token yet gets a note.
	roots, err := timestamp.Roots(c.cfg.Trust.TSACAFile)
	if err != nil {
		return c.fail(exitUsage, "trust.tsa_ca_file: %v", err)
	}
	out.Timestamps = map[string]*timestamp.Report{}
	for _, b := range out.Bundles {
		if st, err := os.Stat(b.Bundle); err != nil || !st.IsDir() {
			continue
		}
		tr := timestamp.Verify(os.DirFS(b.Bundle), roots)
		out.Timestamps[b.Bundle] = tr
		for _, p := range tr.Problems {
			b.Problems = append(b.Problems, evidence.Problem{File: p.File, Reason: "timestamp: " + p.Reason})
		}
		for _, n := range tr.Notes {
			b.Notes = append(b.Notes, "timestamp: "+n)
		}
	}
	for _, b := range out.Bundles {
		if name, ok := storeNames[b.Bundle]; ok {
			b.Problems = append(b.Problems, storeProblems[b.Bundle]...)
			if tr := out.Timestamps[b.Bundle]; tr != nil {
				delete(out.Timestamps, b.Bundle)
				out.Timestamps[name] = tr
			}
			b.Bundle = name
		}
	}
	out.OK = true
	for _, b := range out.Bundles {
		if !b.OK() || *strict && len(b.Findings) > 0 {
			out.OK = false
		}
	}
	if out.Chain != nil && len(out.Chain.Problems) > 0 {
		out.OK = false
	}

	if *jsonOut {
		writeJSON(stdout, out)
	} else {
		printVerify(stdout, out)
	}
	// Every integrity failure also goes to stderr, one line each, naming
	// the file.
	for _, b := range out.Bundles {
		for _, p := range b.Problems {
			c.fail(0, "%s: %s", filepath.Join(b.Bundle, p.File), p.Reason)
		}
		if *strict {
			for _, f := range b.Findings {
				c.fail(0, "%s: continuity: %s", b.Bundle, f)
			}
		}
	}
	if out.Chain != nil {
		for _, p := range out.Chain.Problems {
			c.fail(0, "%s: %s", out.Chain.Dir, p.Reason)
		}
	}
	if !out.OK {
		return exitProblem
	}
	return exitOK
}

// journalDir is the state directory whose journal bundle is checked
// against: the one given with --state-dir or --config when the bundle is in
// it, else the bundle's own when it sits in a state directory's sessions/
// beside a journal; "" for a bundle elsewhere (a copy).
func (c *cli) journalDir(bundle string) string {
	given := false
	c.Visit(func(f *flag.Flag) { given = given || f.Name == "state-dir" || f.Name == "config" })
	abs, _ := filepath.Abs(bundle)
	parent := filepath.Dir(abs)
	if given {
		if sd, _ := filepath.Abs(c.cfg.StateDir); parent == filepath.Join(sd, evidence.SessionsDir) {
			return sd
		}
	}
	if filepath.Base(parent) == evidence.SessionsDir {
		if _, err := os.Stat(filepath.Join(filepath.Dir(parent), evidence.JournalFile)); err == nil {
			return filepath.Dir(parent)
		}
	}
	return ""
}

// verifyOutput is the --json document.
type verifyOutput struct {
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

func printVerify(w io.Writer, out verifyOutput) {
	failed, findings := 0, 0
	for _, b := range out.Bundles {
		status := "ok"
		switch {
		case !b.OK():
			status = "FAIL"
			failed++
		case len(b.Findings) > 0:
			findings++
			if out.Strict {
				status = "FAIL"
			}
		}
		fmt.Fprintf(w, "%-4s  %s  %s", status, b.Bundle, b.State)
		if b.Verdict != "" {
			fmt.Fprintf(w, ", verdict %s", b.Verdict)
		}
		fmt.Fprintln(w)
		if b.KeyFingerprint != "" {
			fmt.Fprintf(w, "      key %s, manifest sha256 %s\n", b.KeyFingerprint, b.ManifestSHA256)
		}
		counts := map[string]int{}
		for _, f := range b.Files {
			counts[f.Status]++
		}
		if len(b.Files) > 0 {
			fmt.Fprintf(w, "      files:")
			for _, s := range []string{"ok", "removed", "not included", "missing", "size", "sha256"} {
				if counts[s] > 0 {
					fmt.Fprintf(w, " %d %s", counts[s], s)
				}
			}
			fmt.Fprintln(w)
		}
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
	if out.Chain != nil {
		for _, p := range out.Chain.Problems {
			fmt.Fprintf(w, "FAIL  chain: %s\n", p.Reason)
		}
		fmt.Fprintf(w, "chain: %d bundles, head %s, key %s\n", len(out.Bundles), out.Chain.Head, out.Chain.KeyFingerprint)
	}
	trust := "the key named in the manifests: compare its fingerprint with the one published with the results"
	if out.KeySource != "" {
		trust = out.KeySource
	}
	fmt.Fprintf(w, "key trusted: %s\n", trust)
	fmt.Fprintf(w, "%d bundle(s): %d failed integrity, %d with continuity findings\n", len(out.Bundles), failed, findings)
}

// stationIDOf is the station id weighd runs as: configured, or the one it
// derived and keeps in the state directory (identity.Peek writes nothing).
func stationIDOf(cfg config.Config) string {
	if id, err := identity.Peek(cfg.StateDir, cfg.StationID); err == nil {
		return id.ID
	}
	return cfg.ResolvedStationID()
}
