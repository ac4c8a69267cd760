// Package calib holds the load cell's calibration (the raw count of the
// empty platform and the counts per gram) and the procedure that finds it:
// tare on the empty platform, then span with a known mass.
//
// The calibration persists in a small JSON file under the state directory
// (config scale.calibration_file, relative to state_dir), replaced
// atomically: written to a temporary file in the same directory, fsynced,
// renamed over the old one, and the directory fsynced, so a power cut
// leaves either the old calibration or the new one, never half of either.
//
// The procedure (Procedure) is pure: the daemon feeds it raw conversions
// and the operator's "the mass is on, it weighs M grams"; time-outs belong
// to the caller.
package calib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Version is the calibration file format written by this code.
const Version = 1

// Calibration turns raw HX711 counts into grams:
// grams = (raw − Offset) / Scale.
type Calibration struct {
	Version int `json:"version"`
	// Offset is the raw count of the empty platform.
	Offset float64 `json:"offset"`
	// Scale is counts per gram; negative when the cell is wired the other
	// way round, never zero.
	Scale float64 `json:"scale"`
	// Gain is the HX711 gain (128, 64, 32) the calibration was made at: it
	// is only valid at that gain.
	Gain int `json:"gain"`
	// SpanMassG is the known mass used for the span.
	SpanMassG float64 `json:"span_mass_g"`
	// At is when the calibration was made (RFC 3339, UTC), and
	// ClockSynced whether the clock was synchronised then.
	At          time.Time `json:"at"`
	ClockSynced bool      `json:"clock_synced"`
}

// Errors. Match with errors.Is.
var (
	// ErrNotCalibrated: there is no calibration file yet.
	ErrNotCalibrated = errors.New("calib: not calibrated")
	// ErrInvalid: the file or the values make no sense.
	ErrInvalid = errors.New("calib: invalid calibration")
	// ErrGain: the calibration was made at another gain.
	ErrGain = errors.New("calib: calibrated at another gain")
)

// Validate checks the values.
func (c Calibration) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...))
	}
	if c.Version != Version {
		bad("version %d, want %d", c.Version, Version)
	}
	if math.IsNaN(c.Offset) || math.IsInf(c.Offset, 0) || c.Offset < -(1<<23) || c.Offset > 1<<23-1 {
		bad("offset %v is not a 24-bit count", c.Offset)
	}
	if math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) || c.Scale == 0 {
		bad("scale %v counts per gram must be a non-zero number", c.Scale)
	}
	switch c.Gain {
	case 128, 64, 32:
	default:
		bad("gain %d must be 128, 64 or 32", c.Gain)
	}
	if !(c.SpanMassG > 0) {
		bad("span mass %v g must be positive", c.SpanMassG)
	}
	return errors.Join(errs...)
}

// Check reports whether c can be used at the configured gain.
func (c Calibration) Check(gain int) error {
	if c.Gain != gain {
		return fmt.Errorf("%w: calibrated at gain %d, configured %d: calibrate again", ErrGain, c.Gain, gain)
	}
	return nil
}

// Path resolves the configured calibration file against the state
// directory (an absolute file stays as it is).
func Path(stateDir, file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(stateDir, file)
}

// Load reads and validates the calibration file. A missing file is
// ErrNotCalibrated.
func Load(path string) (Calibration, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Calibration{}, fmt.Errorf("%w: %s does not exist", ErrNotCalibrated, path)
	}
	if err != nil {
		return Calibration{}, fmt.Errorf("calib: %w", err)
	}
	var c Calibration
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Calibration{}, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	if err := c.Validate(); err != nil {
		return Calibration{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Save validates c and replaces the file at path atomically: a temporary
// file in the same directory, fsync, rename, fsync of the directory. On any
// error the old file is left as it was and the temporary file removed.
func Save(path string, c Calibration) error {
	if err := c.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("calib: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("calib: save: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("calib: save: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("calib: save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("calib: save: fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("calib: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("calib: save: %w", err)
	}
	done = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("calib: save: fsync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("calib: save: fsync dir: %w", err)
	}
	return nil
}
