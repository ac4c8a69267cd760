package synth

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"weighin/internal/trace"
)

const committed = "../../../testdata/traces"

// generated is the reference set, generated once for all tests.
var generated = sync.OnceValue(func() map[string]Trace {
	out := map[string]Trace{}
	for _, s := range Scenarios() {
		out[s.Name] = Generate(s)
	}
	return out
})

// TestCommittedTracesReproduce regenerates the reference set and checks
// that the committed files are byte-identical, and that nothing generated is
// missing or stale.
func TestCommittedTracesReproduce(t *testing.T) {
	files := map[string][]byte{}
	for name, tr := range generated() {
		j, err := trace.MarshalTruth(tr.Truth)
		if err != nil {
			t.Fatal(err)
		}
		files[name+".csv"], files[name+".truth.json"] = CSV(tr), j
	}
	onDisk, err := filepath.Glob(filepath.Join(committed, "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range onDisk {
		name := filepath.Base(p)
		if name == "README.md" {
			continue
		}
		seen[name] = true
		want, ok := files[name]
		if !ok {
			t.Errorf("%s is committed but not generated (stale?)", p)
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes; run go run ./internal/trace/gentraces -out testdata/traces", p)
		}
	}
	for name := range files {
		if !seen[name] {
			t.Errorf("%s is generated but not committed", name)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	s := Scenarios()[0]
	a, b := CSV(Generate(s)), CSV(Generate(s))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of the same scenario differ")
	}
	s.Seed++
	if bytes.Equal(a, CSV(Generate(s))) {
		t.Fatal("another seed gives the same trace: noise is not seeded")
	}
}

func TestReferenceSetCoversTheIssue(t *testing.T) {
	ss := Scenarios()
	if len(ss) < 24 {
		t.Fatalf("%d scenarios, want at least 24", len(ss))
	}
	want := []string{"setdown", "bounce", "sway", "creep", "drift-empty", "drift-loaded", "spikes", "two-parcels", "removal"}
	rates := map[int]bool{}
	minM, maxM := math.Inf(1), 0.0
	names := map[string]bool{}
	for _, s := range ss {
		if names[s.Name] {
			t.Errorf("duplicate name %s", s.Name)
		}
		names[s.Name] = true
		rates[s.Rate] = true
		for _, p := range s.Placements {
			minM, maxM = math.Min(minM, p.MassG), math.Max(maxM, p.MassG)
		}
	}
	for _, w := range want {
		found := false
		for n := range names {
			found = found || strings.HasPrefix(n, w)
		}
		if !found {
			t.Errorf("no %s scenario", w)
		}
	}
	if !rates[10] || !rates[80] || minM > 50 || maxM < 4900 {
		t.Errorf("rates %v, masses %v..%v g: want 10 and 80 SPS, 50 g to 4.9 kg", rates, minM, maxM)
	}
}

// TestModel checks the generated traces against the reference cell: the
// empty platform reads the offset, a load reads 420 counts per gram, the
// noise is what the contract says, and the truth is consistent.
func TestModel(t *testing.T) {
	for _, s := range Scenarios() {
		tr := generated()[s.Name]
		truth := tr.Truth
		if err := checkTruth(truth); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		period := int64(1000 / s.Rate)
		if got := tr.Samples[1].T.Milliseconds() - tr.Samples[0].T.Milliseconds(); got < period-1 || got > period+1 {
			t.Errorf("%s: sample spacing %d ms at %d SPS", s.Name, got, s.Rate)
		}
		if s.DriftGPerMin != 0 || len(s.Spikes) > 0 {
			continue
		}
		// Noise on the empty platform before the first placement.
		var res []float64
		for i, smp := range tr.Samples {
			if len(truth.Placements) > 0 && smp.T.Milliseconds() >= truth.Placements[0].SetDownMs {
				break
			}
			res = append(res, (float64(smp.Raw)-Offset)/CountsPerGram-tr.Grams[i])
		}
		if len(res) < 10 {
			continue
		}
		var m, v float64
		for _, r := range res {
			m += r
		}
		m /= float64(len(res))
		for _, r := range res {
			v += (r - m) * (r - m)
		}
		sd := math.Sqrt(v / float64(len(res)-1))
		if sd < 0.5*truth.NoiseG || sd > 1.6*truth.NoiseG || math.Abs(m) > 0.2 {
			t.Errorf("%s: empty platform mean %.3f g, σ %.3f g; want ≈0 and ≈%.2f", s.Name, m, sd, truth.NoiseG)
		}
	}
}

func checkTruth(tr trace.Truth) error {
	b, err := trace.MarshalTruth(tr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "truth")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "t.truth.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return err
	}
	_, err = trace.ReadTruth(p)
	return err
}

func TestSpikesAreRecorded(t *testing.T) {
	for _, s := range Scenarios() {
		tr := generated()[s.Name]
		if len(tr.Truth.SpikesMs) != len(s.Spikes) {
			t.Errorf("%s: %d spikes in truth, %d asked", s.Name, len(tr.Truth.SpikesMs), len(s.Spikes))
		}
		if !sort.SliceIsSorted(tr.Truth.SpikesMs, func(i, j int) bool { return tr.Truth.SpikesMs[i] < tr.Truth.SpikesMs[j] }) {
			t.Errorf("%s: spikes not in order", s.Name)
		}
	}
}

func TestRandomHoldout(t *testing.T) {
	a, b := Random(1, 30), Random(1, 30)
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(CSV(Generate(a[i])), CSV(Generate(b[i]))) {
			t.Fatalf("Random is not reproducible at %d", i)
		}
		for _, p := range a[i].Placements {
			if p.MassG < 50 || p.MassG > 4900 {
				t.Errorf("%s: mass %v outside 50..4900 g", a[i].Name, p.MassG)
			}
		}
	}
}

// TestCommittedModelBReproduces regenerates model B's set and the noisy
// cell's and checks the committed files are byte-identical and complete.
func TestCommittedModelBReproduces(t *testing.T) {
	for _, set := range []struct {
		dir string
		ss  []ScenarioB
	}{{"../../../testdata/traces-b", ScenariosB()}, {"../../../testdata/traces-noisy", NoisyScenarios()}} {
		files, err := FilesB(set.ss)
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := filepath.Glob(filepath.Join(set.dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, p := range onDisk {
			name := filepath.Base(p)
			if name == "README.md" {
				continue
			}
			seen[name] = true
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := files[name]; !ok {
				t.Errorf("%s is committed but not generated (stale?)", p)
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the generator writes; run go run ./internal/trace/gentraces", p)
			}
		}
		for name := range files {
			if !seen[name] {
				t.Errorf("%s/%s is generated but not committed", set.dir, name)
			}
		}
	}
}

// TestModelBPhysics checks model B behaves as its physics says: a load at
// rest reads its mass through the negative calibration, a drop bounces
// (the parcel leaves the platform: the load falls below half the mass after
// the first impact), conversions come at the internal oscillator's rate, the
// noisy cell has σ ≈ 3 g, and the truth reads back.
func TestModelBPhysics(t *testing.T) {
	byName := map[string]ScenarioB{}
	for _, s := range append(ScenariosB(), NoisyScenarios()...) {
		byName[s.Name] = s
	}
	hand := GenerateB(byName["b-hand-9500g-10sps"])
	if err := checkTruth(hand.Truth); err != nil {
		t.Fatal(err)
	}
	n := len(hand.Samples)
	last := hand.Samples[n-1]
	g := (float64(last.Raw) - hand.Truth.Offset) / hand.Truth.CountsPerGram
	if hand.Truth.CountsPerGram >= 0 || math.Abs(g-9500) > 8 {
		t.Errorf("9.5 kg at rest reads %.2f g (counts/g %v); want ≈9500 through a negative scale", g, hand.Truth.CountsPerGram)
	}
	if rate := float64(n-1) / (last.T - hand.Samples[0].T).Seconds(); rate < 10.3 || rate > 11 {
		t.Errorf("%.2f conversions/s at 10 SPS; want the internal oscillator's ≈10.7", rate)
	}
	drop := GenerateB(byName["b-drop-3100g-80sps"])
	if len(drop.Truth.Disturbance) != 1 || drop.Truth.Disturbance[0].Kind != "bounce" {
		t.Fatalf("drop truth %+v: want one bounce window", drop.Truth.Disturbance)
	}
	peak, dip := 0.0, math.Inf(1)
	for i, s := range drop.Samples {
		if s.T.Milliseconds() < drop.Truth.Placements[0].SetDownMs {
			continue
		}
		if drop.Grams[i] > peak {
			peak = drop.Grams[i]
		} else if peak > 3100 && s.T.Milliseconds() < drop.Truth.Disturbance[0].EndMs {
			dip = math.Min(dip, drop.Grams[i])
		}
	}
	if peak < 3500 || dip > 1550 {
		t.Errorf("3.1 kg drop at 80 SPS: peak %.0f g, dip after it %.0f g; want an impact above the mass and a bounce", peak, dip)
	}
	noisy := GenerateB(byName["noisy-hand-800g"])
	var res []float64
	for i, s := range noisy.Samples {
		if s.T.Milliseconds() >= noisy.Truth.Placements[0].SetDownMs {
			break
		}
		res = append(res, (float64(s.Raw)-noisy.Truth.Offset)/noisy.Truth.CountsPerGram-noisy.Grams[i])
	}
	var m, v float64
	for _, r := range res {
		m += r
	}
	m /= float64(len(res))
	for _, r := range res {
		v += (r - m) * (r - m)
	}
	if sd := math.Sqrt(v / float64(len(res)-1)); sd < 2.2 || sd > 3.8 {
		t.Errorf("noisy cell: σ %.2f g on the empty platform; want ≈3", sd)
	}
}
