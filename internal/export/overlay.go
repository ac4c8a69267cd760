package export

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"weighin/internal/steps"
)

// Overlay sizes as shares of the frame height: every text is at least 4 %
// of it (legible at 360p on a phone), each on an opaque dark box.
const (
	bigShare   = 0.065 // weight, elapsed time
	textShare  = 0.05  // date and time, order and tracking, mark banner
	smallShare = 0.042 // session id (up to 64 characters)
	// MinTextShare is the smallest text height the overlay uses.
	MinTextShare = smallShare
	// MarkShown is how long a mark's banner stays.
	MarkShown = 2 * time.Second
	// FontName is the overlay's font: DejaVu Sans Mono Bold, from Debian's
	// fonts-dejavu-core (digits keep their place as they change).
	FontName = "DejaVu Sans Mono"
	// FontPackage is the Debian package the font comes from.
	FontPackage = "fonts-dejavu-core"
)

// OverlaySpec is what the overlay of one output file shows.
type OverlaySpec struct {
	Timeline *Timeline
	// Span is the part of the time axis this file covers.
	Span Span
	// Width, Height and FPS of the output.
	Width, Height, FPS int
	// Zone is the time zone the date and time are shown in.
	Zone *time.Location
}

// FrameText is what the overlay shows on one frame.
type FrameText struct {
	Clock   string // "2026-11-26 11:15:03 CET", with " (clock not synced)"
	Weight  string // "1840.1 g stable"
	Elapsed string // "01:23", video time on the original's axis
}

// TextAt is the overlay's dynamic text at video time t.
func TextAt(tl *Timeline, zone *time.Location, t time.Duration) FrameText {
	var ft FrameText
	if w, ok := tl.WallAt(t); ok {
		ft.Clock = w.In(zone).Format("2006-01-02 15:04:05 MST")
	} else {
		ft.Clock = "time unknown"
	}
	if !tl.ClockSynced {
		ft.Clock += " (clock not synced)"
	}
	if r, ok := tl.WeightAt(t); ok {
		ft.Weight = FormatGrams(r.Grams)
		if r.Stable {
			ft.Weight += " stable"
		} else {
			ft.Weight += " unstable"
		}
	} else {
		ft.Weight = "weight n/a"
	}
	ft.Elapsed = FormatElapsed(t)
	return ft
}

// FormatGrams is plain grams with one decimal and no thousands separator:
// "1840.1 g".
func FormatGrams(g float64) string {
	if math.Abs(g) < 0.05 {
		g = 0 // no "-0.0"
	}
	return strconv.FormatFloat(g, 'f', 1, 64) + " g"
}

// FormatElapsed is mm:ss of video time (minutes past 59 keep counting).
func FormatElapsed(t time.Duration) string {
	s := int64(t / time.Second)
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// assTime formats t as ASS's H:MM:SS.cc, rounded down to the centisecond,
// so an event starting at a frame's time is shown on that frame.
func assTime(t time.Duration) string {
	if t < 0 {
		t = 0
	}
	cs := int64(t / (10 * time.Millisecond))
	return fmt.Sprintf("%d:%02d:%02d.%02d", cs/360000, cs/6000%60, cs/100%60, cs%100)
}

// assEscape keeps user text (order, tracking, mark labels) from being read
// as ASS override codes.
func assEscape(s string) string {
	r := strings.NewReplacer("\\", "/", "{", "(", "}", ")", "\n", " ", "\r", " ")
	return r.Replace(s)
}

// RenderASS writes the overlay of one output file as an ASS subtitle script
// for ffmpeg's ass filter (libass): one event per change of the text,
// evaluated at every output frame, on the file's own time (0 = Span.Start).
func RenderASS(o OverlaySpec) []byte {
	h := float64(o.Height)
	big := int(math.Ceil(bigShare * h))
	txt := int(math.Ceil(textShare * h))
	small := int(math.Ceil(smallShare * h))
	margin := int(math.Ceil(0.02 * h))
	pad := func(fs int) int { return int(math.Max(2, math.Round(float64(fs)*0.18))) }
	var b bytes.Buffer
	fmt.Fprintf(&b, "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nScaledBorderAndShadow: yes\nWrapStyle: 2\n\n", o.Width, o.Height)
	b.WriteString("[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n")
	style := func(name string, fs int, colour, box string, align int, marginV int) {
		fmt.Fprintf(&b, "Style: %s,%s,%d,%s,%s,%s,%s,-1,0,0,0,100,100,0,0,3,%d,0,%d,%d,%d,%d,1\n",
			name, FontName, fs, colour, colour, box, box, pad(fs), align, margin+pad(fs), margin+pad(fs), marginV)
	}
	const white, yellow, black, red = "&H00FFFFFF", "&H0000FFFF", "&H00000000", "&H000000A0"
	style("Clock", txt, white, black, 7, margin+pad(txt))
	style("Weight", big, white, black, 7, margin+pad(txt)*3+txt)
	style("Elapsed", big, white, black, 9, margin+pad(big))
	style("Order", txt, white, black, 1, margin+pad(small)*3+small)
	style("Session", small, white, black, 1, margin+pad(small))
	style("Mark", txt, yellow, red, 8, margin+pad(big)*3+big)
	style("Step", big, yellow, black, 7, margin+pad(txt)*3+txt+pad(big)*2+big+pad(big))
	b.WriteString("\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
	event := func(style string, from, to time.Duration, text string) {
		if to <= from {
			return
		}
		fmt.Fprintf(&b, "Dialogue: 0,%s,%s,%s,,0,0,0,,%s\n", assTime(from), assTime(to), style, text)
	}
	tl := o.Timeline
	dur := o.Span.Duration()
	end := dur + time.Second // past the last frame
	var order []string
	if tl.OrderRef != "" {
		order = append(order, "order "+assEscape(tl.OrderRef))
	}
	if tl.Tracking != "" {
		order = append(order, assEscape(tl.Tracking))
	}
	if len(order) > 0 {
		event("Order", 0, end, strings.Join(order, "  "))
	}
	// A session id with a long tracking number (up to 64 characters) fills
	// a 640-pixel line at 4.2 %: the word "session" goes first.
	sess := assEscape(tl.SessionID)
	if len(sess) <= 48 {
		sess = "session " + sess
	}
	event("Session", 0, end, sess)

	// Dynamic text: evaluated at every output frame, one event per run.
	frames := int64(math.Ceil(dur.Seconds() * float64(o.FPS)))
	frameT := func(k int64) time.Duration { return time.Duration(k) * time.Second / time.Duration(o.FPS) }
	var cur FrameText
	var since [3]time.Duration
	for k := int64(0); k <= frames; k++ {
		lt := frameT(k)
		var ft FrameText
		if k < frames {
			ft = TextAt(tl, o.Zone, o.Span.Start+lt)
		} else {
			lt = end
		}
		if k == 0 {
			cur = ft
			continue
		}
		if ft.Clock != cur.Clock || k == frames {
			event("Clock", since[0], lt, assEscape(cur.Clock))
			since[0] = lt
		}
		if ft.Weight != cur.Weight || k == frames {
			event("Weight", since[1], lt, cur.Weight)
			since[1] = lt
		}
		if ft.Elapsed != cur.Elapsed || k == frames {
			event("Elapsed", since[2], lt, cur.Elapsed)
			since[2] = lt
		}
		cur = ft
	}
	for i, m := range tl.Marks {
		from, to := m.At-o.Span.Start, m.At+MarkShown-o.Span.Start
		if to <= 0 || from >= dur {
			continue
		}
		label := fmt.Sprintf("MARK %d  %s", i+1, FormatElapsed(m.At))
		if m.Label != "" {
			label += "  " + assEscape(m.Label)
		}
		event("Mark", max(from, 0), min(to, end), label)
	}
	shown := time.Duration(steps.OverlaySeconds * float64(time.Second))
	for _, st := range tl.Steps {
		from, to := st.At-o.Span.Start, st.At+shown-o.Span.Start
		if to <= 0 || from >= dur {
			continue
		}
		event("Step", max(from, 0), min(to, end), assEscape(st.Label))
	}
	return b.Bytes()
}
