package scalestatus

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	ok := State{Reading: true, Calibrated: true, Steady: true, ZeroBandG: 5, CapacityG: 5000, ZeroLimitG: 200}
	with := func(f func(*State)) State { s := ok; f(&s); return s }
	tests := []struct {
		name string
		s    State
		want Status
	}{
		{"no reading", with(func(s *State) { s.Reading = false; s.Calibrated = false }), Fault},
		{"no calibration", with(func(s *State) { s.Calibrated = false; s.Overload = true }), RequiresCalibration},
		{"saturated", with(func(s *State) { s.Overload = true; s.Steady = false }), OverCapacity},
		{"above capacity", with(func(s *State) { s.Grams = 5001 }), OverCapacity},
		{"capacity unknown", with(func(s *State) { s.Grams = 9000; s.CapacityG = 0 }), Stable},
		{"under zero", with(func(s *State) { s.Grams = -6 }), UnderZero},
		{"zero drifted too far", with(func(s *State) { s.ZeroDriftG = -250 }), RequiresRezero},
		{"no zero limit", with(func(s *State) { s.ZeroDriftG = 1e6; s.ZeroLimitG = 0 }), CenterOfZero},
		{"moving", with(func(s *State) { s.Grams = 1840; s.Steady = false }), InMotion},
		{"empty", with(func(s *State) { s.Grams = 4.9 }), CenterOfZero},
		{"a parcel", with(func(s *State) { s.Grams = 1840 }), Stable},
	}
	for _, tc := range tests {
		if got := Of(tc.s); got != tc.want {
			t.Errorf("%s: Of(%+v) = %s, want %s", tc.name, tc.s, got, tc.want)
		}
	}
	seen := map[int]bool{}
	for _, s := range Statuses {
		c := s.HIDCode()
		if c < 1 || c > 8 || seen[c] {
			t.Errorf("%s: HID code %d", s, c)
		}
		seen[c] = true
	}
}

func TestWeightID(t *testing.T) {
	w := WeightID{Sample: 57, TMS: 12300, File: "video-000.mkv", Frame: 369}
	if w.String() != "s57@12300ms/video-000.mkv#369" {
		t.Fatalf("String: %s", w)
	}
	back, err := ParseWeightID(w.String())
	if err != nil || back != w {
		t.Fatalf("ParseWeightID: %+v, %v", back, err)
	}
	for _, bad := range []string{"", "57@1ms/v#1", "s57@1ms/#1", "s-1@1ms/v.mkv#1", "s1@1ms/a/b#1", "s1@xms/v#1", "s1@1ms/v#", "s1@1/v#2"} {
		if _, err := ParseWeightID(bad); !errors.Is(err, ErrWeightID) {
			t.Errorf("ParseWeightID(%q) = %v", bad, err)
		}
	}
}

func ExampleOf() {
	s := Of(State{Reading: true, Calibrated: true, Grams: 1840.2, Steady: true, ZeroBandG: 5})
	fmt.Println(s, s.HIDCode())
	// Output: stable 4
}
