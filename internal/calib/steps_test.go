package calib

import "testing"

func TestStepSpan(t *testing.T) {
	if s := StepSpan("1250"); s != "Place the known mass of 1250 g on the platform" {
		t.Errorf("StepSpan: %q", s)
	}
}
