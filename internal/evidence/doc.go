// Package evidence keeps the station's evidence: one directory per session
// under <state>/sessions, sealed with a manifest signed by the station's
// ed25519 key and chained to the previous manifest by its SHA-256, so that
// anyone can check a bundle with standard tools and nobody can alter, add or
// remove one unnoticed.
//
// Bundle (version 1), <seq:06d>-<UTC yyyymmddThhmmssZ | unsynced>[-<tracking>]/:
//
//	manifest.json     the session result, the station key, every file's name,
//	                  size and SHA-256, the previous manifest's SHA-256
//	manifest.sig      SSH signature of manifest.json (namespace "weighin")
//	SHA256SUMS        the same hashes plus manifest.json's, for sha256sum -c
//	SHA256SUMS.sig    SSH signature of SHA256SUMS
//	allowed_signers   the station key for ssh-keygen -Y verify (principal "station")
//	video-000.mkv …   the recorder's files, label.jpg, weight.csv, dispute.txt
//	addendum-001-outcome.json  signed addenda, numbered across kinds (+ .sig),
//	export-….mp4 …    and the files they added
//	outcome-001.json  legacy outcome records (before addenda), still verified
//	tombstone.json    left by retention when the data files went (+ .sig)
//	unsealed.json     present only while the session is open (the marker)
//
// The bundle is flat: every file is a regular file at its top level, listed
// by the manifest or by exactly one addendum; verification fails on any
// other. Nothing written is rewritten after the seal.
//
// Addenda: everything recorded after the seal — an outcome, a re-written
// claim, an export, a timestamp token — goes through one call:
//
//	a, err := store.AddAddendum(bundleDir, evidence.KindExport, body,
//		[]evidence.AddendumFile{{Name: "export-clip.mp4", Path: finished}})
//
// bundleDir is the session id or the bundle's path under <state>/sessions;
// body is any value that marshals to a JSON object (for KindOutcome an
// Outcome, which is checked); each AddendumFile is a finished regular file
// outside the bundle — best under Store.TempDir(), <state>/tmp, on the same
// file system — that is moved (renamed, never over an existing file) into
// the bundle as Name, fsynced and listed with its size and SHA-256. The
// addendum addendum-NNN-<kind>.json takes the next number across all kinds
// and names the manifest's SHA-256 and the previous addendum's (the first:
// the last legacy outcome's, or ""); its signature addendum-NNN-<kind>.sig is
// an SSH signature like manifest.sig, so
//
//	ssh-keygen -Y verify -f allowed_signers -I station -n weighin \
//	    -s addendum-002-export.sig < addendum-002-export.json
//
// checks it, and sha256sum checks the files it lists. A name the bundle
// already has is refused (ErrAddendum). On error the files are moved back
// to their Paths; a crash leaves at most files no addendum lists, which the
// next Open moves to <state>/quarantine/<session>/. ParseAddendum reads one;
// VerifyBundle checks the whole chain (Report.Addenda, Report.Outcomes).
//
// A third party checks a bundle with:
//
//	ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s SHA256SUMS.sig < SHA256SUMS
//	sha256sum -c SHA256SUMS
//	ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s manifest.sig < manifest.json
//
// and compares the key fingerprint ssh-keygen prints ("Good "weighin"
// signature for station with ED25519 key SHA256:…") with the one published
// with the results: allowed_signers travels with the bundle, so only the
// published fingerprint makes it trustworthy.
//
// The Store seals sessions (Begin, Session.Seal), recovers sessions cut by a
// crash or power failure (Recover), records addenda (AddAddendum, and
// RecordOutcome for an outcome) and
// applies retention that never removes protected evidence (Enforce, Run).
// VerifyBundle and VerifyChain check what it wrote.
//
// Processes: weighd owns the store (Begin, Seal, Recover, Enforce, Run);
// another process may Open the same state directory to add addenda (as
// weighctl outcome does). Every change holds an exclusive flock on
// <state>/evidence.lock, and addenda are re-read from disk before they are
// numbered and before retention decides, so the two never collide.
//
// Durability: every whole file (documents, signatures, the marker) is
// written by one helper: staged in <state>/tmp, fsynced, renamed into place
// and the directory fsynced; temporary files never sit in a bundle. Data
// files are fsynced before the manifest or addendum that lists them is
// written, and signatures before their documents.
package evidence
