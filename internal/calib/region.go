package calib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/fsync"
	"weighin/internal/motion"
)

// RegionFile is the camera's calibration under the state directory: where
// the scale's platform is in the picture, set by `weighctl calibrate
// --region` (the local API's calibrate_region). Present, it wins over
// config camera.platform_region, which is the default until a region is
// calibrated (the config file belongs to the administrator and is not
// written by weighd); removing it returns to the configured region.
const RegionFile = "platform_region.json"

// Region is RegionFile's document.
type Region struct {
	Version int `json:"version"`
	// Region is [x, y, w, h], fractions of the frame.
	Region      []float64 `json:"region"`
	At          time.Time `json:"at"`
	ClockSynced bool      `json:"clock_synced"`
}

// ErrNoRegion: no region was calibrated.
var ErrNoRegion = errors.New("calib: no platform region calibrated")

// LoadRegion reads stateDir's RegionFile and validates the region.
func LoadRegion(stateDir string) (motion.Region, error) {
	path := filepath.Join(stateDir, RegionFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return motion.Region{}, ErrNoRegion
	}
	if err != nil {
		return motion.Region{}, fmt.Errorf("calib: %w", err)
	}
	var doc Region
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return motion.Region{}, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	if doc.Version != Version {
		return motion.Region{}, fmt.Errorf("%w: %s: version %d, want %d", ErrInvalid, path, doc.Version, Version)
	}
	r, err := motion.RegionFrom(doc.Region)
	if err != nil {
		return motion.Region{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// SaveRegion validates r and replaces stateDir's RegionFile durably.
func SaveRegion(stateDir string, r motion.Region, at time.Time, synced bool) error {
	if err := r.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(Region{Version: Version, Region: r.Slice(), At: at.UTC(), ClockSynced: synced}, "", "  ")
	if err != nil {
		return fmt.Errorf("calib: %w", err)
	}
	if err := fsync.WriteFile(stateDir, RegionFile, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("calib: save region: %w", err)
	}
	return nil
}
