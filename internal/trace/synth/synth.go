// Package synth generates synthetic load-cell traces with their truth, for
// the reference cell of the weigh-in station: a 5 kg bar cell on an HX711 at
// gain 128, about 420 counts per gram, offset 8000 counts, conversion noise
// σ ≈ 0.15 g at 10 SPS and ≈ 0.35 g at 80 SPS.
//
// The model, per scenario:
//
//   - the true load L(t) on the platform, on a 0.5 ms grid: a hand sets a
//     parcel down along a smooth ramp (the hand lets go over 0.15–0.6 s),
//     then the platform rings (a damped oscillation at 6–25 Hz, the
//     parcel and platform on the cell, plus a small 45 Hz ring of the bar
//     itself); a dropped parcel bounces (impact, airborne, second landing);
//     a hand resting on a parcel sways it (0.4–1.5 Hz and 2–4 Hz components
//     and a 9 Hz tremor); lifting is a ramp down with a small ring;
//   - cell errors on top of the load: creep under load (0.02 % of the load,
//     time constant 30–60 s, recovering after removal) and thermal zero
//     drift (linear, g/min);
//   - the HX711: each conversion averages the signal over its conversion
//     period (100 ms at 10 SPS, 12.5 ms at 80 SPS), adds Gaussian noise and
//     is rounded to a count; single conversions can be replaced by a read
//     fault (bits read as 1 after a silent reset, -1, a saturation code),
//     as seen when bit-banging from Linux user space.
//
// Everything random comes from a PCG source seeded per scenario, so the
// same code writes byte-identical files: `go run ./internal/trace/gentraces
// -out testdata/traces` regenerates the committed set, and a test checks it.
//
// Truth (trace.Truth) gives, per placement, the mass, the set-down time, the
// time the true load entered and then stayed in the band max(1 g, 0.05 %)
// around the mass, the removal time and the time the platform was truly
// empty again; and the disturbance windows (bounce, sway) in which no stable
// weight may be reported unless it is within tolerance.
package synth

import (
	"math"
	"math/rand/v2"

	"weighin/internal/trace"
)

// Reference cell.
const (
	// CountsPerGram is the reference cell's sensitivity at gain 128.
	CountsPerGram = 420.0
	// Offset is the raw count of the empty platform.
	Offset = 8000.0
	// Noise10 and Noise80 are the conversion noise (σ, grams) at 10 and 80 SPS.
	Noise10 = 0.15
	Noise80 = 0.35
)

// grid is the time step of the load model, in ms.
const grid = 0.5

// Scenario describes one synthetic trace.
type Scenario struct {
	Name        string
	Description string
	Seed        uint64
	// Rate is 10 or 80 SPS.
	Rate int
	// DurationMs is the trace length.
	DurationMs int64
	// DriftGPerMin is a linear thermal zero drift.
	DriftGPerMin float64
	Placements   []Place
	// Spikes are times (ms) near which one conversion is a read fault.
	Spikes []int64
}

// Place is one parcel set down (and perhaps removed).
type Place struct {
	AtMs  int64
	MassG float64
	// ReleaseMs is how long the hand takes to let go.
	ReleaseMs float64
	// Overshoot is the first ring's amplitude as a fraction of the mass.
	Overshoot float64
	// RingHz and RingTauS: the platform's damped ring.
	RingHz, RingTauS float64
	// Bounce: the parcel is dropped, hits, leaves the platform for AirMs
	// and lands again.
	Bounce bool
	AirMs  float64
	// Sway: a hand rests on the parcel from SwayFromMs to SwayToMs,
	// pressing up to SwayG grams.
	SwayFromMs, SwayToMs int64
	SwayG                float64
	// Creep is the cell's creep under this load, as a fraction of the load,
	// with time constant CreepTauS.
	Creep, CreepTauS float64
	// RemoveMs is when lifting starts (0 = stays on); RemoveLenMs its length.
	RemoveMs    int64
	RemoveLenMs float64
}

// Trace is a generated trace: the samples, the noiseless grams each
// conversion saw, and the truth.
type Trace struct {
	Samples []trace.Sample
	// Grams is the true load averaged over each conversion (no noise, no
	// drift, no creep): the grams_true column.
	Grams []float64
	Truth trace.Truth
}

// placement derived times, in ms.
type placeModel struct {
	Place
	landMs    float64 // when the full load is first carried (ring starts)
	ringHz    float64
	swayF1    float64
	swayF2    float64
	swayPh1   float64
	swayPh2   float64
	cellPhase float64
}

func smoothstep(x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	return x * x * (3 - 2*x)
}

// load is the true load (grams) that p puts on the platform at time t (ms).
func (p *placeModel) load(t float64) float64 {
	at := float64(p.AtMs)
	if t < at {
		return 0
	}
	m := p.MassG
	var l float64
	switch {
	case p.Bounce && t < p.landMs:
		// Impact: a half sine of 1.8 m over 50 ms, then airborne.
		if d := t - at; d < 50 {
			l = 1.8 * m * math.Sin(math.Pi*d/50)
		}
	case p.Bounce:
		// Second landing: a fast 25 ms ramp, then the ring.
		l = m * smoothstep((t-p.landMs)/25)
	default:
		l = m * smoothstep((t-at)/p.ReleaseMs)
	}
	// The rings, until they are 20 time constants old (below 1e-8 of the
	// load).
	if d := (t - p.landMs) / 1000; d >= 0 && d < 20*p.RingTauS {
		l += m * p.Overshoot * math.Exp(-d/p.RingTauS) * math.Sin(2*math.Pi*p.ringHz*d)
		if d < 20*0.05 {
			l += m * 0.01 * math.Exp(-d/0.05) * math.Sin(2*math.Pi*45*d+p.cellPhase)
		}
	}
	if p.SwayToMs > p.SwayFromMs && t >= float64(p.SwayFromMs) && t < float64(p.SwayToMs)+200 {
		s := (t - float64(p.SwayFromMs)) / 1000
		w := smoothstep(s/0.3) * (1 - smoothstep((t-float64(p.SwayToMs))/200))
		f := 0.55 + 0.3*math.Sin(2*math.Pi*p.swayF1*s+p.swayPh1) + 0.12*math.Sin(2*math.Pi*p.swayF2*s+p.swayPh2) + 0.03*math.Sin(2*math.Pi*9*s)
		l += p.SwayG * w * f
	}
	if p.RemoveMs > 0 && t >= float64(p.RemoveMs) {
		d := t - float64(p.RemoveMs)
		l *= 1 - smoothstep(d/p.RemoveLenMs)
		if e := (d - p.RemoveLenMs) / 1000; e >= 0 && e < 20*0.08 {
			l += -0.01 * m * math.Exp(-e/0.08) * math.Sin(2*math.Pi*18*e)
		}
	}
	return l
}

// creep is the cell's creep error (grams) at t for this placement.
func (p *placeModel) creep(t float64) float64 {
	if p.Creep == 0 || t < p.landMs {
		return 0
	}
	c := func(t float64) float64 {
		return p.Creep * p.MassG * (1 - math.Exp(-(t-p.landMs)/1000/p.CreepTauS))
	}
	if p.RemoveMs > 0 && t >= float64(p.RemoveMs) {
		r := float64(p.RemoveMs)
		return c(r) * math.Exp(-(t-r)/1000/p.CreepTauS)
	}
	return c(t)
}

// Generate builds the trace of s. It is deterministic in s.
func Generate(s Scenario) Trace {
	rng := rand.New(rand.NewPCG(s.Seed, 0x7765696768696e)) // "weighin"
	models := make([]placeModel, len(s.Placements))
	for i, p := range s.Placements {
		m := placeModel{Place: p}
		m.landMs = float64(p.AtMs) + p.ReleaseMs
		if p.Bounce {
			m.landMs = float64(p.AtMs) + 50 + p.AirMs
		}
		m.ringHz = p.RingHz * (0.9 + 0.2*rng.Float64())
		m.cellPhase = 2 * math.Pi * rng.Float64()
		m.swayF1 = 0.4 + 1.1*rng.Float64()
		m.swayF2 = 2 + 2*rng.Float64()
		m.swayPh1 = 2 * math.Pi * rng.Float64()
		m.swayPh2 = 2 * math.Pi * rng.Float64()
		if m.RemoveLenMs == 0 {
			m.RemoveLenMs = 300
		}
		models[i] = m
	}
	loadAt := func(t float64) float64 {
		var l float64
		for i := range models {
			l += models[i].load(t)
		}
		return l
	}
	errAt := func(t float64) float64 {
		e := s.DriftGPerMin * t / 60000
		for i := range models {
			e += models[i].creep(t)
		}
		return e
	}
	noise := Noise10
	if s.Rate == 80 {
		noise = Noise80
	}
	periodMs := 1000 / float64(s.Rate)
	steps := int(math.Round(periodMs / grid))

	tr := Trace{}
	spikes := append([]int64(nil), s.Spikes...)
	var spikeAt []int64
	for k := 1; ; k++ {
		tEnd := float64(k) * periodMs
		if tEnd > float64(s.DurationMs) {
			break
		}
		var sumL, sumE float64
		for j := range steps {
			t := tEnd - periodMs + (float64(j)+0.5)*grid
			sumL += loadAt(t)
			sumE += errAt(t)
		}
		l := sumL / float64(steps)
		g := l + sumE/float64(steps) + noise*rng.NormFloat64()
		raw := int64(math.Round(Offset + CountsPerGram*g))
		tms := int64(math.Floor(tEnd))
		if len(spikes) > 0 && tms >= spikes[0] {
			spikes = spikes[1:]
			raw = glitch(raw, rng)
			spikeAt = append(spikeAt, tms)
		}
		raw = min(max(raw, trace.RawMin), trace.RawMax)
		tr.Samples = append(tr.Samples, trace.Sample{T: msDur(tms), Raw: int32(raw)})
		tr.Grams = append(tr.Grams, l)
	}

	truth := trace.Truth{
		Name: s.Name, Description: s.Description, Seed: s.Seed, RateSPS: s.Rate,
		Offset: Offset, CountsPerGram: CountsPerGram, NoiseG: noise,
		DriftGPerMin: s.DriftGPerMin, SpikesMs: spikeAt,
		Placements: []trace.Placement{}, Disturbance: []trace.Disturbance{},
	}
	if n := len(tr.Samples); n > 0 {
		truth.DurationMs = tr.Samples[n-1].T.Milliseconds()
	}
	if truth.SpikesMs == nil {
		truth.SpikesMs = []int64{}
	}
	for i, m := range models {
		tol := trace.Tolerance(m.MassG)
		end := float64(s.DurationMs)
		if m.RemoveMs > 0 {
			end = float64(m.RemoveMs)
		}
		p := trace.Placement{
			MassG: m.MassG, ToleranceG: tol, SetDownMs: m.AtMs,
			EnteredMs: enteredBand(loadAt, float64(m.AtMs), end, m.MassG, tol),
		}
		if m.RemoveMs > 0 {
			p.RemovedMs = m.RemoveMs
			next := float64(s.DurationMs)
			if i+1 < len(models) {
				next = float64(models[i+1].AtMs)
			}
			p.EmptyMs = enteredBand(loadAt, float64(m.RemoveMs), next, 0, trace.Tolerance(0))
		}
		truth.Placements = append(truth.Placements, p)
		if m.Bounce {
			truth.Disturbance = append(truth.Disturbance, trace.Disturbance{
				Kind: "bounce", StartMs: m.AtMs, EndMs: int64(math.Ceil(m.landMs + 25)),
			})
		}
		if m.SwayToMs > m.SwayFromMs {
			truth.Disturbance = append(truth.Disturbance, trace.Disturbance{
				Kind: "sway", StartMs: m.SwayFromMs, EndMs: m.SwayToMs + 200,
			})
		}
	}
	tr.Truth = truth
	return tr
}

// enteredBand returns the first ms after which the true load stays within
// tol of want until end (exclusive).
func enteredBand(loadAt func(float64) float64, from, end, want, tol float64) int64 {
	last := from
	for t := from; t < end; t += grid {
		if math.Abs(loadAt(t)-want) > tol {
			last = t + grid
		}
	}
	return int64(math.Ceil(last))
}

// glitch returns the value a faulty read gives instead of raw.
func glitch(raw int64, rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0: // the chip reset mid-frame: the remaining bits read as 1
		k := 12 + rng.IntN(11)
		return raw | (1<<k - 1)
	case 1:
		return -1
	case 2:
		return trace.RawMax
	default: // one high bit flipped
		return raw ^ (1 << (16 + rng.IntN(6)))
	}
}
