package publish

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/vocab"
)

// CommandName names a command; it is the last level of <base>/cmd/<name>.
type CommandName string

// The commands the station accepts on <base>/cmd/<name>.
const (
	CmdTare              CommandName = "tare"
	CmdStart             CommandName = "start"
	CmdStop              CommandName = "stop"
	CmdMark              CommandName = "mark"
	CmdLabelWeight       CommandName = "label_weight"
	CmdOrderRef          CommandName = "order_ref"
	CmdTracking          CommandName = "tracking"
	CmdExteriorCondition CommandName = "exterior_condition"
	CmdIssueType         CommandName = "issue_type"
	// CmdSolution chooses the remedy the claim asks for (one of
	// Solutions).
	CmdSolution CommandName = "solution"
	// CmdTier overrides the claim's tier: "0"–"3", or "auto".
	CmdTier CommandName = "tier"
	// CmdParcel registers an expected parcel: a JSON Parcel.
	CmdParcel CommandName = "parcel"
	// CmdOutcome records how a session's claim ended: a JSON Outcome.
	CmdOutcome CommandName = "outcome"
	// CmdConfirmTracking confirms the code read from the label that no
	// carrier pattern knows (the state's tracking_offer) as the session's
	// tracking number: PressPayload, or the code itself.
	CmdConfirmTracking CommandName = "confirm_tracking"
	// CmdDamage is the buyer's free-text description of the damage, in
	// any language; the claim carries it into both texts (issue 14).
	CmdDamage CommandName = "damage"
	// CmdClearEntries (payload PRESS) empties every entry.
	CmdClearEntries CommandName = "clear_entries"
)

// Commands lists every command name, in the order of the topic table.
var Commands = []CommandName{
	CmdTare, CmdStart, CmdStop, CmdMark, CmdLabelWeight,
	CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType,
	CmdSolution, CmdTier, CmdParcel, CmdOutcome, CmdConfirmTracking, CmdDamage, CmdClearEntries,
}

// Solutions are the values of the solution command: "default" (the remedy
// the tier suggests) and every remedy the dispute text can ask for.
var Solutions = vocab.SolutionEntries

// Tiers are the values of the tier command: "auto" (the computed tier)
// and the seed's tiers.
var Tiers = vocab.Tiers

// PressPayload is the only payload a button command (tare, start, stop,
// mark) accepts; it is Home Assistant's default payload_press.
const PressPayload = "PRESS"

// ForcePayload is start's other payload: a start accepted although the
// platform has not returned to empty since the last session (the result
// then says leftover_load).
const ForcePayload = "FORCE"

// ExteriorConditions are the values of the exterior_condition command, as
// the seed's evidence protocol names them.
var ExteriorConditions = vocab.Exteriors

// IssueTypes are the options of the issue_type select (seed, Phase 2);
// the command also takes every form vocab.ParseIssueType accepts.
var IssueTypes = vocab.IssueLabels

// Limits of command payloads; the limits of the values are vocab's.
const (
	// MaxPayloadBytes bounds every command payload before it is looked at,
	// but for the JSON commands (parcel, outcome).
	MaxPayloadBytes = 256
	// MaxJSONPayloadBytes bounds the payload of parcel and outcome.
	MaxJSONPayloadBytes = 8192
	// MinLabelWeightG and MaxLabelWeightG bound label_weight (grams).
	MinLabelWeightG = vocab.MinLabelG
	MaxLabelWeightG = vocab.MaxLabelG
	// MaxOrderRefRunes bounds order_ref.
	MaxOrderRefRunes = vocab.MaxOrderRefRunes
	// MaxTrackingLen bounds tracking; tracking is [A-Za-z0-9-].
	MaxTrackingLen = vocab.MaxTrackingLen
	// MaxDamageRunes bounds damage.
	MaxDamageRunes = vocab.MaxDamageRunes
)

// Command is one parsed, valid command. Exactly the field that belongs to
// Name is set: Grams for label_weight, Text for order_ref, tracking,
// exterior_condition and issue_type; none for the buttons.
type Command struct {
	Name  CommandName
	Grams float64
	Text  string
	// Parcel is the parcel command's payload, the registry's own type: its
	// shape is checked here (known keys only, finite numbers in range,
	// printable text within length); the registry checks the rest.
	Parcel  *registry.Parcel
	Outcome *Outcome
}

// Outcome is the payload of the outcome command: how a session's claim
// ended, for the evidence store to sign as an addendum to the bundle.
type Outcome struct {
	SessionID string `json:"session_id"`
	evidence.Outcome
}

// maxSessionID bounds the outcome command's session_id.
const maxSessionID = 80

// PayloadLimit is the largest payload cmd takes, in bytes: MaxJSONPayloadBytes
// for the JSON commands (parcel, outcome), MaxPayloadBytes for the rest.
func PayloadLimit(cmd CommandName) int {
	if cmd == CmdParcel || cmd == CmdOutcome {
		return MaxJSONPayloadBytes
	}
	return MaxPayloadBytes
}

// String describes the command for logs.
func (c Command) String() string {
	switch c.Name {
	case CmdLabelWeight:
		return fmt.Sprintf("%s=%g", c.Name, c.Grams)
	case CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType, CmdDamage:
		return fmt.Sprintf("%s=%q", c.Name, c.Text)
	}
	return string(c.Name)
}

// Sentinel errors for refused commands; a *CommandError wraps one of them.
var (
	ErrUnknownCommand = errors.New("unknown command")
	ErrRetained       = errors.New("retained command ignored")
	ErrBadPayload     = errors.New("bad payload")
)

// CommandError is a refused command: which, why, and the sentinel.
type CommandError struct {
	Command string
	Reason  string
	Err     error
}

// Error says which command was refused and why.
func (e *CommandError) Error() string {
	return fmt.Sprintf("command %q refused: %s", e.Command, e.Reason)
}

// Unwrap returns the sentinel.
func (e *CommandError) Unwrap() error { return e.Err }

func refuse(name string, sentinel error, format string, args ...any) (Command, error) {
	return Command{}, &CommandError{Command: name, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// ParseCommand parses the payload of <base>/cmd/<name>. It is pure and
// strict: a retained message, an unknown name, an oversized or non-UTF-8
// payload, a number that is not a plain finite decimal within range, text
// with control characters or beyond its length, or a value outside an enum
// is refused with a *CommandError. Nothing is trimmed or guessed.
func ParseCommand(name string, payload []byte, retained bool) (Command, error) {
	safe := name
	if !validName(name) {
		safe = strconv.Quote(truncate(name, 32))
		return refuse(safe, ErrUnknownCommand, "unknown command %s", safe)
	}
	cmd := CommandName(name)
	known := false
	for _, c := range Commands {
		if c == cmd {
			known = true
		}
	}
	if !known {
		return refuse(name, ErrUnknownCommand, "unknown command %q (known: %s)", name, joinNames())
	}
	if retained {
		return refuse(name, ErrRetained, "retained message: commands must not be retained")
	}
	if limit := PayloadLimit(cmd); len(payload) > limit {
		return refuse(name, ErrBadPayload, "payload of %d bytes exceeds %d", len(payload), limit)
	}
	if len(payload) == 0 {
		if clearable(cmd) {
			// A text entity emptied on the dashboard clears that entry.
			return Command{Name: cmd}, nil
		}
		return refuse(name, ErrBadPayload, "empty payload")
	}
	if !utf8.Valid(payload) {
		return refuse(name, ErrBadPayload, "payload is not valid UTF-8")
	}
	s := string(payload)
	switch cmd {
	case CmdStart:
		if s != PressPayload && s != ForcePayload {
			return refuse(name, ErrBadPayload, "payload must be %q or %q, got %q", PressPayload, ForcePayload, truncate(s, 32))
		}
		if s == ForcePayload {
			return Command{Name: cmd, Text: s}, nil
		}
		return Command{Name: cmd}, nil
	case CmdConfirmTracking:
		if s == PressPayload {
			return Command{Name: cmd}, nil
		}
		if err := vocab.CheckTracking(s); err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdTare, CmdStop, CmdMark, CmdClearEntries:
		if s != PressPayload {
			return refuse(name, ErrBadPayload, "payload must be %q, got %q", PressPayload, truncate(s, 32))
		}
		return Command{Name: cmd}, nil
	case CmdLabelWeight:
		g, err := vocab.ParseLabelGrams(s)
		if err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Grams: g}, nil
	case CmdOrderRef:
		if err := vocab.CheckText(s, vocab.MaxOrderRefRunes); err != nil {
			return refuse(name, ErrBadPayload, "order reference: %v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdTracking:
		if err := vocab.CheckTracking(s); err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdDamage:
		if err := vocab.CheckText(s, vocab.MaxDamageRunes); err != nil {
			return refuse(name, ErrBadPayload, "damage: %v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdParcel:
		var p registry.Parcel
		if reason := decodeStrict(payload, &p); reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		if reason := checkParcel(p); reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		return Command{Name: cmd, Parcel: &p}, nil
	case CmdOutcome:
		var o Outcome
		if reason := decodeStrict(payload, &o); reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		if reason := checkOutcome(o); reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		return Command{Name: cmd, Outcome: &o}, nil
	case CmdSolution:
		if _, err := vocab.ParseSolution(s); err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdTier:
		t, err := vocab.ParseTier(s)
		if err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Grams: float64(t)}, nil
	case CmdExteriorCondition:
		if _, err := vocab.ParseExterior(s); err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	default: // CmdIssueType; the name was checked against Commands above.
		if _, err := vocab.ParseIssueType(s); err != nil {
			return refuse(name, ErrBadPayload, "%v", err)
		}
		return Command{Name: cmd, Text: s}, nil
	}
}

// clearable: the text entries an empty payload clears (order_ref,
// tracking, damage), as Home Assistant's text entity sends when emptied.
func clearable(c CommandName) bool {
	return c == CmdOrderRef || c == CmdTracking || c == CmdDamage
}

// validName: a printable ASCII topic level without wildcards.
func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '+' || s[i] == '#' || s[i] == '/' {
			return false
		}
	}
	return true
}

func joinNames() string {
	var b strings.Builder
	for i, c := range Commands {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(c))
	}
	return b.String()
}

// truncate shortens s to at most n bytes on a rune boundary, for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
