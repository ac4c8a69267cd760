package verdict

import (
	"fmt"
	"math"
	"strings"

	"weighin/internal/result"
	"weighin/internal/steps"
)

// The unpacking, weighed (issue 22). While the buyer takes the items out on
// camera, internal/steps measures each one as a step of the weight and
// matches the steps to the registered items. DecideSteps then chooses the
// evidence: the measured steps when they are conclusive, else the total
// weight of the unopened parcel against its label (Evaluate's inference),
// and says which (result.Matching.Basis, Outcome.Basis, the claim). A
// weigh-in with motion on the platform (a hand on the parcel) is never a
// clean verdict: without conclusive steps its weight supports no claim.
//
// The steps are conclusive when all of these hold (else Matching.Reason
// names the first that failed):
//
//   - items are registered (ReasonNoItems) and at least one step matched
//     an item (ReasonNoSteps);
//   - the recording ended on a settled weight (ReasonNotSettled);
//   - no matched step fits another item as well (ReasonAmbiguous);
//   - if an item was never taken out: no unmatched step took out half its
//     weight or more (it might have been that item, off its registered
//     weight: ReasonUnmatchedStep), the label weight is known
//     (ReasonNoLabel), and the packaging (the weigh-in less the items
//     measured out) lies in the label's band less every registered item,
//     [label − Σitems − r − t, label − Σitems + t] — so the items never
//     taken out are not still in the box (ReasonItemsInside).
//
// Conclusive steps decide: the items never taken out are missing (tier 3,
// whole items), or every registered item came out (no weight-based claim).

// Bases added by the steps.
const (
	// BasisMeasuredSteps: the measured steps decided.
	BasisMeasuredSteps Basis = "measured_steps"
	// BasisDisturbed: the weigh-in was disturbed and no conclusive steps
	// replace it: no weight-based claim.
	BasisDisturbed Basis = "weighin_disturbed"
)

// Reasons the steps were not conclusive (result.Matching.Reason); "" when
// they were.
const (
	ReasonNoItems       = "no_items"
	ReasonNoSteps       = "no_steps"
	ReasonNotSettled    = "not_settled"
	ReasonAmbiguous     = "ambiguous"
	ReasonUnmatchedStep = "unmatched_step"
	ReasonNoLabel       = "no_label"
	ReasonItemsInside   = "items_inside"
)

var reasonEN = map[string]string{
	ReasonNoItems:       "no item list was registered",
	ReasonNoSteps:       "no listed item was seen taken out",
	ReasonNotSettled:    "the weight was still moving when the recording ended",
	ReasonAmbiguous:     "a step fits more than one listed item",
	ReasonUnmatchedStep: "a step matches no listed item",
	ReasonNoLabel:       "without a label weight the packaging cannot be checked",
	ReasonItemsInside:   "what was left may still hold the items not taken out",
}

var reasonZH = map[string]string{
	ReasonNoItems:       "没有登记商品清单",
	ReasonNoSteps:       "开箱时没有测到取出清单上的商品",
	ReasonNotSettled:    "录像结束时重量仍未稳定",
	ReasonAmbiguous:     "有一次取出的重量与不止一件商品相符",
	ReasonUnmatchedStep: "有一次取出的重量与清单上的商品都不相符",
	ReasonNoLabel:       "面单上没有重量，无法核对包装重量",
	ReasonItemsInside:   "剩下的重量表明未取出的商品可能仍在包裹里",
}

// Unpacking is what the recording measured: the steps and their matching
// (internal/steps), and whether the weigh-in was disturbed
// (internal/motion).
type Unpacking struct {
	// Steps and Matching come from steps.Match; Matching nil means no step
	// detection ran (the steps say nothing).
	Steps    []result.Step
	Matching *result.Matching
	// WeighinDisturbed: motion in the platform region during the weigh-in.
	WeighinDisturbed bool
}

// MeasureSteps matches what the step detector saw during the recording to
// the parcel's items, with p's tolerance (tolerance_g, tolerance_pct of the
// items' weight), and returns the Unpacking for DecideSteps.
func MeasureSteps(det steps.Detection, items []Item, p Params, disturbed bool) (Unpacking, error) {
	si := make([]steps.Item, len(items))
	for i, it := range items {
		si[i] = steps.Item{Name: it.Name, WeightG: it.WeightG}
	}
	st, m, err := steps.Match(det, si, steps.MatchOpts{ToleranceG: p.ToleranceG, TolerancePct: p.TolerancePct})
	if err != nil {
		return Unpacking{}, err
	}
	return Unpacking{Steps: st, Matching: &m, WeighinDisturbed: disturbed}, nil
}

// Apply writes the unpacking's schema-2 fields into r.
func (u Unpacking) Apply(r *result.Result) {
	r.Steps = append([]result.Step(nil), u.Steps...)
	if u.Matching != nil {
		m := *u.Matching
		r.Matching = &m
	}
	r.WeighinDisturbed = u.WeighinDisturbed
}

// DecideSteps applies the steps to an Outcome of Evaluate(p, in): it fills
// in the Matching's Conclusive, Basis, Reason and ExpectedPackagingG and,
// when the steps are conclusive or the weigh-in was disturbed, re-decides
// the weight-based tier, the candidates and the summary. in must be the
// Input o was evaluated from.
func DecideSteps(p Params, in Input, o Outcome, u Unpacking) (Outcome, Unpacking) {
	if u.Matching != nil {
		m := *u.Matching
		u.Matching = &m
		m.ExpectedPackagingG = nil
		if in.LabelG != nil && len(in.Items) > 0 {
			sum := 0.0
			for _, it := range in.Items {
				sum += it.WeightG
			}
			m.ExpectedPackagingG = ptr(round2(*in.LabelG - sum))
		}
		m.Reason = conclusive(p, in, u.Steps, &m)
		m.Conclusive = m.Reason == ""
		m.Basis = result.BasisTotal
		if m.Conclusive {
			m.Basis = result.BasisSteps
		}
	}
	switch {
	case u.Matching != nil && u.Matching.Conclusive:
		m := u.Matching
		o.Basis = BasisMeasuredSteps
		o.Ambiguous = false
		o.MissingCandidates = []result.MissingCandidate{}
		o.WeightTier = 0
		if len(m.NeverSeen) > 0 {
			total := 0.0
			for _, s := range m.Items {
				if s.State == result.ItemNeverSeen {
					total += s.WeightG
				}
			}
			res := 0.0
			if in.LabelG != nil {
				res = *in.LabelG - in.MeasuredG - total
			}
			o.MissingCandidates = []result.MissingCandidate{{Items: append([]string(nil), m.NeverSeen...), TotalG: round2(total), ResidualG: round2(res)}}
			o.WeightTier = 3
		}
		o.Summary = stepsSummary(u)
	case u.WeighinDisturbed:
		o.Basis = BasisDisturbed
		o.WeightTier = 0
		o.Summary = fmt.Sprintf("weigh-in disturbed (motion on the platform) — %s g is not a clean weigh-in; no claim from it", wholeGrams(in.MeasuredG))
		if u.Matching != nil {
			o.Summary += "; steps not conclusive: " + reasonEN[u.Matching.Reason]
		}
	case u.Matching != nil:
		o.Summary += " (total weight; steps not conclusive: " + reasonEN[u.Matching.Reason] + ")"
	}
	o.IssueTier = issueTier(o.IssueType, o.WeightTier)
	if !o.Overridden {
		o.Tier = max(o.WeightTier, o.IssueTier)
	}
	return o, u
}

// conclusive returns "" when the steps decide, else the reason they do not.
func conclusive(p Params, in Input, steps []result.Step, m *result.Matching) string {
	if len(in.Items) == 0 {
		return ReasonNoItems
	}
	matched := false
	for _, s := range steps {
		matched = matched || len(s.Items) > 0
	}
	switch {
	case !matched:
		return ReasonNoSteps
	case !m.EndedSettled:
		return ReasonNotSettled
	}
	for _, s := range steps {
		if s.Ambiguous {
			return ReasonAmbiguous
		}
	}
	if len(m.NeverSeen) == 0 {
		return ""
	}
	lightest := math.Inf(1)
	for _, s := range m.Items {
		if s.State == result.ItemNeverSeen {
			lightest = math.Min(lightest, s.WeightG)
		}
	}
	for _, s := range steps {
		if len(s.Items) == 0 && s.Kind == result.StepRemoved && -s.DeltaG >= lightest/2 {
			return ReasonUnmatchedStep
		}
	}
	if in.LabelG == nil || m.ExpectedPackagingG == nil {
		return ReasonNoLabel
	}
	r := p.LabelResolutionG
	if in.LabelResolutionG != nil {
		r = *in.LabelResolutionG
	}
	t := p.Tolerance(*in.LabelG)
	exp := *m.ExpectedPackagingG
	if m.PackagingG < exp-r-t || m.PackagingG > exp+t {
		return ReasonItemsInside
	}
	return ""
}

func stepsSummary(u Unpacking) string {
	m := u.Matching
	var b strings.Builder
	b.WriteString("measured while unpacking — ")
	if len(m.NeverSeen) > 0 {
		var ns []string
		for _, s := range m.Items {
			if s.State == result.ItemNeverSeen {
				ns = append(ns, fmt.Sprintf("%s (%s g)", s.Name, grams(s.WeightG)))
			}
		}
		b.WriteString("never taken out: " + strings.Join(ns, ", "))
	} else {
		b.WriteString("every listed item taken out")
	}
	var out []string
	for _, s := range u.Steps {
		if len(s.Items) > 0 {
			out = append(out, fmt.Sprintf("%s %s g %s at %s", strings.Join(s.Items, "+"), grams(math.Abs(s.DeltaG)), map[bool]string{true: "out", false: "back"}[s.Kind == result.StepRemoved], FormatTimestamp(s.TS)))
		}
	}
	if len(out) > 0 {
		b.WriteString("; " + strings.Join(out, ", "))
	}
	fmt.Fprintf(&b, "; packaging %s g", grams(m.PackagingG))
	return b.String()
}

// stepsKind is the kind of claim the steps or a disturbed weigh-in make,
// for results that carry them (after the buyer's issue type).
func stepsKind(r result.Result) (kind, bool) {
	switch {
	case r.Matching != nil && r.Matching.Conclusive && len(r.Matching.NeverSeen) > 0:
		return kindMissingItems, true
	case r.Matching != nil && r.Matching.Conclusive:
		return kindAllSeen, true
	case r.WeighinDisturbed:
		return kindDisturbed, true
	}
	return 0, false
}

func (d disputeData) conclusiveSteps() bool {
	return d.res.Matching != nil && d.res.Matching.Conclusive
}

// quoteEN quotes an item name as given.
func quoteEN(name string) string { return "\"" + name + "\"" }

func quoteZH(name string) string { return "“" + name + "”" }

// stepSentenceEN is one step as a sentence of the prose.
func stepSentenceEN(s result.Step) string {
	w := grams(math.Abs(s.DeltaG)) + " g"
	at := FormatTimestamp(s.TS)
	q := make([]string, len(s.Items))
	for i, n := range s.Items {
		q[i] = quoteEN(n)
	}
	switch {
	case len(q) == 0 && s.Kind == result.StepRemoved:
		return w + " that matches no listed item came out at " + at + "."
	case len(q) == 0:
		return w + " was put in at " + at + "."
	case s.Kind == result.StepAdded:
		return joinEN(q) + " (" + w + ") went back in at " + at + "."
	case len(q) > 1:
		return joinEN(q) + " (" + w + ") came out together at " + at + "."
	}
	return q[0] + " (" + w + ") came out at " + at + "."
}

// stepPartsEN: ""Sneakers" 1118.4 g taken out at 0:41", ""Sneakers" and
// "Belt" 1330 g taken out together at 0:41", "45 g (no listed item) taken
// out at 0:12", ""Sneakers" 1118 g put back at 0:55".
func stepPartsEN(steps []result.Step) []string {
	var parts []string
	for _, s := range steps {
		w := grams(math.Abs(s.DeltaG)) + " g"
		verb := "taken out"
		if s.Kind == result.StepAdded {
			verb = "put back"
			if len(s.Items) == 0 {
				verb = "put in"
			}
		}
		at := " at " + FormatTimestamp(s.TS)
		switch len(s.Items) {
		case 0:
			parts = append(parts, w+" (no listed item) "+verb+at)
		case 1:
			parts = append(parts, quoteEN(s.Items[0])+" "+w+" "+verb+at)
		default:
			q := make([]string, len(s.Items))
			for i, n := range s.Items {
				q[i] = quoteEN(n)
			}
			parts = append(parts, joinEN(q)+" "+w+" "+verb+" together"+at)
		}
	}
	return parts
}

func stepPartsZH(steps []result.Step) []string {
	var parts []string
	for _, s := range steps {
		w := grams(math.Abs(s.DeltaG)) + " 克"
		verb := "取出"
		if s.Kind == result.StepAdded {
			verb = "放回"
			if len(s.Items) == 0 {
				verb = "放入"
			}
		}
		at := FormatTimestamp(s.TS) + " "
		switch len(s.Items) {
		case 0:
			parts = append(parts, at+verb+" "+w+"（不是清单上的商品）")
		case 1:
			parts = append(parts, at+verb+quoteZH(s.Items[0])+"，"+w)
		default:
			q := make([]string, len(s.Items))
			for i, n := range s.Items {
				q[i] = quoteZH(n)
			}
			parts = append(parts, at+"同时"+verb+strings.Join(q[:len(q)-1], "、")+"和"+q[len(q)-1]+"，共 "+w)
		}
	}
	return parts
}

// neverSeen lists the items no step took out, with their weights.
func (d disputeData) neverSeen() []result.ItemSeen {
	var out []result.ItemSeen
	if d.res.Matching == nil {
		return nil
	}
	for _, s := range d.res.Matching.Items {
		if s.State == result.ItemNeverSeen {
			out = append(out, s)
		}
	}
	return out
}

// maxProseSteps is the most steps the prose lists; more are only in the
// evidence list.
const maxProseSteps = 3

// stepsSentencesEN: what the scale measured while unpacking, the items never
// taken out, the packaging, and which evidence the claim rests on.
func (d disputeData) stepsSentencesEN() []string {
	r := d.res
	if r.Matching == nil || len(r.Steps) == 0 {
		return nil
	}
	s := []string{"The scale measured each step of the weight as I unpacked the parcel on camera."}
	if len(r.Steps) > maxProseSteps {
		s[0] = fmt.Sprintf("The scale measured %d steps of the weight as I unpacked the parcel on camera; they are listed below.", len(r.Steps))
	} else {
		for _, st := range r.Steps {
			s = append(s, stepSentenceEN(st))
		}
	}
	if ns := d.neverSeen(); len(ns) > 0 {
		parts := make([]string, len(ns))
		for i, it := range ns {
			parts[i] = "about " + grams(it.WeightG) + " g (" + quoteEN(it.Name) + ")"
		}
		s = append(s, "Nothing weighing "+strings.Join(parts, " or ")+" was ever taken out.")
	}
	if d.conclusiveSteps() {
		s = append(s, "The packaging weighed "+grams(r.Matching.PackagingG)+" g.", "These measured steps are the basis of this claim.")
	} else {
		s = append(s, "At the end, "+grams(r.Matching.EndG)+" g was left on the scale.")
		if len(r.Matching.Items) > 0 && !r.WeighinDisturbed {
			s = append(s, "This claim rests on the total weight, because "+reasonEN[r.Matching.Reason]+".")
		}
	}
	return s
}

func (d disputeData) stepsSentenceZH() string {
	r := d.res
	if r.Matching == nil || len(r.Steps) == 0 {
		return ""
	}
	s := "开箱全程录像，称重记录如下：" + strings.Join(stepPartsZH(r.Steps), "；") + "。"
	if len(r.Steps) > maxProseSteps {
		s = fmt.Sprintf("开箱全程录像，秤共测到 %d 次重量变化，详见下方证据。", len(r.Steps))
	}
	if ns := d.neverSeen(); len(ns) > 0 {
		parts := make([]string, len(ns))
		for i, it := range ns {
			parts[i] = "约 " + grams(it.WeightG) + " 克的物品（" + quoteZH(it.Name) + "）"
		}
		s += "始终没有取出过" + strings.Join(parts, "或") + "。"
	}
	if d.conclusiveSteps() {
		s += "包装材料重 " + grams(r.Matching.PackagingG) + " 克。以上开箱时的实测重量是本次索赔的依据。"
	} else {
		s += "最后秤上剩下 " + grams(r.Matching.EndG) + " 克。"
		if len(r.Matching.Items) > 0 && !r.WeighinDisturbed {
			s += "本次索赔依据的是未拆封包裹的总重量，因为" + reasonZH[r.Matching.Reason] + "。"
		}
	}
	return s
}

// stepsEvidenceEN: one evidence line per step, the items never taken out,
// the packaging and the basis.
func (d disputeData) stepsEvidenceEN() []string {
	r := d.res
	if r.Matching == nil {
		return nil
	}
	var ev []string
	for _, p := range stepPartsEN(r.Steps) {
		ev = append(ev, "Measured while unpacking: "+p+".")
	}
	for _, it := range d.neverSeen() {
		ev = append(ev, "Never taken out on camera: "+quoteEN(it.Name)+" ("+grams(it.WeightG)+" g).")
	}
	if d.conclusiveSteps() {
		ev = append(ev, "Packaging: "+grams(r.Matching.PackagingG)+" g.", "Basis: the weight steps measured while unpacking.")
	} else if len(r.Matching.Items) > 0 {
		ev = append(ev, "Basis: the total weight of the unopened parcel ("+reasonEN[r.Matching.Reason]+").")
	}
	return ev
}

func (d disputeData) stepsEvidenceZH() []string {
	r := d.res
	if r.Matching == nil {
		return nil
	}
	var ev []string
	for _, p := range stepPartsZH(r.Steps) {
		ev = append(ev, "开箱实测："+p+"。")
	}
	for _, it := range d.neverSeen() {
		ev = append(ev, "录像中始终没有取出："+quoteZH(it.Name)+"（"+grams(it.WeightG)+" 克）。")
	}
	if d.conclusiveSteps() {
		ev = append(ev, "包装材料："+grams(r.Matching.PackagingG)+" 克。", "依据：开箱时实测的重量变化。")
	} else if len(r.Matching.Items) > 0 {
		ev = append(ev, "依据：未拆封包裹的总重量（"+reasonZH[r.Matching.Reason]+"）。")
	}
	return ev
}

// disturbedEN and disturbedZH replace the weigh-in's figures when it was
// disturbed: the number is not presented as the unopened parcel's weight.
const (
	disturbedEN = "While the unopened parcel was weighed, something moved on the platform (a hand on the parcel), so that reading is not used as its weight."
	disturbedZH = "称未拆封包裹时，秤台上有移动（可能有手压在包裹上），因此这次读数不作为包裹的重量。"
)
