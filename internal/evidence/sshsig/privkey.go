package sshsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

const (
	keyMagic      = "openssh-key-v1\x00"
	keyArmorBegin = "-----BEGIN OPENSSH PRIVATE KEY-----"
	keyArmorEnd   = "-----END OPENSSH PRIVATE KEY-----"
	keyBlockSize  = 8 // cipher "none"
)

// MarshalPrivateKey encodes priv, unencrypted, in OpenSSH's private key file
// format ("openssh-key-v1", as `ssh-keygen -t ed25519 -N ""` writes it), so
// `ssh-keygen -y -f FILE` prints its public key and `ssh-keygen -Y sign` can
// use it. The output is deterministic: the check integer is derived from the
// key.
func MarshalPrivateKey(priv ed25519.PrivateKey, comment string) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrMalformed, len(priv))
	}
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(priv.Seed())
	check := binary.BigEndian.Uint32(sum[:4])

	var sec []byte
	sec = binary.BigEndian.AppendUint32(sec, check)
	sec = binary.BigEndian.AppendUint32(sec, check)
	sec = appendString(sec, []byte(KeyType))
	sec = appendString(sec, pub)
	sec = appendString(sec, priv)
	sec = appendString(sec, []byte(comment))
	for i := byte(1); len(sec)%keyBlockSize != 0; i++ {
		sec = append(sec, i)
	}

	var b []byte
	b = append(b, keyMagic...)
	b = appendString(b, []byte("none"))
	b = appendString(b, []byte("none"))
	b = appendString(b, nil)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = appendString(b, PublicKeyBlob(pub))
	b = appendString(b, sec)
	return armor(keyArmorBegin, keyArmorEnd, b), nil
}

// ParsePrivateKey decodes an unencrypted ed25519 key in OpenSSH's private key
// file format and returns it with its comment. Encrypted keys are
// ErrUnsupported.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, string, error) {
	raw, err := dearmor(data, keyArmorBegin, keyArmorEnd)
	if err != nil {
		return nil, "", err
	}
	if !bytes.HasPrefix(raw, []byte(keyMagic)) {
		return nil, "", fmt.Errorf("%w: not an openssh-key-v1 key", ErrMalformed)
	}
	r := reader{b: raw[len(keyMagic):]}
	cipher, ok1 := r.string()
	kdf, ok2 := r.string()
	_, ok3 := r.string()
	n, ok4 := r.uint32()
	pubBlob, ok5 := r.string()
	sec, ok6 := r.string()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || len(r.b) != 0 {
		return nil, "", fmt.Errorf("%w: truncated private key", ErrMalformed)
	}
	if string(cipher) != "none" || string(kdf) != "none" {
		return nil, "", fmt.Errorf("%w: encrypted private key (cipher %q)", ErrUnsupported, cipher)
	}
	if n != 1 {
		return nil, "", fmt.Errorf("%w: %d keys in file", ErrUnsupported, n)
	}
	pub, err := ParsePublicKeyBlob(pubBlob)
	if err != nil {
		return nil, "", err
	}
	if len(sec)%keyBlockSize != 0 {
		return nil, "", fmt.Errorf("%w: private section not padded", ErrMalformed)
	}
	sr := reader{b: sec}
	c1, ok1 := sr.uint32()
	c2, ok2 := sr.uint32()
	kt, ok3 := sr.string()
	pk, ok4 := sr.string()
	sk, ok5 := sr.string()
	comment, ok6 := sr.string()
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return nil, "", fmt.Errorf("%w: truncated private section", ErrMalformed)
	}
	if c1 != c2 {
		return nil, "", fmt.Errorf("%w: check integers differ", ErrMalformed)
	}
	for i, p := range sr.b {
		if p != byte(i+1) {
			return nil, "", fmt.Errorf("%w: bad padding", ErrMalformed)
		}
	}
	if string(kt) != KeyType {
		return nil, "", fmt.Errorf("%w: key type %q", ErrUnsupported, kt)
	}
	if len(sk) != ed25519.PrivateKeySize || !bytes.Equal(pk, pub) {
		return nil, "", fmt.Errorf("%w: inconsistent ed25519 key", ErrMalformed)
	}
	priv := ed25519.NewKeyFromSeed(sk[:ed25519.SeedSize])
	if !bytes.Equal(priv, sk) {
		return nil, "", fmt.Errorf("%w: private key does not match its seed", ErrMalformed)
	}
	return priv, string(comment), nil
}
