//go:build rootfs

// Package deploy holds the files that put weighin on a Raspberry Pi. This test
// runs install.sh inside a Debian bookworm root made with debootstrap (as far
// as it can run without a Pi: files, users, groups, unit enabled, idempotence,
// uninstall clearing MQTT first and keeping the evidence); deb_test.go does
// the same for the Debian package. `make test-install` runs them as root.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// bookwormRoot returns a fresh bookworm root, made once per machine and kept
// as a tarball under the repository's .cache.
func bookwormRoot(t *testing.T) string {
	for _, tool := range []string{"debootstrap", "chroot", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make deps` installs debootstrap", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (debootstrap, chroot)")
	}
	cache, _ := filepath.Abs(filepath.Join("..", ".cache"))
	tarball := filepath.Join(cache, "bookworm-root.tar")
	root := filepath.Join(t.TempDir(), "root")
	if _, err := os.Stat(tarball); err != nil {
		sh(t, "debootstrap", "--variant=minbase", "--include=systemd,udev,passwd", "bookworm", root, "http://deb.debian.org/debian")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		sh(t, "tar", "-C", root, "-cf", tarball+".tmp", ".")
		if err := os.Rename(tarball+".tmp", tarball); err != nil {
			t.Fatal(err)
		}
		return root
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, "tar", "-C", root, "-xf", tarball)
	return root
}

func TestInstallInBookwormRoot(t *testing.T) {
	root := bookwormRoot(t)
	dist := filepath.Join(root, "opt", "weighin-dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", dist+"/", "../cmd/weighd", "../cmd/weighctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for src, dst := range map[string]string{
		"install.sh":                "install.sh",
		"weighd.yaml":               "weighd.yaml",
		"../systemd/weighd.service": "weighd.service",
		"udev/60-weighin.rules":     "udev/60-weighin.rules",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dist, dst)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, dst), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	install := func(args ...string) string {
		cmd := exec.Command("chroot", append([]string{root, "/usr/bin/env", "ARCH=x86_64", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "/bin/sh", "/opt/weighin-dist/install.sh"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	in := func(p string) string { return filepath.Join(root, p) }
	mustExist := func(p string, mode os.FileMode) {
		t.Helper()
		fi, err := os.Lstat(in(p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		if mode != 0 && fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}

	out := install()
	defer func() {
		if t.Failed() {
			t.Logf("first install said:\n%s", out)
		}
	}()
	mustExist("usr/local/bin/weighd", 0o755)
	mustExist("usr/local/bin/weighctl", 0o755)
	mustExist("etc/systemd/system/weighd.service", 0o644)
	if unit, _ := os.ReadFile(in("etc/systemd/system/weighd.service")); !strings.Contains(string(unit), "ExecStart=/usr/local/bin/weighd ") {
		t.Errorf("install.sh's unit does not start /usr/local/bin/weighd:\n%s", unit)
	}
	mustExist("etc/udev/rules.d/60-weighin.rules", 0o644)
	mustExist("etc/weighin/weighd.yaml", 0o640)
	mustExist("var/lib/weighin", 0o750)
	if link, err := os.Readlink(in("etc/systemd/system/multi-user.target.wants/weighd.service")); err != nil || !strings.HasSuffix(link, "weighd.service") {
		t.Errorf("weighd.service not enabled: %q %v", link, err)
	}
	groups := sh(t, "chroot", root, "id", "-nG", "weighin")
	for _, g := range []string{"weighin", "gpio", "video"} {
		if !strings.Contains(" "+strings.TrimSpace(groups)+" ", " "+g+" ") {
			t.Errorf("user weighin groups %q lack %s", strings.TrimSpace(groups), g)
		}
	}
	if shell := sh(t, "chroot", root, "getent", "passwd", "weighin"); !strings.Contains(shell, "/usr/sbin/nologin") {
		t.Errorf("weighin's passwd entry %q: want a nologin shell", shell)
	}

	// A changed config survives a second install; the second run succeeds.
	if err := os.WriteFile(in("etc/weighin/weighd.yaml"), []byte("log_level: debug\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if out := install(); !strings.Contains(out, "kept the existing /etc/weighin/weighd.yaml") {
		t.Errorf("second install did not keep the config:\n%s", out)
	}
	if data, _ := os.ReadFile(in("etc/weighin/weighd.yaml")); string(data) != "log_level: debug\n" {
		t.Errorf("config overwritten: %q", data)
	}

	// --add-user puts a login user into group weighin (issue 12); without
	// a terminal nothing is asked.
	sh(t, "chroot", root, "useradd", "--create-home", "pi")
	if out := install("--add-user", "pi"); !strings.Contains(out, "added pi to group weighin") {
		t.Errorf("install.sh --add-user pi:\n%s", out)
	}
	if groups := sh(t, "chroot", root, "id", "-nG", "pi"); !strings.Contains(" "+strings.TrimSpace(groups)+" ", " weighin ") {
		t.Errorf("user pi groups %q lack weighin", strings.TrimSpace(groups))
	}

	// Uninstall removes the program and keeps the evidence.
	if err := os.WriteFile(in("var/lib/weighin/station_ed25519"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := install("--uninstall"); !strings.Contains(out, "none are left to clear") {
		t.Errorf("--uninstall did not run weighctl ha clear first:\n%s", out)
	}
	for _, p := range []string{"usr/local/bin/weighd", "usr/local/bin/weighctl", "etc/systemd/system/weighd.service", "etc/udev/rules.d/60-weighin.rules", "etc/systemd/system/multi-user.target.wants/weighd.service"} {
		if _, err := os.Lstat(in(p)); err == nil {
			t.Errorf("%s still there after --uninstall", p)
		}
	}
	mustExist("var/lib/weighin/station_ed25519", 0o600)
	mustExist("etc/weighin/weighd.yaml", 0)
}
