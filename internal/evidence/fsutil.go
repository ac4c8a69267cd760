package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"weighin/internal/fsync"
)

// tmpMarker is part of every temporary name this package creates; such files
// and directories are leftovers of an interrupted write and are never
// evidence.
const tmpMarker = ".tmp-"

func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpMarker)
}

// TmpDir is the directory under the state directory where files bound for
// a bundle are finished before they are moved in (see Store.TempDir): on the
// bundles' file system, so the move is a rename, and never in a bundle.
const TmpDir = "tmp"

// stagePrefix starts the name of every temporary file this package stages
// in TmpDir; Open removes leftovers of an interrupted write.
const stagePrefix = ".evidence-"

// TempDir returns <state>/tmp (mode 0700), created if need be: the place to
// finish a file before handing it to AddAddendum, on the same file system
// as the bundles.
func (s *Store) TempDir() (string, error) {
	dir := filepath.Join(s.dir, TmpDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return dir, nil
}

// put modes.
const (
	putReplace = 1 << iota // rename over an existing file
	putNoSync              // leave the directory fsync to the caller
)

// putFile is the one durable write of a whole file, into a bundle or the
// state directory: data is staged in <state>/tmp (never in the target
// directory, so no temporary file ever sits in a bundle), fsynced, moved to
// dir/name and dir fsynced. Without putReplace an existing dir/name is an
// error (fs.ErrExist) and is left untouched: a bundle's files are written
// once. A crash leaves either no file or the whole one (with putReplace:
// the old or the new content).
func (s *Store) putFile(dir, name string, data []byte, mode int) error {
	fail := func(err error) error { return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err) }
	stage, err := s.TempDir()
	if err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(stage, stagePrefix+name+"-*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(filePerm(name))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = moveInto(tmp, filepath.Join(dir, name), mode&putReplace != 0)
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	if mode&putNoSync == 0 {
		return syncDir(dir)
	}
	return nil
}

// filePerm is the mode of a file written by putFile: the station key is
// its owner's alone, everything else is evidence anyone may read.
func filePerm(name string) os.FileMode {
	if name == KeyFile {
		return 0o600
	}
	return 0o644
}

// moveInto renames src to dst on one file system. Without replace it never
// overwrites: renameat2(RENAME_NOREPLACE), or where the file system lacks
// it a hard link and the removal of src. An existing dst gives fs.ErrExist.
func moveInto(src, dst string, replace bool) error {
	if replace {
		return os.Rename(src, dst)
	}
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: fs.ErrExist}
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
		if err := os.Link(src, dst); err != nil {
			return err
		}
		return os.Remove(src)
	default:
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
}

// cleanStaging removes what an interrupted putFile or AddAddendum left in
// <state>/tmp. Called under the store's lock, when no write of this package
// is in flight in any process.
func (s *Store) cleanStaging() {
	dir := filepath.Join(s.dir, TmpDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), stagePrefix) {
			if err := os.Remove(filepath.Join(dir, de.Name())); err == nil {
				s.log.Info("removed a file staged by an interrupted write", "file", filepath.Join(dir, de.Name()))
			}
		}
	}
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
