package calib

import (
	"strings"
	"testing"
)

func TestCheckMass(t *testing.T) {
	for in, want := range map[string]string{"1000": "1000", " 500.50 ": "500.5", "200000": "200000", "0.1": "0.1"} {
		if got, err := CheckMass(in); err != nil || got != want {
			t.Errorf("CheckMass(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "0", "-3", "200001", "NaN", "Inf", "1e999"} {
		if _, err := CheckMass(in); err == nil || !strings.Contains(err.Error(), "is not a mass in grams") {
			t.Errorf("CheckMass(%q): %v", in, err)
		}
	}
	if s := StepSpan("1250"); s != "Place the known mass of 1250 g on the platform" {
		t.Errorf("StepSpan: %q", s)
	}
}
