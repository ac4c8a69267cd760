// Package offsite keeps verified copies of every sealed bundle in an
// S3-compatible store, so that the evidence outlives the station's SD card.
//
// Layout: every file of a bundle — the data files, the seal files, addenda,
// exports, timestamp tokens, tombstones — becomes the object
//
//	<bucket>/<prefix>/<station_id>/<session>/<file>
//
// byte-identical to the file. The station never overwrites and never
// deletes an object; it never creates the bucket.
//
// The verified-copy state machine, one per object, recorded in a journal:
//
//	LocalOnly → Pending → Copying → Verifying → Verified
//	               ↑         ↓          ↓
//	             Failed ←────┴──────────┤
//	                                    ↓
//	                                 Conflict
//
// Pending: queued (Enqueue, after the seal and after every addendum).
// Copying: the file's SHA-256 is computed and recorded, the store asked
// whether the object exists (HEAD), and if not the file is sent as one PUT
// carrying x-amz-checksum-sha256 (the store refuses a body that does not
// match) and If-None-Match: * (it never replaces an object). Verifying: the
// object's checksum and size are read back (HEAD with x-amz-checksum-mode;
// an object stored without a checksum by another client is read back whole)
// and compared with the file's. Verified: both match. Conflict: the store
// already holds other content under that name; it is left as it is and
// reported (Status.Problems, the log) for an operator to resolve. Failed:
// the attempt failed; the object is retried after 30 s·2ⁿ (n failed
// attempts, at most 30 min), and an error of the whole store (unreachable,
// credentials refused, no bucket) pauses all work on the same schedule. A
// file removed locally before it was copied is Failed for good and reported.
//
// Order: always the newest bundle with work first, so after an outage the
// latest evidence leaves the station first; within a bundle the data files
// before the seal files, so a manifest in the store means its files are
// there too. One object at a time, paced by offsite.max_bytes_per_s, so a
// recording keeps the card and the CPU.
//
// The journal, <state>/offsite/journal.jsonl, is append-only JSON lines,
// one per state change of an object, each fsynced before the change is
// acted on; the last line of an object wins. A line torn by a crash is cut
// on open; any other unreadable line is an error naming it. Objects a crash
// left Copying or Verifying go back to Pending and the store is asked
// again, so a copy that completed before the crash is found and verified,
// never uploaded twice, and one that did not is sent again (S3 stores an
// object whole or not at all). An exclusive flock keeps a second
// replicator off the journal; ReadJournal reads it without the lock.
//
// Verification from the store (FetchBundle, VerifyFromStore) reads a bundle
// back, checks each object against the checksum the store recorded, and
// hands the copy to evidence.VerifyBundle with its neighbours' manifests,
// so signatures, hashes, addenda, the tombstone and the chain links are
// checked as weighctl verify checks a local bundle.
//
// Credentials come from a file (access key on line 1, secret on line 2)
// that is refused unless its mode is 0600 or stricter; they never appear in
// an error, a log line or Status.
//
// Why minio-go (github.com/minio/minio-go/v7) and not aws-sdk-go-v2: one
// module of moderate size against the SDK's dozen (smithy, the endpoint
// resolvers, the config loaders), which matters in a binary that ships to
// a Pi Zero; path-style addressing, custom transports (offsite.ca_file) and
// the S3 checksum headers are plain options; its client talks to any
// S3-compatible store (MinIO, versitygw, Garage, Ceph RGW, AWS) without the
// SDK's AWS-specific defaults (its newer releases send CRC trailers and
// checksums some stores reject unless told not to). The replicator needs
// only HEAD, PUT, GET and LIST.
package offsite
