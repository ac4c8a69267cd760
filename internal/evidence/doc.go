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
//	video.mkv …       the recorder's files, label.jpg, weight.csv, dispute.txt
//	outcome-001.json  signed addenda recording the dispute's outcome (+ .sig)
//	tombstone.json    left by retention when the data files went (+ .sig)
//	unsealed.json     present only while the session is open (the marker)
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
// crash or power failure (Recover), records outcomes (RecordOutcome) and
// applies retention that never removes protected evidence (Enforce, Run).
// VerifyBundle and VerifyChain check what it wrote.
//
// Processes: weighd owns the store (Begin, Seal, Recover, Enforce, Run);
// another process may Open the same state directory to RecordOutcome (as
// weighctl outcome does). Every change holds an exclusive flock on
// <state>/evidence.lock, and outcomes are re-read from disk before they are
// numbered and before retention decides, so the two never collide.
//
// Durability: every document is written to a temporary file, fsynced,
// renamed into place, and the directory fsynced; data files are fsynced
// before the manifest that lists them is written.
package evidence
