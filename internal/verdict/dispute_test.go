package verdict

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"weighin/internal/result"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// disputeCase is one session: a weigh-in, the buyer's entries and what the
// recording left (marks, continuity).
type disputeCase struct {
	name     string
	in       Input
	orderRef string
	tracking string
	marks    []result.Mark
	opts     DisputeOptions
	tier     int // expected, so a golden cannot silently move tiers
	// also sets the manifest fields a session adds (session id, date, how
	// the label was read, an interruption).
	also func(*result.Result)
}

// observed is a session as the station saw it: its id and date, the
// label's barcode read.
func observed(r *result.Result) {
	r.SessionID, r.StartedAt, r.ClockSynced = "000042-20261126T101500Z-LP00123456789CN", "2026-11-26T10:15:00Z", true
	r.LabelRead = result.LabelReadBarcode
}

var oneMark = []result.Mark{{TS: 45.3, File: "video.mkv", Label: "mark 1"}}

var continuity = result.Continuity{Frames: 4500, DurationS: 151.2, MeanFPS: 29.8, MaxGapMS: 45}

// disputeCases cover every tier and every issue type (goldens in
// testdata/<name>.en.golden and .zh.golden).
var disputeCases = []disputeCase{
	{name: "tier0_match", tier: 0, orderRef: "12345", tracking: "LP00123456789CN",
		in: Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, Items: demoItems, ExteriorCondition: ExteriorIntact}},
	{name: "tier0_overweight", tier: 0, orderRef: "12345",
		in: Input{LabelG: f(2350), MeasuredG: 2530, MeasuredStable: true, Items: demoItems}},
	{name: "tier0_no_label_weight", tier: 0, tracking: "LP00123456789CN",
		in: Input{MeasuredG: 1840, MeasuredStable: true}},
	{name: "tier1_damaged_cosmetic", tier: 1, orderRef: "12345", marks: oneMark,
		in:   Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, IssueType: IssueDamagedCosmetic, ExteriorCondition: ExteriorCrushed},
		opts: DisputeOptions{DetailEN: "The shoe box is dented. The shoes are fine", DetailZH: "鞋盒被压凹了，鞋子本身没有问题。"}},
	{name: "tier2_damaged_functional", tier: 2, orderRef: "12345", marks: []result.Mark{{TS: 45, File: "video.mkv", Label: "mark 1"}, {TS: 72.5, File: "video.mkv"}},
		in:   Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, IssueType: IssueDamagedFunctional},
		opts: DisputeOptions{DetailEN: "The zipper of the jacket is broken.", DetailZH: "夹克的拉链坏了。"}},
	{name: "tier2_missing_part_below_lightest", tier: 2, orderRef: "12345", marks: oneMark,
		in: Input{LabelG: f(2350), MeasuredG: 2250, MeasuredStable: true, Items: demoItems}},
	{name: "tier2_missing_part_reported", tier: 2, orderRef: "12345", marks: oneMark,
		in:   Input{LabelG: f(2350), MeasuredG: 2348, MeasuredStable: true, Items: demoItems, IssueType: IssueMissingItem},
		opts: DisputeOptions{DetailEN: "The belt buckle is not in the bag.", DetailZH: "袋子里没有皮带扣。"}},
	{name: "tier2_items_unknown_small_deficit", tier: 2, orderRef: "12345",
		in: Input{LabelG: f(2350), MeasuredG: 2000, MeasuredStable: false}},
	{name: "tier3_missing_item", tier: 3, orderRef: "12345", tracking: "LP00123456789CN", marks: oneMark,
		in: Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems, ExteriorCondition: ExteriorIntact}},
	{name: "tier3_missing_two_items", tier: 3, orderRef: "#A-778", marks: oneMark,
		in: Input{LabelG: f(2350), MeasuredG: 1020, MeasuredStable: true, Items: []Item{{"Leather jacket", 505}, {"Sneakers", 1120}, {"Belt", 210}, {"Scarf", 180}}}},
	{name: "tier3_missing_ambiguous", tier: 3, orderRef: "12345", marks: oneMark,
		in: Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: []Item{{"Leather jacket", 505}, {"Wallet", 515}, {"Sneakers", 1120}}}},
	{name: "tier3_items_unknown_large_deficit", tier: 3, orderRef: "12345", marks: oneMark,
		in: Input{LabelG: f(2350), MeasuredG: 1500, MeasuredStable: true, ExteriorCondition: ExteriorRetaped}},
	{name: "tier3_empty", tier: 3, orderRef: "12345", tracking: "LP00123456789CN", marks: []result.Mark{{TS: 12, File: "video.mkv"}},
		in: Input{LabelG: f(2350), MeasuredG: 520, MeasuredStable: true, Items: demoItems, ExteriorCondition: ExteriorTorn}},
	{name: "tier3_wrong_item", tier: 3, orderRef: "12345", marks: oneMark,
		in:   Input{LabelG: f(2350), MeasuredG: 2530, MeasuredStable: true, Items: demoItems, IssueType: IssueWrongItem},
		opts: DisputeOptions{DetailEN: "I ordered black sneakers. The parcel holds white boots.", DetailZH: "我订的是黑色运动鞋，包裹里是白色靴子。"}},
	{name: "override_severity_and_solution", tier: 2, orderRef: "12345", marks: oneMark,
		in:   Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems, TierOverride: i(2)},
		opts: DisputeOptions{Solution: SolutionDiscountNextOrder}},
	{name: "override_issue_type_wet_box", tier: 2, orderRef: "12345",
		marks: []result.Mark{{TS: 30, File: "video-000.mkv", Label: "mark 1"}, {TS: 3.5, File: "video-001.mkv", Label: "mark 2"}},
		in:    Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, IssueType: IssueDamagedFunctional, ExteriorCondition: ExteriorWet},
		opts:  DisputeOptions{Solution: SolutionReplacement}},
	// What the station did not see is not stated (issue 12).
	{name: "no_barcode_no_label_weight", tier: 0,
		in: Input{MeasuredG: 1840, MeasuredStable: true},
		also: func(r *result.Result) {
			r.SessionID, r.StartedAt, r.ClockSynced = "000007-unsynced-x", "2026-11-26T10:15:00Z", false
		}},
	{name: "rounding_from_parcel", tier: 3, orderRef: "12345", tracking: "LP00123456789CN", marks: oneMark, also: observed,
		in: Input{LabelG: f(2350), LabelResolutionG: f(50), MeasuredG: 1840, MeasuredStable: true, Items: demoItems}},
	{name: "damage_detail_english_only", tier: 2, orderRef: "12345", marks: []result.Mark{{TS: 45, File: "video.mkv", Label: "zipper torn"}}, also: observed,
		in:   Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, IssueType: IssueDamagedFunctional},
		opts: DisputeOptions{Detail: "The zipper of the jacket is torn off."}},
	{name: "damage_detail_chinese_only", tier: 2, orderRef: "12345", marks: oneMark, also: observed,
		in:   Input{LabelG: f(2350), MeasuredG: 2346, MeasuredStable: true, IssueType: IssueDamagedFunctional},
		opts: DisputeOptions{Detail: "夹克的拉链被扯掉了。"}},
	{name: "partial_refund_missing_item", tier: 3, orderRef: "12345", marks: oneMark, also: observed,
		in:   Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
		opts: DisputeOptions{Solution: SolutionRepairRefund}},
	// Issue 14: a forced start over a platform that had not returned to
	// empty, and a recording continued after an inactivity stop.
	{name: "leftover_load_resumed", tier: 0, orderRef: "12345", tracking: "JVGL0601234567",
		marks: []result.Mark{{TS: 40, File: "video-000.mkv", Label: "mark 1"}, {TS: 12, File: "video-001.mkv", Label: "mark 2"}},
		in:    Input{LabelG: f(1418), MeasuredG: 3211.8, MeasuredStable: true},
		also: func(r *result.Result) {
			observed(r)
			r.LeftoverLoad = true
			r.Continuity = result.Continuity{Frames: 7200, DurationS: 240, MeanFPS: 30, MaxGapMS: 40,
				Resumed: []result.Resume{{File: "video-001.mkv", AtS: 215.5, PausedS: 25.5}}}
		}},
	{name: "interrupted", tier: 3, orderRef: "12345", tracking: "LP00123456789CN",
		in: Input{LabelG: f(2350), MeasuredG: 1840, MeasuredStable: true, Items: demoItems},
		also: func(r *result.Result) {
			observed(r)
			r.Interrupted, r.StopReason = true, result.StopInterrupted
			r.Continuity = result.Continuity{Frames: 258, DurationS: 17.2, MeanFPS: 15}
		}},
}

func (c disputeCase) result(t testing.TB) result.Result {
	t.Helper()
	o, err := Evaluate(DefaultParams(), c.in)
	if err != nil {
		t.Fatalf("%s: Evaluate: %v", c.name, err)
	}
	r := result.Result{Schema: result.Schema, OrderRef: c.orderRef, Tracking: c.tracking, Marks: c.marks, Continuity: continuity}
	o.Apply(&r)
	if c.also != nil {
		c.also(&r)
	}
	return r
}

func TestDisputeGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range disputeCases {
		t.Run(c.name, func(t *testing.T) {
			r := c.result(t)
			if r.Tier != c.tier {
				t.Fatalf("tier %d, want %d (verdict %s)", r.Tier, c.tier, r.Verdict)
			}
			m, err := Compose(r, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".en.golden", m.EN)
			golden(t, c.name+".zh.golden", m.ZH)
			all, err := Dispute(r, c.opts)
			if err != nil || all != m.EN+"\n"+m.ZH {
				t.Errorf("Dispute is not EN, a blank line, ZH: %v", err)
			}
			checkStyle(t, m)
			if n := utf8.RuneCountInString(m.Short); n == 0 || n > ShortMax || !strings.HasPrefix(m.EN, m.Short) {
				t.Errorf("short form of %d characters, not the message's start: %q", n, m.Short)
			}
			seen[r.IssueType] = true
			seen["tier"+string(rune('0'+r.Tier))] = true
		})
	}
	for _, want := range append([]string{"tier0", "tier1", "tier2", "tier3"}, IssueTypes...) {
		if !seen[want] {
			t.Errorf("no golden covers %q", want)
		}
	}
}

// checkStyle holds the messages to the seed's advice: the prose first in
// the shape of the effective example, then the four fields; short
// sentences; no emotional words.
func checkStyle(t *testing.T, m Message) {
	t.Helper()
	en := strings.SplitN(m.EN, "\n\n", 2)
	if len(en) != 2 {
		t.Fatalf("English message has no prose paragraph:\n%s", m.EN)
	}
	for _, want := range []string{"Order Reference: ", "\nIssue Type: ", "\nEvidence:\n- ", "\nProposed Solution: "} {
		if !strings.Contains(en[1], want) {
			t.Errorf("English fields lack %q:\n%s", want, en[1])
		}
	}
	if !strings.Contains(en[0], "Please see the attached unboxing video") {
		t.Errorf("English prose does not point to the video: %q", en[0])
	}
	for _, s := range strings.Split(en[0], ". ") {
		if n := len(strings.Fields(s)); n > 25 {
			t.Errorf("sentence of %d words: %q", n, s)
		}
	}
	lower := strings.ToLower(m.EN)
	for _, bad := range []string{"!", "angry", "unacceptable", "can't believe", "sorry", "asap", "kindly", "hope"} {
		if strings.Contains(lower, bad) {
			t.Errorf("English message contains %q", bad)
		}
	}
	zh := strings.SplitN(m.ZH, "\n\n", 2)
	if len(zh) != 2 || !strings.HasPrefix(zh[0], "您好。") || !strings.HasSuffix(zh[0], "谢谢。") {
		t.Fatalf("Chinese prose is not a polite paragraph:\n%s", m.ZH)
	}
	for _, want := range []string{"订单号：", "\n问题类型：", "\n证据：\n- ", "\n处理方案："} {
		if !strings.Contains(zh[1], want) {
			t.Errorf("Chinese fields lack %q:\n%s", want, zh[1])
		}
	}
	for _, bad := range []string{"！", "气愤", "不可接受", "失望"} {
		if strings.Contains(m.ZH, bad) {
			t.Errorf("Chinese message contains %q", bad)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/verdict -run TestDisputeGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestDisputeDemo pins the seed's shape on the demo parcel, line by line.
func TestDisputeDemo(t *testing.T) {
	r := disputeCases[8].result(t)
	m, err := Compose(r, DisputeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prose := strings.SplitN(m.EN, "\n", 2)[0]
	want := "Order #12345 arrived with an item missing. The label weight is 2350 g. The parcel weighed 1840 g on arrival, 510 g less. " +
		"The missing weight matches \"Leather jacket\" (505 g). Please see the attached unboxing video at timestamp 0:45. " +
		"I am requesting a refund of the missing item or a reshipment of it."
	if prose != want {
		t.Errorf("prose:\n got %q\nwant %q", prose, want)
	}
}

// TestDisputeRegenerates: the buyer's overrides change the message.
func TestDisputeRegenerates(t *testing.T) {
	c := disputeCases[8]
	before, err := Dispute(c.result(t), DisputeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.in.IssueType = IssueWrongItem
	r := c.result(t)
	after, err := Dispute(r, DisputeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if before == after || !strings.Contains(after, "Issue Type: Wrong Item") || !strings.Contains(after, "问题类型：发错商品") {
		t.Errorf("issue type override not in the message:\n%s", after)
	}
	sol, err := Dispute(r, DisputeOptions{Solution: SolutionFullRefund})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sol, "Proposed Solution: I request a full refund.") || !strings.Contains(sol, "处理方案：希望全额退款。") {
		t.Errorf("solution override not in the message:\n%s", sol)
	}
}

func TestDisputeRefuses(t *testing.T) {
	good := disputeCases[8].result(t)
	tests := []struct {
		name string
		mod  func(r *result.Result, o *DisputeOptions)
		msg  string
	}{
		{"unknown verdict", func(r *result.Result, o *DisputeOptions) { r.Verdict = "heavy" }, `verdict "heavy" is not one of`},
		{"tier 7", func(r *result.Result, o *DisputeOptions) { r.Tier = 7 }, "tier must be 0 to 3, got 7"},
		{"zero measured", func(r *result.Result, o *DisputeOptions) { r.MeasuredG = 0 }, "measured_g must be greater than 0"},
		{"NaN label", func(r *result.Result, o *DisputeOptions) { r.LabelG = f(math.NaN()) }, "label_g must be greater than 0"},
		{"label missing but verdict needs it", func(r *result.Result, o *DisputeOptions) { r.LabelG = nil }, "label_g and verdict disagree"},
		{"negative mark", func(r *result.Result, o *DisputeOptions) { r.Marks = []result.Mark{{TS: -1}} }, "marks[0].t_s"},
		{"unknown solution", func(r *result.Result, o *DisputeOptions) { o.Solution = "cash" }, `solution "cash" is not one of`},
		{"control characters", func(r *result.Result, o *DisputeOptions) { o.DetailEN = "a\x1b[2Jb" }, "detail_en must be at most 500 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			r.Marks = append([]result.Mark(nil), good.Marks...)
			var o DisputeOptions
			tc.mod(&r, &o)
			_, err := Dispute(r, o)
			if !errors.Is(err, ErrInvalidResult) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Dispute error %v, want ErrInvalidResult saying %q", err, tc.msg)
			}
		})
	}
}

// TestClaimSaysOnlyWhatWasObserved: each statement of the claim rests on
// a manifest field; what the station did not see is not said (issue 12).
func TestClaimSaysOnlyWhatWasObserved(t *testing.T) {
	byName := map[string]disputeCase{}
	for _, c := range disputeCases {
		byName[c.name] = c
	}
	compose := func(name string) Message {
		t.Helper()
		c := byName[name]
		m, err := Compose(c.result(t), c.opts)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	has := func(what, text string, want bool, phrases ...string) {
		t.Helper()
		for _, p := range phrases {
			if strings.Contains(text, p) != want {
				t.Errorf("%s: contains %q = %v, want %v:\n%s", what, p, !want, want, text)
			}
		}
	}
	// No barcode read: the label is not "shown"; no label weight entered:
	// the label does not "show no weight"; the date and the session id.
	m := compose("no_barcode_no_label_weight")
	has("no barcode", m.EN, false, "the shipping label is shown", "The shipping label is shown", "label shows no weight", "not shown on the label")
	has("no barcode", m.EN, true, "The shipping label is at the start of the video but was not read automatically.",
		"No label weight was entered", "Session 000007-unsynced-x, recorded 2026-11-26 10:15 UTC (the station's clock was not synchronised).")
	has("no barcode (zh)", m.ZH, false, "视频开头拍到了快递面单", "面单上没有标注重量", "面单上未标注")
	has("no barcode (zh)", m.ZH, true, "视频开头有快递面单，但设备未能自动识别。", "没有录入面单重量", "录像编号 000007-unsynced-x，录制于 2026-11-26 10:15 UTC（设备时钟未同步）。")
	// Rounding from the configuration is not the carrier's: not stated;
	// from the parcel it is.
	m = compose("tier3_missing_item")
	has("rounding from the configuration", m.EN, false, "the carrier rounds")
	has("rounding from the configuration", m.ZH, false, "承运商")
	m = compose("rounding_from_parcel")
	has("rounding from the parcel", m.EN, true, "(the carrier rounds up to 50 g)", "the station read its barcode", "Session 000042-20261126T101500Z-LP00123456789CN, recorded 2026-11-26 10:15 UTC.")
	has("rounding from the parcel", m.ZH, true, "承运商按 50 克向上取整")
	// A damage description in English only is in both texts, quoted in
	// the Chinese one with a note of its language.
	m = compose("damage_detail_english_only")
	has("English description", m.EN, true, "The zipper of the jacket is torn off.", `("zipper torn")`)
	has("English description (zh)", m.ZH, true, "我的描述（英文原文）：“The zipper of the jacket is torn off.”。", "（“zipper torn”）")
	m = compose("damage_detail_chinese_only")
	has("Chinese description", m.EN, true, "My description, written in Chinese: “夹克的拉链被扯掉了。”.")
	has("Chinese description (zh)", m.ZH, true, "夹克的拉链被扯掉了。")
	// A partial refund for a missing item is not for a repair.
	m = compose("partial_refund_missing_item")
	has("partial refund", m.EN+m.ZH, false, "repair", "维修")
	has("partial refund", m.EN, true, "I am requesting a partial refund.")
	// An interrupted recording is not "one continuous recording".
	m = compose("interrupted")
	has("interrupted", m.EN, false, "continuous", "without cuts")
	has("interrupted", m.EN, true, "The recording was interrupted (a power cut or a crash of the station) after 0:17 of video.")
	has("interrupted (zh)", m.ZH, false, "连续录像")
	has("interrupted (zh)", m.ZH, true, "中断前录下的视频时长 0:17")
}
