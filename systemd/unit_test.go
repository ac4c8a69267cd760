// Package systemd holds weighd.service. Its test checks the unit with
// Debian's systemd tools, without a running manager.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unitFor writes weighd.service into a temporary directory with ExecStart
// pointing at a freshly built weighd, so `verify` checks a real binary.
func unitFor(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze not found: `make deps` installs Debian's systemd")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "weighd")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/weighd").CombinedOutput(); err != nil {
		t.Fatalf("go build weighd: %v\n%s", err, out)
	}
	data, err := os.ReadFile("weighd.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(data), "ExecStart=/usr/bin/weighd", "ExecStart="+bin, 1)
	if unit == string(data) {
		t.Fatal("weighd.service: ExecStart=/usr/bin/weighd (the package's path) not found")
	}
	p := filepath.Join(dir, "weighd.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnitVerifies(t *testing.T) {
	p := unitFor(t)
	// verify also looks up the man pages Documentation= names: the ones
	// the Debian package ships.
	man := filepath.Join(t.TempDir(), "man")
	for _, page := range []string{"man8/weighd.8", "man1/weighctl.1"} {
		data, err := os.ReadFile(filepath.Join("../deploy/packaging/man", filepath.Base(page)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(man, filepath.Dir(page)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(man, page), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", p)
	cmd.Env = append(os.Environ(), "MANPATH="+man)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitExposure(t *testing.T) {
	p := unitFor(t)
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", p).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f", score)
	if score > 2.5 {
		t.Errorf("exposure %.1f, want <= 2.5", score)
	}
}

func TestUnitContract(t *testing.T) {
	data, err := os.ReadFile("weighd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify", "WatchdogSec=", "Restart=on-failure",
		"RestartPreventExitStatus=78", // weighd's exit code for a bad config
		"StateDirectory=weighin", "User=weighin", "SupplementaryGroups=gpio video",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("weighd.service lacks %q", want)
		}
	}
}
