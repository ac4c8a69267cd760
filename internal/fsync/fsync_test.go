package fsync

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Dir(dir); err != nil {
		t.Errorf("Dir(%s) = %v", dir, err)
	}
	missing := filepath.Join(dir, "gone")
	if err := Dir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Dir(missing) = %v, want an error naming it", err)
	}
}
