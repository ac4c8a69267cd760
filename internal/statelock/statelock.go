// Package statelock is the one daemon lock: an exclusive, non-blocking
// flock on <state>/weighd.lock that weighd takes before anything else and
// holds for its whole life (and `weighctl record` for its recording), so a
// second process on the same state directory stops at once, touching
// nothing, and names the holder.
package statelock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FileName is the lock file inside the state directory.
const FileName = "weighd.lock"

// ErrHeld is returned when another live process holds the lock.
var ErrHeld = errors.New("the state directory is in use")

// HeldError says who holds the lock: PID 0 when it has not written it yet.
type HeldError struct {
	Path string
	PID  int
	By   string // what the holder wrote after its PID: "weighd", "weighctl record"
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.By != "" {
		who = e.By
	}
	if e.PID > 0 {
		who += " (PID " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("%s holds %s: stop it first (systemctl stop weighd)", who, e.Path)
}

func (e *HeldError) Unwrap() error { return ErrHeld }

// Lock is a held lock; Release lets it go (exiting does too).
type Lock struct{ f *os.File }

// Acquire takes the lock on dir for the process named by, never waiting.
// dir must exist. A lock file it may not write (another user's) is locked
// read-only: the lock still excludes, only the PID is not written.
func Acquire(dir, by string) (*Lock, error) {
	p := filepath.Join(dir, FileName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	writable := err == nil
	if errors.Is(err, fs.ErrPermission) {
		f, err = os.Open(p)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, holder(p)
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if writable {
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+by+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder reads who holds the lock at p.
func holder(p string) error {
	e := &HeldError{Path: p}
	if data, err := os.ReadFile(p); err == nil {
		pid, by, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
		e.PID, _ = strconv.Atoi(pid)
		e.By = by
	}
	return e
}

// Release unlocks. The file stays: removing it would let a third process
// lock a new file while a second still holds the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
