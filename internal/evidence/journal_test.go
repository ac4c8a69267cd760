package evidence

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/result"
)

// journalStation seals two bundles and records "escalated" then "resolved"
// on the newest; it returns the state directory and the newest bundle.
func journalStation(t *testing.T) (string, string, *Store) {
	t.Helper()
	state := t.TempDir()
	st := openStore(t, state, Options{})
	sealOne(t, st, t0, true, sampleResult(result.VerdictUnderweight))
	out := sealOne(t, st, t0.Add(time.Hour), true, sampleResult(result.VerdictUnderweight))
	for _, o := range []Outcome{{Status: StatusEscalated}, {Status: StatusResolved, Resolution: ResolutionRefund}} {
		if _, err := st.RecordOutcome(out.SessionID, o, t0.Add(2*time.Hour), true); err != nil {
			t.Fatal(err)
		}
	}
	return state, filepath.Join(state, SessionsDir, out.SessionID), st
}

// journalProblems runs VerifyJournal and VerifyChain and returns both
// reports' problems, as text.
func journalProblems(t *testing.T, state string) (journal, chain string) {
	t.Helper()
	var j []string
	for _, p := range VerifyJournal(state, nil, nil) {
		j = append(j, p.String())
	}
	c, err := VerifyChain(state, ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs []string
	for _, p := range c.Problems {
		cs = append(cs, p.String())
	}
	for _, b := range c.Bundles {
		for _, p := range b.Problems {
			cs = append(cs, b.Bundle+"/"+p.String())
		}
	}
	return strings.Join(j, "\n"), strings.Join(cs, "\n")
}

func TestJournalWitnessesAddenda(t *testing.T) {
	state, newest, _ := journalStation(t)
	session := filepath.Base(newest)
	if j, c := journalProblems(t, state); j != "" || c != "" {
		t.Fatalf("a good station fails:\njournal: %s\nchain: %s", j, c)
	}
	data, err := os.ReadFile(filepath.Join(state, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	// Two seals and two addenda, in that order.
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 4 || !strings.Contains(lines[3], `"file":"addendum-002-outcome.json"`) {
		t.Fatalf("journal:\n%s", data)
	}

	t.Run("newest addendum removed", func(t *testing.T) {
		s := t.TempDir()
		copyDir(t, state, s)
		dir := filepath.Join(s, SessionsDir, session)
		for _, f := range []string{"addendum-002-outcome.json", "addendum-002-outcome.sig"} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
		j, c := journalProblems(t, s)
		want := filepath.Join(session, "addendum-002-outcome.json") + ": missing from its bundle"
		if !strings.Contains(j, want) || !strings.Contains(c, want) {
			t.Fatalf("want %q\njournal: %s\nchain: %s", want, j, c)
		}
		// Reopening the store does not forget it: the journal only grows.
		openStore(t, s, Options{}).Close()
		if j, _ := journalProblems(t, s); !strings.Contains(j, want) {
			t.Fatalf("after Open: %s", j)
		}
	})

	t.Run("newest seal removed", func(t *testing.T) {
		s := t.TempDir()
		copyDir(t, state, s)
		dir := filepath.Join(s, SessionsDir, session)
		for _, f := range []string{ManifestFile, ManifestSigFile, SumsFile, SumsSigFile} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
		_, c := journalProblems(t, s)
		if want := filepath.Join(session, ManifestFile) + ": missing from its bundle"; !strings.Contains(c, want) {
			t.Fatalf("want %q in\n%s", want, c)
		}
	})

	t.Run("addendum not journalled", func(t *testing.T) {
		s := t.TempDir()
		copyDir(t, state, s)
		// The journal as it was before the last outcome: that outcome is
		// then a record the station never journalled.
		lines := strings.SplitAfter(string(data), "\n")
		if err := os.WriteFile(filepath.Join(s, JournalFile), []byte(strings.Join(lines[:3], "")), 0o644); err != nil {
			t.Fatal(err)
		}
		j, c := journalProblems(t, s)
		want := filepath.Join(session, "addendum-002-outcome.json") + ": not in the station's journal"
		if !strings.Contains(j, want) || !strings.Contains(c, want) {
			t.Fatalf("want %q\njournal: %s\nchain: %s", want, j, c)
		}
	})

	forged := map[string]func(lines []string) []string{
		"line added": func(l []string) []string {
			return append(l, strings.Replace(l[3], "addendum-002", "addendum-003", 1))
		},
		"line removed": func(l []string) []string { return append(l[:1:1], l[2:]...) },
		"hash changed": func(l []string) []string {
			l[2] = strings.Replace(l[2], `"sha256":"`, `"sha256":"0`, 1)
			return l
		},
		"re-signed by another key": func(l []string) []string {
			other := &Store{priv: testPriv(7)}
			var e JournalEntry
			if err := decodeStrict([]byte(strings.TrimSpace(l[3])), &e); err != nil {
				t.Fatal(err)
			}
			e.Sig = ""
			raw, _ := json.Marshal(e)
			e.Sig = string(other.sign(raw))
			raw, _ = json.Marshal(e)
			l[3] = string(raw) + "\n"
			return l
		},
		"cut short": func(l []string) []string {
			l[3] = l[3][:len(l[3])/2]
			return l
		},
	}
	for name, forge := range forged {
		t.Run(name, func(t *testing.T) {
			s := t.TempDir()
			copyDir(t, state, s)
			lines := forge(strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n"))
			if !strings.HasSuffix(lines[len(lines)-1], "\n") && name != "cut short" {
				lines[len(lines)-1] += "\n"
			}
			if err := os.WriteFile(filepath.Join(s, JournalFile), []byte(strings.Join(lines, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			j, c := journalProblems(t, s)
			if !strings.Contains(j, JournalFile+":") || !strings.Contains(c, "journal: "+JournalFile) {
				t.Fatalf("forged journal passes:\njournal: %s\nchain: %s", j, c)
			}
		})
	}
}

// A station whose state directory has no journal yet starts one at Open
// from the records it holds.
func TestJournalStartedAtOpen(t *testing.T) {
	state, _, st := journalStation(t)
	st.Close()
	if err := os.Remove(filepath.Join(state, JournalFile)); err != nil {
		t.Fatal(err)
	}
	if j, _ := journalProblems(t, state); !strings.Contains(j, "missing") {
		t.Fatalf("no journal passes: %q", j)
	}
	openStore(t, state, Options{}).Close()
	if j, c := journalProblems(t, state); j != "" || c != "" {
		t.Fatalf("journal started at Open fails:\njournal: %s\nchain: %s", j, c)
	}
}
