package session

import (
	"strings"
	"testing"
	"time"

	"weighin/internal/weighing"
)

// TestEntriesIssue14: damage and clear_entries are entries; issue type
// none clears; after a seal, solution, tier and damage are refused while
// the sealed parcel is on the scale, and accepted once it was taken off.
func TestEntriesIssue14(t *testing.T) {
	st, err := New(defaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, ev Event) []Effect {
		t.Helper()
		var eff []Effect
		st, eff = Next(st, ev, at(d))
		return eff
	}
	refused := func(eff []Effect) string {
		for _, e := range eff {
			if r, ok := e.(Refuse); ok {
				return r.Reason
			}
		}
		return ""
	}
	step(0, parcel)
	for _, c := range []Command{
		{Kind: CmdDamage, Text: "the sleeve is torn"}, {Kind: CmdIssueType, Text: "damaged item"},
		{Kind: CmdSolution, Text: "replacement"}, {Kind: CmdOrderRef, Text: "#1"},
	} {
		if r := refused(step(time.Second, c)); r != "" {
			t.Fatalf("%v refused: %s", c, r)
		}
	}
	if st.Entries.Damage != "the sleeve is torn" || st.Entries.IssueType != "damaged_functional" {
		t.Errorf("entries %+v", st.Entries)
	}
	step(time.Second, Command{Kind: CmdIssueType, Text: "none"})
	if st.Entries.IssueType != "" {
		t.Errorf("issue type none left %q", st.Entries.IssueType)
	}
	if r := refused(step(time.Second, Command{Kind: CmdDamage, Text: "=HYPERLINK(1)"})); !strings.Contains(r, "damage") {
		t.Errorf("a formula as damage: refusal %q", r)
	}
	step(time.Second, Command{Kind: CmdClearEntries})
	if st.Entries != (Entries{}) {
		t.Errorf("after clear_entries %+v", st.Entries)
	}

	step(2*time.Second, start)
	step(3*time.Second, RecordingStarted{1})
	step(4*time.Second, Command{Kind: CmdSolution, Text: "refund"})
	step(60*time.Second, stop)
	if r := refused(step(60*time.Second, Command{Kind: CmdTier, Grams: 1})); !strings.Contains(r, "sealed") {
		t.Errorf("tier while sealing: refusal %q", r)
	}
	step(61*time.Second, Sealed{1, "000001-x"})
	if st.Entries != (Entries{}) || !st.SealedOnScale {
		t.Fatalf("after the seal: entries %+v, sealed on scale %v", st.Entries, st.SealedOnScale)
	}
	for _, c := range []Command{{Kind: CmdSolution, Text: "replacement"}, {Kind: CmdTier, Grams: 2}, {Kind: CmdDamage, Text: "dented"}} {
		r := refused(step(62*time.Second, c))
		if !strings.Contains(r, "session 1 is sealed") || !strings.Contains(r, "take the parcel off") {
			t.Errorf("%s after the seal: refusal %q", c.Kind, r)
		}
	}
	if st.Entries != (Entries{}) {
		t.Errorf("a refused entry was applied: %+v", st.Entries)
	}
	// The label weight of the next parcel is not the sealed claim's.
	if r := refused(step(62*time.Second, Command{Kind: CmdLabelWeight, Grams: 900})); r != "" {
		t.Errorf("label weight after the seal refused: %s", r)
	}
	step(63*time.Second, Reading{Grams: 0.1, State: weighing.Empty})
	if r := refused(step(64*time.Second, Command{Kind: CmdSolution, Text: "replacement"})); r != "" || st.Entries.Solution != "replacement" {
		t.Errorf("solution once the scale is empty: refusal %q, entries %+v", r, st.Entries)
	}
}
