package publish

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"weighin/internal/verdict"
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
)

// Commands lists every command name, in the order of the topic table.
var Commands = []CommandName{
	CmdTare, CmdStart, CmdStop, CmdMark, CmdLabelWeight,
	CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType,
	CmdSolution, CmdTier, CmdParcel, CmdOutcome,
}

// Solutions are the values of the solution command: "default" (the remedy
// the tier suggests) and every remedy the dispute text can ask for.
var Solutions = func() []string {
	out := []string{"default"}
	for _, s := range verdict.Solutions {
		out = append(out, string(s))
	}
	return out
}()

// Tiers are the values of the tier command: "auto" (the computed tier)
// and the seed's tiers.
var Tiers = []string{"auto", "0", "1", "2", "3"}

// PressPayload is the only payload a button command (tare, start, stop,
// mark) accepts; it is Home Assistant's default payload_press.
const PressPayload = "PRESS"

// ExteriorConditions are the values of the exterior_condition command, as
// the seed's evidence protocol names them.
var ExteriorConditions = []string{"intact", "crushed", "wet", "retaped", "torn"}

// IssueTypes are the values of the issue_type command (seed, Phase 2).
// "damaged item" is functional damage (tier 2); "damaged item (cosmetic)"
// lets the buyer choose tier 1, as the seed's resolution matrix asks.
var IssueTypes = []string{"missing item", "damaged item", "damaged item (cosmetic)", "wrong item"}

// Limits of command payloads.
const (
	// MaxPayloadBytes bounds every command payload before it is looked at,
	// but for the JSON commands (parcel, outcome).
	MaxPayloadBytes = 256
	// MaxJSONPayloadBytes bounds the payload of parcel and outcome.
	MaxJSONPayloadBytes = 8192
	// MinLabelWeightG and MaxLabelWeightG bound label_weight (grams).
	MinLabelWeightG = 1
	MaxLabelWeightG = 100000
	// MaxOrderRefRunes bounds order_ref.
	MaxOrderRefRunes = 64
	// MaxTrackingLen bounds tracking; tracking is [A-Za-z0-9-].
	MaxTrackingLen = 40
	// maxNumberLen bounds the text of a number: "100000.000" and a little
	// slack.
	maxNumberLen = 16
)

// Command is one parsed, valid command. Exactly the field that belongs to
// Name is set: Grams for label_weight, Text for order_ref, tracking,
// exterior_condition and issue_type; none for the buttons.
type Command struct {
	Name    CommandName
	Grams   float64
	Text    string
	Parcel  *Parcel
	Outcome *Outcome
}

// Parcel is the payload of the parcel command: an expected parcel as the
// agent describes it. Its shape is checked here (known keys only, finite
// numbers in range, printable text within length); the registry checks the
// rest.
type Parcel struct {
	Tracking         string   `json:"tracking"`
	OrderRef         string   `json:"order_ref"`
	LabelG           *float64 `json:"label_g"`
	LabelResolutionG float64  `json:"label_resolution_g"`
	Items            []Item   `json:"items"`
}

// Item is one of the agent's items in a Parcel.
type Item struct {
	Name    string  `json:"name"`
	WeightG float64 `json:"weight_g"`
}

// Outcome is the payload of the outcome command: how a session's claim
// ended (the evidence store signs it as an addendum to the bundle).
type Outcome struct {
	SessionID  string   `json:"session_id"`
	Status     string   `json:"status"`
	Resolution string   `json:"resolution"`
	Amount     *float64 `json:"amount"`
	Currency   string   `json:"currency"`
	Note       string   `json:"note"`
}

// Limits of the JSON commands.
const (
	MaxItems       = 24
	MaxItemRunes   = 64
	MaxNoteBytes   = 1000
	maxSessionID   = 80
	MaxAmount      = 1e7
	maxResolutionG = 10000
)

// String describes the command for logs.
func (c Command) String() string {
	switch c.Name {
	case CmdLabelWeight:
		return fmt.Sprintf("%s=%g", c.Name, c.Grams)
	case CmdOrderRef, CmdTracking, CmdExteriorCondition, CmdIssueType:
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
	limit := MaxPayloadBytes
	if cmd == CmdParcel || cmd == CmdOutcome {
		limit = MaxJSONPayloadBytes
	}
	if len(payload) > limit {
		return refuse(name, ErrBadPayload, "payload of %d bytes exceeds %d", len(payload), limit)
	}
	if len(payload) == 0 {
		return refuse(name, ErrBadPayload, "empty payload")
	}
	if !utf8.Valid(payload) {
		return refuse(name, ErrBadPayload, "payload is not valid UTF-8")
	}
	s := string(payload)
	switch cmd {
	case CmdTare, CmdStart, CmdStop, CmdMark:
		if s != PressPayload {
			return refuse(name, ErrBadPayload, "payload must be %q, got %q", PressPayload, truncate(s, 32))
		}
		return Command{Name: cmd}, nil
	case CmdLabelWeight:
		g, reason := parseGrams(s)
		if reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		return Command{Name: cmd, Grams: g}, nil
	case CmdOrderRef:
		if reason := checkText(s, MaxOrderRefRunes); reason != "" {
			return refuse(name, ErrBadPayload, "%s", reason)
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdTracking:
		if len(s) > MaxTrackingLen {
			return refuse(name, ErrBadPayload, "tracking of %d characters exceeds %d", len(s), MaxTrackingLen)
		}
		for i, r := range s {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return refuse(name, ErrBadPayload, "tracking may hold only letters, digits and '-': %q at byte %d", r, i)
			}
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdParcel:
		var p Parcel
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
		if !oneOf(s, Solutions) {
			return refuse(name, ErrBadPayload, "%q is not one of %s", truncate(s, 32), strings.Join(Solutions, ", "))
		}
		return Command{Name: cmd, Text: s}, nil
	case CmdTier:
		if !oneOf(s, Tiers) {
			return refuse(name, ErrBadPayload, "%q is not one of %s", truncate(s, 32), strings.Join(Tiers, ", "))
		}
		g := -1.0
		if s != "auto" {
			g = float64(s[0] - '0')
		}
		return Command{Name: cmd, Grams: g}, nil
	case CmdExteriorCondition:
		if !oneOf(s, ExteriorConditions) {
			return refuse(name, ErrBadPayload, "%q is not one of %s", truncate(s, 32), strings.Join(ExteriorConditions, ", "))
		}
		return Command{Name: cmd, Text: s}, nil
	default: // CmdIssueType; the name was checked against Commands above.
		if !oneOf(s, IssueTypes) {
			return refuse(name, ErrBadPayload, "%q is not one of %s", truncate(s, 32), strings.Join(IssueTypes, ", "))
		}
		return Command{Name: cmd, Text: s}, nil
	}
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

// parseGrams accepts a plain decimal: digits, at most one '.', digits. No
// sign, exponent, hex, spaces, "inf" or "nan"; the value must lie within
// [MinLabelWeightG, MaxLabelWeightG].
func parseGrams(s string) (float64, string) {
	if len(s) > maxNumberLen {
		return 0, fmt.Sprintf("number text of %d characters exceeds %d", len(s), maxNumberLen)
	}
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
			if dots > 1 || i == 0 || i == len(s)-1 {
				return 0, fmt.Sprintf("%q is not a plain decimal number of grams", truncate(s, 32))
			}
		case c == '-':
			return 0, fmt.Sprintf("%q is negative: label weight must be between %d and %d g", truncate(s, 32), MinLabelWeightG, MaxLabelWeightG)
		default:
			return 0, fmt.Sprintf("%q is not a plain decimal number of grams", truncate(s, 32))
		}
	}
	if digits == 0 {
		return 0, fmt.Sprintf("%q is not a number", truncate(s, 32))
	}
	g, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) {
		return 0, fmt.Sprintf("%q is not a finite number", truncate(s, 32))
	}
	if g < MinLabelWeightG || g > MaxLabelWeightG {
		return 0, fmt.Sprintf("%g g is out of range: label weight must be between %d and %d g", g, MinLabelWeightG, MaxLabelWeightG)
	}
	return g, ""
}

// checkText: printable, no leading or trailing space, at most max runes.
func checkText(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("text of %d characters exceeds %d", n, max)
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("control or non-printable character %U at byte %d", r, i)
		}
	}
	if strings.TrimSpace(s) != s {
		return "leading or trailing space"
	}
	return ""
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
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
