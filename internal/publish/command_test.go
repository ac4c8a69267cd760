package publish

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/vocab"
)

func TestParseCommandAccepts(t *testing.T) {
	tests := []struct {
		name, cmd, payload string
		want               Command
	}{
		{"tare", "tare", "PRESS", Command{Name: CmdTare}},
		{"start", "start", "PRESS", Command{Name: CmdStart}},
		{"stop", "stop", "PRESS", Command{Name: CmdStop}},
		{"mark", "mark", "PRESS", Command{Name: CmdMark}},
		{"integer grams", "label_weight", "1840", Command{Name: CmdLabelWeight, Grams: 1840}},
		{"decimal grams", "label_weight", "1840.5", Command{Name: CmdLabelWeight, Grams: 1840.5}},
		{"Home Assistant float", "label_weight", "250.0", Command{Name: CmdLabelWeight, Grams: 250}},
		{"lowest", "label_weight", "1", Command{Name: CmdLabelWeight, Grams: 1}},
		{"highest", "label_weight", "100000", Command{Name: CmdLabelWeight, Grams: 100000}},
		{"order ref", "order_ref", "#12345", Command{Name: CmdOrderRef, Text: "#12345"}},
		{"order ref unicode", "order_ref", "订单 12345", Command{Name: CmdOrderRef, Text: "订单 12345"}},
		{"tracking", "tracking", "LP00123456789CN", Command{Name: CmdTracking, Text: "LP00123456789CN"}},
		{"tracking dash", "tracking", "1Z-999-AA1", Command{Name: CmdTracking, Text: "1Z-999-AA1"}},
		{"exterior", "exterior_condition", "retaped", Command{Name: CmdExteriorCondition, Text: "retaped"}},
		{"issue", "issue_type", "missing item", Command{Name: CmdIssueType, Text: "missing item"}},
		{"issue cosmetic", "issue_type", "damaged item (cosmetic)", Command{Name: CmdIssueType, Text: "damaged item (cosmetic)"}},
		{"parcel", "parcel", `{"tracking":"LX123456785CN","order_ref":"12345","label_g":2350,"label_resolution_g":10,"items":[{"name":"Belt","weight_g":210}]}`,
			Command{Name: CmdParcel, Parcel: &registry.Parcel{Tracking: "LX123456785CN", OrderRef: "12345", LabelG: ptr(2350.0), LabelResolutionG: 10, Items: []registry.Item{{Name: "Belt", WeightG: 210}}}}},
		{"solution", "solution", "full_refund", Command{Name: CmdSolution, Text: "full_refund"}},
		{"solution default", "solution", "default", Command{Name: CmdSolution, Text: "default"}},
		{"tier", "tier", "2", Command{Name: CmdTier, Grams: 2}},
		{"tier auto", "tier", "auto", Command{Name: CmdTier, Grams: -1}},
		{"parcel minimal", "parcel", `{"tracking":"AB1"}`, Command{Name: CmdParcel, Parcel: &registry.Parcel{Tracking: "AB1"}}},
		{"outcome refund", "outcome", `{"session_id":"000001-unsynced","status":"resolved","resolution":"partial_refund","amount":12.5,"currency":"USD"}`,
			Command{Name: CmdOutcome, Outcome: &Outcome{SessionID: "000001-unsynced", Outcome: evidence.Outcome{Status: "resolved", Resolution: "partial_refund", Amount: ptr(12.5), Currency: "USD"}}}},
		{"outcome refused", "outcome", `{"session_id":"000002-20261126T050000Z","status":"refused","note":"seller says the box was full"}`,
			Command{Name: CmdOutcome, Outcome: &Outcome{SessionID: "000002-20261126T050000Z", Outcome: evidence.Outcome{Status: "refused", Note: "seller says the box was full"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.cmd, []byte(tt.payload), false)
			if err != nil {
				t.Fatalf("ParseCommand(%q, %q) error %v", tt.cmd, tt.payload, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCommand(%q, %q) (-want +got):\n%s", tt.cmd, tt.payload, diff)
			}
		})
	}
}

func TestParseCommandRefuses(t *testing.T) {
	tests := []struct {
		name, cmd string
		payload   []byte
		retained  bool
		sentinel  error
		reason    string // a substring of the reason
	}{
		{"NaN", "label_weight", []byte("NaN"), false, ErrBadPayload, "not a plain decimal"},
		{"nan lower", "label_weight", []byte("nan"), false, ErrBadPayload, "not a plain decimal"},
		{"Inf", "label_weight", []byte("Inf"), false, ErrBadPayload, "not a plain decimal"},
		{"+Inf", "label_weight", []byte("+Inf"), false, ErrBadPayload, "not a plain decimal"},
		{"-Inf", "label_weight", []byte("-Inf"), false, ErrBadPayload, "negative"},
		{"negative", "label_weight", []byte("-5"), false, ErrBadPayload, "negative"},
		{"zero", "label_weight", []byte("0"), false, ErrBadPayload, "must be between 1 and 100000 g"},
		{"1e308", "label_weight", []byte("1e308"), false, ErrBadPayload, "not a plain decimal"},
		{"huge digits", "label_weight", []byte("100000.0001"), false, ErrBadPayload, "must be between 1 and 100000 g"},
		{"too many digits", "label_weight", []byte(strings.Repeat("9", 400)), false, ErrBadPayload, "exceeds"},
		{"hex", "label_weight", []byte("0x10"), false, ErrBadPayload, "not a plain decimal"},
		{"JSON number object", "label_weight", []byte(`{"grams":1840}`), false, ErrBadPayload, "not a plain decimal"},
		{"JSON array", "label_weight", []byte(`[1840]`), false, ErrBadPayload, "not a plain decimal"},
		{"quoted number", "label_weight", []byte(`"1840"`), false, ErrBadPayload, "not a plain decimal"},
		{"spaces around", "label_weight", []byte(" 1840 "), false, ErrBadPayload, "not a plain decimal"},
		{"comma decimal", "label_weight", []byte("1840,5"), false, ErrBadPayload, "not a plain decimal"},
		{"two dots", "label_weight", []byte("1.2.3"), false, ErrBadPayload, "not a plain decimal"},
		{"trailing dot", "label_weight", []byte("12."), false, ErrBadPayload, "not a plain decimal"},
		{"unit suffix", "label_weight", []byte("1840g"), false, ErrBadPayload, "not a plain decimal"},
		{"empty number", "label_weight", nil, false, ErrBadPayload, "empty"},
		{"empty press", "tare", []byte(""), false, ErrBadPayload, "empty"},
		{"lower press", "start", []byte("press"), false, ErrBadPayload, `must be "PRESS"`},
		{"press JSON", "stop", []byte(`{"press":true}`), false, ErrBadPayload, `must be "PRESS"`},
		{"10 MB", "order_ref", make([]byte, 10<<20), false, ErrBadPayload, "exceeds 256"},
		{"invalid UTF-8", "order_ref", []byte{'a', 0xff, 0xfe, 'b'}, false, ErrBadPayload, "not valid UTF-8"},
		{"overlong UTF-8", "order_ref", []byte{0xc0, 0xaf}, false, ErrBadPayload, "not valid UTF-8"},
		{"NUL", "order_ref", []byte("abc\x00def"), false, ErrBadPayload, "control"},
		{"newline", "order_ref", []byte("abc\ndef"), false, ErrBadPayload, "control"},
		{"escape", "order_ref", []byte("\x1b[31mred"), false, ErrBadPayload, "control"},
		{"DEL", "order_ref", []byte("abc\x7f"), false, ErrBadPayload, "control"},
		{"bidi override", "order_ref", []byte("abc\u202edef"), false, ErrBadPayload, "control"},
		{"leading space", "order_ref", []byte(" 123"), false, ErrBadPayload, "leading or trailing"},
		{"order ref too long", "order_ref", []byte(strings.Repeat("x", 65)), false, ErrBadPayload, "exceeds 64"},
		{"tracking space", "tracking", []byte("1Z 999"), false, ErrBadPayload, "only letters"},
		{"tracking too long", "tracking", []byte(strings.Repeat("A", 41)), false, ErrBadPayload, "exceeds 40"},
		{"tracking slash", "tracking", []byte("../../etc"), false, ErrBadPayload, "only letters"},
		{"unknown exterior", "exterior_condition", []byte("soggy"), false, ErrBadPayload, "not one of"},
		{"exterior case", "exterior_condition", []byte("Wet"), false, ErrBadPayload, "not one of"},
		{"unknown issue", "issue_type", []byte("late"), false, ErrBadPayload, "not one of"},
		{"issue JSON", "issue_type", []byte(`"missing item"`), false, ErrBadPayload, "not one of"},
		{"retained press", "start", []byte("PRESS"), true, ErrRetained, "retained"},
		{"retained grams", "label_weight", []byte("1840"), true, ErrRetained, "retained"},
		{"unknown command", "reboot", []byte("PRESS"), false, ErrUnknownCommand, "unknown command"},
		{"empty name", "", []byte("PRESS"), false, ErrUnknownCommand, "unknown command"},
		{"wildcard name", "#", []byte("PRESS"), false, ErrUnknownCommand, "unknown command"},
		{"nested name", "start/now", []byte("PRESS"), false, ErrUnknownCommand, "unknown command"},
		{"tier 4", "tier", []byte("4"), false, ErrBadPayload, "not one of"},
		{"tier float", "tier", []byte("2.0"), false, ErrBadPayload, "not one of"},
		{"solution unknown", "solution", []byte("money back now"), false, ErrBadPayload, "not one of"},
		{"parcel not JSON", "parcel", []byte("LX1"), false, ErrBadPayload, "not a JSON object"},
		{"parcel unknown key", "parcel", []byte(`{"tracking":"A1","colour":"red"}`), false, ErrBadPayload, "unknown field"},
		{"parcel no tracking", "parcel", []byte(`{"order_ref":"1"}`), false, ErrBadPayload, "tracking is required"},
		{"parcel label string", "parcel", []byte(`{"tracking":"A1","label_g":"2350"}`), false, ErrBadPayload, "label_g must be float64"},
		{"parcel label huge", "parcel", []byte(`{"tracking":"A1","label_g":1e308}`), false, ErrBadPayload, "label_g must be between"},
		{"parcel negative item", "parcel", []byte(`{"tracking":"A1","items":[{"name":"x","weight_g":-5}]}`), false, ErrBadPayload, "items[0].weight_g"},
		{"parcel nameless item", "parcel", []byte(`{"tracking":"A1","items":[{"weight_g":5}]}`), false, ErrBadPayload, "items[0].name: empty text"},
		// Issue 13: duplicate keys and keys in another case are refused
		// (encoding/json would take the last, and TRACKING for tracking).
		{"parcel duplicate key", "parcel", []byte(`{"tracking":"AAAA1","tracking":"BBBB2"}`), false, ErrBadPayload, `key "tracking" given twice`},
		{"parcel upper-case key", "parcel", []byte(`{"TRACKING":"AAAA1"}`), false, ErrBadPayload, `key "TRACKING" is not a key of the contract`},
		{"parcel mixed-case key", "parcel", []byte(`{"tracking":"AAAA1","Order_Ref":"x"}`), false, ErrBadPayload, `key "Order_Ref" is not`},
		{"parcel duplicate item key", "parcel", []byte(`{"tracking":"AAAA1","items":[{"name":"a","name":"b","weight_g":1}]}`), false, ErrBadPayload, `key "name" given twice in items[0]`},
		{"outcome duplicate key", "outcome", []byte(`{"session_id":"000001-x","status":"open","status":"resolved"}`), false, ErrBadPayload, `key "status" given twice`},
		{"outcome upper-case key", "outcome", []byte(`{"session_id":"000001-x","STATUS":"open"}`), false, ErrBadPayload, `key "STATUS" is not`},
		{"parcel bidi order_ref", "parcel", []byte("{\"tracking\":\"AAAA1\",\"order_ref\":\"a\u202eb\"}"), false, ErrBadPayload, "U+202E"},
		{"parcel hangul filler name", "parcel", []byte("{\"tracking\":\"AAAA1\",\"items\":[{\"name\":\"\u3164\",\"weight_g\":1}]}"), false, ErrBadPayload, "U+3164"},
		{"parcel formula name", "parcel", []byte(`{"tracking":"AAAA1","items":[{"name":"=cmd|' /C calc'!A0","weight_g":1}]}`), false, ErrBadPayload, "formula"},
		{"order_ref line separator", "order_ref", []byte("KB\u2028Proposed Solution: full refund"), false, ErrBadPayload, "U+2028"},
		{"order_ref zero width", "order_ref", []byte("KB\u200b1"), false, ErrBadPayload, "U+200B"},
		{"order_ref formula", "order_ref", []byte("@SUM(A1)"), false, ErrBadPayload, "formula"},
		{"tracking dotless i", "tracking", []byte("\u0131x123456785cn"), false, ErrBadPayload, "only letters, digits"},
		{"parcel two values", "parcel", []byte(`{"tracking":"A1"}{"tracking":"B2"}`), false, ErrBadPayload, "more than one JSON value"},
		{"parcel control char", "parcel", []byte("{\"tracking\":\"A1\",\"order_ref\":\"a\\u0007b\"}"), false, ErrBadPayload, "non-printable"},
		{"outcome bad status", "outcome", []byte(`{"session_id":"000001-x","status":"won"}`), false, ErrBadPayload, "status must be"},
		{"outcome resolved no resolution", "outcome", []byte(`{"session_id":"000001-x","status":"resolved"}`), false, ErrBadPayload, "resolution must be"},
		{"outcome bad session", "outcome", []byte(`{"session_id":"../etc","status":"refused"}`), false, ErrBadPayload, "session_id may hold only"},
		{"outcome negative amount", "outcome", []byte(`{"session_id":"000001-x","status":"resolved","resolution":"refund","amount":-1}`), false, ErrBadPayload, "amount must be"},
		{"outcome currency", "outcome", []byte(`{"session_id":"000001-x","status":"resolved","resolution":"refund","currency":"dollars"}`), false, ErrBadPayload, "currency \"dollars\" without an amount"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d bad payloads", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.cmd, tt.payload, tt.retained)
			if err == nil {
				t.Fatalf("ParseCommand(%q, %.40q, %v) = %v, want an error", tt.cmd, tt.payload, tt.retained, got)
			}
			if !cmp.Equal(got, Command{}) {
				t.Errorf("refused command returned a value %v", got)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v is not %v", err, tt.sentinel)
			}
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Reason == "" || ce.Command == "" {
				t.Fatalf("error %#v is not a *CommandError with a command and a reason", err)
			}
			if !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", ce.Reason, tt.reason)
			}
			if len(ce.Reason) > 512 || !utf8.ValidString(ce.Reason) {
				t.Errorf("reason is not short valid UTF-8: %d bytes", len(ce.Reason))
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, c := range Commands {
		f.Add(string(c), []byte("PRESS"), false)
	}
	for _, s := range []string{"1840", "1840.5", "NaN", "-1", "1e308", "{}", "订单", "\x00", "missing item", "torn", "\xff"} {
		f.Add("label_weight", []byte(s), false)
		f.Add("order_ref", []byte(s), true)
		f.Add("issue_type", []byte(s), false)
	}
	f.Fuzz(func(t *testing.T, name string, payload []byte, retained bool) {
		c, err := ParseCommand(name, payload, retained)
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Reason == "" {
				t.Fatalf("error %v is not a *CommandError with a reason", err)
			}
			if c != (Command{}) {
				t.Fatalf("refused command carries a value: %v", c)
			}
			return
		}
		// Invariants of an accepted command.
		if retained {
			t.Fatal("retained command accepted")
		}
		if len(payload) == 0 && !clearable(c.Name) || len(payload) > MaxPayloadBytes || !utf8.Valid(payload) {
			t.Fatalf("accepted payload %q", payload)
		}
		if string(c.Name) != name {
			t.Fatalf("name %q parsed as %q", name, c.Name)
		}
		switch c.Name {
		case CmdStart:
			if !(string(payload) == PressPayload && c.Text == "" || string(payload) == ForcePayload && c.Text == ForcePayload) || c.Grams != 0 {
				t.Fatalf("start %v from %q", c, payload)
			}
		case CmdConfirmTracking:
			if !(string(payload) == PressPayload && c.Text == "" || c.Text == string(payload) && vocab.CheckTracking(c.Text) == nil) {
				t.Fatalf("confirm_tracking %v from %q", c, payload)
			}
		case CmdTare, CmdStop, CmdMark, CmdClearEntries:
			if string(payload) != PressPayload || c.Text != "" || c.Grams != 0 {
				t.Fatalf("button %v from %q", c, payload)
			}
		case CmdLabelWeight:
			if math.IsNaN(c.Grams) || math.IsInf(c.Grams, 0) || c.Grams < MinLabelWeightG || c.Grams > MaxLabelWeightG || c.Text != "" {
				t.Fatalf("label_weight %v from %q", c, payload)
			}
		case CmdOrderRef, CmdTracking, CmdDamage:
			if c.Text != string(payload) {
				t.Fatalf("text %q from %q", c.Text, payload)
			}
			for _, r := range c.Text {
				if !unicode.IsPrint(r) {
					t.Fatalf("non-printable %U accepted", r)
				}
			}
		case CmdExteriorCondition:
			if !slices.Contains(ExteriorConditions, c.Text) {
				t.Fatalf("exterior %q", c.Text)
			}
		case CmdIssueType:
			if _, err := vocab.ParseIssueType(c.Text); err != nil || c.Text == "" {
				t.Fatalf("issue %q", c.Text)
			}
		default:
			t.Fatalf("unknown command %q accepted", c.Name)
		}
	})
}

func ptr[T any](v T) *T { return &v }
