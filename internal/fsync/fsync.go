// Package fsync makes directory changes durable: after a rename, a create
// or a remove, the directory itself must be fsynced for the new name to
// survive a power cut. It is the one copy of that step for the evidence
// store and the MQTT outbox (and WriteFile, the durable whole-file write of
// the timestamp queue and the station identity); a few lines of os calls, no
// library needed.
package fsync

import (
	"fmt"
	"os"
)

// Dir fsyncs the directory dir.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// TmpMarker is part of the name of every temporary file WriteFile makes
// ("." + name + TmpMarker + random), so that a reader of the directory can
// skip one an interrupted write left.
const TmpMarker = ".tmp-"

// WriteFile replaces dir/name with data, durably: a temporary file in dir,
// fsync, rename over name, fsync of dir. A failed write leaves the old file.
func WriteFile(dir, name string, data []byte, perm os.FileMode) error {
	path := dir + string(os.PathSeparator) + name
	f, err := os.CreateTemp(dir, "."+name+TmpMarker+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return Dir(dir)
}
