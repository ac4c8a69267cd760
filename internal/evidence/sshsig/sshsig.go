// Package sshsig writes and checks OpenSSH signatures (the "SSHSIG" format of
// OpenSSH's PROTOCOL.sshsig) and ed25519 keys in OpenSSH's file formats, with
// crypto/ed25519 alone.
//
// It exists so that anyone can check the station's evidence with standard
// tools: a signature written by Sign verifies with
//
//	ssh-keygen -Y verify -f allowed_signers -I station -n weighin -s FILE.sig < FILE
//
// and a key written by MarshalPrivateKey is readable by `ssh-keygen -y -f`.
// Only ed25519 keys and the sha512 message hash are produced; Verify also
// accepts sha256, as ssh-keygen does.
//
// Signature layout (all strings are uint32 length + bytes):
//
//	"SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved)
//	string(hash_algorithm) string(signature)
//
// where the signed data is
//
//	"SSHSIG" string(namespace) string(reserved) string(hash_algorithm) string(H(message))
//
// and the whole is armoured between "-----BEGIN SSH SIGNATURE-----" and
// "-----END SSH SIGNATURE-----" as base64 in lines of 70 characters.
package sshsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// KeyType is the SSH name of the only key type this package handles.
const KeyType = "ssh-ed25519"

const (
	magic       = "SSHSIG"
	sigVersion  = 1
	armorBegin  = "-----BEGIN SSH SIGNATURE-----"
	armorEnd    = "-----END SSH SIGNATURE-----"
	armorWidth  = 70
	defaultHash = "sha512"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrMalformed: the input is not a well-formed signature or key.
	ErrMalformed = errors.New("sshsig: malformed")
	// ErrUnsupported: a well-formed signature or key of a kind this package
	// does not handle (not ed25519, unknown hash, other version).
	ErrUnsupported = errors.New("sshsig: unsupported")
	// ErrNamespace: the signature was made for another namespace.
	ErrNamespace = errors.New("sshsig: wrong namespace")
	// ErrKeyMismatch: the signature names a different public key.
	ErrKeyMismatch = errors.New("sshsig: signed by a different key")
	// ErrBadSignature: the signature does not verify over the message.
	ErrBadSignature = errors.New("sshsig: signature does not verify")
)

// Signature is a parsed SSH signature.
type Signature struct {
	// PublicKey is the signer's ed25519 key.
	PublicKey ed25519.PublicKey
	// Namespace is the signature's domain, such as "weighin".
	Namespace string
	// HashAlgorithm is "sha512" or "sha256".
	HashAlgorithm string
	// Blob is the raw ed25519 signature (64 bytes).
	Blob []byte
}

// Sign signs message for namespace and returns the armoured signature,
// ending in a newline, as `ssh-keygen -Y sign` writes it. Ed25519 signatures
// are deterministic: the same key, namespace and message give the same
// bytes.
func Sign(priv ed25519.PrivateKey, namespace string, message []byte) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrMalformed, len(priv))
	}
	if namespace == "" {
		return nil, fmt.Errorf("%w: empty namespace", ErrMalformed)
	}
	pub := priv.Public().(ed25519.PublicKey)
	h := sha512.Sum512(message)
	sig := ed25519.Sign(priv, signedData(namespace, defaultHash, h[:]))

	var b []byte
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint32(b, sigVersion)
	b = appendString(b, PublicKeyBlob(pub))
	b = appendString(b, []byte(namespace))
	b = appendString(b, nil)
	b = appendString(b, []byte(defaultHash))
	b = appendString(b, signatureBlob(sig))
	return armor(armorBegin, armorEnd, b), nil
}

// Verify checks that armoured is a signature of message, for namespace, by
// pub. The error says which check failed.
func Verify(pub ed25519.PublicKey, namespace string, message, armoured []byte) error {
	sig, err := Parse(armoured)
	if err != nil {
		return err
	}
	return sig.Verify(pub, namespace, message)
}

// Verify checks the parsed signature against pub, namespace and message.
func (s *Signature) Verify(pub ed25519.PublicKey, namespace string, message []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key of %d bytes", ErrMalformed, len(pub))
	}
	if !bytes.Equal(s.PublicKey, pub) {
		return fmt.Errorf("%w: signature key %s, expected %s", ErrKeyMismatch, Fingerprint(s.PublicKey), Fingerprint(pub))
	}
	if s.Namespace != namespace {
		return fmt.Errorf("%w: %q, expected %q", ErrNamespace, s.Namespace, namespace)
	}
	var h hash.Hash
	switch s.HashAlgorithm {
	case "sha512":
		h = sha512.New()
	case "sha256":
		h = sha256.New()
	default:
		return fmt.Errorf("%w: hash algorithm %q", ErrUnsupported, s.HashAlgorithm)
	}
	h.Write(message)
	if !ed25519.Verify(pub, signedData(s.Namespace, s.HashAlgorithm, h.Sum(nil)), s.Blob) {
		return ErrBadSignature
	}
	return nil
}

// Parse decodes an armoured SSH signature. It checks the structure, not the
// signature itself (see Signature.Verify).
func Parse(armoured []byte) (*Signature, error) {
	raw, err := dearmor(armoured, armorBegin, armorEnd)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, fmt.Errorf("%w: no SSHSIG preamble", ErrMalformed)
	}
	r := reader{b: raw[len(magic):]}
	version, ok := r.uint32()
	if !ok {
		return nil, fmt.Errorf("%w: truncated version", ErrMalformed)
	}
	if version != sigVersion {
		return nil, fmt.Errorf("%w: signature version %d", ErrUnsupported, version)
	}
	pkBlob, ok1 := r.string()
	ns, ok2 := r.string()
	_, ok3 := r.string() // reserved
	alg, ok4 := r.string()
	sigBlob, ok5 := r.string()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return nil, fmt.Errorf("%w: truncated signature", ErrMalformed)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	pub, err := ParsePublicKeyBlob(pkBlob)
	if err != nil {
		return nil, err
	}
	sr := reader{b: sigBlob}
	st, ok1 := sr.string()
	sb, ok2 := sr.string()
	if !ok1 || !ok2 || len(sr.b) != 0 {
		return nil, fmt.Errorf("%w: bad signature blob", ErrMalformed)
	}
	if string(st) != KeyType {
		return nil, fmt.Errorf("%w: signature type %q", ErrUnsupported, st)
	}
	if len(sb) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: ed25519 signature of %d bytes", ErrMalformed, len(sb))
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("%w: empty namespace", ErrMalformed)
	}
	return &Signature{PublicKey: pub, Namespace: string(ns), HashAlgorithm: string(alg), Blob: sb}, nil
}

// PublicKeyBlob is the SSH wire encoding of an ed25519 public key:
// string("ssh-ed25519") string(key).
func PublicKeyBlob(pub ed25519.PublicKey) []byte {
	b := appendString(nil, []byte(KeyType))
	return appendString(b, pub)
}

// ParsePublicKeyBlob decodes the SSH wire encoding of an ed25519 public key.
func ParsePublicKeyBlob(blob []byte) (ed25519.PublicKey, error) {
	r := reader{b: blob}
	kt, ok1 := r.string()
	k, ok2 := r.string()
	if !ok1 || !ok2 || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: bad public key blob", ErrMalformed)
	}
	if string(kt) != KeyType {
		return nil, fmt.Errorf("%w: key type %q", ErrUnsupported, kt)
	}
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: ed25519 key of %d bytes", ErrMalformed, len(k))
	}
	return ed25519.PublicKey(bytes.Clone(k)), nil
}

// Fingerprint is the key's fingerprint as `ssh-keygen -l` prints it:
// "SHA256:" and the unpadded base64 of the SHA-256 of the key blob.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(PublicKeyBlob(pub))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// MarshalAuthorizedKey formats pub as one authorized_keys / .pub line,
// "ssh-ed25519 AAAA… comment", without a newline.
func MarshalAuthorizedKey(pub ed25519.PublicKey, comment string) string {
	s := KeyType + " " + base64.StdEncoding.EncodeToString(PublicKeyBlob(pub))
	if comment != "" {
		s += " " + comment
	}
	return s
}

// AllowedSignersLine formats pub as one line of an ssh-keygen allowed_signers
// file for principal, restricted to the given namespaces, without a newline.
func AllowedSignersLine(principal string, pub ed25519.PublicKey, namespaces ...string) string {
	s := principal + " "
	if len(namespaces) > 0 {
		s += `namespaces="` + strings.Join(namespaces, ",") + `" `
	}
	return s + MarshalAuthorizedKey(pub, "")
}

// ParseAuthorizedKey finds the ed25519 key in one line of an authorized_keys,
// .pub or allowed_signers file: the first "ssh-ed25519" field followed by a
// base64 key blob. Leading principals and options are skipped.
func ParseAuthorizedKey(line string) (ed25519.PublicKey, error) {
	fields := strings.Fields(line)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] != KeyType {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(fields[i+1])
		if err != nil {
			return nil, fmt.Errorf("%w: key base64: %v", ErrMalformed, err)
		}
		return ParsePublicKeyBlob(blob)
	}
	return nil, fmt.Errorf("%w: no %s key in line", ErrMalformed, KeyType)
}

func signedData(namespace, alg string, digest []byte) []byte {
	var b []byte
	b = append(b, magic...)
	b = appendString(b, []byte(namespace))
	b = appendString(b, nil)
	b = appendString(b, []byte(alg))
	return appendString(b, digest)
}

func signatureBlob(sig []byte) []byte {
	b := appendString(nil, []byte(KeyType))
	return appendString(b, sig)
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reader consumes SSH wire-format fields.
type reader struct{ b []byte }

func (r *reader) uint32() (uint32, bool) {
	if len(r.b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

func (r *reader) string() ([]byte, bool) {
	n, ok := r.uint32()
	if !ok || uint64(n) > uint64(len(r.b)) {
		return nil, false
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s, true
}

func armor(begin, end string, raw []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString(begin)
	b.WriteByte('\n')
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth])
		b.WriteByte('\n')
		enc = enc[armorWidth:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	b.WriteString(end)
	b.WriteByte('\n')
	return []byte(b.String())
}

func dearmor(data []byte, begin, end string) ([]byte, error) {
	s := strings.TrimSpace(strings.ReplaceAll(string(data), "\r\n", "\n"))
	if len(s) < len(begin)+len(end) || !strings.HasPrefix(s, begin) {
		return nil, fmt.Errorf("%w: missing %q", ErrMalformed, begin)
	}
	if !strings.HasSuffix(s, end) {
		return nil, fmt.Errorf("%w: missing %q", ErrMalformed, end)
	}
	body := s[len(begin) : len(s)-len(end)]
	if len(body) > 0 && body[0] != '\n' {
		return nil, fmt.Errorf("%w: text after %q", ErrMalformed, begin)
	}
	var clean strings.Builder
	for _, line := range strings.Split(body, "\n") {
		clean.WriteString(strings.TrimSpace(line))
	}
	raw, err := base64.StdEncoding.DecodeString(clean.String())
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	return raw, nil
}

// IsCanonical reports whether armoured is exactly as Sign writes it: the
// armour lines, base64 in lines of 70 characters, one newline at the end.
// A verifier that requires it notices any change to a signature file, even
// one that leaves the signature valid (an added space or line break).
func IsCanonical(armoured []byte) bool {
	raw, err := dearmor(armoured, armorBegin, armorEnd)
	if err != nil {
		return false
	}
	return bytes.Equal(armor(armorBegin, armorEnd, raw), armoured)
}
