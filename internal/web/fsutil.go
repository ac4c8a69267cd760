package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// writeAtomic writes data to dir/name through a temporary file, fsynced and
// renamed into place, then fsyncs dir.
func writeAtomic(dir, name string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("web: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("web: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("web: sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	defer d.Close()
	return d.Sync()
}

// lockDir takes an exclusive flock on dir/.lock (creating dir), so weighd
// and weighctl never write the web files at the same time.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("web: lock %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// fileKey identifies one version of a file: inode, size and modification
// time (a rename puts a new inode in place).
func fileKey(fi os.FileInfo) string {
	k := strconv.FormatInt(fi.Size(), 10) + ":" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k += ":" + strconv.FormatUint(st.Ino, 10)
	}
	return k
}
