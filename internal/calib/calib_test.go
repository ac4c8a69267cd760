package calib

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"weighin/internal/motion"
)

func good() Calibration {
	return Calibration{Version: Version, Offset: 8000, Scale: 420.1, Gain: 128, SpanMassG: 1000,
		At: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC), ClockSynced: true}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "calibration.json")
	if _, err := Load(p); !errors.Is(err, ErrNotCalibrated) {
		t.Fatalf("Load(missing) = %v, want ErrNotCalibrated", err)
	}
	c := good()
	if err := Save(p, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	// Replace it: the new one wins, nothing else is left in the directory.
	c.Scale = -419.5
	if err := Save(p, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := Load(p); got.Scale != -419.5 {
		t.Fatalf("after replacing: scale %v", got.Scale)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %v, want only calibration.json", entries)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestSaveRefusesBadValuesAndKeepsTheOld(t *testing.T) {
	p := filepath.Join(t.TempDir(), "calibration.json")
	if err := Save(p, good()); err != nil {
		t.Fatal(err)
	}
	bad := good()
	bad.Scale = 0
	if err := Save(p, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Save(scale 0) = %v, want ErrInvalid", err)
	}
	if got, err := Load(p); err != nil || got.Scale != good().Scale {
		t.Fatalf("old calibration lost: %+v, %v", got, err)
	}
}

func TestSaveIntoMissingDirectory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "calibration.json")
	if err := Save(p, good()); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", "{", "unexpected EOF"},
		{"unknown field", `{"version":1,"offset":1,"scale":420,"gain":128,"span_mass_g":100,"tare":3}`, `unknown field "tare"`},
		{"zero scale", `{"version":1,"offset":1,"scale":0,"gain":128,"span_mass_g":100}`, "scale 0 counts per gram"},
		{"bad gain", `{"version":1,"offset":1,"scale":420,"gain":100,"span_mass_g":100}`, "gain 100"},
		{"old version", `{"version":0,"offset":1,"scale":420,"gain":128,"span_mass_g":100}`, "version 0"},
		{"offset beyond 24 bits", `{"version":1,"offset":9000000,"scale":420,"gain":128,"span_mass_g":100}`, "offset 9e+06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.json")
			os.WriteFile(p, []byte(tt.body), 0o644)
			_, err := Load(p)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Load(%s) = %v; want ErrInvalid naming the file and %q", tt.body, err, tt.want)
			}
		})
	}
}

func TestCheckAndPath(t *testing.T) {
	if err := good().Check(128); err != nil {
		t.Error(err)
	}
	if err := good().Check(64); !errors.Is(err, ErrGain) {
		t.Errorf("Check(64) = %v, want ErrGain", err)
	}
	if got := Path("/var/lib/weighin", "calibration.json"); got != "/var/lib/weighin/calibration.json" {
		t.Error(got)
	}
	if got := Path("/var/lib/weighin", "/etc/weighin/cal.json"); got != "/etc/weighin/cal.json" {
		t.Error(got)
	}
}

// cell simulates the reference cell's raw conversions.
type cell struct {
	rng   *rand.Rand
	grams float64
	scale float64
}

func (c *cell) raw() int32 {
	return int32(math.Round(8000 + c.scale*(c.grams+0.15*c.rng.NormFloat64())))
}

func TestProcedure(t *testing.T) {
	for _, scale := range []float64{420, -420} {
		c := &cell{rng: rand.New(rand.NewPCG(3, 4)), scale: scale}
		p := NewProcedure(Options{})
		for range 19 {
			if ph, err := p.Add(c.raw()); ph != Taring || err != nil {
				t.Fatalf("after fewer than 20 conversions: %s %v", ph, err)
			}
		}
		if ph, _ := p.Add(c.raw()); ph != AwaitMass {
			t.Fatalf("after 20 steady conversions: %s", ph)
		}
		if _, err := p.Result(time.Now(), false); !errors.Is(err, ErrPhase) {
			t.Fatalf("Result before done: %v", err)
		}
		if err := p.PlaceMass(2000); err != nil {
			t.Fatal(err)
		}
		// The operator is slow: 3 s more of empty platform, then the mass
		// goes on with some wobble.
		for range 30 {
			p.Add(c.raw())
		}
		if p.Phase() != Spanning {
			t.Fatalf("empty platform during span: %s", p.Phase())
		}
		for i := range 60 {
			c.grams = 2000 + 50*math.Exp(-float64(i)/3)*math.Sin(float64(i))
			p.Add(c.raw())
		}
		if p.Phase() != Done {
			t.Fatalf("mass on for 6 s: %s (%v)", p.Phase(), p.Abort())
		}
		at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.FixedZone("x", 3600))
		got, err := p.Result(at, true)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Offset-8000) > 30 || math.Abs(got.Scale-scale)/420 > 0.0005 || got.Gain != 128 || got.SpanMassG != 2000 || !got.At.Equal(at) || got.At.Location() != time.UTC {
			t.Fatalf("calibration %+v, want offset 8000, scale %v", got, scale)
		}
		if err := got.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcedureRejects(t *testing.T) {
	steady := func(p *Procedure, c *cell, n int) {
		for range n {
			p.Add(c.raw())
		}
	}
	t.Run("unstable tare", func(t *testing.T) {
		c := &cell{rng: rand.New(rand.NewPCG(1, 1)), scale: 420}
		p := NewProcedure(Options{})
		for i := range 100 {
			c.grams = 10 * math.Sin(float64(i)) // someone leaning on it
			p.Add(c.raw())
		}
		if p.Phase() != Taring {
			t.Fatalf("phase %s", p.Phase())
		}
		if err := p.Abort(); !errors.Is(err, ErrUnstable) || p.Phase() != Failed {
			t.Fatalf("Abort = %v, phase %s", err, p.Phase())
		}
	})
	t.Run("saturated", func(t *testing.T) {
		p := NewProcedure(Options{})
		if _, err := p.Add(rawMax); !errors.Is(err, ErrSaturated) || p.Phase() != Failed || !errors.Is(p.Err(), ErrSaturated) {
			t.Fatalf("saturated code: %v, %s", err, p.Phase())
		}
		if ph, err := p.Add(8000); ph != Failed || err != nil {
			t.Fatalf("after failing: %s %v", ph, err)
		}
	})
	t.Run("saturated under the mass", func(t *testing.T) {
		c := &cell{rng: rand.New(rand.NewPCG(1, 1)), scale: 420}
		p := NewProcedure(Options{})
		steady(p, c, 20)
		p.PlaceMass(5000)
		if _, err := p.Add(rawMin); !errors.Is(err, ErrSaturated) {
			t.Fatalf("saturated under load: %v", err)
		}
	})
	t.Run("mass too small", func(t *testing.T) {
		c := &cell{rng: rand.New(rand.NewPCG(1, 1)), scale: 420}
		p := NewProcedure(Options{})
		steady(p, c, 20)
		if err := p.PlaceMass(20); !errors.Is(err, ErrMassTooSmall) || p.Phase() != Failed {
			t.Fatalf("PlaceMass(20 g) = %v, %s", err, p.Phase())
		}
	})
	t.Run("mass never put on", func(t *testing.T) {
		c := &cell{rng: rand.New(rand.NewPCG(1, 1)), scale: 420}
		p := NewProcedure(Options{})
		steady(p, c, 20)
		p.PlaceMass(500)
		steady(p, c, 100)
		if err := p.Abort(); !errors.Is(err, ErrSpanTooSmall) {
			t.Fatalf("Abort = %v, want ErrSpanTooSmall", err)
		}
	})
	t.Run("wrong phase", func(t *testing.T) {
		p := NewProcedure(Options{})
		if err := p.PlaceMass(1000); !errors.Is(err, ErrPhase) {
			t.Fatalf("PlaceMass while taring = %v", err)
		}
	})
}

func TestAverageAndSpan(t *testing.T) {
	o := Options{Samples: 3, MaxSpreadCounts: 10}
	if m, err := Average([]int32{100, 105, 110}, o); err != nil || m != 105 {
		t.Errorf("Average = %v, %v", m, err)
	}
	if _, err := Average([]int32{100, 111, 105}, o); !errors.Is(err, ErrUnstable) {
		t.Errorf("spread 11: %v", err)
	}
	if _, err := Average([]int32{100, 101}, o); !errors.Is(err, ErrUnstable) {
		t.Errorf("2 samples: %v", err)
	}
	if _, err := Average([]int32{100, -1 << 23, 100}, o); !errors.Is(err, ErrSaturated) {
		t.Errorf("saturated: %v", err)
	}
	if s, err := Span(8000+420000, 8000, 1000, Options{}); err != nil || s != 420 {
		t.Errorf("Span = %v, %v", s, err)
	}
	if _, err := Span(8000+420000, 8000, math.NaN(), Options{}); !errors.Is(err, ErrMassTooSmall) {
		t.Errorf("NaN mass: %v", err)
	}
}

// FuzzProcedure drives the procedure with random conversions and commands:
// phases only move forward, Failed carries a reason, and Done always yields
// a valid calibration.
func FuzzProcedure(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 3}, uint16(1000))
	f.Add([]byte{255, 255, 255, 0, 0}, uint16(50))
	f.Fuzz(func(t *testing.T, data []byte, mass uint16) {
		p := NewProcedure(Options{Samples: 3, MaxSpreadCounts: 500, MinSpanCounts: 1000, MinMassG: 10})
		last := p.Phase()
		for i, b := range data {
			if b == 0xAA {
				p.PlaceMass(float64(mass))
			} else {
				p.Add(int32(b)*40000 - 5_000_000 + int32(i%3))
			}
			ph := p.Phase()
			if ph < last {
				t.Fatalf("phase went back from %s to %s", last, ph)
			}
			last = ph
			if ph == Failed && p.Err() == nil {
				t.Fatal("failed without a reason")
			}
		}
		if p.Phase() == Done {
			c, err := p.Result(time.Unix(0, 0), false)
			if err != nil || c.Validate() != nil {
				t.Fatalf("done but %+v: %v %v", c, err, c.Validate())
			}
		}
	})
}

// TestRegionFile: a calibrated platform region survives a restart; a file
// with a region outside the frame is refused with its path and reason.
func TestRegionFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadRegion(dir); !errors.Is(err, ErrNoRegion) {
		t.Fatalf("LoadRegion of nothing: %v, want ErrNoRegion", err)
	}
	r := motion.Region{X: 0.1, Y: 0.3, W: 0.5, H: 0.6}
	if err := SaveRegion(dir, r, time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), true); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadRegion(dir); err != nil || got != r {
		t.Fatalf("LoadRegion = %v, %v; want %v", got, err, r)
	}
	if err := SaveRegion(dir, motion.Region{X: 0.6, Y: 0, W: 0.5, H: 0.5}, time.Now(), false); err == nil {
		t.Error("SaveRegion took a region outside the frame")
	}
	os.WriteFile(filepath.Join(dir, RegionFile), []byte(`{"version":1,"region":[0.6,0,0.5,0.5],"at":"2026-12-02T03:00:00Z","clock_synced":true}`), 0o644)
	if _, err := LoadRegion(dir); err == nil || !strings.Contains(err.Error(), RegionFile) || !strings.Contains(err.Error(), "x+w, y+h at most 1") {
		t.Errorf("LoadRegion of a bad region: %v", err)
	}
}
