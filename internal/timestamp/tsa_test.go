package timestamp

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"weighin/internal/timestamp/tsatest"
)

// The test PKI and TSAs are internal/timestamp/tsatest's.
func TestMain(m *testing.M) {
	code := m.Run()
	tsatest.RemovePKI()
	os.Exit(code)
}

func openssl(t testing.TB) string { t.Helper(); return tsatest.Openssl(t) }

func testPKI(t testing.TB) string { t.Helper(); return tsatest.PKI(t) }

func reply(t testing.TB, section string, req []byte) ([]byte, error) {
	return tsatest.Reply(t, section, req)
}

func newTSAServer(t testing.TB, section string) *tsatest.Server {
	t.Helper()
	return tsatest.NewServer(t, section)
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
