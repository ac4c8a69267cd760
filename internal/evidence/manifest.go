package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"weighin/internal/evidence/sshsig"
	"weighin/internal/result"
)

// BundleVersion is the version of the bundle layout written by this package.
const BundleVersion = 1

// Namespace is the SSH signature namespace of every signature the station
// makes (`ssh-keygen -Y verify -n weighin`).
const Namespace = "weighin"

// Principal is the signer's name in the allowed_signers file written into
// every bundle (`ssh-keygen -Y verify -I station`).
const Principal = "station"

// Names of the files in a bundle directory.
const (
	ManifestFile       = "manifest.json"
	ManifestSigFile    = "manifest.sig"
	SumsFile           = "SHA256SUMS"
	SumsSigFile        = "SHA256SUMS.sig"
	AllowedSignersFile = "allowed_signers"
	// UnsealedFile marks a session directory that is not sealed yet; it
	// holds the latest checkpoint of the session's result.
	UnsealedFile     = "unsealed.json"
	TombstoneFile    = "tombstone.json"
	TombstoneSigFile = "tombstone.sig"
)

// Document types, the "type" field of every signed JSON document, so that a
// signature over one kind can never pass for another.
const (
	TypeManifest  = "manifest"
	TypeTombstone = "tombstone"
	TypeOutcome   = "outcome"
	typeUnsealed  = "unsealed"
)

// ErrFormat is wrapped by every parse error of a bundle document.
var ErrFormat = errors.New("evidence: bad format")

// FileEntry is one file of a bundle as the manifest lists it.
type FileEntry struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Manifest is the content of manifest.json: the session result, the station
// key, every file's size and SHA-256, and the previous manifest's SHA-256
// (empty for the first bundle of a station), which makes the bundles a hash
// chain.
type Manifest struct {
	Type          string `json:"type"`
	BundleVersion int    `json:"bundle_version"`
	// Result is the session result; its manifest_sha256 and chain_head are
	// empty here (they name this very file) and filled when published.
	Result result.Result `json:"result"`
	// StationKey is the signing key in OpenSSH authorized_keys format.
	StationKey string `json:"station_key"`
	// KeyFingerprint is StationKey's fingerprint as ssh-keygen -l prints it.
	KeyFingerprint         string      `json:"key_fingerprint"`
	Files                  []FileEntry `json:"files"`
	PreviousManifestSHA256 string      `json:"previous_manifest_sha256"`
}

// Tombstone is the content of tombstone.json, left in a bundle whose data
// files retention removed. The bundle keeps manifest.json and manifest.sig,
// so the hash chain still verifies.
type Tombstone struct {
	Type           string `json:"type"`
	Version        int    `json:"version"`
	SessionID      string `json:"session_id"`
	Seq            int64  `json:"seq"`
	ManifestSHA256 string `json:"manifest_sha256"`
	// Reason is ReasonLowSpace, ReasonMaxAge or ReasonOffloaded; Detail
	// gives the figures.
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	// RemovedAt is RFC 3339 UTC, trustworthy only when ClockSynced.
	RemovedAt   string      `json:"removed_at"`
	ClockSynced bool        `json:"clock_synced"`
	Removed     []FileEntry `json:"removed"`
	StationKey  string      `json:"station_key"`
}

// Tombstone reasons.
const (
	ReasonLowSpace = "low_space"
	ReasonMaxAge   = "max_age"
	// ReasonOffloaded: the data files went because every file of the
	// bundle has a verified copy in the off-site store
	// (offsite.delete_local_after_verified); verify it from there.
	ReasonOffloaded = "offloaded"
)

// unsealedDoc is the content of unsealed.json.
type unsealedDoc struct {
	Type   string        `json:"type"`
	Result result.Result `json:"result"`
}

var (
	fileNameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	hexRE        = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sessionDirRE = regexp.MustCompile(`^([0-9]{6,})-([0-9]{8}T[0-9]{6}Z|unsynced)(?:-([A-Za-z0-9_-]{1,40}))?$`)
	outcomeRE    = regexp.MustCompile(`^outcome-([0-9]{3,})\.(json|sig)$`)
)

// reservedName reports whether name belongs to the bundle's own machinery
// and may not be a data file.
func reservedName(name string) bool {
	switch name {
	case ManifestFile, ManifestSigFile, SumsFile, SumsSigFile, UnsealedFile, TombstoneFile, TombstoneSigFile:
		return true
	}
	return outcomeRE.MatchString(name) || addendumRE.MatchString(name)
}

// ValidFileName reports whether name may be a data file of a bundle: a plain
// name of letters, digits, '.', '_' and '-' (so SHA256SUMS needs no
// escaping), not starting with '.', and not one of the bundle's own files.
func ValidFileName(name string) bool {
	return fileNameRE.MatchString(name) && !reservedName(name) && name != AllowedSignersFile
}

// SessionDirName is the bundle directory name for a session:
// <seq:06d>-<UTC yyyymmddThhmmssZ | unsynced>[-<tracking>], where tracking
// keeps only [A-Za-z0-9_-] and at most 40 characters.
func SessionDirName(seq int64, startedAt time.Time, clockSynced bool, tracking string) string {
	stamp := "unsynced"
	if clockSynced {
		stamp = startedAt.UTC().Format("20060102T150405Z")
	}
	name := fmt.Sprintf("%06d-%s", seq, stamp)
	if t := sanitizeTracking(tracking); t != "" {
		name += "-" + t
	}
	return name
}

func sanitizeTracking(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() == 40 {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseSessionDirName returns the sequence number of a bundle directory
// name, and false if name is not one.
func ParseSessionDirName(name string) (seq int64, ok bool) {
	m := sessionDirRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	seq, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || seq < 1 {
		return 0, false
	}
	return seq, true
}

// marshalDoc encodes a signed document: indented JSON, HTML characters not
// escaped (the dispute text stays readable), one trailing newline.
func marshalDoc(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields and
// nothing after it.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	return nil
}

// ParseManifest decodes and checks manifest.json: known fields only, the
// right type and versions, a valid key whose fingerprint matches, valid and
// unique file names sorted by name, well-formed hashes. It does not check
// the signature or the files (see VerifyBundle).
func ParseManifest(data []byte) (*Manifest, ed25519.PublicKey, error) {
	var m Manifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrFormat, ManifestFile, err)
	}
	bad := func(format string, args ...any) (*Manifest, ed25519.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrFormat, ManifestFile, fmt.Sprintf(format, args...))
	}
	if m.Type != TypeManifest {
		return bad("type %q, want %q", m.Type, TypeManifest)
	}
	if m.BundleVersion != BundleVersion {
		return bad("bundle_version %d, this tool reads %d", m.BundleVersion, BundleVersion)
	}
	if m.Result.Schema < result.MinSchema || m.Result.Schema > result.Schema {
		return bad("result.schema %d, this tool reads %d to %d", m.Result.Schema, result.MinSchema, result.Schema)
	}
	switch {
	case m.Result.Schema == 1 && m.Result.StopReason != "":
		return bad("result.stop_reason %q in a schema-1 result", m.Result.StopReason)
	case m.Result.Schema >= 2 && !slices.Contains(result.StopReasons, m.Result.StopReason):
		return bad("result.stop_reason %q, want one of %s", m.Result.StopReason, strings.Join(result.StopReasons, ", "))
	case m.Result.Schema >= 2 && m.Result.Interrupted != (m.Result.StopReason == result.StopInterrupted):
		return bad("result.stop_reason %q does not agree with interrupted %v", m.Result.StopReason, m.Result.Interrupted)
	}
	if m.Result.Seq < 1 {
		return bad("result.seq %d, want at least 1", m.Result.Seq)
	}
	if seq, ok := ParseSessionDirName(m.Result.SessionID); !ok || seq != m.Result.Seq {
		return bad("result.session_id %q does not name a bundle of seq %d", m.Result.SessionID, m.Result.Seq)
	}
	pub, err := sshsig.ParseAuthorizedKey(m.StationKey)
	if err != nil {
		return bad("station_key: %v", err)
	}
	if fp := sshsig.Fingerprint(pub); m.KeyFingerprint != fp {
		return bad("key_fingerprint %q does not match station_key (%s)", m.KeyFingerprint, fp)
	}
	if m.Result.KeyFingerprint != m.KeyFingerprint {
		return bad("result.key_fingerprint %q differs from key_fingerprint %q", m.Result.KeyFingerprint, m.KeyFingerprint)
	}
	if m.PreviousManifestSHA256 != "" && !hexRE.MatchString(m.PreviousManifestSHA256) {
		return bad("previous_manifest_sha256 %q is not a lower-case hex SHA-256", m.PreviousManifestSHA256)
	}
	if err := checkEntries(m.Files); err != nil {
		return bad("files: %v", err)
	}
	return &m, pub, nil
}

func checkEntries(files []FileEntry) error {
	for i, f := range files {
		if !ValidFileName(f.Name) && f.Name != AllowedSignersFile {
			return fmt.Errorf("invalid file name %q", f.Name)
		}
		if i > 0 && files[i-1].Name >= f.Name {
			return fmt.Errorf("%q: names not sorted or not unique", f.Name)
		}
		if f.Bytes < 0 {
			return fmt.Errorf("%s: negative size %d", f.Name, f.Bytes)
		}
		if !hexRE.MatchString(f.SHA256) {
			return fmt.Errorf("%s: sha256 %q is not lower-case hex", f.Name, f.SHA256)
		}
	}
	return nil
}

// ParseTombstone decodes and checks tombstone.json (not its signature).
func ParseTombstone(data []byte) (*Tombstone, ed25519.PublicKey, error) {
	var t Tombstone
	if err := decodeStrict(data, &t); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrFormat, TombstoneFile, err)
	}
	bad := func(format string, args ...any) (*Tombstone, ed25519.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrFormat, TombstoneFile, fmt.Sprintf(format, args...))
	}
	if t.Type != TypeTombstone || t.Version != 1 {
		return bad("type %q version %d, want %q version 1", t.Type, t.Version, TypeTombstone)
	}
	if !hexRE.MatchString(t.ManifestSHA256) {
		return bad("manifest_sha256 %q is not a lower-case hex SHA-256", t.ManifestSHA256)
	}
	if t.Reason != ReasonLowSpace && t.Reason != ReasonMaxAge && t.Reason != ReasonOffloaded {
		return bad("unknown reason %q", t.Reason)
	}
	if _, err := time.Parse(time.RFC3339, t.RemovedAt); err != nil {
		return bad("removed_at: %v", err)
	}
	if err := checkEntries(t.Removed); err != nil {
		return bad("removed: %v", err)
	}
	pub, err := sshsig.ParseAuthorizedKey(t.StationKey)
	if err != nil {
		return bad("station_key: %v", err)
	}
	return &t, pub, nil
}

// SumsListing is the SHA256SUMS content of a bundle: one "<sha256>  <name>"
// line per file of the manifest, then manifest.json itself, in the format
// `sha256sum -c` reads.
func SumsListing(files []FileEntry, manifestSHA256 string) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	fmt.Fprintf(&b, "%s  %s\n", manifestSHA256, ManifestFile)
	return b.Bytes()
}

func sortEntries(files []FileEntry) {
	slices.SortFunc(files, func(a, b FileEntry) int { return strings.Compare(a.Name, b.Name) })
}
