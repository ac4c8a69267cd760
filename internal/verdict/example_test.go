package verdict_test

import (
	"fmt"
	"strings"

	"weighin/internal/result"
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
	// underweight by 510 g — most likely missing: Leather jacket (505 g)
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
