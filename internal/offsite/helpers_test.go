package offsite

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/result"
)

const (
	rootAK = "weighintestroot"
	rootSK = "weighin-test-secret-0123456789"
)

// versitygwPath is the real S3 server the tests start: built once by
// `make versitygw` (which `make deps` and `make test` reach) into
// .cache/versitygw, or named by WEIGHIN_VERSITYGW.
func versitygwPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("WEIGHIN_VERSITYGW")
	if p == "" {
		p = filepath.Join("..", "..", ".cache", "versitygw", "versitygw")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("versitygw (the S3 server of these tests) is missing at %s: run `make versitygw` (make deps does): %v", p, err)
	}
	abs, _ := filepath.Abs(p)
	return abs
}

// server is one versitygw process on loopback with a POSIX backend.
type server struct {
	t    testing.TB
	bin  string
	root string
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	// certFile and keyFile, when set, make it serve https.
	certFile, keyFile string
}

// startServer starts versitygw serving root (created if need be) on a free
// loopback port, with bucket made when not empty.
func startServer(t testing.TB, root string, bucket string) *server {
	t.Helper()
	return startServerTLS(t, root, bucket, "", "")
}

// startServerTLS is startServer serving https with the given certificate
// and key (plain http when they are empty).
func startServerTLS(t testing.TB, root, bucket, certFile, keyFile string) *server {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{t: t, bin: versitygwPath(t), root: root, addr: addr, certFile: certFile, keyFile: keyFile}
	s.start()
	t.Cleanup(s.stop)
	if bucket != "" {
		s.s3cmd("mb", "s3://"+bucket)
	}
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.log = &bytes.Buffer{}
	args := []string{"--access", rootAK, "--secret", rootSK, "--port", s.addr, "--quiet"}
	if s.certFile != "" {
		args = append(args, "--cert", s.certFile, "--key", s.keyFile)
	}
	s.cmd = exec.Command(s.bin, append(args, "posix", s.root)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw did not listen on %s: %v\n%s", s.addr, err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the server at once (SIGKILL), as a power cut or crash would.
func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *server) stop() { s.kill() }

func (s *server) endpoint() string {
	if s.certFile != "" {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// s3cmd runs Debian's s3cmd against the server: the second client that
// cross-checks what the station stored.
func (s *server) s3cmd(args ...string) string {
	s.t.Helper()
	out, err := s.s3cmdErr(args...)
	if err != nil {
		s.t.Fatalf("s3cmd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *server) s3cmdErr(args ...string) (string, error) {
	cfg := filepath.Join(s.t.TempDir(), "s3cfg")
	conf := fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = %v\nsignature_v2 = False\nbucket_location = us-east-1\ncheck_ssl_certificate = False\nmax_retries = 1\n", rootAK, rootSK, s.addr, s.addr, s.certFile != "")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		s.t.Fatal(err)
	}
	out, err := exec.Command("s3cmd", append([]string{"-c", cfg, "--no-progress"}, args...)...).CombinedOutput()
	return string(out), err
}

// listKeys is every object key of the bucket, as s3cmd sees it.
func (s *server) listKeys(bucket string) []string {
	s.t.Helper()
	out := s.s3cmd("ls", "-r", "s3://"+bucket)
	var keys []string
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "s3://"+bucket+"/"); i >= 0 {
			keys = append(keys, strings.TrimSpace(line[i+len("s3://"+bucket+"/"):]))
		}
	}
	sort.Strings(keys)
	return keys
}

// getObject downloads one object with s3cmd.
func (s *server) getObject(bucket, key string) []byte {
	s.t.Helper()
	dst := filepath.Join(s.t.TempDir(), "obj")
	s.s3cmd("get", "--force", "s3://"+bucket+"/"+key, dst)
	data, err := os.ReadFile(dst)
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(&tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w *tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// makeBundles seals n real bundles in stateDir, each with a video.mkv of
// videoBytes random bytes and a weight.csv; it returns their directories.
func makeBundles(t testing.TB, stateDir, station string, n int, videoBytes int) []string {
	t.Helper()
	st, err := evidence.Open(stateDir, slog.New(slog.DiscardHandler), evidence.Options{StationID: station})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var dirs []string
	for i := range n {
		ss, err := st.Begin(time.Date(2026, 3, 1, 10, i, 0, 0, time.UTC), true, "")
		if err != nil {
			t.Fatal(err)
		}
		video := make([]byte, videoBytes)
		rand.Read(video)
		if err := os.WriteFile(filepath.Join(ss.Dir(), "video.mkv"), video, 0o644); err != nil {
			t.Fatal(err)
		}
		csv := fmt.Sprintf("t_s,grams\n0.0,%d\n", 100*i)
		if err := os.WriteFile(filepath.Join(ss.Dir(), "weight.csv"), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Seal(result.Result{StationID: station, StopReason: result.StopButton}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, ss.Dir())
	}
	return dirs
}

type fixture struct {
	srv     *server
	bucket  string
	state   string
	station string
	dirs    []string
}

func (f *fixture) store(t testing.TB, mut func(*StoreOptions)) *Store {
	t.Helper()
	o := StoreOptions{Endpoint: f.srv.endpoint(), Bucket: f.bucket, Prefix: "shops/test", Region: "us-east-1",
		Credentials: Credentials{AccessKey: rootAK, Secret: rootSK}, Timeout: 5 * time.Second}
	if mut != nil {
		mut(&o)
	}
	s, err := NewStore(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) replicator(t testing.TB, s *Store) *Replicator {
	t.Helper()
	r, err := New(Options{Store: s, StationID: f.station, StateDir: f.state, Log: testLog(t),
		BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run starts r.Run; the returned stop waits for it.
func run(t testing.TB, r *Replicator) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// localFiles lists the uploadable files of the bundles, as object keys.
func (f *fixture) localFiles(t testing.TB, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, d := range f.dirs {
		des, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			if strings.HasPrefix(de.Name(), ".") || !de.Type().IsRegular() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(d, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[prefix+"/"+f.station+"/"+filepath.Base(d)+"/"+de.Name()] = data
		}
	}
	return out
}

// checkStored compares the bucket, listed and read back by s3cmd (one
// recursive get), with the local files: every file stored byte-identical,
// nothing more (no duplicate, no stray object), except the keys in except.
func (f *fixture) checkStored(t testing.TB, prefix string, except map[string]bool) int {
	t.Helper()
	want := f.localFiles(t, prefix)
	got := map[string]bool{}
	for _, k := range f.srv.listKeys(f.bucket) {
		if strings.HasPrefix(k, prefix+"/"+f.station+"/") {
			got[k] = true
		}
	}
	dst := t.TempDir()
	f.srv.s3cmd("get", "--recursive", "--force", "s3://"+f.bucket+"/"+prefix+"/"+f.station+"/", dst+"/")
	for k, data := range want {
		if except[k] {
			continue
		}
		if !got[k] {
			t.Errorf("%s not in the store", k)
			continue
		}
		remote, err := os.ReadFile(filepath.Join(dst, strings.TrimPrefix(k, prefix+"/"+f.station+"/")))
		if err != nil {
			t.Errorf("%s: s3cmd did not get it: %v", k, err)
		} else if !bytes.Equal(remote, data) {
			t.Errorf("%s: the store's copy (%d bytes) differs from the local file (%d bytes)", k, len(remote), len(data))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("stray object %s in the store", k)
		}
	}
	return len(got)
}

func counts(st Status) string {
	return fmt.Sprintf("objects %v, bundles %v, backlog %d objects / %d bytes, uploaded %d bytes, last error %q",
		st.Objects, st.Bundles, st.BacklogObjects, st.BacklogBytes, st.UploadedBytes, st.LastError)
}
