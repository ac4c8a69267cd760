package publish_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/publish"
)

// pki is a throwaway CA and the certificates it signed, as PEM files.
type pki struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weighin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), ca: ca, caKey: key, serial: 1}
	writePEM(t, filepath.Join(p.dir, "ca.pem"), "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue writes name.pem and name.key for a leaf certificate.
func (p *pki) issue(t *testing.T, name string, client bool, dns []string, ips []net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: dns, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func tlsListener(p *pki, cert, key string, requireClient bool) string {
	s := fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", filepath.Join(p.dir, "ca.pem"), cert, key)
	if requireClient {
		s += "require_certificate true\n"
	}
	return s
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "server", false, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	cliCert, cliKey := p.issue(t, "station", true, nil, nil)
	m := startMosquitto(t, tlsListener(p, srvCert, srvKey, true))
	ctx := context.Background()

	cfg := config.Default().MQTT
	cfg.Broker = "ssl://127.0.0.1:" + strconv.Itoa(m.Port)
	cfg.CAFile = filepath.Join(p.dir, "ca.pem")
	cfg.CertFile, cfg.KeyFile = cliCert, cliKey

	if err := publish.Check(ctx, cfg, "tls-check"); err != nil {
		t.Fatalf("connect with the CA and a client certificate: %v", err)
	}

	t.Run("without client certificate", func(t *testing.T) {
		c := cfg
		c.CertFile, c.KeyFile = "", ""
		if err := publish.Check(ctx, c, "tls-nocert"); err == nil {
			t.Error("a broker requiring client certificates accepted none")
		}
	})
	t.Run("without the CA", func(t *testing.T) {
		c := cfg
		c.CAFile = ""
		err := publish.Check(ctx, c, "tls-noca")
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("connect without the CA: %v, want a certificate error", err)
		}
	})
	t.Run("plain tcp with a CA is a config error", func(t *testing.T) {
		c := cfg
		c.Broker = "tcp://127.0.0.1:" + strconv.Itoa(m.Port)
		if err := publish.Check(ctx, c, "tls-tcp"); err == nil || !strings.Contains(err.Error(), "not a TLS URL") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("publisher over TLS", func(t *testing.T) {
		rec := newRecorder()
		_, _ = runPublisher(t, cfg, rec, testLogger(t))
		sub := subscribe(t, m, "--cafile", filepath.Join(p.dir, "ca.pem"), "--cert", cliCert, "--key", cliKey,
			"-q", "1", "-t", availTopic, "-t", discoveryTopic)
		wait(t, sub, "online over TLS", 15*time.Second, isMsg(availTopic, "online"))
		wait(t, sub, "discovery over TLS", 15*time.Second, isMsg(discoveryTopic, ""))
	})
}

// TestTLSRefusesMismatchedServer: a server certificate from the right CA
// but for another name is refused.
func TestTLSRefusesMismatchedServer(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(t, "other", false, []string{"other.example"}, nil)
	m := startMosquitto(t, tlsListener(p, srvCert, srvKey, false))
	cfg := config.Default().MQTT
	cfg.Broker = "ssl://127.0.0.1:" + strconv.Itoa(m.Port)
	cfg.CAFile = filepath.Join(p.dir, "ca.pem")
	err := publish.Check(context.Background(), cfg, "tls-mismatch")
	if err == nil {
		t.Fatal("connected to a server whose certificate names other.example")
	}
	if !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not name the certificate mismatch", err)
	}
	// The same server is accepted when asked for by its name: the refusal
	// was the name, not the CA.
	cfg.Broker = "ssl://other.example:" + strconv.Itoa(m.Port)
	// other.example does not resolve here; dialing by IP with the right
	// ServerName is what a resolvable name would do.
	if err := checkWithServerName(cfg, m.Port, "other.example"); err != nil {
		t.Errorf("same certificate by its own name: %v", err)
	}
}

func checkWithServerName(cfg config.MQTT, port int, name string) error {
	return publish.DialTLSForTest(cfg, port, name)
}
