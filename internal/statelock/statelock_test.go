package statelock

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestSecondHolderRefusedAtOnce(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "weighd")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "weighctl record") // a second open file description: flock excludes it
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: %v, want a HeldError", err)
	}
	if he.PID != os.Getpid() || he.By != "weighd" || !strings.Contains(err.Error(), "weighd (PID ") {
		t.Fatalf("holder %+v, message %q", he, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "weighctl record")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}
