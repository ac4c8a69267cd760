package verdict_test

import (
	"fmt"
	"strings"

	"weighin/internal/result"
	"weighin/internal/steps"
	"weighin/internal/verdict"
)

// The demo parcel: the label says 2350 g, the unopened parcel weighs
// 1840 g, and the agent listed three items.
func ExampleEvaluate() {
	label := 2350.0
	o, err := verdict.Evaluate(verdict.DefaultParams(), verdict.Input{
		LabelG:         &label,
		MeasuredG:      1840,
		MeasuredStable: true,
		Items: []verdict.Item{
			{Name: "Leather jacket", WeightG: 505},
			{Name: "Sneakers", WeightG: 1120},
			{Name: "Belt", WeightG: 210},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Summary)
	fmt.Println("tier", o.Tier)
	fmt.Printf("band %v–%v g, candidates %+v\n", o.BandLowG, o.BandHighG, o.MissingCandidates)
	// Output:
	// underweight by 510 g — most likely missing: "Leather jacket" (505 g)
	// tier 3
	// band 2316.5–2373.5 g, candidates [{Items:[Leather jacket] TotalG:505 ResidualG:5}]
}

// A damaged item, in the shape of the seed's effective example.
func ExampleCompose() {
	label := 2350.0
	o, _ := verdict.Evaluate(verdict.DefaultParams(), verdict.Input{
		LabelG: &label, MeasuredG: 2346, MeasuredStable: true,
		IssueType: verdict.IssueDamagedFunctional,
	})
	r := result.Result{OrderRef: "12345", Marks: []result.Mark{{TS: 45.6, File: "video.mkv"}}}
	o.Apply(&r)
	m, err := verdict.Compose(r, verdict.DisputeOptions{
		Solution: verdict.SolutionRefundOrReplacement,
		DetailEN: "The leather is torn on the sleeve.",
		DetailZH: "袖子上的皮革破了。",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	prose, _, _ := strings.Cut(m.EN, "\n")
	fmt.Println(prose)
	fmt.Println(verdict.FormatTimestamp(45.6))
	// Output:
	// Order #12345 arrived damaged. The leather is torn on the sleeve. Please see the attached unboxing video at timestamp 0:45. I am requesting a replacement or a refund of the item value.
	// 0:45
}

// The issue's unpacking: 1840 g weighed in; during the recording the
// sneakers come out at 0:41 and the belt at 1:05. The station feeds the
// weight samples (video time, grams) to a steps.Detector, then at the seal:
func ExampleDecideSteps() {
	det, _ := steps.New(steps.Opts{})
	for i := 0; i <= 900; i++ {
		t, g := float64(i)/10, 1840.0
		switch {
		case t >= 65:
			g = 510
		case t >= 41:
			g = 720
		}
		_ = det.Add(t, g)
	}
	label := 2350.0
	in := verdict.Input{LabelG: &label, MeasuredG: 1840, MeasuredStable: true, Items: []verdict.Item{
		{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210},
	}}
	p := verdict.DefaultParams()
	o, _ := verdict.Evaluate(p, in)
	u, _ := verdict.MeasureSteps(det.Result(), in.Items, p, false)
	o, u = verdict.DecideSteps(p, in, o, u)
	fmt.Println(o.Summary)
	fmt.Println("tier", o.Tier, "basis", o.Basis, u.Matching.Basis)
	r := result.Result{OrderRef: "12345"}
	o.Apply(&r)
	u.Apply(&r)
	m, _ := verdict.Compose(r, verdict.DisputeOptions{})
	prose, _, _ := strings.Cut(m.EN, "\n")
	fmt.Println(prose)
	// Output:
	// measured while unpacking — never taken out: Leather jacket (505 g); Sneakers 1120 g out at 0:41, Belt 210 g out at 1:05; packaging 510 g
	// tier 3 basis measured_steps measured_steps
	// Order #12345 arrived with an item missing. The label weight is 2350 g. The parcel weighed 1840 g on arrival, 510 g less. The scale measured each step of the weight as I unpacked the parcel on camera. "Sneakers" (1120 g) came out at 0:41. "Belt" (210 g) came out at 1:05. Nothing weighing about 505 g ("Leather jacket") was ever taken out. The packaging weighed 510 g. These measured steps are the basis of this claim. Please see the attached unboxing video. I am requesting a refund of the missing item or a reshipment of it.
}
