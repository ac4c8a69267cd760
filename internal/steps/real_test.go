package steps

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// realDir holds real HX711 recordings made by other people
// (../shared/real-traces beside the clone; read there, never copied in).
const realDir = "../../../shared/real-traces"

// TestRealSyringeCalibration runs the detector over a real recording: a
// 20 kg cell (noise σ ≈ 1.2 g, ten times the reference cell's) calibrated
// with masses put on and taken off by hand (cbosoft/syringepump). Every
// level the truth file lists is found, each step lands between the
// levels it joins, and its ΔG is the difference of the truth's plateau
// levels within 3 g; nothing else is reported as a step.
func TestRealSyringeCalibration(t *testing.T) {
	name := filepath.Join(realDir, "real-syr-steps-known")
	var truth struct {
		Offset, Scale float64
		Segments      []struct {
			Window [2]float64
			Level  float64 `json:"level_g"`
		}
	}
	b, err := os.ReadFile(name + ".truth.json")
	if err != nil {
		t.Fatalf("the real recordings must be in %s: %v", realDir, err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Opts{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		ms, err1 := strconv.ParseFloat(r[0], 64)
		raw, err2 := strconv.ParseFloat(r[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %v", r)
		}
		if err := d.Add(ms/1000, (raw-truth.Offset)/truth.Scale); err != nil {
			t.Fatal(err)
		}
	}
	det := d.Result()
	segs := truth.Segments
	if len(det.Steps) != len(segs)-1 {
		for _, s := range det.Steps {
			t.Logf("step at %.2f s: %.1f → %.1f g", s.TS, s.BeforeG, s.AfterG)
		}
		t.Fatalf("%d steps, want %d (one between each two of the %d levels)", len(det.Steps), len(segs)-1, len(segs))
	}
	for i, s := range det.Steps {
		a, b := segs[i], segs[i+1]
		want := b.Level - a.Level
		if s.TS < a.Window[1]-0.5 || s.TS > b.Window[0]+0.5 || math.Abs(s.DeltaG-want) > 3 {
			t.Errorf("step %d at %.2f s of %.1f g; want between %.2f and %.2f s, %.1f g (%.1f → %.1f)", i, s.TS, s.DeltaG, a.Window[1], b.Window[0], want, a.Level, b.Level)
		}
	}
	t.Logf("noise σ estimated %.2f g; %d steps, %d transients", d.sigma, len(det.Steps), len(det.Transients))
}
