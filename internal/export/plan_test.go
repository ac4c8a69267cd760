package export

import (
	"errors"
	"testing"
	"time"
)

// bytesOf is what a plan's bitrate gives over d, before container overhead.
func bytesOf(p Plan, d time.Duration) float64 {
	return float64(p.VideoKbps+p.AudioKbps) * 1000 / 8 * d.Seconds()
}

func TestMakePlanCaps(t *testing.T) {
	tests := []struct {
		name     string
		dur      time.Duration
		cap      int64
		audio    bool
		wantRung Rung
		wantN    int
	}{
		{"chat 10 s", 10 * time.Second, ChatCap, false, Rung{720, 30}, 1},
		{"chat 60 s", 60 * time.Second, ChatCap, false, Rung{720, 30}, 1},
		{"chat 5 min", 5 * time.Minute, ChatCap, false, Rung{360, 30}, 1},
		{"chat 20 min", 20 * time.Minute, ChatCap, false, Rung{360, 15}, 2},
		{"chat 20 min with sound", 20 * time.Minute, ChatCap, true, Rung{360, 15}, 3},
		{"phone 10 s", 10 * time.Second, PhoneCap, false, Rung{720, 30}, 1},
		{"phone 60 s", 60 * time.Second, PhoneCap, false, Rung{720, 30}, 1},
		{"phone 5 min", 5 * time.Minute, PhoneCap, false, Rung{540, 30}, 1},
		{"phone 20 min", 20 * time.Minute, PhoneCap, false, Rung{360, 15}, 1},
		{"phone 90 min", 90 * time.Minute, PhoneCap, false, Rung{360, 15}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := MakePlan(PlanInput{Duration: tt.dur, Width: 1280, Height: 720, FPS: 30, Audio: tt.audio, Cap: tt.cap})
			if err != nil {
				t.Fatal(err)
			}
			if p.Rung != tt.wantRung || len(p.Parts) != tt.wantN {
				t.Fatalf("plan %v in %d parts, want %v in %d (plan %+v)", p.Rung, len(p.Parts), tt.wantRung, tt.wantN, p)
			}
			if d := p.Width*720 - 1280*p.Rung.Height; p.Width%2 != 0 || d < -720*2 || d > 720*2 {
				t.Errorf("width %d for %dp of 1280x720", p.Width, p.Rung.Height)
			}
			// The parts cover the time axis without gaps or overlaps, and
			// each fits the cap with the safety margin left.
			var at time.Duration
			for i, s := range p.Parts {
				if s.Start != at || s.End <= s.Start {
					t.Fatalf("part %d = %v–%v after %v", i+1, s.Start, s.End, at)
				}
				at = s.End
				if b := bytesOf(p, s.Duration()); b > float64(tt.cap)*Safety*1.0001 {
					t.Errorf("part %d: %.0f bytes planned, cap %d × %.2f", i+1, b, tt.cap, Safety)
				}
			}
			if at != tt.dur {
				t.Errorf("parts end at %v, want %v", at, tt.dur)
			}
			minKbps := int(MinBPP * float64(p.Width*p.Rung.Height*p.Rung.FPS) / 1000)
			if p.VideoKbps < minKbps {
				t.Errorf("video %d kbps below the rung's minimum %d", p.VideoKbps, minKbps)
			}
			if tt.audio != (p.AudioKbps > 0) {
				t.Errorf("audio %d kbps with audio=%v", p.AudioKbps, tt.audio)
			}
		})
	}
}

func TestMakePlanSource(t *testing.T) {
	// full: the source's size and rate, quality-based.
	p, err := MakePlan(PlanInput{Duration: time.Minute, Width: 1920, Height: 1080, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rung != (Rung{1080, 30}) || p.Width != 1920 || p.VideoKbps != 0 || len(p.Parts) != 1 {
		t.Errorf("full of 1080p30 = %+v, want 1920x1080 at 30, CRF, one part", p)
	}
	// Never above the source: a 640x480 camera at 15 fps starts at 480p15.
	p, err = MakePlan(PlanInput{Duration: time.Minute, Width: 640, Height: 480, FPS: 15, Cap: ChatCap})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rung != (Rung{480, 15}) || p.Width != 640 {
		t.Errorf("chat of 640x480@15 = %+v, want 640x480 at 15", p)
	}
	for _, in := range []PlanInput{
		{Duration: 0, Width: 1280, Height: 720, FPS: 30, Cap: ChatCap},
		{Duration: time.Second, Width: 0, Height: 720, FPS: 30, Cap: ChatCap},
		{Duration: time.Second, Width: 1280, Height: 720, FPS: 30, Cap: 1000},
	} {
		if _, err := MakePlan(in); !errors.Is(err, ErrPlan) {
			t.Errorf("MakePlan(%+v) = %v, want ErrPlan", in, err)
		}
	}
	if _, err := PresetCap("huge"); err == nil {
		t.Error("PresetCap(huge) = nil error")
	}
}

func TestLevel(t *testing.T) {
	for _, tt := range []struct {
		w, h, fps int
		want      string
	}{{640, 360, 15, "3.0"}, {640, 360, 30, "3.0"}, {854, 480, 30, "3.1"}, {960, 540, 30, "3.1"}, {1280, 720, 30, "3.1"}, {1920, 1080, 30, "4.0"}} {
		if got := level(tt.w, tt.h, tt.fps); got != tt.want {
			t.Errorf("level(%dx%d@%d) = %s, want %s", tt.w, tt.h, tt.fps, got, tt.want)
		}
	}
}
