package verdict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"weighin/internal/result"
	"weighin/internal/vocab"
)

// Solution is the remedy a dispute message asks for (vocab owns the
// names). The zero value lets Dispute choose from the tier and the issue
// (seed, Phase 3).
type Solution = vocab.Solution

// Solutions a buyer may choose (an override) or Dispute chooses by default.
const (
	SolutionDefault                = vocab.SolutionDefault
	SolutionNoAction               = vocab.SolutionNoAction
	SolutionSmallPartialRefund     = vocab.SolutionSmallPartialRefund
	SolutionRepairRefund           = vocab.SolutionRepairRefund
	SolutionRepairOrReplacement    = vocab.SolutionRepairOrReplacement
	SolutionReplacement            = vocab.SolutionReplacement
	SolutionRefundOrReplacement    = vocab.SolutionRefundOrReplacement
	SolutionPartRefundOrReplace    = vocab.SolutionPartRefundOrReplace
	SolutionRefundMissing          = vocab.SolutionRefundMissing
	SolutionFullRefundOrReshipment = vocab.SolutionFullRefundOrReshipment
	SolutionCorrectItemOrRefund    = vocab.SolutionCorrectItemOrRefund
	SolutionFullRefund             = vocab.SolutionFullRefund
	SolutionReshipment             = vocab.SolutionReshipment
	SolutionDiscountNextOrder      = vocab.SolutionDiscountNextOrder
)

// solutionText holds a solution as an English noun phrase (after "I am
// requesting") and a Chinese phrase (after "我希望"), singular and plural.
type solutionText struct{ en, enPlural, zh, zhPlural string }

var solutions = map[Solution]solutionText{
	SolutionSmallPartialRefund:     {en: "a small partial refund", zh: "获得少量部分退款"},
	SolutionRepairRefund:           {en: "a partial refund to cover a local repair", zh: "获得部分退款，用于在本地维修"},
	SolutionRepairOrReplacement:    {en: "a partial refund to cover a local repair, or a replacement if the item cannot be used", zh: "获得部分退款，用于在本地维修；如果商品无法使用，希望更换新品"},
	SolutionReplacement:            {en: "a replacement", zh: "更换新品"},
	SolutionRefundOrReplacement:    {en: "a replacement or a refund of the item value", zh: "更换新品，或退还该商品的货款"},
	SolutionPartRefundOrReplace:    {en: "a partial refund or a replacement of the missing part", zh: "获得部分退款，或补发缺少的部件"},
	SolutionRefundMissing:          {en: "a refund of the missing item or a reshipment of it", enPlural: "a refund of the missing items or a reshipment of them", zh: "退还所缺商品的货款，或补发这件商品", zhPlural: "退还所缺商品的货款，或补发这些商品"},
	SolutionFullRefundOrReshipment: {en: "a full refund or an immediate reshipment", zh: "全额退款，或尽快重新发货"},
	SolutionCorrectItemOrRefund:    {en: "the correct item or a full refund", zh: "换发正确的商品，或全额退款"},
	SolutionFullRefund:             {en: "a full refund", zh: "全额退款"},
	SolutionReshipment:             {en: "a reshipment", zh: "重新发货"},
	SolutionDiscountNextOrder:      {en: "a discount on my next order", zh: "在下次订单时获得折扣"},
}

// Solutions lists every solution a buyer may choose, in a stable order.
var Solutions = vocab.Solutions

// ParseSolution trims and lower-cases a typed entry and accepts what
// vocab.ParseSolution accepts; the error wraps ErrInvalidInput.
func ParseSolution(s string) (Solution, error) {
	v, err := vocab.ParseSolution(strings.ToLower(strings.TrimSpace(s)))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return v, nil
}

// DisputeOptions are the buyer's additions to a dispute message.
type DisputeOptions struct {
	// Solution overrides the remedy chosen from the tier.
	Solution Solution
	// DetailEN and DetailZH describe what the video shows, in the buyer's
	// words ("The leather is torn on the sleeve." / "袖子上的皮革破了。").
	// Detail is the same in whichever language the buyer wrote it (Chinese
	// when it holds Han characters, else English). A description given in
	// one language only goes into the other text too, quoted, with a note
	// of its language. Keep them short and factual.
	DetailEN string
	DetailZH string
	Detail   string
}

// details are the buyer's descriptions per language (opts): en and zh
// as written; a text only in the other language is quoted there.
func (o DisputeOptions) details() (en, zh string) {
	en, zh = strings.TrimSpace(o.DetailEN), strings.TrimSpace(o.DetailZH)
	if d := strings.TrimSpace(o.Detail); d != "" {
		if DetailLang(d) == "zh" {
			zh = strings.TrimSpace(zh + " " + d)
		} else {
			en = strings.TrimSpace(en + " " + d)
		}
	}
	return en, zh
}

// DetailLang is the language a buyer's description is taken to be
// written in: "zh" when it holds Han characters, else "en"; "" for none.
func DetailLang(d string) string {
	switch {
	case strings.TrimSpace(d) == "":
		return ""
	case strings.ContainsFunc(d, func(r rune) bool { return unicode.Is(unicode.Han, r) }):
		return "zh"
	}
	return "en"
}

// Message is a dispute message in both languages.
type Message struct {
	// EN and ZH each hold a short prose claim, a blank line, then the four
	// labelled fields; both end with a newline.
	EN string
	ZH string
	// Short is the English prose's first sentences, at most ShortMax
	// characters: the Home Assistant sensor's state and forms with a
	// character limit (the full text stays an attribute).
	Short string
}

// ShortMax is the longest Message.Short, in characters.
const ShortMax = 255

// shortOf is the leading sentences of prose that fit in ShortMax
// characters (the first cut there, ending "…", when even it does not).
func shortOf(prose string) string {
	var out string
	for _, s := range strings.SplitAfter(prose, ". ") {
		next := out + s
		if utf8.RuneCountInString(strings.TrimSpace(next)) > ShortMax {
			break
		}
		out = next
	}
	if out == "" {
		r := []rune(prose)
		return string(r[:ShortMax-1]) + "…"
	}
	return strings.TrimSpace(out)
}

// String is the English message, a blank line, then the Chinese one: the
// content of a bundle's dispute.txt.
func (m Message) String() string { return m.EN + "\n" + m.ZH }

// SplitMessage splits dispute.txt (English, a blank line, then Simplified
// Chinese) at the first paragraph whose first line holds a Han character,
// each part trimmed; without one, all is English.
func SplitMessage(s string) (en, zh string) {
	paras := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n")
	for i, p := range paras {
		first, _, _ := strings.Cut(strings.TrimSpace(p), "\n")
		if strings.ContainsFunc(first, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			return strings.TrimSpace(strings.Join(paras[:i], "\n\n")), strings.TrimSpace(strings.Join(paras[i:], "\n\n"))
		}
	}
	return strings.TrimSpace(s), ""
}

// kind is what the message is about.
type kind int

const (
	kindRecord       kind = iota // nothing to claim
	kindMissingItems             // whole items explain the deficit
	kindUnderweight              // deficit without a whole-item explanation
	kindMissingPart              // buyer reports a missing part the scale cannot see
	kindEmpty                    // packaging only
	kindWrong                    // wrong item
	kindCosmetic                 // cosmetic damage
	kindFunctional               // functional damage
	kindAllSeen                  // conclusive steps: every listed item taken out
	kindDisturbed                // a disturbed weigh-in, no conclusive steps
)

func kindOf(r result.Result) kind {
	switch r.IssueType {
	case IssueWrongItem:
		return kindWrong
	case IssueDamagedCosmetic:
		return kindCosmetic
	case IssueDamagedFunctional:
		return kindFunctional
	}
	if k, ok := stepsKind(r); ok {
		if k != kindMissingItems && r.IssueType == IssueMissingItem {
			return kindMissingPart
		}
		return k
	}
	switch r.Verdict {
	case result.VerdictEmpty:
		return kindEmpty
	case result.VerdictUnderweight:
		if len(r.MissingCandidates) > 0 {
			return kindMissingItems
		}
		return kindUnderweight
	}
	if r.IssueType == IssueMissingItem {
		return kindMissingPart
	}
	return kindRecord
}

func defaultSolution(k kind, tier int) Solution {
	switch tier {
	case 0:
		return SolutionNoAction
	case 1:
		return SolutionSmallPartialRefund
	case 2:
		switch k {
		case kindFunctional, kindCosmetic:
			return SolutionRepairOrReplacement
		case kindWrong:
			return SolutionReplacement
		}
		return SolutionPartRefundOrReplace
	}
	switch k {
	case kindEmpty:
		return SolutionFullRefundOrReshipment
	case kindWrong:
		return SolutionCorrectItemOrRefund
	case kindCosmetic, kindFunctional:
		return SolutionRefundOrReplacement
	case kindMissingPart:
		return SolutionPartRefundOrReplace
	}
	return SolutionRefundMissing
}

// Dispute writes the claim for a session result: English, then Simplified
// Chinese (Message.String). It reads the verdict fields, order reference,
// tracking number, marks and continuity of res.
func Dispute(res result.Result, opts DisputeOptions) (string, error) {
	m, err := Compose(res, opts)
	if err != nil {
		return "", err
	}
	return m.String(), nil
}

// Compose is Dispute with the two languages apart. To regenerate a message
// after the buyer overrides the issue type or severity, Evaluate again with
// the new Input, Apply to the result and Compose; a solution override goes
// in opts.
func Compose(res result.Result, opts DisputeOptions) (Message, error) {
	if err := checkResult(res, opts); err != nil {
		return Message{}, err
	}
	k := kindOf(res)
	sol := opts.Solution
	if sol == SolutionDefault {
		sol = defaultSolution(k, res.Tier)
	}
	plural := true
	if len(res.MissingCandidates) > 0 {
		plural = len(res.MissingCandidates[0].Items) > 1
	}
	d := disputeData{res: res, opts: opts, kind: k, sol: sol, plural: plural,
		alts: ambiguousSet(res.MissingCandidates, res.ToleranceG)}
	en := d.english()
	prose, _, _ := strings.Cut(en, "\n\n")
	return Message{EN: en, ZH: d.chinese(), Short: shortOf(prose)}, nil
}

func checkResult(r result.Result, opts DisputeOptions) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidResult}, args...)...))
	}
	if !slices.Contains(result.Verdicts, r.Verdict) {
		bad("verdict %q is not one of %v", r.Verdict, result.Verdicts)
	}
	if r.Tier < 0 || r.Tier > 3 {
		bad("tier must be 0 to 3, got %d", r.Tier)
	}
	if !finite(r.MeasuredG) || r.MeasuredG <= 0 || r.MeasuredG > MaxWeightG {
		bad("measured_g must be greater than 0 and at most %d g, got %v", MaxWeightG, r.MeasuredG)
	}
	if (r.LabelG == nil) != (r.Verdict == result.VerdictNoLabelWeight) {
		bad("label_g and verdict disagree (label_g set: %v, verdict %q)", r.LabelG != nil, r.Verdict)
	}
	if r.LabelG != nil && (!finite(*r.LabelG) || *r.LabelG <= 0 || *r.LabelG > MaxWeightG) {
		bad("label_g must be greater than 0 and at most %d g, got %v", MaxWeightG, *r.LabelG)
	}
	if _, err := ParseIssueType(r.IssueType); err != nil || strings.TrimSpace(r.IssueType) != r.IssueType {
		bad("issue_type %q is not one of %v", r.IssueType, IssueTypes)
	}
	if !slices.Contains(ExteriorConditions, r.ExteriorCondition) {
		bad("exterior_condition %q is not one of %v", r.ExteriorCondition, ExteriorConditions)
	}
	for i, m := range r.Marks {
		if !finite(m.TS) || m.TS < 0 {
			bad("marks[%d].t_s must be a time in seconds from 0, got %v", i, m.TS)
		}
	}
	for i, c := range r.MissingCandidates {
		if len(c.Items) == 0 || !finite(c.TotalG) || !finite(c.ResidualG) {
			bad("missing_candidates[%d] is malformed: %+v", i, c)
		}
	}
	if opts.Solution != SolutionDefault && !slices.Contains(Solutions, opts.Solution) {
		bad("solution %q is not one of %v", opts.Solution, Solutions)
	}
	for _, s := range []struct{ name, v string }{{"detail_en", opts.DetailEN}, {"detail_zh", opts.DetailZH}, {"detail", opts.Detail}, {"order_ref", r.OrderRef}, {"tracking", r.Tracking}} {
		if len(s.v) > 500 || vocab.HasRefused(s.v) {
			bad("%s must be at most 500 bytes without control or invisible characters", s.name)
		}
	}
	return errors.Join(errs...)
}

type disputeData struct {
	res    result.Result
	opts   DisputeOptions
	kind   kind
	sol    Solution
	plural bool
	alts   []result.MissingCandidate
}

// FormatTimestamp writes a video time as m:ss (minutes may exceed 59:
// "75:03"). Fractions are cut, not rounded, so the timestamp never points
// past the moment; NaN and negative times give "0:00".
func FormatTimestamp(seconds float64) string {
	if !(seconds > 0) {
		return "0:00"
	}
	if seconds > 1e9 {
		seconds = 1e9
	}
	s := int64(math.Floor(seconds))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// itemsEN names a candidate, its names quoted as given: "Leather jacket"
// (505 g), or for several items "Sneakers" and "Belt" (1330 g in total).
func itemsEN(c result.MissingCandidate) string {
	q := make([]string, len(c.Items))
	for i, n := range c.Items {
		q[i] = quoteEN(n)
	}
	if len(q) == 1 {
		return fmt.Sprintf("%s (%s g)", q[0], grams(c.TotalG))
	}
	return fmt.Sprintf("%s (%s g in total)", joinEN(q), grams(c.TotalG))
}

// roundingKnown: the carrier's rounding came from the parcel (registry or
// buyer), not from the station's default.
func (d disputeData) roundingKnown() bool {
	return d.res.LabelResolutionG > 0 && d.res.LabelResolutionFrom == result.ResolutionFromParcel
}

// recorded is the session's date and time as the manifest has it
// ("2026-11-26 10:15 UTC"), "" when unknown.
func (d disputeData) recorded() string {
	t, err := time.Parse(time.RFC3339, d.res.StartedAt)
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// damage: the claim is about damage (a repair makes sense).
func (d disputeData) damage() bool { return d.kind == kindCosmetic || d.kind == kindFunctional }

func alternativesEN(cs []result.MissingCandidate) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = itemsEN(c)
	}
	return strings.Join(parts, " or ")
}

func joinEN(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// itemsZH: “Leather jacket”（505 克）, or “Sneakers”和“Belt”（共 1330 克）.
func itemsZH(c result.MissingCandidate) string {
	q := make([]string, len(c.Items))
	for i, n := range c.Items {
		q[i] = quoteZH(n)
	}
	if len(q) == 1 {
		return fmt.Sprintf("%s（%s 克）", q[0], grams(c.TotalG))
	}
	return fmt.Sprintf("%s和%s（共 %s 克）", strings.Join(q[:len(q)-1], "、"), q[len(q)-1], grams(c.TotalG))
}

func alternativesZH(cs []result.MissingCandidate) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = itemsZH(c)
	}
	return strings.Join(parts, "或")
}

// videoFiles reports whether the marks point into more than one file, in
// which case each timestamp names its file.
// allowedRange is the band [label − resolution − tolerance, label +
// tolerance] as the evidence states it, from the Result's rounded figures.
// The caller checks LabelG is set.
func (d disputeData) allowedRange() (lo, hi float64) {
	r := d.res
	return *r.LabelG - r.LabelResolutionG - r.ToleranceG, *r.LabelG + r.ToleranceG
}

func (d disputeData) manyFiles() bool {
	for _, m := range d.res.Marks {
		if m.File != d.res.Marks[0].File {
			return true
		}
	}
	return false
}

func signed(v float64) string {
	s := grams(v)
	if !strings.HasPrefix(s, "-") && s != "0" {
		s = "+" + s
	}
	return s
}

func signedPct(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if s == "-0.0" {
		s = "0.0"
	}
	if !strings.HasPrefix(s, "-") && s != "0.0" {
		s = "+" + s
	}
	return s
}

func (d disputeData) continuous() bool {
	c := d.res.Continuity
	return c.Frames > 0 && len(c.Gaps) == 0 && c.DurationS > 0 && !d.cutShort() && len(c.Resumed) == 0
}

// cutShort: the recording ended because it could not be written any more
// (a full disk): the video holds only what was written before.
func (d disputeData) cutShort() bool {
	return d.res.StopReason == result.StopWriteFailed || d.res.Continuity.Dropped["write_failed"] > 0
}
