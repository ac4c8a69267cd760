package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"

	"weighin/internal/audit"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/identity"
	"weighin/internal/offsite"
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
	case *fromStore && *chain:
		return c.fail(exitUsage, "--offsite verifies sessions, not --chain")
	case *fromStore && !c.cfg.Offsite.Enabled():
		return c.fail(exitUsage, "--offsite: offsite.endpoint is not set in the configuration")
	}
	if *gap == 0 {
		*gap = c.cfg.Recorder.GapThreshold
	}
	opts := audit.Options{VerifyOptions: evidence.VerifyOptions{Fingerprint: *fingerprint}, Strict: *strict}
	switch {
	case *keyFile != "":
		k, err := evidence.ReadKeyFile(*keyFile)
		if err != nil {
			return c.fail(exitUsage, "--key %s: %v", *keyFile, err)
		}
		opts.Key, opts.KeySource = k, "--key "+*keyFile
	case *fingerprint != "":
		opts.KeySource = "--fingerprint " + *fingerprint
	case *fromStore:
		// The key of this station's state directory, when there is one.
		if k, err := evidence.ReadKeyFile(filepath.Join(c.cfg.StateDir, evidence.PublicKeyFile)); err == nil {
			opts.Key, opts.KeySource = k, filepath.Join(c.cfg.StateDir, evidence.PublicKeyFile)
		}
	default:
		opts.Key, opts.KeySource = audit.TrustedKey(paths[0], *chain)
	}
	if !*noVideo {
		opts.AnalyzeVideo = audit.VideoAnalyzer(*gap)
	}
	var err error
	if opts.Roots, err = timestamp.Roots(c.cfg.Trust.TSACAFile); err != nil {
		return c.fail(exitUsage, "trust.tsa_ca_file: %v", err)
	}
	// --offsite: each session is read back from the store into a
	// temporary directory and verified there as a local bundle.
	if *fromStore {
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
		if paths, opts.Origins, err = audit.FromStore(ctx, store, id.ID, paths, tmp); err != nil {
			return c.fail(exitProblem, "--offsite %v", err)
		}
	}
	var out *audit.Report
	if *chain {
		out, err = audit.Chain(paths[0], *head, opts)
	} else {
		opts.JournalDir = c.journalDir
		out, err = audit.Bundles(ctx, paths, opts)
	}
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	if *jsonOut {
		writeJSON(stdout, out)
	} else {
		out.Write(stdout)
	}
	// Every integrity failure also goes to stderr, one line each, naming
	// the file.
	for _, f := range out.Failures() {
		c.fail(0, "%s", f)
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

// stationIDOf is the station id weighd runs as: configured, or the one it
// derived and keeps in the state directory (identity.Peek writes nothing).
func stationIDOf(cfg config.Config) string {
	if id, err := identity.Peek(cfg.StateDir, cfg.StationID); err == nil {
		return id.ID
	}
	return cfg.ResolvedStationID()
}
