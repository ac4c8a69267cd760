package publish

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"weighin/internal/fsync"
)

// ErrOutbox wraps every outbox failure; ErrOutboxLocked means another
// process holds the outbox.
var (
	ErrOutbox       = errors.New("publish: outbox")
	ErrOutboxLocked = errors.New("publish: outbox in use by another process")
)

// Outbox is a durable FIFO of result payloads: an append-only journal file,
// preallocated with zeros so that an append overwrites allocated blocks in
// place and needs one fdatasync and no metadata update. A record is
//
//	magic u32 | kind u8 | seq u64 | length u32 | crc32c u32 | payload
//
// (little endian; the CRC covers kind, seq, length and payload). An entry
// record is synced before Append returns; an acknowledgement record
// (written when the broker acknowledged the entry) is not: if it is lost in
// a crash the entry is sent again, an exact duplicate that consumers drop
// by session_id. A torn record at the end (power cut mid-append, before
// Append returned) is discarded at open. When acknowledged records take
// more than compactBytes, the pending entries are copied into a fresh
// journal that atomically replaces the old one.
type Outbox struct {
	dir string

	mu      sync.Mutex
	f       *os.File
	end     int64 // offset of the next record
	size    int64 // preallocated size
	next    uint64
	pending []Entry
	acked   int64 // bytes of acknowledged records and their acks
}

// Entry is one pending payload.
type Entry struct {
	Seq     uint64
	Payload []byte
}

const (
	journalName  = "outbox.journal"
	recordMagic  = 0x31484757 // "WGH1"
	headerLen    = 4 + 1 + 8 + 4 + 4
	kindEntry    = 1
	kindAck      = 2
	chunkBytes   = 1 << 20
	compactBytes = 512 << 10
	// MaxEntryBytes bounds one result payload.
	MaxEntryBytes = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenOutbox opens (creating when needed) the outbox in dir, takes an
// exclusive lock on it, and loads the pending entries.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	path := filepath.Join(dir, journalName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrOutboxLocked, path, err)
	}
	o := &Outbox{dir: dir, f: f, next: 1}
	if err := o.load(); err != nil {
		f.Close()
		return nil, err
	}
	return o, nil
}

// load scans the journal up to the first invalid record.
func (o *Outbox) load() error {
	st, err := o.f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	o.size = st.Size()
	data := make([]byte, o.size)
	if _, err := io.ReadFull(io.NewSectionReader(o.f, 0, o.size), data); err != nil {
		return fmt.Errorf("%w: read journal: %w", ErrOutbox, err)
	}
	var (
		off     int64
		lastSeq uint64
	)
	index := map[uint64]int{}
	for {
		kind, seq, payload, n, ok := parseRecord(data[off:])
		if !ok || kind == kindEntry && seq <= lastSeq {
			// Entries are written with rising sequence numbers: anything
			// else is not ours.
			break
		}
		switch kind {
		case kindEntry:
			lastSeq = seq
			index[seq] = len(o.pending)
			o.pending = append(o.pending, Entry{Seq: seq, Payload: append([]byte(nil), payload...)})
			if seq >= o.next {
				o.next = seq + 1
			}
		case kindAck:
			if i, ok := index[seq]; ok {
				o.acked += int64(headerLen + len(o.pending[i].Payload))
				o.pending[i].Payload = nil
			}
			o.acked += headerLen
		}
		off += n
	}
	live := o.pending[:0]
	for _, e := range o.pending {
		if e.Payload != nil {
			live = append(live, e)
		}
	}
	o.pending = live
	o.end = off
	// Zero whatever follows the last valid record (a torn append), so
	// that a later shorter record is never followed by stale bytes.
	if tail := o.size - off; tail > 0 {
		if _, err := o.f.WriteAt(make([]byte, tail), off); err != nil {
			return fmt.Errorf("%w: clear torn tail: %w", ErrOutbox, err)
		}
		if err := unix.Fdatasync(int(o.f.Fd())); err != nil {
			return fmt.Errorf("%w: %w", ErrOutbox, err)
		}
	}
	return nil
}

// parseRecord decodes the record at the start of b; ok is false at zeros,
// a short or corrupt record.
func parseRecord(b []byte) (kind byte, seq uint64, payload []byte, n int64, ok bool) {
	if len(b) < headerLen || binary.LittleEndian.Uint32(b) != recordMagic {
		return 0, 0, nil, 0, false
	}
	kind = b[4]
	seq = binary.LittleEndian.Uint64(b[5:])
	length := binary.LittleEndian.Uint32(b[13:])
	sum := binary.LittleEndian.Uint32(b[17:])
	if kind != kindEntry && kind != kindAck || length > MaxEntryBytes || int64(len(b)) < headerLen+int64(length) {
		return 0, 0, nil, 0, false
	}
	payload = b[headerLen : headerLen+int(length)]
	c := crc32.Update(0, castagnoli, b[4:17])
	c = crc32.Update(c, castagnoli, payload)
	if c != sum {
		return 0, 0, nil, 0, false
	}
	return kind, seq, payload, headerLen + int64(length), true
}

func appendRecord(dst []byte, kind byte, seq uint64, payload []byte) []byte {
	var h [headerLen]byte
	binary.LittleEndian.PutUint32(h[0:], recordMagic)
	h[4] = kind
	binary.LittleEndian.PutUint64(h[5:], seq)
	binary.LittleEndian.PutUint32(h[13:], uint32(len(payload)))
	c := crc32.Update(0, castagnoli, h[4:17])
	c = crc32.Update(c, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[17:], c)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// Close releases the journal and its lock.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

// ensure preallocates (with zeros, synced) so that n more bytes fit.
func (o *Outbox) ensure(n int64) error {
	if o.end+n <= o.size {
		return nil
	}
	grow := ((o.end + n - o.size) + chunkBytes - 1) / chunkBytes * chunkBytes
	if _, err := o.f.WriteAt(make([]byte, grow), o.size); err != nil {
		return err
	}
	if err := o.f.Sync(); err != nil {
		return err
	}
	o.size += grow
	return nil
}

// Append writes payload durably and returns its sequence number. When it
// returns nil the entry survives a power cut.
func (o *Outbox) Append(payload []byte) (uint64, error) {
	if len(payload) > MaxEntryBytes {
		return 0, fmt.Errorf("%w: entry of %d bytes exceeds %d", ErrOutbox, len(payload), MaxEntryBytes)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return 0, fmt.Errorf("%w: closed", ErrOutbox)
	}
	seq := o.next
	rec := appendRecord(nil, kindEntry, seq, payload)
	if err := o.ensure(int64(len(rec))); err != nil {
		return 0, fmt.Errorf("%w: append: grow: %w", ErrOutbox, err)
	}
	if _, err := o.f.WriteAt(rec, o.end); err != nil {
		return 0, fmt.Errorf("%w: append: %w", ErrOutbox, err)
	}
	if err := unix.Fdatasync(int(o.f.Fd())); err != nil {
		// The record may or may not be on disk: treat it as not written,
		// but step past it so nothing is ever written over it.
		o.end += int64(len(rec))
		o.next++
		return 0, fmt.Errorf("%w: append: sync: %w", ErrOutbox, err)
	}
	o.end += int64(len(rec))
	o.next++
	o.pending = append(o.pending, Entry{Seq: seq, Payload: append([]byte(nil), payload...)})
	return seq, nil
}

// Pending returns every entry not yet acknowledged, oldest first.
func (o *Outbox) Pending() ([]Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil, fmt.Errorf("%w: closed", ErrOutbox)
	}
	return append([]Entry(nil), o.pending...), nil
}

// Len is the number of pending entries.
func (o *Outbox) Len() (int, error) {
	p, err := o.Pending()
	return len(p), err
}

// Remove records that the broker acknowledged entry seq. The record is
// not synced (see Outbox); the journal is compacted when acknowledged
// records have grown past a threshold.
func (o *Outbox) Remove(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return fmt.Errorf("%w: closed", ErrOutbox)
	}
	i := -1
	for j, e := range o.pending {
		if e.Seq == seq {
			i = j
			break
		}
	}
	if i < 0 {
		return nil
	}
	rec := appendRecord(nil, kindAck, seq, nil)
	if err := o.ensure(int64(len(rec))); err != nil {
		return fmt.Errorf("%w: remove %d: grow: %w", ErrOutbox, seq, err)
	}
	if _, err := o.f.WriteAt(rec, o.end); err != nil {
		return fmt.Errorf("%w: remove %d: %w", ErrOutbox, seq, err)
	}
	o.end += int64(len(rec))
	o.acked += int64(2*headerLen + len(o.pending[i].Payload))
	o.pending = append(o.pending[:i], o.pending[i+1:]...)
	if o.acked >= compactBytes {
		if err := o.compact(); err != nil {
			return fmt.Errorf("%w: compact: %w", ErrOutbox, err)
		}
	}
	return nil
}

// compact writes the pending entries into a fresh preallocated journal,
// syncs it, renames it over the old one and syncs the directory.
func (o *Outbox) compact() error {
	var buf []byte
	for _, e := range o.pending {
		buf = appendRecord(buf, kindEntry, e.Seq, e.Payload)
	}
	size := (int64(len(buf))/chunkBytes + 1) * chunkBytes
	tmpPath := filepath.Join(o.dir, journalName+".new")
	nf, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		nf.Close()
		os.Remove(tmpPath)
		return err
	}
	whole := make([]byte, size)
	copy(whole, buf)
	if _, err := nf.WriteAt(whole, 0); err != nil {
		return fail(err)
	}
	if err := nf.Sync(); err != nil {
		return fail(err)
	}
	if err := unix.Flock(int(nf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpPath, filepath.Join(o.dir, journalName)); err != nil {
		return fail(err)
	}
	if err := syncDir(o.dir); err != nil {
		nf.Close()
		return err
	}
	o.f.Close()
	o.f, o.end, o.size, o.acked = nf, int64(len(buf)), size, 0
	return nil
}

// syncDir fsyncs a directory so that renames and removals in it are durable.
var syncDir = fsync.Dir

// Inspect counts the pending entries of the outbox in dir without taking
// its lock (for status tools while weighd runs).
func Inspect(dir string) (pending int, err error) {
	data, err := os.ReadFile(filepath.Join(dir, journalName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	live := map[uint64]bool{}
	for off := int64(0); ; {
		kind, seq, _, n, ok := parseRecord(data[off:])
		if !ok {
			break
		}
		if kind == kindEntry {
			live[seq] = true
		} else {
			delete(live, seq)
		}
		off += n
	}
	return len(live), nil
}
