// Package vocab is the one vocabulary of what a buyer or an agent enters:
// issue types and their human forms, exterior conditions, tiers,
// solutions, the tracking-number charset and its normalisation, the limits
// of free text, and gram values. The MQTT command parser
// (internal/publish), the session and the verdict, the local API, weighctl
// and the registry's CSV import all ask this package, so a value is
// accepted or refused — with the same words — wherever it is entered.
//
// It is hand-written because it is the project's own domain: a few
// enumerations and checks, no I/O, no dependency.
//
// Every Parse and Check function returns an error whose text is the reason
// alone (no prefix naming a command or a file): callers add where the
// value came from.
package vocab

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Issue types in the form the result schema stores (issue_type).
const (
	// IssueNone: no issue entered; the weigh-in alone decides.
	IssueNone = ""
	// IssueMissingItem: something the buyer ordered is not in the parcel.
	IssueMissingItem = "missing_item"
	// IssueWrongItem: the parcel holds an item other than the one ordered.
	IssueWrongItem = "wrong_item"
	// IssueDamagedCosmetic: damage to looks only (tier 1).
	IssueDamagedCosmetic = "damaged_cosmetic"
	// IssueDamagedFunctional: damage that affects use (tier 2).
	IssueDamagedFunctional = "damaged_functional"
)

// IssueTypes lists the schema forms, "" (none) first.
var IssueTypes = []string{IssueNone, IssueMissingItem, IssueWrongItem, IssueDamagedCosmetic, IssueDamagedFunctional}

// IssueLabels are the human forms, as Home Assistant's select offers them
// and the MQTT issue_type command carries them. Plain "damaged item" is
// functional damage (tier 2); "damaged item (cosmetic)" lets the buyer
// choose tier 1, as the seed's resolution matrix asks.
var IssueLabels = []string{"missing item", "damaged item", "damaged item (cosmetic)", "wrong item"}

// issueAliases maps every accepted spelling that is not a schema form (after
// lower-casing, with '-' and ' ' read as '_') to its schema form.
var issueAliases = map[string]string{
	"none":                      IssueNone,
	"missing":                   IssueMissingItem,
	"wrong":                     IssueWrongItem,
	"damaged":                   IssueDamagedFunctional,
	"damaged_item":              IssueDamagedFunctional,
	"damaged_item_(functional)": IssueDamagedFunctional,
	"cosmetic":                  IssueDamagedCosmetic,
	"damaged_item_(cosmetic)":   IssueDamagedCosmetic,
}

// ParseIssueType returns the schema form of an issue type given in any of
// its accepted forms: a schema form, a human form (IssueLabels), "none",
// or a short alias (missing, wrong, damaged, cosmetic), in lower case; '_',
// '-' and ' ' between words are the same. Nothing else is guessed: no
// trimming, no case folding.
func ParseIssueType(s string) (string, error) {
	k := strings.NewReplacer("-", "_", " ", "_").Replace(s)
	if v, ok := issueAliases[k]; ok {
		return v, nil
	}
	if slices.Contains(IssueTypes, k) {
		return k, nil
	}
	return "", fmt.Errorf("issue type %q is not one of %s (or %s, none)", clip(s), strings.Join(IssueLabels, ", "), strings.Join(IssueTypes[1:], ", "))
}

// Exterior conditions: the buyer's note on the outer box before opening it
// (seed, "Verify Integrity").
const (
	ExteriorUnknown = "" // not noted
	ExteriorIntact  = "intact"
	ExteriorCrushed = "crushed"
	ExteriorWet     = "wet"
	ExteriorRetaped = "retaped"
	ExteriorTorn    = "torn"
)

// Exteriors lists the exterior conditions a buyer may choose.
var Exteriors = []string{ExteriorIntact, ExteriorCrushed, ExteriorWet, ExteriorRetaped, ExteriorTorn}

// ParseExterior returns the exterior condition s names, exactly; "" is
// ExteriorUnknown.
func ParseExterior(s string) (string, error) {
	if s == ExteriorUnknown || slices.Contains(Exteriors, s) {
		return s, nil
	}
	return "", fmt.Errorf("exterior condition %q is not one of %s", clip(s), strings.Join(Exteriors, ", "))
}

// TierAuto is the tier entry that lets the verdict decide.
const TierAuto = "auto"

// Tiers are the accepted tier entries: TierAuto and the seed's tiers 0–3.
var Tiers = []string{TierAuto, "0", "1", "2", "3"}

// ParseTier returns the tier s names, or -1 for TierAuto.
func ParseTier(s string) (int, error) {
	switch i := slices.Index(Tiers, s); {
	case i == 0:
		return -1, nil
	case i > 0:
		return i - 1, nil
	}
	return 0, fmt.Errorf("tier %q is not one of %s", clip(s), strings.Join(Tiers, ", "))
}

// Solution is the remedy a claim asks for. The zero value lets the verdict
// choose from the tier and the issue (seed, Phase 3).
type Solution string

// Solutions a buyer may choose, or the verdict chooses by default.
const (
	SolutionDefault                Solution = ""
	SolutionNoAction               Solution = "no_action"
	SolutionSmallPartialRefund     Solution = "small_partial_refund"
	SolutionRepairRefund           Solution = "partial_refund"
	SolutionRepairOrReplacement    Solution = "repair_refund_or_replacement"
	SolutionReplacement            Solution = "replacement"
	SolutionRefundOrReplacement    Solution = "refund_or_replacement"
	SolutionPartRefundOrReplace    Solution = "part_refund_or_replacement"
	SolutionRefundMissing          Solution = "refund_missing_or_reship"
	SolutionFullRefundOrReshipment Solution = "full_refund_or_reshipment"
	SolutionCorrectItemOrRefund    Solution = "correct_item_or_refund"
	SolutionFullRefund             Solution = "full_refund"
	SolutionReshipment             Solution = "reshipment"
	SolutionDiscountNextOrder      Solution = "discount_next_order"
)

// Solutions lists every solution a buyer may choose, in a stable order.
var Solutions = []Solution{
	SolutionNoAction, SolutionSmallPartialRefund, SolutionRepairRefund, SolutionRepairOrReplacement,
	SolutionReplacement, SolutionRefundOrReplacement, SolutionPartRefundOrReplace, SolutionRefundMissing,
	SolutionFullRefundOrReshipment, SolutionCorrectItemOrRefund, SolutionFullRefund, SolutionReshipment,
	SolutionDiscountNextOrder,
}

// SolutionEntries are the accepted solution entries: "default" and every
// solution.
var SolutionEntries = func() []string {
	out := []string{"default"}
	for _, s := range Solutions {
		out = append(out, string(s))
	}
	return out
}()

// ParseSolution accepts "default" (or "") for SolutionDefault and every
// solution, exactly.
func ParseSolution(s string) (Solution, error) {
	v := s
	if v == "" || v == "default" {
		return SolutionDefault, nil
	}
	if slices.Contains(Solutions, Solution(v)) {
		return Solution(v), nil
	}
	return "", fmt.Errorf("solution %q is not one of %s", clip(s), strings.Join(SolutionEntries, ", "))
}

// Limits of entries.
const (
	// MaxTrackingLen bounds a tracking number as entered.
	MaxTrackingLen = 40
	// MinTrackingLen is the shortest normalised tracking number a parcel
	// can be registered under.
	MinTrackingLen = 4
	// MaxOrderRefRunes bounds an order reference.
	MaxOrderRefRunes = 64
	// MaxDamageRunes bounds the buyer's damage description (160 Han
	// characters stay within the claim's 500 bytes per description).
	MaxDamageRunes = 160
	// MaxItemNameRunes bounds an item's name.
	MaxItemNameRunes = 64
	// MaxItems bounds a parcel's item list: the missing-item inference
	// handles at most this many.
	MaxItems = 24
	// MaxMarkRunes bounds a mark's label.
	MaxMarkRunes = 64
	// MaxNoteBytes bounds an outcome's note.
	MaxNoteBytes = 1000
	// MinLabelG and MaxLabelG bound a label weight, in grams.
	MinLabelG = 1
	MaxLabelG = 100000
	// MinItemG bounds an item's weight from below, in grams (MaxLabelG
	// from above).
	MinItemG = 0.1
	// MaxMassG bounds a known mass for calibration, in grams.
	MaxMassG = 200000
	// MaxResolutionG bounds a carrier's rounding step, in grams.
	MaxResolutionG = 10000
	// maxNumberLen bounds the text of a number: "100000.000" and slack.
	maxNumberLen = 16
)

// CheckTracking accepts a tracking number as entered: 1 to MaxTrackingLen
// letters, digits and '-'.
func CheckTracking(s string) error {
	if s == "" {
		return errors.New("tracking is required")
	}
	if len(s) > MaxTrackingLen {
		return fmt.Errorf("tracking number of %d characters exceeds %d", len(s), MaxTrackingLen)
	}
	for i, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("tracking number %q: only letters, digits and '-' (%q at byte %d)", clip(s), r, i)
		}
	}
	return nil
}

// NormalizeTracking is the form tracking numbers are compared and stored
// in: ASCII letters upper-cased, spaces, tabs and dashes dropped. Only
// ASCII is case-folded: a non-ASCII letter stays as it is (and
// CheckRegisteredTracking refuses it), so "ıx123" never becomes another
// parcel's "IX123".
func NormalizeTracking(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CheckRegisteredTracking accepts a normalised tracking number a parcel
// can be registered under: MinTrackingLen to MaxTrackingLen letters and
// digits.
func CheckRegisteredTracking(t string) error {
	if t == "" {
		return errors.New("tracking number required")
	}
	if len(t) < MinTrackingLen || len(t) > MaxTrackingLen {
		return fmt.Errorf("tracking number %q: %d characters, want %d to %d", clip(t), len(t), MinTrackingLen, MaxTrackingLen)
	}
	for _, r := range t {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("tracking number %q: only letters and digits (spaces and dashes are dropped)", clip(t))
		}
	}
	return nil
}

// RefusedRune reports whether r may not appear in any text entered, by any
// way in (MQTT, the local API and the web app, the registry CSV, weighctl):
// C0 and C1 controls and DEL (U+0085 included), the bidi controls
// U+202A–U+202E and U+2066–U+2069, zero-width and invisible characters
// (U+200B–U+200D, U+2060, U+FEFF, U+3164, U+FFA0, U+115F, U+1160), the
// line and paragraph separators U+2028/U+2029, and every other character
// Go does not call printable (formats, unassigned, private use, spaces
// other than U+0020).
func RefusedRune(r rune) bool {
	switch r {
	case ' ':
		return false
	case 0x3164, 0xFFA0, 0x115F, 0x1160: // Hangul fillers: letters to Unicode, invisible on screen
		return true
	}
	return !unicode.IsPrint(r) // Cc, Cf (bidi, zero-width, BOM), Zl, Zp, Co, Cn, non-ASCII spaces
}

// FormulaPrefixes are the first characters a text may not begin with: a
// spreadsheet reads a cell starting with one as a formula (CSV injection).
const FormulaPrefixes = "=+-@"

// CheckText accepts free text: valid UTF-8, 1 to max runes, no refused
// character (RefusedRune), no leading or trailing space, not beginning
// with one of FormulaPrefixes. It is the one text rule of every way in.
func CheckText(s string, max int) error {
	if !utf8.ValidString(s) {
		return errors.New("text is not valid UTF-8")
	}
	if s == "" {
		return errors.New("empty text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("text of %d characters exceeds %d", n, max)
	}
	for i, r := range s {
		if RefusedRune(r) {
			return fmt.Errorf("control, invisible or non-printable character %U at byte %d", r, i)
		}
	}
	if strings.TrimSpace(s) != s {
		return errors.New("leading or trailing space")
	}
	if strings.ContainsRune(FormulaPrefixes, rune(s[0])) {
		return fmt.Errorf("text may not begin with %q (any of %s: a spreadsheet would run it as a formula)", s[0], FormulaPrefixes)
	}
	return nil
}

// CheckMarkLabel accepts a mark's label: "" (the station numbers it) or
// text under the one text rule, at most MaxMarkRunes.
func CheckMarkLabel(s string) error {
	if s == "" {
		return nil
	}
	if err := CheckText(s, MaxMarkRunes); err != nil {
		return fmt.Errorf("mark label: %w", err)
	}
	return nil
}

// HasRefused reports whether s holds a refused character (RefusedRune) or
// is not valid UTF-8: for text checked elsewhere for its form (verdict's
// input, the claim's fields).
func HasRefused(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, RefusedRune)
}

// ParseDecimal accepts a plain decimal number: digits, at most one '.'
// between digits. No sign, exponent, hex, spaces, "inf" or "nan".
func ParseDecimal(s string) (float64, error) {
	if len(s) > maxNumberLen {
		return 0, fmt.Errorf("number text of %d characters exceeds %d", len(s), maxNumberLen)
	}
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && dots == 0 && i > 0 && i < len(s)-1:
			dots++
		case c == '-' && i == 0:
			return 0, fmt.Errorf("%q is negative", clip(s))
		default:
			return 0, fmt.Errorf("%q is not a plain decimal number", clip(s))
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("%q is not a number", clip(s))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", clip(s))
	}
	return v, nil
}

// CheckGrams accepts a weight in grams within [min, max]; what names it in
// the message ("label weight", "items[2].weight_g").
func CheckGrams(what string, g, min, max float64) error {
	if math.IsNaN(g) || math.IsInf(g, 0) || g < min || g > max {
		return fmt.Errorf("%s must be between %g and %g g, got %g", what, min, max, g)
	}
	return nil
}

// ParseLabelGrams parses a label weight: a plain decimal number of grams
// within [MinLabelG, MaxLabelG].
func ParseLabelGrams(s string) (float64, error) {
	g, err := ParseDecimal(s)
	if err != nil {
		return 0, fmt.Errorf("label weight: %w", err)
	}
	return g, CheckGrams("label weight", g, MinLabelG, MaxLabelG)
}

// ParseMass parses the known mass of a calibration, in grams: a finite
// number (spaces around it ignored) greater than 0 and at most MaxMassG.
func ParseMass(s string) (float64, error) {
	s = strings.TrimSpace(s)
	g, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 || g > MaxMassG {
		return 0, fmt.Errorf("%q is not a mass in grams (greater than 0, at most %d)", clip(s), MaxMassG)
	}
	return g, nil
}

// Clip shortens s to at most 32 bytes on a rune boundary, for messages
// that quote a refused value.
func Clip(s string) string { return clip(s) }

// clip shortens s to at most 32 bytes on a rune boundary, for messages.
func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
