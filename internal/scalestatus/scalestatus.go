// Package scalestatus gives a weight the status and identity commercial
// indicators give theirs: a status in the vocabulary of the USB HID Point of
// Sale scale page (HID Usage Tables, Scale page 0x8D, "Scale Status": fault,
// stable at centre of zero, in motion, weight stable, under zero, over
// weight limit, requires calibration, requires re-zeroing), and a weight id
// (as OPC UA Scales' WeightId ties a reported value to its measurement)
// that names the sample of weight.csv and the video frame a weigh-in was
// taken from.
//
// Of is a pure function of the weighing pipeline's state; the station
// publishes it beside the `stable` boolean (which stays) on the API, on
// MQTT state and as the LED's pattern, and writes the weigh-in's status and
// id into the result. `weighctl replay` keeps its own states (unstable,
// stable, empty).
package scalestatus

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Status is one value of the HID POS scale status.
type Status string

// Statuses, most urgent first: Of returns the first that applies.
const (
	// Fault: no reading (the HX711 does not answer).
	Fault Status = "fault"
	// RequiresCalibration: no calibration, or one that is not usable.
	RequiresCalibration Status = "requires_calibration"
	// OverCapacity: the cell is saturated or the load is above capacity.
	OverCapacity Status = "over_capacity"
	// UnderZero: the net weight is below zero by more than the zero band.
	UnderZero Status = "under_zero"
	// RequiresRezero: zero tracking has moved the zero further than it may
	// (the platform drifted or something stayed on it): tare the empty
	// scale.
	RequiresRezero Status = "requires_rezero"
	// InMotion: the weight is not steady.
	InMotion Status = "in_motion"
	// CenterOfZero: steady within the zero band (an empty platform).
	CenterOfZero Status = "center_of_zero"
	// Stable: a steady load.
	Stable Status = "stable"
)

// Statuses lists every status, most urgent first.
var Statuses = []Status{Fault, RequiresCalibration, OverCapacity, UnderZero, RequiresRezero, InMotion, CenterOfZero, Stable}

// HIDCode is the status's value in the HID POS scale status report (1–8).
func (s Status) HIDCode() int {
	switch s {
	case Fault:
		return 1
	case CenterOfZero:
		return 2
	case InMotion:
		return 3
	case Stable:
		return 4
	case UnderZero:
		return 5
	case OverCapacity:
		return 6
	case RequiresCalibration:
		return 7
	case RequiresRezero:
		return 8
	}
	return 0
}

// State is what Of needs from the station: the pipeline's latest reading
// and the scale's settings.
type State struct {
	// Reading: whether there is one (false: the chip does not answer).
	Reading bool
	// Calibrated: a usable calibration is loaded.
	Calibrated bool
	// Overload: the pipeline saw the cell saturate.
	Overload bool
	// Grams is the net weight, Steady whether the pipeline judges it
	// steady (empty or stable).
	Grams  float64
	Steady bool
	// ZeroBandG is the pipeline's zero band (config scale.zero_band_g).
	ZeroBandG float64
	// CapacityG is the platform's capacity; 0 means unknown (only a
	// saturated cell is then over capacity).
	CapacityG float64
	// ZeroDriftG is how far zero tracking has moved the zero since the
	// last tare or calibration, and ZeroLimitG how far it may (OIML R76
	// allows zero-setting within 4 % of capacity); a limit of 0 never asks
	// for a re-zero.
	ZeroDriftG, ZeroLimitG float64
}

// Of returns the status of s: the first of Statuses that applies.
func Of(s State) Status {
	switch {
	case !s.Reading:
		return Fault
	case !s.Calibrated:
		return RequiresCalibration
	case s.Overload || (s.CapacityG > 0 && s.Grams > s.CapacityG):
		return OverCapacity
	case s.Grams < -s.ZeroBandG:
		return UnderZero
	case s.ZeroLimitG > 0 && math.Abs(s.ZeroDriftG) > s.ZeroLimitG:
		return RequiresRezero
	case !s.Steady:
		return InMotion
	case math.Abs(s.Grams) <= s.ZeroBandG:
		return CenterOfZero
	}
	return Stable
}

// WeightID names a weigh-in's measurement: the sample of weight.csv it was
// frozen at (Sample counts the data rows from 0; TMS is that row's t_ms on
// the video time axis) and the video frame shown at that moment (Frame
// counts from 0 in File).
type WeightID struct {
	Sample int64
	TMS    int64
	File   string
	Frame  int64
}

// String is the id as the result's weight_id holds it:
// "s<sample>@<t_ms>ms/<file>#<frame>", e.g. "s57@12300ms/video-000.mkv#369".
func (w WeightID) String() string {
	return fmt.Sprintf("s%d@%dms/%s#%d", w.Sample, w.TMS, w.File, w.Frame)
}

// ErrWeightID marks a weight_id that does not parse.
var ErrWeightID = errors.New("scalestatus: bad weight_id")

// ParseWeightID reads a weight_id written by String.
func ParseWeightID(s string) (WeightID, error) {
	bad := func(why string) (WeightID, error) {
		return WeightID{}, fmt.Errorf("%w %q: %s", ErrWeightID, s, why)
	}
	rest, ok := strings.CutPrefix(s, "s")
	if !ok {
		return bad("no leading s")
	}
	sample, rest, ok := strings.Cut(rest, "@")
	if !ok {
		return bad("no @")
	}
	tms, rest, ok := strings.Cut(rest, "ms/")
	if !ok {
		return bad("no ms/")
	}
	i := strings.LastIndexByte(rest, '#')
	if i <= 0 {
		return bad("no file#frame")
	}
	file, frame := rest[:i], rest[i+1:]
	var w WeightID
	var err error
	if w.Sample, err = strconv.ParseInt(sample, 10, 64); err != nil || w.Sample < 0 {
		return bad("sample is not a count")
	}
	if w.TMS, err = strconv.ParseInt(tms, 10, 64); err != nil || w.TMS < 0 {
		return bad("t_ms is not a time")
	}
	if w.Frame, err = strconv.ParseInt(frame, 10, 64); err != nil || w.Frame < 0 {
		return bad("frame is not a count")
	}
	if strings.ContainsAny(file, "/\\#@") || file == "." || file == ".." {
		return bad("file is not a bundle file name")
	}
	w.File = file
	return w, nil
}
