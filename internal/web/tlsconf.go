package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"weighin/internal/config"
)

// Self-signed certificate files under <state>/web.
const (
	selfCertFile = "tls-cert.pem"
	selfKeyFile  = "tls-key.pem"
)

// loadOrMakeCert loads web.tls_cert/web.tls_key, or the self-signed
// certificate (made on first start: ECDSA P-256, ten years, the host name,
// localhost and the machine's addresses as names). It returns the
// certificate and its SHA-256 fingerprint.
func loadOrMakeCert(c config.Web, stateDir string) (tls.Certificate, string, error) {
	certPath, keyPath := c.TLSCert, c.TLSKey
	if c.TLSSelfSigned {
		dir := filepath.Join(stateDir, DirName)
		certPath, keyPath = filepath.Join(dir, selfCertFile), filepath.Join(dir, selfKeyFile)
		if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
			if err := makeSelfSigned(dir, c.Listen); err != nil {
				return tls.Certificate{}, "", err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("web: TLS certificate %s / key %s: %w", certPath, keyPath, err)
	}
	return cert, Fingerprint(cert.Certificate[0]), nil
}

// Fingerprint is a DER certificate's SHA-256, as openssl x509 -fingerprint
// -sha256 prints it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// SelfSignedFingerprint returns the fingerprint of the self-signed
// certificate under stateDir, "" when none was made yet.
func SelfSignedFingerprint(stateDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, DirName, selfCertFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return "", fmt.Errorf("web: %s: no PEM certificate", selfCertFile)
	}
	return Fingerprint(b.Bytes), nil
}

func makeSelfSigned(dir, listen string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "weighin " + host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host, host+".local")
	}
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if ip == nil {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := writeAtomic(dir, selfKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeAtomic(dir, selfCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
