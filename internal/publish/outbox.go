package publish

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrOutbox wraps every outbox failure.
var ErrOutbox = errors.New("publish: outbox")

// Outbox is a durable FIFO of result payloads: one file per entry, named by
// a 20-digit sequence number, written to a temporary name, fsynced, renamed
// into place and the directory fsynced. An entry is removed only after the
// broker acknowledged it. Entries survive a crash or power cut; a crash
// between acknowledgement and removal repeats the entry (an exact
// duplicate, which consumers drop by session_id).
type Outbox struct {
	dir string

	mu   sync.Mutex
	next uint64
}

// Entry is one pending payload.
type Entry struct {
	Seq     uint64
	Payload []byte
}

const outboxExt = ".json"

// OpenOutbox opens (creating when needed) the outbox in dir and removes
// temporary files left by an interrupted write.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	o := &Outbox{dir: dir, next: 1}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("%w: remove leftover %s: %w", ErrOutbox, name, err)
			}
			continue
		}
		if seq, ok := parseEntryName(name); ok && seq >= o.next {
			o.next = seq + 1
		}
	}
	return o, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

func parseEntryName(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, outboxExt)
	if !ok || len(num) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	return seq, err == nil
}

func (o *Outbox) path(seq uint64) string {
	return filepath.Join(o.dir, fmt.Sprintf("%020d%s", seq, outboxExt))
}

// Append writes payload durably and returns its sequence number. When it
// returns nil the entry survives a power cut.
func (o *Outbox) Append(payload []byte) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seq := o.next
	tmp, err := os.CreateTemp(o.dir, ".tmp-")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	tmpName := tmp.Name()
	fail := func(err error) (uint64, error) {
		tmp.Close()
		os.Remove(tmpName)
		return 0, fmt.Errorf("%w: append: %w", ErrOutbox, err)
	}
	if _, err := tmp.Write(payload); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpName, o.path(seq)); err != nil {
		os.Remove(tmpName)
		return 0, fmt.Errorf("%w: append: %w", ErrOutbox, err)
	}
	if err := syncDir(o.dir); err != nil {
		return 0, fmt.Errorf("%w: append: %w", ErrOutbox, err)
	}
	o.next++
	return seq, nil
}

// Pending returns every entry not yet removed, oldest first.
func (o *Outbox) Pending() ([]Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	var seqs []uint64
	for _, e := range ents {
		if seq, ok := parseEntryName(e.Name()); ok {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	out := make([]Entry, 0, len(seqs))
	for _, seq := range seqs {
		b, err := os.ReadFile(o.path(seq))
		if err != nil {
			return nil, fmt.Errorf("%w: read entry %d: %w", ErrOutbox, seq, err)
		}
		out = append(out, Entry{Seq: seq, Payload: b})
	}
	return out, nil
}

// Len is the number of pending entries.
func (o *Outbox) Len() (int, error) {
	p, err := o.Pending()
	return len(p), err
}

// Remove deletes an acknowledged entry.
func (o *Outbox) Remove(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.Remove(o.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: remove entry %d: %w", ErrOutbox, seq, err)
	}
	if err := syncDir(o.dir); err != nil {
		return fmt.Errorf("%w: remove entry %d: %w", ErrOutbox, seq, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
