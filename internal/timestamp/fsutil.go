package timestamp

import "weighin/internal/fsync"

// The queue's durable writes are internal/fsync's (the one copy of the
// temporary-file, fsync, rename, directory-fsync step).

const tmpMarker = fsync.TmpMarker

func writeFileAtomic(dir, name string, data []byte) error {
	return fsync.WriteFile(dir, name, data, 0o644)
}
