package timestamp

import (
	"crypto/x509"
	"embed"
	"fmt"
	"io/fs"
	"os"
)

// The roots weighin ships for the public TSA it proposes first (see
// Proposal), copied from Debian's ca-certificates package
// (/usr/share/ca-certificates/mozilla): DigiCert Trusted Root G4, SHA-256
// fingerprint 55:2F:7B:DC:F1:A7:AF:9E:6C:E6:72:01:7F:4F:12:AB:F7:72:40:C7:8E:76:1A:C2:03:D1:D9:D2:0A:C8:99:88.
//
//go:embed roots/*.pem
var shipped embed.FS

// ShippedRoots are the roots weighin trusts for TSAs without any
// configuration.
func ShippedRoots() []*x509.Certificate {
	var out []*x509.Certificate
	names, _ := fs.Glob(shipped, "roots/*.pem")
	for _, n := range names {
		data, _ := shipped.ReadFile(n)
		certs, err := ParsePEM(data)
		if err != nil {
			// The files are compiled in; TestShippedRoots reads each.
			panic("timestamp: shipped root " + n + ": " + err.Error())
		}
		out = append(out, certs...)
	}
	return out
}

// Roots is the pool a token's TSA certificate must chain to: the shipped
// roots and, when caFile is not empty, every certificate of that PEM file
// (trust.tsa_ca_file).
func Roots(caFile string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, c := range ShippedRoots() {
		pool.AddCert(c)
	}
	if caFile == "" {
		return pool, nil
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("timestamp: trust.tsa_ca_file: %w", err)
	}
	certs, err := ParsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("timestamp: trust.tsa_ca_file %s: %v", caFile, err)
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
