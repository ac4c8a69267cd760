package calib

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

// StepSpan is step 2's instruction for mass (its text, as checked by
// vocab.ParseMass).
func StepSpan(mass string) string {
	return "Place the known mass of " + mass + " g on the platform"
}
