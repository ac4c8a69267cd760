package verdict

import (
	"fmt"
	"strings"

	"weighin/internal/result"
)

// english writes the English message: short sentences, no idioms, in the
// shape of the seed's effective example, then the four labelled fields.
func (d disputeData) english() string {
	r := d.res
	var b strings.Builder
	var s []string // sentences of the prose claim

	who := "My parcel"
	switch {
	case r.OrderRef != "":
		who = "Order " + orderRef(r.OrderRef)
	case r.Tracking != "":
		who = "The parcel with tracking number " + r.Tracking
	}
	s = append(s, who+" "+d.subjectEN()+".")
	switch en, zh := d.opts.details(); {
	case en != "":
		s = append(s, sentence(en))
	case zh != "":
		s = append(s, "My description, written in Chinese: “"+zh+"”.")
	}
	if x := exteriorEN[r.ExteriorCondition]; x != "" && r.ExteriorCondition != ExteriorIntact {
		s = append(s, "The outer box "+x+" on arrival.")
	}
	if d.weightInProse() {
		s = append(s, d.weightSentencesEN()...)
	}
	s = append(s, d.stepsSentencesEN()...)
	switch d.kind {
	case kindMissingItems:
		if d.conclusiveSteps() {
			break // the measured steps said it
		}
		if len(d.alts) > 1 {
			s = append(s, "The missing weight matches "+alternativesEN(d.alts)+".", "The weight alone cannot tell which.")
		} else {
			s = append(s, "The missing weight matches "+itemsEN(r.MissingCandidates[0])+".")
		}
	case kindUnderweight:
		s = append(s, "Part of the contents seems to be missing.")
	case kindEmpty:
		s = append(s, "This is about the weight of the packaging alone.")
	case kindMissingPart:
		s = append(s, "The missing part is too light to show on the scale.")
	case kindRecord:
		if r.Verdict == result.VerdictOverweight && !r.LeftoverLoad {
			s = append(s, "I will check whether a wrong item was sent.")
		}
	}
	if r.LeftoverLoad {
		s = append(s, leftoverEN)
	}
	if r.Interrupted {
		s = append(s, d.interruptedEN())
	}
	s = append(s, d.videoSentenceEN())
	if d.sol == SolutionNoAction {
		s = append(s, "No action is needed.")
	} else {
		s = append(s, "I am requesting "+d.solutionEN()+".")
	}
	b.WriteString(strings.Join(s, " "))
	b.WriteString("\n\n")

	ref := r.OrderRef
	if ref == "" {
		ref = "not known"
	}
	if r.Tracking != "" {
		ref += " (tracking number " + r.Tracking + ")"
	}
	fmt.Fprintf(&b, "Order Reference: %s\n", ref)
	fmt.Fprintf(&b, "Issue Type: %s\n", d.issueEN())
	b.WriteString("Evidence:\n")
	for _, e := range d.evidenceEN() {
		b.WriteString("- " + e + "\n")
	}
	if d.sol == SolutionNoAction {
		b.WriteString("Proposed Solution: No action is needed.\n")
	} else {
		fmt.Fprintf(&b, "Proposed Solution: I request %s.\n", d.solutionEN())
	}
	return b.String()
}

func orderRef(ref string) string {
	if strings.HasPrefix(ref, "#") {
		return ref
	}
	return "#" + ref
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:] // the buyer's text begins a sentence
	}
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "。") {
		return s
	}
	return s + "."
}

var exteriorEN = map[string]string{
	ExteriorIntact:  "was intact",
	ExteriorCrushed: "was crushed",
	ExteriorWet:     "was wet",
	ExteriorRetaped: "had been opened and taped again",
	ExteriorTorn:    "was torn",
}

func (d disputeData) subjectEN() string {
	r := d.res
	switch d.kind {
	case kindMissingItems:
		if d.plural {
			return "arrived with items missing"
		}
		return "arrived with an item missing"
	case kindUnderweight:
		return "arrived underweight"
	case kindMissingPart:
		return "arrived with a part missing"
	case kindEmpty:
		return "arrived empty"
	case kindWrong:
		return "arrived with a wrong item"
	case kindCosmetic:
		return "arrived with cosmetic damage"
	case kindFunctional:
		return "arrived damaged"
	case kindAllSeen:
		return "arrived. Every listed item was taken out on camera"
	case kindDisturbed:
		return "arrived. Its weigh-in was disturbed"
	}
	switch r.Verdict {
	case result.VerdictOverweight:
		return "arrived heavier than the label weight"
	case result.VerdictNoLabelWeight:
		return "arrived. No label weight was entered, so its weight is not compared"
	}
	return "arrived. Its weight matches the label"
}

// weightInProse: the figures belong in the prose when the weigh-in is the
// claim, or when it adds to a damage or wrong-item claim.
func (d disputeData) weightInProse() bool {
	switch d.kind {
	case kindMissingItems, kindUnderweight, kindEmpty, kindRecord, kindAllSeen, kindDisturbed:
		return true
	}
	return d.res.Verdict == result.VerdictUnderweight || d.res.Verdict == result.VerdictOverweight || d.res.Verdict == result.VerdictEmpty
}

// leftoverEN is said of a forced start over a platform that had not
// returned to empty (result.LeftoverLoad).
const leftoverEN = "The platform was not empty before this weighing, which was started anyway: the weight may include something left on it."

func (d disputeData) weightSentencesEN() []string {
	r := d.res
	m := grams(r.MeasuredG)
	if r.LabelG == nil && r.WeighinDisturbed {
		return []string{disturbedEN}
	}
	if r.LabelG == nil {
		return []string{"The parcel weighed " + m + " g on arrival."}
	}
	out := []string{"The label weight is " + grams(*r.LabelG) + " g."}
	if r.WeighinDisturbed {
		return append(out, disturbedEN)
	}
	delta := r.MeasuredG - *r.LabelG
	switch r.Verdict {
	case result.VerdictUnderweight, result.VerdictEmpty:
		out = append(out, fmt.Sprintf("The parcel weighed %s g on arrival, %s g less.", m, grams(-delta)))
	case result.VerdictOverweight:
		out = append(out, fmt.Sprintf("The parcel weighed %s g on arrival, %s g more.", m, grams(delta)))
	default:
		out = append(out, "The parcel weighed "+m+" g on arrival.")
	}
	return out
}

func (d disputeData) videoSentenceEN() string {
	ms := d.res.Marks
	if len(ms) == 0 {
		return "Please see the attached unboxing video."
	}
	if d.manyFiles() {
		parts := make([]string, len(ms))
		for i, m := range ms {
			parts[i] = FormatTimestamp(m.TS) + " in " + m.File
		}
		return "Please see the attached unboxing videos at " + joinEN(parts) + "."
	}
	ts := make([]string, len(ms))
	for i, m := range ms {
		ts[i] = FormatTimestamp(m.TS)
	}
	if len(ts) == 1 {
		return "Please see the attached unboxing video at timestamp " + ts[0] + "."
	}
	return "Please see the attached unboxing video at timestamps " + joinEN(ts) + "."
}

func (d disputeData) solutionEN() string {
	if d.sol == SolutionRepairRefund && !d.damage() {
		return "a partial refund"
	}
	t := solutions[d.sol]
	if d.plural && t.enPlural != "" {
		return t.enPlural
	}
	return t.en
}

func (d disputeData) issueEN() string {
	switch d.kind {
	case kindMissingItems, kindUnderweight:
		return "Missing Item"
	case kindMissingPart:
		return "Missing Item (a part)"
	case kindEmpty:
		return "Missing Item (empty parcel)"
	case kindWrong:
		return "Wrong Item"
	case kindCosmetic:
		return "Damaged Item (cosmetic)"
	case kindFunctional:
		return "Damaged Item (functional)"
	}
	return "None"
}

func (d disputeData) evidenceEN() []string {
	r := d.res
	var ev []string
	if r.SessionID != "" {
		e := "Session " + r.SessionID
		if at := d.recorded(); at != "" {
			e += ", recorded " + at
			if !r.ClockSynced {
				e += " (the station's clock was not synchronised)"
			}
		}
		ev = append(ev, e+".")
	}
	if r.LabelG == nil {
		ev = append(ev, "Label weight: not entered.")
	} else if d.roundingKnown() {
		ev = append(ev, fmt.Sprintf("Label weight: %s g (the carrier rounds up to %s g).", grams(*r.LabelG), grams(r.LabelResolutionG)))
	} else {
		ev = append(ev, fmt.Sprintf("Label weight: %s g.", grams(*r.LabelG)))
	}
	mw := fmt.Sprintf("Weight of the unopened parcel on arrival: %s g.", grams(r.MeasuredG))
	if !r.MeasuredStable {
		mw += " The reading was not fully stable."
	}
	if r.WeighinDisturbed {
		mw = fmt.Sprintf("Weigh-in of the unopened parcel: %s g, disturbed by motion on the platform; not used as its weight.", grams(r.MeasuredG))
	}
	if r.LeftoverLoad {
		mw += " " + leftoverEN
	}
	ev = append(ev, mw)
	if r.LabelG != nil && r.DeltaG != nil && r.DeltaPct != nil && !r.WeighinDisturbed {
		lo, hi := d.allowedRange()
		ev = append(ev, fmt.Sprintf("Difference: %s g (%s %%). Allowed range: %s g to %s g.", signed(*r.DeltaG), signedPct(*r.DeltaPct), grams(lo), grams(hi)))
	}
	switch {
	case d.conclusiveSteps() || r.WeighinDisturbed:
		ev = append(ev, d.stepsEvidenceEN()...)
	case r.Verdict == result.VerdictEmpty:
		ev = append(ev, "The weight is about the packaging alone.")
	case len(d.alts) > 1:
		parts := make([]string, len(d.alts))
		for i, c := range d.alts {
			parts[i] = itemsEN(c)
		}
		ev = append(ev, "Possibly missing (the weight fits each equally): "+strings.Join(parts, "; or ")+".")
	case len(r.MissingCandidates) > 0:
		ev = append(ev, "Most likely missing: "+itemsEN(r.MissingCandidates[0])+".")
	}
	if !d.conclusiveSteps() && !r.WeighinDisturbed {
		ev = append(ev, d.stepsEvidenceEN()...)
	}
	if x := exteriorEN[r.ExteriorCondition]; x != "" {
		ev = append(ev, "Outer box: "+strings.TrimPrefix(strings.TrimPrefix(x, "was "), "had been ")+".")
	}
	label := "The shipping label is at the start of the video but was not read automatically."
	switch r.LabelRead {
	case result.LabelReadBarcode:
		label = "The shipping label is shown at the start of the video; the station read its barcode."
	case result.LabelReadBuyer:
		label = "The shipping label is shown at the start of the video."
	}
	if r.Tracking != "" {
		label = "Tracking number " + r.Tracking + ". " + label
	}
	ev = append(ev, label)
	for _, m := range r.Marks {
		e := "Please see the attached unboxing video"
		if d.manyFiles() {
			e += " " + m.File
		}
		e += " at timestamp " + FormatTimestamp(m.TS)
		if l := markLabelEN(m.Label); l != "" {
			e += " (" + l + ")"
		}
		ev = append(ev, e+".")
	}
	if len(r.Marks) == 0 {
		ev = append(ev, "Please see the attached unboxing video.")
	}
	switch {
	case r.Interrupted:
		ev = append(ev, d.interruptedEN())
	case d.continuous():
		ev = append(ev, "The video is one continuous recording of "+FormatTimestamp(r.Continuity.DurationS)+", without cuts.")
	}
	for _, p := range r.Continuity.Resumed {
		ev = append(ev, fmt.Sprintf("The recording paused after no activity on the scale; %s went unrecorded before the buyer's press continued it in %s, %s after the recording began.",
			FormatTimestamp(p.PausedS), p.File, FormatTimestamp(p.AtS)))
	}
	if d.cutShort() {
		ev = append(ev, "The recording ended early, at "+FormatTimestamp(r.Continuity.DurationS)+", because the station could not write to its storage; the video shows what was recorded until then.")
	}
	return ev
}

// interruptedEN says the recording was cut, and how much video there is.
func (d disputeData) interruptedEN() string {
	if c := d.res.Continuity; c.DurationS > 0 {
		return "The recording was interrupted (a power cut or a crash of the station) after " + FormatTimestamp(c.DurationS) + " of video."
	}
	return "The recording was interrupted (a power cut or a crash of the station); the length of its video was not known when this was written."
}

// markLabelEN is a mark's label for the English text: the station's own
// ("mark 2") as it is, the buyer's quoted as given.
func markLabelEN(label string) string {
	l := strings.TrimSpace(label)
	if l == "" || stationMark(l) {
		return l
	}
	return quoteEN(l)
}

// stationMark: l is one of the station's own mark labels ("mark 2").
func stationMark(l string) bool {
	n, ok := strings.CutPrefix(l, "mark ")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}
