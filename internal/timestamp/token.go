package timestamp

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/digitorus/pkcs7"
	rfc3161 "github.com/digitorus/timestamp"
)

// Reasons a token fails; every error CheckResponse returns wraps one of
// them (test with errors.Is) and says what was found.
var (
	// ErrMalformed: not a DER TimeStampResp holding a timestamp token.
	ErrMalformed = errors.New("not a timestamp response")
	// ErrRefused: the TSA answered with a failure status instead of a token.
	ErrRefused = errors.New("the TSA refused")
	// ErrImprint: the token is for other data (its message imprint is not
	// the SHA-256 of the file).
	ErrImprint = errors.New("token for other data")
	// ErrSignature: the token's signature does not verify, or no
	// certificate for its signer is at hand.
	ErrSignature = errors.New("token signature invalid")
	// ErrValidity: the token's time lies outside the validity of the TSA
	// certificate that signed it.
	ErrValidity = errors.New("token time outside the TSA certificate's validity")
	// ErrNotTSA: the signing certificate is not a timestamping certificate
	// (RFC 3161 §2.3: a critical extended key usage of timeStamping only).
	ErrNotTSA = errors.New("not a TSA certificate")
	// ErrChain: the TSA certificate does not chain to a trusted root.
	ErrChain = errors.New("TSA certificate not trusted")
)

// Token is a timestamp token that passed CheckResponse.
type Token struct {
	// Time is the TSA's genTime: when the TSA saw the data's hash.
	Time     time.Time
	Accuracy time.Duration
	Serial   *big.Int
	Policy   asn1.ObjectIdentifier
	Nonce    *big.Int
	// Signer is the TSA certificate; Chain the verified chain from it to a
	// trusted root, root last.
	Signer *x509.Certificate
	Chain  []*x509.Certificate
}

// TSA names the token's signer for reports: its subject's common name, or
// the whole subject.
func (t *Token) TSA() string {
	if t.Signer.Subject.CommonName != "" {
		return t.Signer.Subject.CommonName
	}
	return t.Signer.Subject.String()
}

// ChainPEM is the verified chain as PEM, TSA certificate first, root last:
// the <file>.tsa.pem stored beside the token.
func (t *Token) ChainPEM() []byte {
	var b bytes.Buffer
	for _, c := range t.Chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// timeStampResp is the outer RFC 3161 TimeStampResp, decoded only to tell a
// refusal from a token; the token itself is parsed by the libraries.
type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional,utf8"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

// CheckResponse checks a DER TimeStampResp (a .tsr file, as `openssl ts
// -reply` writes it) against the SHA-256 of the data it must be for: the
// TSA granted it; the token's signature verifies (with the certificates it
// carries, or extra when it carries none); the imprint is sha256 digest; the
// token's time lies within the TSA certificate's validity; the certificate
// has the critical timeStamping extended key usage; and it chains, at the
// token's time, to roots (extra certificates may serve as intermediates).
// A nil roots skips only the chain check. The error wraps one of the Err
// reasons above.
func CheckResponse(resp, digest []byte, roots *x509.CertPool, extra []*x509.Certificate) (*Token, error) {
	var outer timeStampResp
	rest, err := asn1.Unmarshal(resp, &outer)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	case len(rest) > 0:
		return nil, fmt.Errorf("%w: %d bytes after the response", ErrMalformed, len(rest))
	case outer.Status.Status != 0 && outer.Status.Status != 1: // granted, grantedWithMods
		_, perr := rfc3161.ParseResponse(resp) // names the status and failure
		return nil, fmt.Errorf("%w: %v", ErrRefused, perr)
	case len(outer.Token.FullBytes) == 0:
		return nil, fmt.Errorf("%w: granted, but no token", ErrMalformed)
	}
	token := outer.Token.FullBytes

	p7, err := pkcs7.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %v", ErrMalformed, err)
	}
	if len(p7.Certificates) == 0 {
		p7.Certificates = extra
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("%w: no certificate for the token's signer (in the token or its .tsa.pem)", ErrSignature)
	}
	// The validity first: the signature check would refuse it for the
	// same reason, less clearly.
	var head tstInfoHead
	if _, err := asn1.Unmarshal(p7.Content, &head); err != nil {
		return nil, fmt.Errorf("%w: TSTInfo: %v", ErrMalformed, err)
	}
	if err := checkValidity(head.GenTime, signer); err != nil {
		return nil, err
	}
	if err := p7.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %v (signer %s)", ErrSignature, err, signer.Subject)
	}
	if err := checkESS(p7, signer); err != nil {
		return nil, err
	}
	ts, err := rfc3161.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %v", ErrMalformed, err)
	}
	if ts.HashAlgorithm != crypto.SHA256 {
		return nil, fmt.Errorf("%w: the imprint uses %v, not SHA-256", ErrImprint, ts.HashAlgorithm)
	}
	if !bytes.Equal(ts.HashedMessage, digest) {
		return nil, fmt.Errorf("%w: the token is for sha256 %s, the file's is %s", ErrImprint, hex.EncodeToString(ts.HashedMessage), hex.EncodeToString(digest))
	}
	if err := checkValidity(ts.Time, signer); err != nil {
		return nil, err
	}
	if err := checkTSACert(signer); err != nil {
		return nil, err
	}
	tok := &Token{Time: ts.Time, Accuracy: ts.Accuracy, Serial: ts.SerialNumber, Policy: ts.Policy, Nonce: ts.Nonce, Signer: signer, Chain: []*x509.Certificate{signer}}
	if roots == nil {
		return tok, nil
	}
	inter := x509.NewCertPool()
	for _, c := range append(append([]*x509.Certificate{}, p7.Certificates...), extra...) {
		inter.AddCert(c)
	}
	chains, err := signer.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %q (issued by %q) does not chain to a trusted root at the token's time %s: %v",
			ErrChain, signer.Subject.String(), signer.Issuer.String(), ts.Time.UTC().Format(time.RFC3339), err)
	}
	tok.Chain = chains[0]
	return tok, nil
}

// tstInfoHead is the start of RFC 3161's TSTInfo, up to genTime: the
// token's time is needed before the library's parser, which verifies the
// signature (and the certificate's validity at the signing time) first.
type tstInfoHead struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint asn1.RawValue
	SerialNumber   *big.Int
	GenTime        time.Time `asn1:"generalized"`
}

func checkValidity(at time.Time, signer *x509.Certificate) error {
	if at.Before(signer.NotBefore) || at.After(signer.NotAfter) {
		return fmt.Errorf("%w: token time %s, certificate %q valid from %s to %s", ErrValidity,
			at.UTC().Format(time.RFC3339), signer.Subject.String(), signer.NotBefore.UTC().Format(time.RFC3339), signer.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// ESS signing-certificate attributes (RFC 2634 §5.4, RFC 5035): the signed
// attributes name the hash of the certificate that signed, so no other
// certificate with the same key can pass for it. RFC 3161 §2.4.2 requires
// one; openssl ts -verify checks it. The libraries do not, hence these few
// structures.
var (
	oidSigningCertificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"` // default SHA-256
	CertHash      []byte
	IssuerSerial  asn1.RawValue `asn1:"optional"`
}

type signingCertificateV2 struct {
	Certs    []essCertIDv2
	Policies asn1.RawValue `asn1:"optional"`
}

type essCertID struct {
	CertHash     []byte        // SHA-1
	IssuerSerial asn1.RawValue `asn1:"optional"`
}

type signingCertificate struct {
	Certs    []essCertID
	Policies asn1.RawValue `asn1:"optional"`
}

var hashByOID = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

func checkESS(p7 *pkcs7.PKCS7, signer *x509.Certificate) error {
	var want, got []byte
	var v2 signingCertificateV2
	var v1 signingCertificate
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificateV2, &v2); err == nil && len(v2.Certs) > 0 {
		h := crypto.SHA256
		if alg := v2.Certs[0].HashAlgorithm.Algorithm; len(alg) > 0 {
			var ok bool
			if h, ok = hashByOID[alg.String()]; !ok {
				return fmt.Errorf("%w: the signing certificate is named by an unsupported hash %v", ErrSignature, alg)
			}
		}
		hh := h.New()
		hh.Write(signer.Raw)
		want, got = v2.Certs[0].CertHash, hh.Sum(nil)
	} else if err := p7.UnmarshalSignedAttribute(oidSigningCertificate, &v1); err == nil && len(v1.Certs) > 0 {
		sum := sha1.Sum(signer.Raw)
		want, got = v1.Certs[0].CertHash, sum[:]
	} else {
		return fmt.Errorf("%w: no ESS signing-certificate attribute naming the TSA certificate", ErrSignature)
	}
	if !bytes.Equal(want, got) {
		return fmt.Errorf("%w: the signed attributes name another certificate than %q", ErrSignature, signer.Subject.String())
	}
	return nil
}

// checkTSACert requires RFC 3161's extended key usage: timeStamping, alone,
// in a critical extension (openssl ts -verify requires it too).
func checkTSACert(c *x509.Certificate) error {
	critical := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidEKU) {
			critical = e.Critical
		}
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) > 0 || !critical {
		return fmt.Errorf("%w: %q lacks the critical extended key usage timeStamping (alone)", ErrNotTSA, c.Subject.String())
	}
	return nil
}

// ParsePEM reads the certificates of a PEM file (a .tsa.pem, or
// trust.tsa_ca_file): at least one; blocks other than CERTIFICATE are an
// error, text around the blocks is ignored.
func ParsePEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, not CERTIFICATE", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %v", n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return out, nil
}
