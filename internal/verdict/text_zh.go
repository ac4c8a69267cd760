package verdict

import (
	"fmt"
	"strings"

	"weighin/internal/result"
)

// chinese writes the Simplified Chinese message for a seller who reads it
// directly: polite, plain sentences in the seller's own register (您好 …
// 谢谢), the same facts as the English text, not a word-for-word copy.
func (d disputeData) chinese() string {
	r := d.res
	var b strings.Builder
	s := []string{"您好。"}

	who := "我的包裹"
	switch {
	case r.OrderRef != "":
		who = "订单 " + orderRef(r.OrderRef) + " 的包裹"
	case r.Tracking != "":
		who = "物流单号 " + r.Tracking + " 的包裹"
	}
	s = append(s, d.subjectZH(who))
	switch en, zh := d.opts.details(); {
	case zh != "":
		s = append(s, sentenceZH(zh))
	case en != "":
		s = append(s, "我的描述（英文原文）：“"+en+"”。")
	}
	if x := exteriorZH[r.ExteriorCondition]; x != "" && r.ExteriorCondition != ExteriorIntact {
		s = append(s, "到货时"+x+"。")
	}
	if d.weightInProse() {
		s = append(s, d.weightSentenceZH())
	}
	if x := d.stepsSentenceZH(); x != "" {
		s = append(s, x)
	}
	switch d.kind {
	case kindMissingItems:
		if d.conclusiveSteps() {
			break // the measured steps said it
		}
		if len(d.alts) > 1 {
			s = append(s, "缺少的重量与"+alternativesZH(d.alts)+"相符，仅凭重量无法确定是哪一种。")
		} else {
			s = append(s, "缺少的重量与"+itemsZH(r.MissingCandidates[0])+"相符。")
		}
	case kindUnderweight:
		s = append(s, "包裹里的部分物品似乎缺失了。")
	case kindEmpty:
		s = append(s, "这个重量大约只是包装材料的重量。")
	case kindMissingPart:
		s = append(s, "缺少的部件很轻，称重反映不出来。")
	case kindRecord:
		if r.Verdict == result.VerdictOverweight && !r.LeftoverLoad {
			s = append(s, "我会核对一下是否发错了商品。")
		}
	}
	if r.LeftoverLoad {
		s = append(s, leftoverZH)
	}
	if r.Interrupted {
		s = append(s, d.interruptedZH())
	}
	s = append(s, d.videoSentenceZH())
	if d.sol == SolutionNoAction {
		s = append(s, "目前无需处理。")
	} else {
		s = append(s, "我希望"+d.solutionZH()+"。")
	}
	s = append(s, "谢谢。")
	b.WriteString(strings.Join(s, ""))
	b.WriteString("\n\n")

	ref := r.OrderRef
	if ref == "" {
		ref = "未知"
	}
	if r.Tracking != "" {
		ref += "（物流单号 " + r.Tracking + "）"
	}
	fmt.Fprintf(&b, "订单号：%s\n", ref)
	fmt.Fprintf(&b, "问题类型：%s\n", d.issueZH())
	b.WriteString("证据：\n")
	for _, e := range d.evidenceZH() {
		b.WriteString("- " + e + "\n")
	}
	if d.sol == SolutionNoAction {
		b.WriteString("处理方案：无需处理。\n")
	} else {
		fmt.Fprintf(&b, "处理方案：希望%s。\n", d.solutionZH())
	}
	return b.String()
}

func sentenceZH(s string) string {
	s = strings.TrimSpace(s)
	for _, end := range []string{"。", "！", "？", ".", "!", "?"} {
		if strings.HasSuffix(s, end) {
			return s
		}
	}
	return s + "。"
}

var exteriorZH = map[string]string{
	ExteriorIntact:  "外箱完好",
	ExteriorCrushed: "外箱被压坏",
	ExteriorWet:     "外箱受潮",
	ExteriorRetaped: "外箱有被拆开后重新封胶带的痕迹",
	ExteriorTorn:    "外箱有破损",
}

func (d disputeData) subjectZH(who string) string {
	r := d.res
	switch d.kind {
	case kindMissingItems:
		if d.plural {
			return who + "到货时少了几件商品。"
		}
		return who + "到货时少了一件商品。"
	case kindUnderweight:
		return who + "到货时重量不足。"
	case kindMissingPart:
		return who + "到货时缺少一个部件。"
	case kindEmpty:
		return who + "到货时是空的。"
	case kindWrong:
		return who + "里发错了商品。"
	case kindCosmetic:
		return who + "到货时，里面的商品有轻微的外观损伤。"
	case kindFunctional:
		return who + "到货时，里面的商品已损坏。"
	case kindAllSeen:
		return who + "已收到，清单上的每件商品都在录像中取出了。"
	case kindDisturbed:
		return who + "已收到，称重时受到了干扰。"
	}
	switch r.Verdict {
	case result.VerdictOverweight:
		return who + "已收到，实际重量比面单上的重。"
	case result.VerdictNoLabelWeight:
		return who + "已收到。没有录入面单重量，因此无法与面单重量比较。"
	}
	return who + "已收到，重量与面单相符。"
}

// leftoverZH is leftoverEN in Chinese.
const leftoverZH = "本次称重前秤台没有回到空载，是强制开始的：这个重量可能包含秤台上残留的物品。"

func (d disputeData) weightSentenceZH() string {
	r := d.res
	m := grams(r.MeasuredG)
	if r.WeighinDisturbed {
		if r.LabelG == nil {
			return disturbedZH
		}
		return "面单重量为 " + grams(*r.LabelG) + " 克。" + disturbedZH
	}
	if r.LabelG == nil {
		return "到货时实测 " + m + " 克。"
	}
	l := grams(*r.LabelG)
	delta := r.MeasuredG - *r.LabelG
	switch r.Verdict {
	case result.VerdictUnderweight, result.VerdictEmpty:
		return fmt.Sprintf("面单重量为 %s 克，到货时实测 %s 克，少了 %s 克。", l, m, grams(-delta))
	case result.VerdictOverweight:
		return fmt.Sprintf("面单重量为 %s 克，到货时实测 %s 克，多了 %s 克。", l, m, grams(delta))
	}
	return fmt.Sprintf("面单重量为 %s 克，到货时实测 %s 克。", l, m)
}

func (d disputeData) videoSentenceZH() string {
	ms := d.res.Marks
	if len(ms) == 0 {
		return "请查看附上的开箱视频。"
	}
	if d.manyFiles() {
		parts := make([]string, len(ms))
		for i, m := range ms {
			parts[i] = m.File + " 的 " + FormatTimestamp(m.TS)
		}
		return "请查看附上的开箱视频，时间点：" + joinZH(parts) + "。"
	}
	ts := make([]string, len(ms))
	for i, m := range ms {
		ts[i] = FormatTimestamp(m.TS)
	}
	return "请查看附上的开箱视频，时间点 " + joinZH(ts) + "。"
}

func joinZH(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], "、") + " 和 " + s[len(s)-1]
}

func (d disputeData) solutionZH() string {
	if d.sol == SolutionRepairRefund && !d.damage() {
		return "获得部分退款"
	}
	t := solutions[d.sol]
	if d.plural && t.zhPlural != "" {
		return t.zhPlural
	}
	return t.zh
}

func (d disputeData) issueZH() string {
	switch d.kind {
	case kindMissingItems, kindUnderweight:
		return "缺少商品"
	case kindMissingPart:
		return "缺少部件"
	case kindEmpty:
		return "缺少商品（空包裹）"
	case kindWrong:
		return "发错商品"
	case kindCosmetic:
		return "商品损坏（轻微外观损伤）"
	case kindFunctional:
		return "商品损坏（影响使用）"
	}
	return "无"
}

func (d disputeData) evidenceZH() []string {
	r := d.res
	var ev []string
	if r.SessionID != "" {
		e := "录像编号 " + r.SessionID
		if at := d.recorded(); at != "" {
			e += "，录制于 " + at
			if !r.ClockSynced {
				e += "（设备时钟未同步）"
			}
		}
		ev = append(ev, e+"。")
	}
	if r.LabelG == nil {
		ev = append(ev, "面单重量：未录入。")
	} else if d.roundingKnown() {
		ev = append(ev, fmt.Sprintf("面单重量：%s 克（承运商按 %s 克向上取整）。", grams(*r.LabelG), grams(r.LabelResolutionG)))
	} else {
		ev = append(ev, fmt.Sprintf("面单重量：%s 克。", grams(*r.LabelG)))
	}
	mw := fmt.Sprintf("未拆封包裹的到货重量：%s 克。", grams(r.MeasuredG))
	if !r.MeasuredStable {
		mw += "称重时读数未完全稳定。"
	}
	if r.WeighinDisturbed {
		mw = fmt.Sprintf("未拆封包裹的称重读数：%s 克，称重时秤台上有移动，不作为包裹的重量。", grams(r.MeasuredG))
	}
	if r.LeftoverLoad {
		mw += leftoverZH
	}
	ev = append(ev, mw)
	if r.LabelG != nil && r.DeltaG != nil && r.DeltaPct != nil && !r.WeighinDisturbed {
		lo, hi := d.allowedRange()
		ev = append(ev, fmt.Sprintf("差值：%s 克（%s%%）。允许范围：%s 克至 %s 克。", signed(*r.DeltaG), signedPct(*r.DeltaPct), grams(lo), grams(hi)))
	}
	switch {
	case d.conclusiveSteps() || r.WeighinDisturbed:
		ev = append(ev, d.stepsEvidenceZH()...)
	case r.Verdict == result.VerdictEmpty:
		ev = append(ev, "这个重量大约只是包装材料的重量。")
	case len(d.alts) > 1:
		parts := make([]string, len(d.alts))
		for i, c := range d.alts {
			parts[i] = itemsZH(c)
		}
		ev = append(ev, "可能缺少（重量与每一种都相符）："+strings.Join(parts, "；或")+"。")
	case len(r.MissingCandidates) > 0:
		ev = append(ev, "最可能缺少："+itemsZH(r.MissingCandidates[0])+"。")
	}
	if !d.conclusiveSteps() && !r.WeighinDisturbed {
		ev = append(ev, d.stepsEvidenceZH()...)
	}
	if x := exteriorZH[r.ExteriorCondition]; x != "" {
		ev = append(ev, "外箱状况："+strings.TrimPrefix(x, "外箱")+"。")
	}
	label := "视频开头有快递面单，但设备未能自动识别。"
	switch r.LabelRead {
	case result.LabelReadBarcode:
		label = "视频开头拍到了快递面单，设备识别出了面单上的条码。"
	case result.LabelReadBuyer:
		label = "视频开头拍到了快递面单。"
	}
	if r.Tracking != "" {
		label = "物流单号 " + r.Tracking + "。" + label
	}
	ev = append(ev, label)
	for _, m := range r.Marks {
		e := "请查看附上的开箱视频"
		if d.manyFiles() {
			e += " " + m.File
		}
		e += "，时间点 " + FormatTimestamp(m.TS)
		if l := markLabelZH(m.Label); l != "" {
			e += "（" + l + "）"
		}
		ev = append(ev, e+"。")
	}
	if len(r.Marks) == 0 {
		ev = append(ev, "请查看附上的开箱视频。")
	}
	switch {
	case r.Interrupted:
		ev = append(ev, d.interruptedZH())
	case d.continuous():
		ev = append(ev, "视频为一段连续录像，时长 "+FormatTimestamp(r.Continuity.DurationS)+"，中间没有剪辑。")
	}
	for _, p := range r.Continuity.Resumed {
		ev = append(ev, fmt.Sprintf("秤上没有动静，录像暂停；买家按键继续录像之前有 %s 没有录下，续录见 %s，从录像开始算起 %s。",
			FormatTimestamp(p.PausedS), p.File, FormatTimestamp(p.AtS)))
	}
	if d.cutShort() {
		ev = append(ev, "录像在 "+FormatTimestamp(r.Continuity.DurationS)+" 处提前结束：设备无法继续写入存储；视频只包含此前录下的内容。")
	}
	return ev
}

// interruptedZH says the recording was cut, and how much video there is.
func (d disputeData) interruptedZH() string {
	if c := d.res.Continuity; c.DurationS > 0 {
		return "录像中途中断（设备断电或故障），中断前录下的视频时长 " + FormatTimestamp(c.DurationS) + "。"
	}
	return "录像中途中断（设备断电或故障），写这段文字时视频时长尚不可知。"
}

// markLabelZH is a mark's label for the Chinese text: the station's own
// labels ("mark 2") in Chinese ("标记 2"), the buyer's as given.
func markLabelZH(label string) string {
	l := strings.TrimSpace(label)
	if l == "" {
		return ""
	}
	if stationMark(l) {
		return "标记 " + strings.TrimPrefix(l, "mark ")
	}
	return quoteZH(l)
}
