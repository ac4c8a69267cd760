package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"weighin/internal/fsync"
)

// tmpMarker is part of every temporary name this package creates; such files
// and directories are leftovers of an interrupted write and are never
// evidence.
const tmpMarker = ".tmp-"

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpMarker)
}

// writeFileAtomic replaces dir/name with data: a temporary file in the same
// directory, written, fsynced, renamed over the target, then the directory
// fsynced. A crash leaves either the old or the new content.
func writeFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	if err := writeFileRenamed(dir, name, data, perm); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeFileRenamed is writeFileAtomic without the directory fsync: the
// content is durable, the new name only after the caller's next syncDir.
// For files whose name may be lost in a crash without harm (the caller
// syncs the directory before anything depends on them).
func writeFileRenamed(dir, name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(dir, "."+name+tmpMarker+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// syncDir fsyncs a directory so that renames and removals in it are durable.
var syncDir = fsync.Dir

// syncFile fsyncs an existing file and returns its size.
func syncFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("fsync %s: %w", path, err)
	}
	return st.Size(), nil
}

// hashFile returns the size and hex SHA-256 of a file in fsys.
func hashFile(fsys fs.FS, name string) (int64, string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", name, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// FreeBytes reports the space available to an unprivileged writer on the
// file system holding path (statfs f_bavail × f_bsize). It is the default
// Options.FreeSpace.
func FreeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
