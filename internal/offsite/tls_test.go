package offsite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeCA issues, with openssl, a CA and a certificate for 127.0.0.1 signed
// by it; it returns the CA's PEM file, the server's certificate and key.
func makeCA(t *testing.T) (ca, cert, key string) {
	dir := t.TempDir()
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "srv.pem"), filepath.Join(dir, "srv.key")
	ext := filepath.Join(dir, "ext.cnf")
	os.WriteFile(ext, []byte("subjectAltName=IP:127.0.0.1\n"), 0o600)
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", filepath.Join(dir, "ca.key"), "-out", ca, "-days", "2", "-subj", "/CN=weighin test store CA"},
		{"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", filepath.Join(dir, "srv.csr"), "-subj", "/CN=127.0.0.1"},
		{"x509", "-req", "-in", filepath.Join(dir, "srv.csr"), "-CA", ca, "-CAkey", filepath.Join(dir, "ca.key"), "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return ca, cert, key
}

// TestCAFileAndRate: an https store with a private CA is trusted through
// offsite.ca_file and refused without it; max_bytes_per_s paces the upload.
func TestCAFileAndRate(t *testing.T) {
	t.Parallel()
	ca, cert, key := makeCA(t)
	srv := startServerTLS(t, filepath.Join(t.TempDir(), "s3"), "evidence", cert, key)
	f := newFixture(t, srv, "evidence", "dock-1", 1, 1<<20)

	if err := f.store(t, nil).Check(context.Background()); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_file: %v, want the certificate refused", err)
	}
	const rate = 512 << 10
	s := f.store(t, func(o *StoreOptions) { o.CAFile, o.MaxBytesPerS = ca, rate })
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	r := f.replicator(t, s)
	defer r.Close()
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run(t, r)
	waitFor(t, 30*time.Second, "verified over https", allVerified(r))
	took := time.Since(start)
	st := r.Status()
	// The limiter lets its burst (256 KiB) go at once, then rate bytes/s.
	floor := time.Duration(float64(st.UploadedBytes-256<<10) / rate * float64(time.Second))
	t.Logf("over https at %d B/s: %d bytes in %v (floor %v); %d objects stored", rate, st.UploadedBytes, took.Round(time.Millisecond), floor.Round(time.Millisecond), f.checkStored(t, prefix, nil))
	if took < floor {
		t.Errorf("uploaded %d bytes in %v, faster than max_bytes_per_s %d allows (%v)", st.UploadedBytes, took, rate, floor)
	}
}
