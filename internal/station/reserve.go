package station

import (
	"fmt"
	"os"
	"path/filepath"

	"weighin/internal/fsync"
)

// The seal reserve: a file of reserveBytes in the state directory, given
// up when a recording fails to be written (a full disk), so that the
// bundle can still be sealed — the claim, the label still, the manifest
// and its signature need room — with what was written. Until it can be
// made again, no session starts: a recording started on a full disk would
// lose the unboxing.
const (
	reserveName  = "seal-reserve"
	reserveBytes = 2 << 20
)

// ensureReserve makes the seal reserve when it is missing or short.
func ensureReserve(stateDir string) error {
	p := filepath.Join(stateDir, reserveName)
	if fi, err := os.Stat(p); err == nil && fi.Size() >= reserveBytes {
		return nil
	}
	if err := fsync.WriteFile(stateDir, reserveName, make([]byte, reserveBytes), 0o600); err != nil {
		return fmt.Errorf("no room for the %d-byte seal reserve in %s: %w", reserveBytes, stateDir, err)
	}
	return nil
}

// releaseReserve gives the reserve's room to the seal of a failed recording.
func releaseReserve(stateDir string) error {
	err := os.Remove(filepath.Join(stateDir, reserveName))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
