package station_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
)

const (
	s3AK = "weighinstationtest"
	s3SK = "weighin-station-secret-0123456789"
)

// versitygw starts the real S3 server (built by `make versitygw` into
// .cache/versitygw) on loopback with a POSIX backend in root and makes
// bucket with Debian's s3cmd; it returns the endpoint and an s3cmd runner.
func versitygw(t *testing.T, root, bucket string) (endpoint string, s3cmd func(args ...string) (string, error)) {
	t.Helper()
	bin := os.Getenv("WEIGHIN_VERSITYGW")
	if bin == "" {
		bin, _ = filepath.Abs(filepath.Join("..", "..", ".cache", "versitygw", "versitygw"))
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("versitygw is missing at %s: run `make versitygw` (make deps does): %v", bin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--access", s3AK, "--secret", s3SK, "--port", addr, "--quiet", "posix", root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if !poll(20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("versitygw did not listen on %s", addr)
	}
	cfg := filepath.Join(t.TempDir(), "s3cfg")
	conf := fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\nmax_retries = 1\n", s3AK, s3SK, addr, addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s3cmd = func(args ...string) (string, error) {
		out, err := exec.Command("s3cmd", append([]string{"-c", cfg, "--no-progress"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := s3cmd("mb", "s3://"+bucket); err != nil {
		t.Fatalf("s3cmd mb: %v\n%s", err, out)
	}
	return "http://" + addr, s3cmd
}

// offsiteRig builds weighctl and starts versitygw with the bucket
// "evidence" in root; off is the offsite section of weighd's configuration
// (prefix shop, a 0600 credentials file).
func offsiteRig(t *testing.T) (ctl, root string, s3cmd func(args ...string) (string, error), off string) {
	t.Helper()
	ctl, err := buildWeighctl()
	if err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(t.TempDir(), "s3")
	endpoint, s3cmd := versitygw(t, root, "evidence")
	creds := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(creds, []byte(s3AK+"\n"+s3SK+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ctl, root, s3cmd, fmt.Sprintf("offsite:\n  endpoint: %s\n  bucket: evidence\n  prefix: shop\n  credentials_file: %s\n", endpoint, creds)
}

// TestOffsiteThroughWeighd: weighd with an empty station_id derives its id
// once and keeps it across a restart; with offsite.endpoint set it copies
// a sealed session to a real S3 server (versitygw) byte for byte, every
// object Verified; s3cmd sees exactly the bundle's files; `weighctl verify
// --offsite` passes, and fails after one flipped byte in the store's copy.
func TestOffsiteThroughWeighd(t *testing.T) {
	t.Parallel()
	ctl, root, s3cmd, off := offsiteRig(t)
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL(), off)
	conf := strings.Replace(mustRead(t, d.conf), "station_id: e2e\n", "", 1)
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	id := d.status().StationID
	persisted, err := os.ReadFile(filepath.Join(d.state, "station_id"))
	if err != nil || strings.TrimSpace(string(persisted)) != id || id == "" {
		t.Fatalf("derived station id %q, persisted %q (%v)", id, persisted, err)
	}

	r := d.session(1300, 2*time.Second)
	bundle := filepath.Join(d.state, r.Bundle)
	st := d.waitFor("every object verified", 60*time.Second, func(s api.Status) bool {
		return s.Offsite != nil && s.Offsite.BacklogObjects == 0 && s.Offsite.Objects["verified"] > 0 && s.Offsite.Bundles["verified"] == 1
	})
	if st.Offsite.StationID != id || len(st.Offsite.Problems) != 0 {
		t.Errorf("offsite status %+v", st.Offsite)
	}
	var local []string
	des, _ := os.ReadDir(bundle)
	for _, de := range des {
		local = append(local, de.Name())
	}
	out, err := s3cmd("ls", "--recursive", "s3://evidence/shop/"+id+"/"+r.SessionID+"/")
	if err != nil {
		t.Fatalf("s3cmd ls: %v\n%s", err, out)
	}
	var remote []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		remote = append(remote, filepath.Base(f[len(f)-1]))
	}
	slices.Sort(local)
	slices.Sort(remote)
	if !slices.Equal(local, remote) {
		t.Errorf("objects in the store %v, files in the bundle %v", remote, local)
	}
	for _, name := range local {
		a, _ := os.ReadFile(filepath.Join(bundle, name))
		b, err := os.ReadFile(filepath.Join(root, "evidence", "shop", id, r.SessionID, name))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s: the store's copy differs from the bundle's (%v)", name, err)
		}
	}

	verify := func() (string, error) {
		out, err := exec.Command(ctl, "verify", "--offsite", "--config", d.conf, r.SessionID).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(); err != nil || !strings.Contains(out, "s3://evidence/shop/"+id+"/"+r.SessionID) {
		t.Fatalf("weighctl verify --offsite: %v\n%s", err, out)
	}
	var mkv string
	for _, name := range local {
		if strings.HasSuffix(name, ".mkv") && mkv == "" {
			mkv = name
		}
	}
	video := filepath.Join(root, "evidence", "shop", id, r.SessionID, mkv)
	data, err := os.ReadFile(video)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(video, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil || !strings.Contains(out, mkv) || mkv == "" {
		t.Errorf("weighctl verify --offsite after a flipped byte in the store: %v\n%s", err, out)
	}

	// A restart keeps the id (persisted, and the chain's).
	d.stop()
	d.start()
	if got := d.status().StationID; got != id {
		t.Errorf("after a restart the station id is %q, want %q", got, id)
	}
	if b, err := evidence.ReadBundle(bundle); err != nil || b.State != "sealed" {
		t.Errorf("the local bundle after the restart: %v %v", b.State, err)
	}
	d.stop()
}
