package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"weighin/internal/evidence/sshsig"
)

// JournalFile is the station's journal in the state directory: one signed
// JSON line per seal and per addendum, each naming the SHA-256 of the line
// before it. It is only ever appended to (and fsynced), never rewritten, so
// a record removed from a bundle is still named here, and a record added
// to a bundle behind the station's back is not.
const JournalFile = "journal.jsonl"

// Journal entry types.
const (
	JournalSeal     = "seal"     // File is manifest.json, SHA256 its hash
	JournalAddendum = "addendum" // File is the addendum (or legacy outcome)
)

// JournalEntry is one line of the journal. Sig is the sshsig signature (by
// the station key, namespace Namespace) of the line's JSON without sig.
type JournalEntry struct {
	Type           string `json:"type"`
	Session        string `json:"session"`
	N              int    `json:"n,omitempty"`
	Kind           string `json:"kind,omitempty"`
	File           string `json:"file"`
	SHA256         string `json:"sha256"`
	PreviousSHA256 string `json:"previous_sha256"`
	RecordedAt     string `json:"recorded_at"`
	Sig            string `json:"sig,omitempty"`
}

func (e JournalEntry) key() string { return e.Session + "/" + e.File }

// journalLine is a parsed line: its entry, its number and its hash.
type journalLine struct {
	JournalEntry
	line int
	sha  string
}

// readJournal parses and checks the journal at path: every line canonical,
// chained to the one before and signed by key (unchecked when key is nil).
// It returns the lines up to the first bad one, and that one's problem.
func readJournal(path string, key ed25519.PublicKey) ([]journalLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []journalLine
	prev := ""
	for i, raw := range bytes.SplitAfter(data, []byte("\n")) {
		if len(raw) == 0 {
			break
		}
		n := i + 1
		bad := func(format string, args ...any) ([]journalLine, error) {
			return out, fmt.Errorf("%s:%d: %s", JournalFile, n, fmt.Sprintf(format, args...))
		}
		line, ok := bytes.CutSuffix(raw, []byte("\n"))
		if !ok {
			return bad("last line is cut short")
		}
		var e JournalEntry
		if err := decodeStrict(line, &e); err != nil {
			return bad("%v", err)
		}
		sig := e.Sig
		e.Sig = ""
		unsigned, _ := json.Marshal(e)
		e.Sig = sig
		if again, _ := json.Marshal(e); !bytes.Equal(again, line) {
			return bad("not written by the station (not its canonical form)")
		}
		if e.PreviousSHA256 != prev {
			return bad("previous_sha256 %q, the line before is %q: a line was removed, inserted or changed", e.PreviousSHA256, prev)
		}
		if key != nil {
			if err := sshsig.Verify(key, Namespace, unsigned, []byte(sig)); err != nil {
				return bad("signature: %v", err)
			}
		}
		prev = sha256Hex(line)
		out = append(out, journalLine{JournalEntry: e, line: n, sha: prev})
	}
	return out, nil
}

// journalAppend appends one signed entry per e to the journal and fsyncs
// it. The caller holds the store's lock.
func (s *Store) journalAppend(entries ...JournalEntry) error {
	if len(entries) == 0 {
		return nil
	}
	path := filepath.Join(s.dir, JournalFile)
	prev, err := journalTip(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	var lines [][]byte
	for _, e := range entries {
		e.PreviousSHA256, e.Sig = prev, ""
		unsigned, err := json.Marshal(e)
		if err != nil {
			return err
		}
		e.Sig = string(s.sign(unsigned))
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
		lines = append(lines, line)
		prev = sha256Hex(line)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && errors.Is(statErr, fs.ErrNotExist) {
		err = syncDir(s.dir)
	}
	if err == nil && s.opts.OnJournal != nil {
		for _, l := range lines {
			s.opts.OnJournal(l)
		}
	}
	return err
}

// journalTip is the SHA-256 of the journal's last line ("" when there is
// none), read from the file's tail.
func journalTip(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	const tail = 64 << 10
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return "", err
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	if len(buf) == 0 {
		return "", nil
	}
	return sha256Hex(buf[bytes.LastIndexByte(buf, '\n')+1:]), nil
}

// journal appends entries, logging (not returning) a failure: the record
// itself is durable, and verification names what the journal lacks.
func (s *Store) journal(entries ...JournalEntry) {
	if err := s.journalAppend(entries...); err != nil {
		s.log.Error("journal not written: weighctl verify will report the record as unjournaled", "file", JournalFile, "err", err)
	}
}

// onDisk lists the signed records of the bundles in sessions, as journal
// entries (without time): each sealed manifest, then its legacy outcomes
// and addenda in order. only, when set, limits it to those sessions.
func onDisk(sessions string, only func(string) bool) []JournalEntry {
	des, _ := os.ReadDir(sessions)
	var out []JournalEntry
	for _, de := range des {
		name := de.Name()
		if _, ok := ParseSessionDirName(name); !ok || !de.IsDir() || only != nil && !only(name) {
			continue
		}
		dir := filepath.Join(sessions, name)
		add := func(typ string, n int, kind, file string) {
			data, err := os.ReadFile(filepath.Join(dir, file))
			if err == nil {
				out = append(out, JournalEntry{Type: typ, Session: name, N: n, Kind: kind, File: file, SHA256: sha256Hex(data)})
			}
		}
		if _, err := os.Stat(filepath.Join(dir, UnsealedFile)); err == nil {
			continue
		}
		add(JournalSeal, 0, "", ManifestFile)
		for n := 1; ; n++ {
			if _, err := os.Stat(filepath.Join(dir, OutcomeFileName(n))); err != nil {
				break
			}
			add(JournalAddendum, n, KindOutcome, OutcomeFileName(n))
		}
		names, _ := addendumNames(dir)
		ns := make([]int, 0, len(names))
		for n := range names {
			ns = append(ns, n)
		}
		slices.Sort(ns)
		for _, n := range ns {
			m := addendumRE.FindStringSubmatch(names[n])
			add(JournalAddendum, n, m[2], names[n])
		}
	}
	return out
}

// reconcileJournal, at Open, journals every sealed manifest and addendum
// on disk that the journal does not hold yet: all of them on a station's
// first start with a journal, else what a crash cut between a record and
// its journal line. It never removes or rewrites a line.
func (s *Store) reconcileJournal() {
	lines, err := readJournal(filepath.Join(s.dir, JournalFile), s.pub)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("journal does not verify; appending to it anyway", "err", err)
	}
	have := map[string]bool{}
	for _, l := range lines {
		have[l.key()] = true
	}
	at, _ := s.opts.Clock()
	var add []JournalEntry
	for _, e := range onDisk(s.sessions, nil) {
		if !have[e.key()] {
			e.RecordedAt = at.UTC().Format(time.RFC3339)
			add = append(add, e)
		}
	}
	if len(add) > 0 {
		s.log.Info("journalled records not in the journal yet", "records", len(add))
		s.journal(add...)
	}
}

// VerifyJournal compares the journal of stateDir with the bundles of its
// sessions directory, both ways: every journalled seal and addendum must
// be in its bundle with the journalled SHA-256, and every sealed manifest
// and addendum in a bundle must be in the journal. key verifies the
// journal's signatures (nil: the state directory's station_ed25519.pub).
// only, when set, limits the comparison to those sessions.
func VerifyJournal(stateDir string, key ed25519.PublicKey, only func(session string) bool) []Problem {
	problems := []Problem{}
	p := func(file, format string, args ...any) {
		problems = append(problems, Problem{File: file, Reason: fmt.Sprintf(format, args...)})
	}
	if key == nil {
		k, err := ReadKeyFile(filepath.Join(stateDir, PublicKeyFile))
		if err != nil {
			p(JournalFile, "no station key to verify the journal with: %v", err)
			return problems
		}
		key = k
	}
	lines, err := readJournal(filepath.Join(stateDir, JournalFile), key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p(JournalFile, "missing: the station journals every seal and addendum (weighd writes it at start)")
		return problems
	case err != nil:
		p(JournalFile, "%v", strings.TrimPrefix(err.Error(), JournalFile+":"))
	}
	sessions := filepath.Join(stateDir, SessionsDir)
	have := map[string]string{}
	for _, l := range lines {
		have[l.key()] = l.SHA256
		if only != nil && !only(l.Session) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(sessions, l.Session, l.File))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			what := "addendum"
			if l.Type == JournalSeal {
				what = "seal"
			}
			p(filepath.Join(l.Session, l.File), "missing from its bundle, but the journal (line %d) holds this %s: the record was removed", l.line, what)
		case err != nil:
			p(filepath.Join(l.Session, l.File), "%v", err)
		case sha256Hex(data) != l.SHA256:
			p(filepath.Join(l.Session, l.File), "SHA-256 %s, the journal (line %d) says %s: the record was replaced", sha256Hex(data), l.line, l.SHA256)
		}
	}
	for _, e := range onDisk(sessions, only) {
		if _, ok := have[e.key()]; !ok {
			p(filepath.Join(e.Session, e.File), "not in the station's journal: added behind the station's back (or a crash cut its journal line; weighd adds it at start)")
		}
	}
	return problems
}

// journalSeal journals the seal of session with manifest hash sha.
func (s *Store) journalSeal(session, sha string) {
	at, _ := s.opts.Clock()
	s.journal(JournalEntry{Type: JournalSeal, Session: session, File: ManifestFile, SHA256: sha, RecordedAt: at.UTC().Format(time.RFC3339)})
}
