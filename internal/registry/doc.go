// Package registry keeps the expected parcels and the session index in one
// SQLite file (modernc.org/sqlite, pure Go) under the state directory:
// <state_dir>/registry.db.
//
// The file is opened in WAL mode with a 10 s busy timeout and
// synchronous=FULL, so weighd and weighctl can use it at the same time and
// a crash (kill -9, power cut) leaves a consistent database: every write is
// one transaction. The schema is versioned with PRAGMA user_version; Open
// applies the missing migrations in one transaction and refuses a file
// from a newer program (ErrTooNew).
//
// Expected parcels are keyed by tracking number, normalised (upper case,
// spaces and dashes dropped), so a decoded or typed number finds its parcel
// and fills the label weight. The session index is a rebuildable view of
// the evidence bundles (the source of truth): IndexSession adds one
// result, Rebuild replaces the index from all of them.
//
// # Parcel CSV
//
// UTF-8 (a BOM is ignored), comma-separated, RFC 4180 quoting, CRLF or LF.
// Line 1 is a header naming the columns, in any order; tracking is
// required, the others optional, an unknown column is an error:
//
//		order_ref,tracking,label_g,label_resolution_g,items
//		KB-77812,LX123456785CN,1840,10,"Leather jacket:505;Sneakers:1120;Belt:210"
//		KB-77813,1Z999AA10123456784,,,
//
//	  - order_ref: printable text, at most 64 characters.
//	  - tracking: 4–40 letters and digits after normalisation; unique in the
//	    file.
//	  - label_g: the label weight in grams, a plain decimal from 1 to
//	    100000; empty if unknown.
//	  - label_resolution_g: the carrier's rounding step in grams, ≥ 0; empty
//	    or 0 means the configured default.
//	  - items: the agent's per-item list, "name:grams" pairs separated by
//	    ";" (the last ":" of a pair separates the weight, so a name may hold
//	    ":" but not ";"); at most 24 items, names of at most 64
//	    characters, weights from 0.1 to 100000 g; empty if unknown.
//
// The limits and the tracking rules are package vocab's, the same for
// the MQTT parcel command, the API and weighctl.
//
// Lines starting with # are comments; blank lines are skipped. Every
// problem is reported as FILE:LINE: COLUMN: reason (up to 20 at once), and
// then nothing is imported. A valid file is imported in one transaction:
// all of it or, after a crash, none of it; a tracking number already
// registered is replaced by the file's row.
package registry
