package calib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The guided two-point calibration, as weighctl calibrate and the web
// app's calibration page walk through it: step 1 records the empty
// platform (the API's calibrate_zero), step 2 the known mass on it
// (calibrate_span with the mass, which saves the calibration).
const (
	Steps = 2
	// StepZero is step 1's instruction.
	StepZero = "Empty the platform"
	// AskMass asks for the known mass.
	AskMass = "Known mass in grams"
)

// StepSpan is step 2's instruction for mass (CheckMass's text).
func StepSpan(mass string) string {
	return "Place the known mass of " + mass + " g on the platform"
}

// MaxMassG is the heaviest known mass CheckMass accepts.
const MaxMassG = 200000

// CheckMass reads a known mass in grams (calibration, the simulator's
// load): a number greater than 0 and at most MaxMassG. It returns the
// mass in its shortest text.
func CheckMass(s string) (string, error) {
	s = strings.TrimSpace(s)
	g, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 || g > MaxMassG {
		return "", fmt.Errorf("%q is not a mass in grams (greater than 0, at most %d)", s, MaxMassG)
	}
	return strconv.FormatFloat(g, 'f', -1, 64), nil
}
