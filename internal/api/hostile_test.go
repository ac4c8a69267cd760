package api

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestListenLeavesNonSockets (issue 13): a file or a directory at the
// socket's path is refused with ErrNotSocket and left as it was (pointed at
// station_ed25519, the old code deleted the station key).
func TestListenLeavesNonSockets(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "station_ed25519")
	if err := os.WriteFile(key, []byte("secret key"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "adir")
	if err := os.Mkdir(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(key, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{key, sub, link} {
		ln, err := Listen(p)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%s) succeeded", p)
			continue
		}
		if !errors.Is(err, ErrNotSocket) {
			t.Errorf("Listen(%s) = %v, want ErrNotSocket", p, err)
		}
	}
	if b, err := os.ReadFile(key); err != nil || string(b) != "secret key" {
		t.Errorf("the key after Listen: %q, %v", b, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != os.ModeSymlink {
		t.Errorf("the symlink after Listen: %v, %v", fi, err)
	}
	// A stale socket (no one listening) is replaced.
	sock := filepath.Join(dir, "w.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln, err = Listen(sock)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
}

// TestSlowClientDisconnected (issue 13): a client that never finishes its
// request body is disconnected after the read timeout.
func TestSlowClientDisconnected(t *testing.T) {
	old := readTimeout
	readTimeout = 300 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	sock := filepath.Join(t.TempDir(), "w.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, &fakeStation{})
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /v1/cmd/tare HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"va"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // generous: a loaded machine
	start := time.Now()
	_, _ = io.ReadAll(c)
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("the slow client was held for %v", d)
	}
}
