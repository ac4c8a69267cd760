// Package tsatest is a timestamp authority for tests: a test PKI made once
// per test binary by openssl (root A with TSA A, valid for ten years, and
// TSA "old", valid on 1-2 January 2020 only; an unrelated root B with TSA
// B; every TSA certificate with the critical timeStamping extended key
// usage, as `openssl ts -reply` demands), and `openssl ts -reply` itself
// behind an HTTP handler on a loopback address that can go down and up.
//
// The files are in PKI(t): rootA.pem, rootB.pem, tsaA.pem, tsaB.pem,
// tsaOld.pem (and their keys), pki.cnf with the TSA sections tsaA, tsaB,
// tsaOld and tsaAv1 (TSA A naming its certificate by SHA-1).
package tsatest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	pkiOnce sync.Once
	pkiDir  string
	pkiErr  error
)

const pkiConf = `[ ca ]
default_ca = ca_default
[ ca_default ]
dir = DIR
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/ca.serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ root_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

// tsaSection is the openssl TSA config section name, signing with cert and
// naming it in the ESS attribute by essAlg (sha256: signingCertificateV2,
// sha1: signingCertificate).
func tsaSection(name, cert, essAlg string) string {
	return fmt.Sprintf(`[ %[1]s ]
dir = DIR
serial = $dir/%[1]s.serial
crypto_device = builtin
signer_cert = $dir/%[2]s.pem
signer_key = $dir/%[2]s.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = %[3]s
`, name, cert, essAlg)
}

// Openssl is the openssl program; the test fails without it.
func Openssl(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl not found (Debian package openssl; `make deps` installs it): %v", err)
	}
	return p
}

// RemovePKI removes the test PKI; a TestMain calls it after m.Run.
func RemovePKI() {
	if pkiDir != "" {
		os.RemoveAll(pkiDir)
	}
}

// PKI makes the PKI once and returns its directory.
func PKI(t testing.TB) string {
	t.Helper()
	bin := Openssl(t)
	pkiOnce.Do(func() {
		d, err := os.MkdirTemp("", "weighin-tsa-pki-")
		if err != nil {
			pkiErr = err
			return
		}
		pkiDir = d
		conf := strings.ReplaceAll(pkiConf, "DIR", d)
		for _, s := range []string{"tsaA", "tsaB", "tsaOld"} {
			conf += strings.ReplaceAll(tsaSection(s, s, "sha256"), "DIR", d)
		}
		conf += strings.ReplaceAll(tsaSection("tsaAv1", "tsaA", "sha1"), "DIR", d)
		if err := os.WriteFile(filepath.Join(d, "pki.cnf"), []byte(conf), 0o644); err != nil {
			pkiErr = err
			return
		}
		os.WriteFile(filepath.Join(d, "index.txt"), nil, 0o644)
		os.WriteFile(filepath.Join(d, "ca.serial"), []byte("1000\n"), 0o644)
		cnf := filepath.Join(d, "pki.cnf")
		ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"}
		steps := [][]string{}
		for _, r := range []string{"rootA", "rootB"} {
			steps = append(steps, append(append([]string{"req", "-x509", "-new", "-config", cnf, "-extensions", "root_ext"}, ec...),
				"-keyout", r+".key", "-out", r+".pem", "-days", "3650", "-subj", "/CN=weighin test "+r))
		}
		for _, s := range []string{"tsaA", "tsaB", "tsaOld"} {
			steps = append(steps, append(append([]string{"req", "-new", "-config", cnf}, ec...), "-keyout", s+".key", "-out", s+".csr", "-subj", "/CN=weighin test "+s))
		}
		steps = append(steps,
			[]string{"x509", "-req", "-in", "tsaA.csr", "-CA", "rootA.pem", "-CAkey", "rootA.key", "-set_serial", "2", "-days", "3650", "-extfile", cnf, "-extensions", "tsa_ext", "-out", "tsaA.pem"},
			[]string{"x509", "-req", "-in", "tsaB.csr", "-CA", "rootB.pem", "-CAkey", "rootB.key", "-set_serial", "3", "-days", "3650", "-extfile", cnf, "-extensions", "tsa_ext", "-out", "tsaB.pem"},
			[]string{"ca", "-batch", "-config", cnf, "-cert", "rootA.pem", "-keyfile", "rootA.key", "-in", "tsaOld.csr", "-out", "tsaOld.pem",
				"-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extensions", "tsa_ext", "-notext"},
		)
		for _, args := range steps {
			cmd := exec.Command(bin, args...)
			cmd.Dir = d
			if out, err := cmd.CombinedOutput(); err != nil {
				pkiErr = fmt.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if pkiErr != nil {
		t.Fatalf("making the test PKI: %v", pkiErr)
	}
	return pkiDir
}

// Reply runs `openssl ts -reply` as TSA section over a DER request.
func Reply(t testing.TB, section string, req []byte) ([]byte, error) {
	d := PKI(t)
	tmp, err := os.MkdirTemp("", "tsa-req-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	q, r := filepath.Join(tmp, "q.tsq"), filepath.Join(tmp, "r.tsr")
	if err := os.WriteFile(q, req, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(Openssl(t), "ts", "-reply", "-config", filepath.Join(d, "pki.cnf"), "-section", section, "-queryfile", q, "-out", r)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("openssl ts -reply: %v: %s", err, out)
	}
	return os.ReadFile(r)
}

// tsaHandler is a TSA over HTTP: `openssl ts -reply` with the given section.
type tsaHandler struct {
	t        testing.TB
	section  string
	mu       sync.Mutex // one serial file
	requests atomic.Int64
}

func (h *tsaHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "want a POST of application/timestamp-query", http.StatusBadRequest)
		return
	}
	req, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	resp, err := Reply(h.t, h.section, req)
	h.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// Server serves a TSA on a fixed loopback address that can be down
// (nothing listening: connection refused) and up again. It starts down.
type Server struct {
	addr string
	h    *tsaHandler
	srv  *http.Server
}

// NewServer makes a TSA signing with the pki.cnf section (tsaA, tsaB,
// tsaOld, tsaAv1), down until Up; the test's end takes it down.
func NewServer(t testing.TB, section string) *Server {
	t.Helper()
	PKI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{addr: l.Addr().String(), h: &tsaHandler{t: t, section: section}}
	l.Close() // down until up
	t.Cleanup(s.Down)
	return s
}

// URL is the TSA's address.
func (s *Server) URL() string { return "http://" + s.addr + "/tsr" }

// Up starts listening.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port was just released; retry briefly
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.srv = &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(l)
}

// Down stops listening.
func (s *Server) Down() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Requests counts the requests the TSA got.
func (s *Server) Requests() int64 { return s.h.requests.Load() }
