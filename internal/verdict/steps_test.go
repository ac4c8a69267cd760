package verdict

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"weighin/internal/result"
	"weighin/internal/steps"
)

// unpack runs the real step detector and matcher over a clean synthetic
// recording: start grams until the first change, then each level from its
// time (seconds) on, 10 SPS, until end.
func unpack(t *testing.T, items []Item, start float64, levels [][2]float64, end float64) (result.Matching, []result.Step) {
	t.Helper()
	d, err := steps.New(steps.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; float64(i)/10 <= end; i++ {
		ts := float64(i) / 10
		g := start
		for _, l := range levels {
			if ts >= l[0] {
				g = l[1]
			}
		}
		if err := d.Add(ts, g); err != nil {
			t.Fatal(err)
		}
	}
	u, err := MeasureSteps(d.Result(), items, DefaultParams(), false)
	if err != nil {
		t.Fatal(err)
	}
	return *u.Matching, u.Steps
}

func TestDecideSteps(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		start      float64
		levels     [][2]float64
		disturbed  bool
		noSteps    bool // no detector ran
		conclusive bool
		reason     string
		basis      Basis
		tier       int
		missing    []string
		en, zh     []string // substrings of the messages
		notEN      []string
	}{
		{
			name:  "issue: sneakers and belt out, jacket never seen",
			in:    Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
			start: 1840, levels: [][2]float64{{41, 720}, {65, 510}},
			conclusive: true, basis: BasisMeasuredSteps, tier: 3, missing: []string{"Leather jacket"},
			en: []string{`"Sneakers" (1120 g) came out at 0:41. "Belt" (210 g) came out at 1:05.`, `Measured while unpacking: "Sneakers" 1120 g taken out at 0:41.`, `Nothing weighing about 505 g ("Leather jacket") was ever taken out.`, "The packaging weighed 510 g.", "These measured steps are the basis of this claim.", "Basis: the weight steps measured while unpacking."},
			zh: []string{"0:41 取出“Sneakers”，1120 克；1:05 取出“Belt”，210 克", "始终没有取出过约 505 克的物品（“Leather jacket”）", "包装材料重 510 克"},
		},
		{
			name:  "an item put back, then out again",
			in:    Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
			start: 1840, levels: [][2]float64{{20, 720}, {30, 1840}, {40, 720}, {50, 510}},
			conclusive: true, basis: BasisMeasuredSteps, tier: 3, missing: []string{"Leather jacket"},
			en: []string{"measured 4 steps of the weight as I unpacked the parcel on camera; they are listed below.", `Measured while unpacking: "Sneakers" 1120 g put back at 0:30.`},
			zh: []string{"秤共测到 4 次重量变化", "0:30 放回“Sneakers”，1120 克"},
		},
		{
			name:  "two items out together",
			in:    Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
			start: 1840, levels: [][2]float64{{30, 510}},
			conclusive: true, basis: BasisMeasuredSteps, tier: 3, missing: []string{"Leather jacket"},
			en: []string{`"Sneakers" and "Belt" (1330 g) came out together at 0:30.`, `"Sneakers" and "Belt" 1330 g taken out together at 0:30`},
			zh: []string{"0:30 同时取出“Sneakers”和“Belt”，共 1330 克"},
		},
		{
			name:  "every item out: no weight-based claim",
			in:    Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, Items: demoItems},
			start: 2346, levels: [][2]float64{{20, 1226}, {30, 1016}, {40, 511}},
			conclusive: true, basis: BasisMeasuredSteps, tier: 0,
			en: []string{"Every listed item was taken out on camera", "No action is needed."},
			zh: []string{"清单上的每件商品都在录像中取出了"},
		},
		{
			name:  "the jacket never taken out but still inside: total weight decides",
			in:    Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, Items: demoItems},
			start: 2346, levels: [][2]float64{{20, 1226}},
			reason: ReasonItemsInside, basis: BasisNoClaim, tier: 0,
			en: []string{"At the end, 1226 g was left on the scale.", "This claim rests on the total weight, because what was left may still hold the items not taken out."},
			zh: []string{"本次索赔依据的是未拆封包裹的总重量"},
		},
		{
			name:  "unregistered parcel: steps listed, nothing matched",
			in:    Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true},
			start: 1840, levels: [][2]float64{{41, 720}, {65, 510}},
			reason: ReasonNoItems, basis: BasisShareOfLabel, tier: 2,
			en: []string{"1120 g that matches no listed item came out at 0:41.", "1120 g (no listed item) taken out at 0:41", "At the end, 510 g was left on the scale."},
			zh: []string{"0:41 取出 1120 克（不是清单上的商品）"},
		},
		{
			name:      "a hand during the weigh-in, no conclusive steps: no claim from that weight",
			in:        Input{LabelG: f(2350), MeasuredG: 1990, MeasuredStable: true, Items: demoItems},
			noSteps:   true,
			disturbed: true, basis: BasisDisturbed, tier: 0,
			en:    []string{"Its weigh-in was disturbed", disturbedEN, "disturbed by motion on the platform; not used as its weight"},
			zh:    []string{"称重时受到了干扰", disturbedZH},
			notEN: []string{"on arrival, ", "Most likely missing", "Difference:"},
		},
		{
			name:  "a hand during the weigh-in, conclusive steps decide",
			in:    Input{LabelG: f(2350), MeasuredG: 1990, MeasuredStable: true, Items: demoItems},
			start: 1840, levels: [][2]float64{{41, 720}, {65, 510}},
			disturbed: true, conclusive: true, basis: BasisMeasuredSteps, tier: 3, missing: []string{"Leather jacket"},
			en:    []string{disturbedEN, "These measured steps are the basis of this claim."},
			notEN: []string{"Difference:"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			o, err := Evaluate(p, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			u := Unpacking{WeighinDisturbed: tc.disturbed}
			if !tc.noSteps {
				m, st := unpack(t, tc.in.Items, tc.start, tc.levels, 90)
				u.Matching, u.Steps = &m, st
			}
			o, u = DecideSteps(p, tc.in, o, u)
			if u.Matching != nil && (u.Matching.Conclusive != tc.conclusive || u.Matching.Reason != tc.reason) {
				t.Errorf("conclusive %v reason %q, want %v %q (matching %+v)", u.Matching.Conclusive, u.Matching.Reason, tc.conclusive, tc.reason, *u.Matching)
			}
			if o.Basis != tc.basis || o.Tier != tc.tier {
				t.Errorf("basis %s tier %d, want %s %d (%s)", o.Basis, o.Tier, tc.basis, tc.tier, o.Summary)
			}
			if tc.missing != nil && (len(o.MissingCandidates) != 1 || strings.Join(o.MissingCandidates[0].Items, ",") != strings.Join(tc.missing, ",")) {
				t.Errorf("candidates %+v, want %v", o.MissingCandidates, tc.missing)
			}
			r := result.Result{Schema: result.Schema, OrderRef: "12345", Marks: oneMark, Continuity: continuity}
			o.Apply(&r)
			u.Apply(&r)
			msg, err := Compose(r, DisputeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkStyle(t, msg)
			checkLanguages(t, msg)
			for _, w := range tc.en {
				if !strings.Contains(msg.EN, w) {
					t.Errorf("English lacks %q:\n%s", w, msg.EN)
				}
			}
			for _, w := range tc.notEN {
				if strings.Contains(msg.EN, w) {
					t.Errorf("English has %q:\n%s", w, msg.EN)
				}
			}
			for _, w := range tc.zh {
				if !strings.Contains(msg.ZH, w) {
					t.Errorf("Chinese lacks %q:\n%s", w, msg.ZH)
				}
			}
			if testing.Verbose() {
				t.Logf("%s\n%s\n%s", o.Summary, msg.EN, msg.ZH)
			}
		})
	}
}

var quotedZH = regexp.MustCompile(`“[^”]*”|#12345|video\.mkv`)

// checkLanguages: each message is wholly in its language. The English has
// no Han characters; the Chinese has no Latin letters outside the quoted
// item names and the order reference.
func checkLanguages(t *testing.T, m Message) {
	t.Helper()
	for _, r := range m.EN {
		if unicode.Is(unicode.Han, r) {
			t.Errorf("English message holds %q:\n%s", r, m.EN)
			break
		}
	}
	rest := quotedZH.ReplaceAllString(m.ZH, "")
	for _, r := range rest {
		if r < 0x80 && unicode.IsLetter(r) {
			t.Errorf("Chinese message holds the Latin letter %q outside quoted names:\n%s", r, rest)
			break
		}
	}
}

func TestFormatGrams(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{1118, "1118"}, {1118.4, "1118.4"}, {1118.04, "1118"}, {-0.01, "0"}, {207.96, "208"}} {
		if got := grams(c.v); got != c.want {
			t.Errorf("grams(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// FuzzDecideSteps: random unpackings of a random parcel, weigh-in disturbed
// or not. The claim always composes, each language stays in its own, the
// tier is 0–3, conclusive steps name exactly the items never seen, and a
// disturbed weigh-in without conclusive steps claims nothing by weight.
func FuzzDecideSteps(f *testing.F) {
	f.Add([]byte{3, 50, 140, 21, 184, 72, 51, 2, 1}, false)
	f.Add([]byte{2, 63, 20, 90, 10, 0}, true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, disturbed bool) {
		next := func() int {
			if len(b) == 0 {
				return 0
			}
			v := int(b[0])
			b = b[1:]
			return v
		}
		var items []Item
		sum := 0.0
		for i := range next() % 5 {
			w := float64(30 + next()*8)
			items = append(items, Item{Name: "Item " + string(rune('A'+i)), WeightG: w})
			sum += w
		}
		packaging := float64(100 + next()*4)
		label := sum + packaging + float64(next()%40)
		level := sum + packaging - float64(next()%3)*float64(next()) // a part may be missing
		measured := level
		var levels [][2]float64
		at := 10.0
		for i := 0; i < 5 && len(b) > 0; i++ {
			level = math.Max(50, level-float64(next()*6))
			levels = append(levels, [2]float64{at, level})
			at += 8
		}
		in := Input{LabelG: &label, MeasuredG: math.Max(1, measured), MeasuredStable: true, Items: items}
		p := DefaultParams()
		o, err := Evaluate(p, in)
		if err != nil {
			t.Fatal(err)
		}
		m, st := unpack(t, items, measured, levels, at+4)
		o, u := DecideSteps(p, in, o, Unpacking{Steps: st, Matching: &m, WeighinDisturbed: disturbed})
		if o.Tier < 0 || o.Tier > 3 {
			t.Fatalf("tier %d", o.Tier)
		}
		if u.Matching.Conclusive {
			if o.Basis != BasisMeasuredSteps || (len(u.Matching.NeverSeen) > 0) != (len(o.MissingCandidates) == 1) {
				t.Fatalf("conclusive steps: basis %s, candidates %+v, never seen %v", o.Basis, o.MissingCandidates, u.Matching.NeverSeen)
			}
			if len(o.MissingCandidates) == 1 && strings.Join(o.MissingCandidates[0].Items, ",") != strings.Join(u.Matching.NeverSeen, ",") {
				t.Fatalf("candidates %v, never seen %v", o.MissingCandidates[0].Items, u.Matching.NeverSeen)
			}
		} else if disturbed && (o.WeightTier != 0 || o.Basis != BasisDisturbed) {
			t.Fatalf("disturbed weigh-in: weight tier %d, basis %s", o.WeightTier, o.Basis)
		}
		r := result.Result{Schema: result.Schema, OrderRef: "12345", Marks: oneMark, Continuity: continuity}
		o.Apply(&r)
		u.Apply(&r)
		msg, err := Compose(r, DisputeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkLanguages(t, msg)
		if disturbed && strings.Contains(msg.EN, "on arrival, ") {
			t.Fatalf("a disturbed weigh-in presented as the parcel's weight:\n%s", msg.EN)
		}
	})
}
