//go:build rootfs

package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Versions of the test packages: the Makefile's rule for two commits
// without a tag, the newer second.
const (
	debV1 = "0.0~git20260101.1111111"
	debV2 = "0.0~git20260102.2222222"
)

// buildPkg cross-builds weighd and weighctl with version v for goarch
// (goarm for arm) and packs them with mkdeb.sh, as `make dist` does.
func buildPkg(t *testing.T, dir, debArch, goarch, goarm, v string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin-"+debArch+"-"+v)
	args := []string{"build", "-ldflags", "-s -w -X weighin/internal/station.Version=" + v + " -X main.version=" + v, "-o", bin + "/", "../cmd/weighd", "../cmd/weighctl"}
	build := exec.Command("go", args...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", debArch, err, out)
	}
	deb := filepath.Join(dir, "weighin_"+v+"_"+debArch+".deb")
	sh(t, "packaging/mkdeb.sh", debArch, bin, v, deb)
	return deb
}

// debControl is what dpkg-deb says of a package: its control fields, the
// file list (path, mode, owner) and every control member's content.
type debControl struct {
	fields  map[string]string
	files   []string
	members map[string]string
}

func inspect(t *testing.T, deb string) debControl {
	t.Helper()
	c := debControl{fields: map[string]string{}, members: map[string]string{}}
	for _, l := range strings.Split(sh(t, "dpkg-deb", "--field", deb), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, " ") {
			c.fields[k] = v
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(sh(t, "dpkg-deb", "--contents", deb)), "\n") {
		f := strings.Fields(l) // mode owner size date time path
		if len(f) >= 6 {
			c.files = append(c.files, f[0]+" "+f[1]+" "+f[5])
		}
	}
	sort.Strings(c.files)
	ctl := t.TempDir()
	sh(t, "dpkg-deb", "--control", deb, ctl)
	entries, err := os.ReadDir(ctl)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "control" || e.Name() == "md5sums" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(ctl, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c.members[e.Name()] = string(b)
	}
	return c
}

// TestDebInBookwormRoot installs the amd64 package in a bookworm root with
// dpkg, upgrades it, removes and purges it, takes over an install.sh
// install; checks the ARM packages against it with dpkg-deb; and runs
// lintian on all three.
func TestDebInBookwormRoot(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "lintian"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make deps` installs dpkg and lintian", tool)
		}
	}
	// The version rule's shapes sort as releases must.
	order := []string{"0.0~dev", debV1, debV2, "0.1.0", "0.1.0+git20260301.3333333", "0.1.1"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command("dpkg", "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("dpkg does not order %s before %s", order[i-1], order[i])
		}
	}

	began := time.Now()
	dir := t.TempDir()
	v1 := buildPkg(t, dir, "amd64", "amd64", "", debV1)
	v2 := buildPkg(t, dir, "amd64", "amd64", "", debV2)
	arm64 := buildPkg(t, dir, "arm64", "arm64", "", debV2)
	armhf := buildPkg(t, dir, "armhf", "arm", "6", debV2)

	t.Logf("4 builds and packages: %.1f s", time.Since(began).Seconds())
	// lintian takes long: it runs beside the dpkg tests.
	var (
		lintOut  []byte
		lintErr  error
		lintWG   sync.WaitGroup
		lintTook time.Duration
	)
	lintWG.Add(1)
	go func() {
		defer lintWG.Done()
		start := time.Now()
		defer func() { lintTook = time.Since(start) }()
		// (--show-overrides would make lintian 2.116 fail on the overrides.)
		lintOut, lintErr = exec.Command("lintian", "--pedantic", "--fail-on", "error,warning,info,pedantic", v2, arm64, armhf).CombinedOutput()
	}()
	defer lintWG.Wait()

	t.Run("arm packages", func(t *testing.T) {
		want := inspect(t, v2)
		for _, tc := range []struct{ deb, arch, goarch, goarm string }{{arm64, "arm64", "arm64", ""}, {armhf, "armhf", "arm", "6"}} {
			got := inspect(t, tc.deb)
			if got.fields["Architecture"] != tc.arch {
				t.Errorf("%s: Architecture %q", tc.deb, got.fields["Architecture"])
			}
			for _, k := range []string{"Package", "Version", "Depends", "Recommends", "Suggests", "Section", "Priority", "Maintainer"} {
				if got.fields[k] != want.fields[k] {
					t.Errorf("%s: %s %q, amd64 has %q", tc.arch, k, got.fields[k], want.fields[k])
				}
			}
			if strings.Join(got.files, "\n") != strings.Join(want.files, "\n") {
				t.Errorf("%s: file list differs from amd64's:\n%s\nwant\n%s", tc.arch, strings.Join(got.files, "\n"), strings.Join(want.files, "\n"))
			}
			for _, m := range []string{"conffiles", "preinst", "postinst", "prerm", "postrm"} {
				if got.members[m] == "" || got.members[m] != want.members[m] {
					t.Errorf("%s: control member %s differs from amd64's or is missing", tc.arch, m)
				}
			}
			// The binaries inside are for that architecture (GOARM=6 for armhf).
			x := t.TempDir()
			sh(t, "dpkg-deb", "--extract", tc.deb, x)
			info := sh(t, "go", "version", "-m", filepath.Join(x, "usr/bin/weighd"))
			if !strings.Contains(info, "GOARCH="+tc.goarch+"\n") || tc.goarm != "" && !strings.Contains(info, "GOARM="+tc.goarm+"\n") {
				t.Errorf("%s: weighd built for\n%s", tc.arch, info)
			}
		}
		if want.members["conffiles"] != "/etc/weighin/weighd.yaml\n" {
			t.Errorf("conffiles %q", want.members["conffiles"])
		}
	})

	root := bookwormRoot(t)
	in := func(p string) string { return filepath.Join(root, p) }
	for _, deb := range []string{v1, v2} {
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in("tmp/"+filepath.Base(deb)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chroot := func(args ...string) (string, error) {
		cmd := exec.Command("chroot", append([]string{root, "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, args...)...)
		cmd.Stdin = bytes.NewReader(nil)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := chroot(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	stat := func(p string) string {
		t.Helper()
		out, err := chroot("stat", "-c", "%U:%G %a", p)
		if err != nil {
			return "missing"
		}
		return strings.TrimSpace(out)
	}
	exists := func(p string) bool { _, err := os.Lstat(in(p)); return err == nil }
	read := func(p string) string { b, _ := os.ReadFile(in(p)); return string(b) }
	enabled := func() bool {
		link, err := os.Readlink(in("etc/systemd/system/multi-user.target.wants/weighd.service"))
		// deb-systemd-helper names /lib/systemd/system first; bookworm's
		// merged /usr makes it the package's /usr/lib one.
		return err == nil && (link == "/lib/systemd/system/weighd.service" || link == "/usr/lib/systemd/system/weighd.service") &&
			exists(strings.TrimPrefix(link, "/"))
	}
	key := "var/lib/weighin/station_ed25519"
	bundle := "var/lib/weighin/sessions/000001-20260101T100000Z/manifest.json"

	// dpkg -i: user, groups, unit enabled, config and state, doctor.
	out := must("dpkg", "-i", "/tmp/"+filepath.Base(v1))
	groups := strings.Fields(must("id", "-nG", "weighin"))
	sort.Strings(groups)
	if strings.Join(groups, " ") != "gpio video weighin" {
		t.Errorf("weighin's groups %v, want gpio video weighin", groups)
	}
	if pw := must("getent", "passwd", "weighin"); !strings.HasSuffix(strings.TrimSpace(pw), ":/var/lib/weighin:/usr/sbin/nologin") {
		t.Errorf("passwd entry %q", pw)
	}
	if !enabled() {
		t.Errorf("weighd.service not enabled after dpkg -i:\n%s", out)
	}
	if s := stat("/etc/weighin/weighd.yaml"); s != "root:weighin 640" {
		t.Errorf("config %s, want root:weighin 640", s)
	}
	if s := stat("/var/lib/weighin"); s != "weighin:weighin 750" {
		t.Errorf("state dir %s, want weighin:weighin 750", s)
	}
	if got := must("weighd", "--version"); got != "weighd "+debV1+"\n" {
		t.Errorf("weighd --version %q", got)
	}
	if got := must("weighctl", "version"); got != "weighctl "+debV1+"\n" {
		t.Errorf("weighctl version %q", got)
	}
	doc, err := chroot("weighctl", "doctor")
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) || !strings.Contains(doc, "/etc/weighin/weighd.yaml") {
		t.Errorf("weighctl doctor: %v\n%s", err, doc)
	}
	unit := read("usr/lib/systemd/system/weighd.service")
	for _, m := range regexp.MustCompile(`file://(\S+)`).FindAllStringSubmatch(unit, -1) {
		if !exists(strings.TrimPrefix(m[1], "/")) {
			t.Errorf("the unit's Documentation= names %s, not in the package", m[1])
		}
	}
	if !strings.Contains(unit, "ExecStart=/usr/bin/weighd ") || !exists("usr/share/man/man8/weighd.8.gz") {
		t.Errorf("unit ExecStart or man page wrong:\n%s", unit)
	}

	// Evidence, key and an edited config survive an upgrade.
	if err := os.MkdirAll(filepath.Dir(in(bundle)), 0o750); err != nil {
		t.Fatal(err)
	}
	for p, body := range map[string]string{key: "secret key", bundle: `{"schema":1}`} {
		if err := os.WriteFile(in(p), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edited := strings.Replace(read("etc/weighin/weighd.yaml"), "log_level: info", "log_level: debug", 1)
	if err := os.WriteFile(in("etc/weighin/weighd.yaml"), []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	evidenceKept := func(when string) {
		t.Helper()
		if read(key) != "secret key" || read(bundle) != `{"schema":1}` {
			t.Errorf("%s: evidence or station key lost", when)
		}
	}
	out = must("dpkg", "-i", "/tmp/"+filepath.Base(v2))
	if read("etc/weighin/weighd.yaml") != edited {
		t.Errorf("upgrade replaced the edited config:\n%s", out)
	}
	evidenceKept("upgrade")
	if got := must("weighd", "--version"); got != "weighd "+debV2+"\n" {
		t.Errorf("after the upgrade weighd --version %q", got)
	}
	if !enabled() || stat("/etc/weighin/weighd.yaml") != "root:weighin 640" {
		t.Errorf("after the upgrade: enabled %v, config %s", enabled(), stat("/etc/weighin/weighd.yaml"))
	}

	// dpkg -r: the program goes (after ha clear ran), config and evidence stay.
	out = must("dpkg", "-r", "weighin")
	if !strings.Contains(out, "none are left to clear") {
		t.Errorf("prerm did not run weighctl ha clear:\n%s", out)
	}
	for _, p := range []string{"usr/bin/weighd", "usr/bin/weighctl", "usr/lib/systemd/system/weighd.service"} {
		if exists(p) {
			t.Errorf("%s still there after dpkg -r", p)
		}
	}
	if read("etc/weighin/weighd.yaml") != edited {
		t.Error("dpkg -r did not keep the config")
	}
	evidenceKept("dpkg -r")

	// dpkg -P: config gone; evidence, key and user stay.
	out = must("dpkg", "-P", "weighin")
	if exists("etc/weighin") {
		t.Errorf("/etc/weighin still there after purge:\n%s", out)
	}
	evidenceKept("dpkg -P")
	if !strings.Contains(out, "kept /var/lib/weighin") {
		t.Errorf("purge does not say where the evidence stays:\n%s", out)
	}
	if o, _ := chroot("dpkg-statoverride", "--list"); strings.Contains(o, "weighd.yaml") {
		t.Errorf("statoverride left after purge: %s", o)
	}
	for _, p := range []string{"etc/systemd/system/weighd.service", "etc/systemd/system/multi-user.target.wants/weighd.service"} {
		if exists(p) {
			t.Errorf("%s left after purge", p)
		}
	}
	must("id", "weighin")

	// Taking over an install.sh install: its files go, its config stays.
	dist := in("opt/weighin-dist")
	for src, dst := range map[string]string{
		"install.sh": "install.sh", "weighd.yaml": "weighd.yaml", "../systemd/weighd.service": "weighd.service",
		"udev/60-weighin.rules":                          "udev/60-weighin.rules",
		filepath.Join(dir, "bin-amd64-"+debV1, "weighd"): "weighd", filepath.Join(dir, "bin-amd64-"+debV1, "weighctl"): "weighctl",
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
	must("/usr/bin/env", "ARCH=x86_64", "/bin/sh", "/opt/weighin-dist/install.sh")
	if !strings.Contains(read("etc/systemd/system/weighd.service"), "ExecStart=/usr/local/bin/weighd ") {
		t.Fatal("install.sh did not install its unit with /usr/local/bin")
	}
	mine := "log_level: warn\n"
	if err := os.WriteFile(in("etc/weighin/weighd.yaml"), []byte(mine), 0o640); err != nil {
		t.Fatal(err)
	}
	out = must("dpkg", "-i", "/tmp/"+filepath.Base(v2))
	for _, p := range []string{"usr/local/bin/weighd", "usr/local/bin/weighctl", "etc/systemd/system/weighd.service", "etc/udev/rules.d/60-weighin.rules"} {
		if exists(p) {
			t.Errorf("install.sh's %s still there after dpkg -i:\n%s", p, out)
		}
	}
	if read("etc/weighin/weighd.yaml") != mine || !enabled() || !exists("etc/systemd/system/weighd.service.install-sh-old") {
		t.Errorf("takeover: config %q, enabled %v:\n%s", read("etc/weighin/weighd.yaml"), enabled(), out)
	}
	if o, err := chroot("/usr/bin/env", "ARCH=x86_64", "/bin/sh", "/opt/weighin-dist/install.sh"); err == nil || !strings.Contains(o, "the Debian package weighin is installed") {
		t.Errorf("install.sh over the package: %v\n%s", err, o)
	}
	evidenceKept("takeover")

	t.Logf("dpkg lifecycle done at %.1f s", time.Since(began).Seconds())
	lintWG.Wait()
	t.Logf("lintian on 3 packages: %.1f s; whole test %.1f s", lintTook.Seconds(), time.Since(began).Seconds())
	if lintErr != nil {
		t.Errorf("lintian: %v\n%s", lintErr, lintOut)
	} else {
		t.Logf("lintian: no tag beyond the overrides justified in docs/packaging.md\n%s", lintOut)
	}
}
