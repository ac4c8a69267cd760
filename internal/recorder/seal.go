package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ErrNoReserve is returned by SealHeader for a file without the header
// space this package's writer reserves.
var ErrNoReserve = errors.New("recorder: no reserved header space to seal")

// SealHeader fills the space the writer reserves at the start of every
// file with the Segment's Duration and a SeekHead (Info, Tracks, Cues,
// Chapters, Tags), so that players and ffprobe know the duration and find
// the index without reading the whole file. It works on cut files too
// (their duration as Analyze computes it). It fsyncs the file and returns
// the SHA-256 of the file as it now is.
//
// The recorder itself never does this: it would change bytes already
// hashed, and the new digest needs a second read of the whole file (here:
// one pass to find the elements, one to hash). The caller decides whether
// up-front duration is worth that read; FileInfo.SHA256 from Stop is then
// stale and the digest returned here replaces it. Sealing a sealed file
// changes nothing and returns its digest.
func SealHeader(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("recorder: seal: %w", err)
	}
	defer f.Close()
	s, lay, err := analyze(f, filepath.Base(path), time.Hour)
	if err != nil {
		return "", fmt.Errorf("recorder: seal %s: %w", path, err)
	}
	if !lay.hasDuration {
		if lay.segData < 0 || lay.seekVoid < 0 || lay.durVoid < 0 || lay.durVoidLen != durationReserve {
			return "", fmt.Errorf("recorder: seal %s: %w", path, ErrNoReserve)
		}
		seek, err := seekHead(lay)
		if err != nil {
			return "", fmt.Errorf("recorder: seal %s: %w", path, err)
		}
		dur := appendFloat(nil, idDuration, float64(s.Duration)/float64(lay.scale))
		if _, err := f.WriteAt(dur, lay.durVoid); err != nil {
			return "", fmt.Errorf("recorder: seal %s: %w", path, err)
		}
		if _, err := f.WriteAt(seek, lay.seekVoid); err != nil {
			return "", fmt.Errorf("recorder: seal %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return "", fmt.Errorf("recorder: seal %s: fsync: %w", path, err)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("recorder: seal %s: %w", path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("recorder: seal %s: hash: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// seekHead builds a SeekHead that, with a Void after it, fills exactly the
// reserved space.
func seekHead(lay layout) ([]byte, error) {
	var body []byte
	for _, e := range []struct {
		id  uint32
		pos int64
	}{{idInfo, lay.info}, {idTracks, lay.tracks}, {idCues, lay.cues}, {idChapters, lay.chapters}, {idTags, lay.tags}} {
		if e.pos < 0 {
			continue
		}
		var s []byte
		s = appendBytes(s, idSeekID, appendID(nil, e.id))
		s = appendUint(s, idSeekPosition, uint64(e.pos))
		body = appendMaster(body, idSeek, s)
	}
	out := appendMaster(nil, idSeekHead, body)
	room := int(lay.seekVoidLen)
	switch rest := room - len(out); {
	case rest < 0:
		return nil, fmt.Errorf("SeekHead of %d bytes does not fit in %d", len(out), room)
	case rest == 1:
		// A Void needs two bytes: spend the odd one on a longer size field.
		out = appendID(nil, idSeekHead)
		out = append(out, 0x40|byte(len(body)>>8), byte(len(body)))
		out = append(out, body...)
	case rest >= 2:
		out = appendVoid(out, rest)
	}
	if len(out) != room {
		return nil, fmt.Errorf("SeekHead of %d bytes does not fill %d", len(out), room)
	}
	return out, nil
}
