package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// asUserEnv makes the test binary run weighctl with its arguments instead
// of the tests (TestPermissionDenied starts it as another user).
const asUserEnv = "WEIGHCTL_TEST_RUN"

func TestMain(m *testing.M) {
	if os.Getenv(asUserEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestPermissionDenied: a user outside group weighin is told which path
// refused them and what to do, not that weighd is not running (issue 12).
func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to start weighctl as user nobody (the tests run as root in CI)")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // nobody may enter
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A socket only root may connect to, as weighd's 0660 root:weighin is
	// to a user outside the group.
	sock := filepath.Join(dir, "weighd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	// The test binary, where nobody may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "weighctl")
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	conf := filepath.Join(dir, "weighd.yaml")
	if err := os.WriteFile(conf, []byte("state_dir: "+filepath.Join(dir, "state")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "status", "--config", conf, "--socket", sock)
	cmd.Env = append(os.Environ(), asUserEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	want := "permission denied on " + sock + ": add yourself to group weighin (sudo usermod -aG weighin $USER)"
	if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "is weighd running") {
		t.Errorf("weighctl status as nobody: %v\n%s\nwant %q", err, out, want)
	}
}
