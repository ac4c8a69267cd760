package timestamp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// The test PKI, made once by openssl for the whole test binary: root A with
// TSA A (valid for ten years) and TSA "old" (valid on 1-2 January 2020
// only), and an unrelated root B with TSA B. Every TSA certificate has the
// critical timeStamping extended key usage, as `openssl ts -reply` demands.
// The TSAs are `openssl ts -reply` itself, behind an HTTP handler.
var pkiDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weighin-tsa-pki-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pkiDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	pkiOnce sync.Once
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

func openssl(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl not found (Debian package openssl; `make deps` installs it): %v", err)
	}
	return p
}

// testPKI makes the PKI once and returns its directory.
func testPKI(t testing.TB) string {
	t.Helper()
	bin := openssl(t)
	pkiOnce.Do(func() {
		d := pkiDir
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

// pool is a cert pool of the named root(s) of the test PKI.
func pool(t testing.TB, roots ...string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, r := range roots {
		data, err := os.ReadFile(filepath.Join(testPKI(t), r+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := ParsePEM(data)
		if err != nil {
			t.Fatal(err)
		}
		p.AddCert(certs[0])
	}
	return p
}

// reply runs `openssl ts -reply` as TSA section over a DER request.
func reply(t testing.TB, section string, req []byte) ([]byte, error) {
	d := testPKI(t)
	tmp, err := os.MkdirTemp("", "tsa-req-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	q, r := filepath.Join(tmp, "q.tsq"), filepath.Join(tmp, "r.tsr")
	if err := os.WriteFile(q, req, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(openssl(t), "ts", "-reply", "-config", filepath.Join(d, "pki.cnf"), "-section", section, "-queryfile", q, "-out", r)
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
	resp, err := reply(h.t, h.section, req)
	h.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// tsaServer serves a tsaHandler on a fixed loopback address that can be
// down (nothing listening: connection refused) and up again.
type tsaServer struct {
	addr string
	h    *tsaHandler
	srv  *http.Server
}

func newTSAServer(t testing.TB, section string) *tsaServer {
	t.Helper()
	testPKI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tsaServer{addr: l.Addr().String(), h: &tsaHandler{t: t, section: section}}
	l.Close() // down until up
	t.Cleanup(s.down)
	return s
}

func (s *tsaServer) URL() string { return "http://" + s.addr + "/tsr" }

func (s *tsaServer) up(t testing.TB) {
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

func (s *tsaServer) down() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// tWriter sends log lines to t.Log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// sellerArgs is the openssl command line of SellerText, the one a seller
// runs, with ROOT.pem and the file names given.
func sellerArgs(t testing.TB, data, token, root string) []string {
	t.Helper()
	for _, line := range strings.Split(SellerText, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "openssl ts -verify ") {
			continue
		}
		r := strings.NewReplacer("SHA256SUMS.tsr", token, "SHA256SUMS", data, "ROOT.pem", root)
		return strings.Fields(r.Replace(line))[1:]
	}
	t.Fatal("SellerText has no openssl ts -verify line")
	return nil
}

// opensslVerify runs, in dir, exactly what SellerText tells a seller:
// openssl ts -verify -data FILE -in TOKEN -CAfile ROOT.
func opensslVerify(t testing.TB, dir, data, token, root string) (string, error) {
	t.Helper()
	cmd := exec.Command(openssl(t), sellerArgs(t, data, token, filepath.Join(testPKI(t), root+".pem"))...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return string(out), err
}

func TestPKI(t *testing.T) {
	d := testPKI(t)
	for _, c := range []struct {
		name, root string
	}{{"tsaA", "rootA"}, {"tsaB", "rootB"}, {"tsaOld", "rootA"}} {
		data, err := os.ReadFile(filepath.Join(d, c.name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := ParsePEM(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkTSACert(certs[0]); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func execOpenssl(t testing.TB, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(openssl(t), args...)
	cmd.Dir = dir
	return cmd
}
