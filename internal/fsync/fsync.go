// Package fsync makes directory changes durable: after a rename, a create
// or a remove, the directory itself must be fsynced for the new name to
// survive a power cut. It is the one copy of that step for the evidence
// store and the MQTT outbox; a few lines of os calls, no library needed.
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
