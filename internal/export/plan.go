package export

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Preset names.
const (
	PresetChat  = "chat"
	PresetPhone = "phone"
	PresetFull  = "full"
)

// Caps of the capped presets, in bytes of each file.
const (
	// ChatCap stays under WhatsApp's 16 MB media limit with margin.
	ChatCap = 15_000_000
	// PhoneCap stays under the 50 MB of an iOS notification attachment.
	PhoneCap = 48_000_000
)

// Presets lists the preset names in the order they are offered.
var Presets = []string{PresetChat, PresetPhone, PresetFull}

// PresetCap is the per-file cap of a preset in bytes; 0 for full (quality-based).
func PresetCap(name string) (int64, error) {
	switch name {
	case PresetChat:
		return ChatCap, nil
	case PresetPhone:
		return PhoneCap, nil
	case PresetFull:
		return 0, nil
	}
	return 0, fmt.Errorf("export: unknown preset %q (chat, phone or full)", name)
}

// Rung is one step of the ladder: an output height and frame rate.
type Rung struct {
	Height int `json:"height"`
	FPS    int `json:"fps"`
}

func (r Rung) String() string { return fmt.Sprintf("%dp%d", r.Height, r.FPS) }

// Ladder is tried top to bottom: resolution first (720p → 540p → 480p →
// 360p at 30 fps), then the frame rate (360p at 15 fps).
var Ladder = []Rung{{720, 30}, {540, 30}, {480, 30}, {360, 30}, {360, 15}}

// Planning constants. A rung is usable when the video bitrate gives at
// least MinBPP bits per pixel per frame (below it H.264 smears a label
// into blocks); above MaxBPP more bits buy nothing visible and the rest of
// the cap is left unused.
const (
	MinBPP = 0.05
	MaxBPP = 0.15
	// Safety is the share of the cap planned for: rate control overshoot
	// and the MP4 container's overhead take the rest.
	Safety = 0.92
	// AudioKbps is the AAC bitrate when the original has sound.
	AudioKbps = 64
)

// PlanInput is what the planner needs to know about the source.
type PlanInput struct {
	Duration time.Duration
	// Width, Height and FPS of the source (FPS rounded to an integer).
	Width, Height, FPS int
	Audio              bool
	// Cap is the per-file cap in bytes; 0 plans a quality-based export at
	// the source's size and rate.
	Cap int64
}

// Plan is how an export is made.
type Plan struct {
	Rung Rung `json:"rung"`
	// Width is the output width for Rung.Height, even, keeping the aspect.
	Width int `json:"width"`
	// VideoKbps is the target video bitrate; 0 for quality-based (CRF).
	VideoKbps int `json:"video_kbps"`
	AudioKbps int `json:"audio_kbps"`
	// Parts are the pieces of the time axis, one output file each; one
	// part unless even the lowest rung cannot fit the cap.
	Parts []Span `json:"parts"`
}

// Span is an interval of the export's source time axis (video time).
type Span struct {
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
}

// Duration is End − Start.
func (s Span) Duration() time.Duration { return s.End - s.Start }

// ErrPlan is wrapped by planning errors.
var ErrPlan = errors.New("export: cannot plan")

// outWidth is the even width for height h keeping w×hSrc's aspect.
func outWidth(w, hSrc, h int) int {
	ow := int(math.Round(float64(w) * float64(h) / float64(hSrc)))
	if ow%2 == 1 {
		ow++
	}
	return ow
}

func bitsPerSecondAt(bpp float64, w, h, fps int) float64 { return bpp * float64(w*h*fps) }

// MakePlan chooses the rung, the bitrate and the parts: the highest rung of
// the ladder (never above the source's height or rate) at which the cap
// leaves at least MinBPP; when none does, the lowest rung at MinBPP and as
// many equal parts as needed for each to fit the cap.
func MakePlan(in PlanInput) (Plan, error) {
	if in.Duration <= 0 {
		return Plan{}, fmt.Errorf("%w: duration %v", ErrPlan, in.Duration)
	}
	if in.Width <= 0 || in.Height <= 0 || in.FPS <= 0 {
		return Plan{}, fmt.Errorf("%w: source %dx%d at %d fps", ErrPlan, in.Width, in.Height, in.FPS)
	}
	audio := 0
	if in.Audio {
		audio = AudioKbps
	}
	whole := []Span{{0, in.Duration}}
	if in.Cap == 0 {
		h := in.Height - in.Height%2
		return Plan{Rung: Rung{h, in.FPS}, Width: outWidth(in.Width, in.Height, h), AudioKbps: audio, Parts: whole}, nil
	}
	if in.Cap < 1_000_000 {
		return Plan{}, fmt.Errorf("%w: cap of %d bytes is below 1 MB", ErrPlan, in.Cap)
	}
	var rungs []Rung
	for _, r := range Ladder {
		if r.Height > in.Height {
			continue
		}
		if r.FPS > in.FPS {
			r.FPS = in.FPS
		}
		if len(rungs) > 0 && rungs[len(rungs)-1] == r {
			continue
		}
		rungs = append(rungs, r)
	}
	if len(rungs) == 0 { // a source smaller than 360p: its own size
		h := in.Height - in.Height%2
		rungs = []Rung{{h, min(in.FPS, 30)}}
	}
	budget := func(d time.Duration) float64 { // total bits per second the cap allows over d
		return float64(in.Cap) * Safety * 8 / d.Seconds()
	}
	total := budget(in.Duration)
	video := total - float64(audio*1000)
	for _, r := range rungs {
		w := outWidth(in.Width, in.Height, r.Height)
		if video >= bitsPerSecondAt(MinBPP, w, r.Height, r.FPS) {
			v := math.Min(video, bitsPerSecondAt(MaxBPP, w, r.Height, r.FPS))
			return Plan{Rung: r, Width: w, VideoKbps: int(v / 1000), AudioKbps: audio, Parts: whole}, nil
		}
	}
	// Split at the lowest rung: each part at MinBPP fits the cap.
	r := rungs[len(rungs)-1]
	w := outWidth(in.Width, in.Height, r.Height)
	need := bitsPerSecondAt(MinBPP, w, r.Height, r.FPS) + float64(audio*1000)
	maxPart := time.Duration(float64(in.Cap) * Safety * 8 / need * float64(time.Second))
	n := int(math.Ceil(in.Duration.Seconds() / maxPart.Seconds()))
	if n < 2 {
		n = 2
	}
	parts := make([]Span, n)
	for i := range n {
		// Part boundaries on whole milliseconds.
		s := (in.Duration * time.Duration(i) / time.Duration(n)).Truncate(time.Millisecond)
		e := (in.Duration * time.Duration(i+1) / time.Duration(n)).Truncate(time.Millisecond)
		if i == n-1 {
			e = in.Duration
		}
		parts[i] = Span{s, e}
	}
	longest := parts[0].Duration()
	for _, p := range parts {
		longest = max(longest, p.Duration())
	}
	v := budget(longest) - float64(audio*1000)
	v = math.Min(v, bitsPerSecondAt(MaxBPP, w, r.Height, r.FPS))
	return Plan{Rung: r, Width: w, VideoKbps: int(v / 1000), AudioKbps: audio, Parts: parts}, nil
}
