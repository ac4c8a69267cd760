package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With weighd stopped (nothing on the socket), weighctl share and web
// passwd write <state>/web themselves; with it running they go through the
// API (internal/web's e2e tests, against weighd --sim).
func TestShareAndPasswdWithWeighdStopped(t *testing.T) {
	state := t.TempDir()
	const id = "000001-unsynced-YT1"
	if err := os.MkdirAll(filepath.Join(state, "sessions", id), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "sessions", id, "manifest.json"), []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	common := []string{"--config", filepath.Join(state, "none.yaml"), "--state-dir", state, "--socket", filepath.Join(state, "no.sock")}
	run := func(f func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := f(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run(runShare, append(common, "--ttl", "2h", id)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || !strings.HasPrefix(lines[len(lines)-1], "http://localhost/s/") {
		t.Fatalf("share: %d %q %q", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(state, "web", "shares.json")); err != nil {
		t.Errorf("shares.json: %v", err)
	}
	if code, _, _ := run(runShare, append(common, "000009-unsynced")...); code == exitOK {
		t.Error("a share of a session that does not exist succeeded")
	}
	id12 := strings.SplitN(strings.TrimPrefix(lines[len(lines)-1], "http://localhost/s/"), ".", 2)[0]
	if code, out, errs := run(runShare, append(common, "--revoke", id12)...); code != exitOK || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(runShare, append(common, "--list")...); code != exitOK || !strings.Contains(out, id12) || !strings.Contains(out, "revoked") {
		t.Errorf("list: %d %q", code, out)
	}
	old := webStdin
	defer func() { webStdin = old }()
	webStdin = strings.NewReader("short\n")
	if code, _, _ := run(runWeb, append([]string{"passwd"}, common...)...); code != exitUsage {
		t.Errorf("a short password: exit %d", code)
	}
	webStdin = strings.NewReader("a long enough password\n")
	if code, out, errs := run(runWeb, append([]string{"passwd"}, common...)...); code != exitOK || !strings.Contains(out, "weighd is not running") {
		t.Errorf("passwd: %d %q %q", code, out, errs)
	}
	if fi, err := os.Stat(filepath.Join(state, "web", "password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v %v", fi, err)
	}
}
