package offsite

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"weighin/internal/fsync"
)

// Object is one file of one bundle as the journal records it.
type Object struct {
	Session string `json:"session"`
	File    string `json:"file"`
	State   State  `json:"state"`
	// Bytes and SHA256 (hex) describe the local file as it was uploaded
	// (or found in the store); set from Copying on.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
	// Attempts counts the failed attempts since the last success.
	Attempts int `json:"attempts,omitempty"`
	// Err is why the object is Failed or in Conflict.
	Err string `json:"err,omitempty"`
	// Retry is when a Failed object is tried again.
	Retry Time `json:"retry"`
	// At is when the object entered State.
	At Time `json:"at"`
}

type objKey struct{ session, file string }

// compactSlack is how many lines beyond four per object a journal in use
// may hold before it is rewritten (a variable for the tests).
var compactSlack = 4096

// journal is the replicator's crash-safe record: an append-only file of
// JSON lines, one per state change, each written and fsynced before the
// change is acted on; the last line of an object wins. A line torn by a
// crash (the last one) is dropped on open. Open rewrites the file compactly
// (temporary file, fsync, rename, directory fsync) when it has grown to
// several times the objects it describes, and in use once it holds more
// than four lines per object and compactSlack besides. An exclusive flock on the
// file keeps a second replicator off the same state directory.
type journal struct {
	path  string
	f     *os.File
	lines int
	objs  map[objKey]*Object
}

// ErrJournal wraps a journal that cannot be read (other than a torn last
// line) or written.
var ErrJournal = errors.New("offsite: journal")

// ErrBusy: another process replicates from this state directory.
var ErrBusy = errors.New("offsite: another replicator holds the journal")

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	path := filepath.Join(dir, JournalFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s): %v", ErrBusy, path, err)
	}
	j := &journal{path: path, f: f, objs: map[objKey]*Object{}}
	if err := j.replay(); err != nil {
		f.Close()
		return nil, err
	}
	if j.lines > 2*len(j.objs)+256 {
		if err := j.compact(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := j.f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return j, nil
}

// replay reads every line; a bad last line without its newline is a torn
// write and is cut off, any other bad line is an error naming it.
func (j *journal) replay() error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	good := 0
	for n := 1; len(data[good:]) > 0; n++ {
		rest := data[good:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 { // no newline: the crash came in the middle of this line
			break
		}
		var o Object
		if err := json.Unmarshal(rest[:i], &o); err != nil || o.Session == "" || o.File == "" {
			if err == nil {
				err = errors.New("no session or file")
			}
			return fmt.Errorf("%w: %s:%d: %v", ErrJournal, j.path, n, err)
		}
		j.objs[objKey{o.Session, o.File}] = &o
		j.lines++
		good += i + 1
	}
	if good < len(data) {
		if err := j.f.Truncate(int64(good)); err != nil {
			return fmt.Errorf("%w: cut torn line: %v", ErrJournal, err)
		}
	}
	return nil
}

func (j *journal) compact() error {
	var buf bytes.Buffer
	for _, o := range j.sorted() {
		line, _ := json.Marshal(o)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	dir := filepath.Dir(j.path)
	tmp, err := os.CreateTemp(dir, "."+JournalFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), j.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%w: compact: %v", ErrJournal, err)
	}
	if err := fsync.Dir(dir); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	// The lock and the handle move to the new file.
	nf, err := os.OpenFile(j.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if err := syscall.Flock(int(nf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		nf.Close()
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	if _, err := nf.Seek(0, io.SeekEnd); err != nil {
		nf.Close()
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	j.f.Close()
	j.f = nf
	j.lines = len(j.objs)
	return nil
}

// put records o durably, then makes it the object's current state.
func (j *journal) put(o Object) error {
	line, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	line = append(line, '\n')
	end, err := j.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	_, err = j.f.Write(line)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// A line half written (the card full) would read as a corrupt
		// journal at the next start: cut it off again.
		j.f.Truncate(end)
		j.f.Seek(end, io.SeekStart)
		return fmt.Errorf("%w: write %s: %v", ErrJournal, j.path, err)
	}
	j.lines++
	c := o
	j.objs[objKey{o.Session, o.File}] = &c
	if j.lines > 4*len(j.objs)+compactSlack {
		return j.compact()
	}
	return nil
}

func (j *journal) get(session, file string) (Object, bool) {
	o, ok := j.objs[objKey{session, file}]
	if !ok {
		return Object{}, false
	}
	return *o, true
}

// sorted lists every object by session then file.
func (j *journal) sorted() []Object {
	out := make([]Object, 0, len(j.objs))
	for _, o := range j.objs {
		out = append(out, *o)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Session != out[b].Session {
			return out[a].Session < out[b].Session
		}
		return out[a].File < out[b].File
	})
	return out
}

func (j *journal) close() error { return j.f.Close() }

// ReadJournal returns the objects recorded in the journal under stateDir
// without locking it (for weighctl and tests while weighd runs). A torn
// last line is ignored.
func ReadJournal(stateDir string) ([]Object, error) {
	f, err := os.Open(filepath.Join(stateDir, Dir, JournalFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	defer f.Close()
	objs := map[objKey]Object{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var o Object
		if json.Unmarshal(sc.Bytes(), &o) == nil && o.Session != "" {
			objs[objKey{o.Session, o.File}] = o
		}
	}
	j := &journal{objs: map[objKey]*Object{}}
	for k, o := range objs {
		j.objs[k] = &o
	}
	return j.sorted(), sc.Err()
}
