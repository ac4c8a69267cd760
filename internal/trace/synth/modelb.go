package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"weighin/internal/trace"
)

// Model B: a second physical model, parameterised independently of the
// reference model (Generate) and kept as a hold-out the weighing pipeline
// is not tuned on. Where the reference model draws the load as smooth
// ramps plus damped sines, model B integrates the mechanics:
//
//   - a platform of mass PlatformKg on the cell, a spring of StiffNPerM
//     with damping ratio Zeta (a 20 kg parcel cell, wired the other way
//     round: negative counts per gram, another offset);
//   - the parcel a second mass on the platform through a one-sided
//     contact (cardboard: ContactNPerM, damping ratio ContactZeta): it can
//     leave the platform, so a drop bounces by itself;
//   - a hand is a force on the parcel: it carries the weight and lets go
//     along a ramp with a physiological tremor (8–12 Hz); a slide hands the
//     weight over in stick-slip jerks; a hand resting on the parcel presses
//     with a slow sway; lifting carries it off;
//   - the cell: creep in two first-order terms (seconds and minutes) that
//     recover after removal, a thermal zero drift with an air-conditioning
//     cycle;
//   - the HX711 on its internal oscillator (10.7 or 85.9 conversions per
//     second, not 10 or 80), each conversion the mean of the cell signal
//     over its period, with 50 or 60 Hz mains pickup, white noise plus two
//     correlated (1/f-like) components, rounding to a count; timestamps
//     with Linux read jitter; lost conversions and read faults.
//
// The state is integrated with semi-implicit Euler at 0.1 ms.

// CellB is model B's cell and platform.
type CellB struct {
	CountsPerGram, Offset float64
	PlatformKg            float64
	StiffNPerM, Zeta      float64
	// ContactNPerM and ContactZeta: the parcel on the platform.
	ContactNPerM, ContactZeta float64
	// RateHz is the real conversion rate at the nominal 10 or 80 SPS.
	RateHz10, RateHz80 float64
	// Noise: white σ (grams, per conversion) at 10 and 80 SPS, and two
	// correlated components (σ grams, time constant s).
	White10, White80 float64
	Red1G, Red1TauS  float64
	Red2G, Red2TauS  float64
	// MainsHz and MainsG: pickup before the conversion's averaging.
	MainsHz, MainsG float64
	// JitterMs is the read latency added to each timestamp (uniform).
	JitterMs float64
	// Creep: fractions of the load and time constants.
	Creep1, Creep1TauS, Creep2, Creep2TauS float64
}

// DefaultCellB is model B's 20 kg platform.
func DefaultCellB() CellB {
	return CellB{
		CountsPerGram: -105.3, Offset: -183211,
		PlatformKg: 2.1, StiffNPerM: 4.2e5, Zeta: 0.035,
		ContactNPerM: 6e4, ContactZeta: 0.25,
		RateHz10: 10.7, RateHz80: 85.9,
		White10: 0.30, White80: 0.75,
		Red1G: 0.12, Red1TauS: 0.4, Red2G: 0.15, Red2TauS: 9,
		MainsHz: 50, MainsG: 1.5,
		JitterMs: 2.5,
		Creep1:   0.00012, Creep1TauS: 6, Creep2: 0.00018, Creep2TauS: 150,
	}
}

// PlaceB is one parcel in model B.
type PlaceB struct {
	AtMs  int64
	MassG float64
	// How: "hand" (lowered and let go over ReleaseMs), "drop" (from
	// DropMm), "slide" (pushed on over ReleaseMs in stick-slip jerks).
	How       string
	ReleaseMs float64
	DropMm    float64
	// TremorG is the hand's tremor while it holds the parcel (hand, slide).
	TremorG float64
	// SwayFromMs..SwayToMs: a hand rests on the parcel pressing up to SwayG.
	SwayFromMs, SwayToMs int64
	SwayG                float64
	// RemoveMs: lifting starts (0 = stays); lifting takes 400 ms.
	RemoveMs int64
}

// ScenarioB is one model-B trace.
type ScenarioB struct {
	Name, Description string
	Seed              uint64
	Rate              int
	DurationMs        int64
	Cell              CellB
	// DriftGPerMin and ACG (the air-conditioning cycle's amplitude, period
	// 7 min) move the zero.
	DriftGPerMin, ACG float64
	Placements        []PlaceB
	Spikes            []int64
	// LostEvery: on average one conversion in LostEvery is lost (0 = none).
	LostEvery int
}

const dtB = 1e-4 // s

// GenerateB builds the trace of s. It is deterministic in s.
func GenerateB(s ScenarioB) Trace {
	rng := rand.New(rand.NewPCG(s.Seed, 0x6d6f64656c2d62)) // "model-b"
	c := s.Cell
	const g0 = 9.81
	k := c.StiffNPerM
	mp := c.PlatformKg
	cp := 2 * c.Zeta * math.Sqrt(k*mp)
	type parcel struct {
		PlaceB
		m, y, v   float64 // kg, m (down +, from the platform surface at rest), m/s
		on, gone  bool
		cc        float64
		trF, trPh float64
		sw1, sw2  float64
		swPh      float64
		steps     []float64 // slide: jerk times (fractions of the release)
	}
	ps := make([]*parcel, len(s.Placements))
	for i, p := range s.Placements {
		q := &parcel{PlaceB: p, m: p.MassG / 1000}
		q.cc = 2 * c.ContactZeta * math.Sqrt(c.ContactNPerM*q.m)
		q.trF = 8 + 4*rng.Float64()
		q.trPh = 2 * math.Pi * rng.Float64()
		q.sw1 = 0.3 + 1.2*rng.Float64()
		q.sw2 = 1.5 + 2*rng.Float64()
		q.swPh = 2 * math.Pi * rng.Float64()
		for range 5 + rng.IntN(5) {
			q.steps = append(q.steps, rng.Float64())
		}
		ps[i] = q
	}
	rate := c.RateHz10
	white := c.White10
	if s.Rate == 80 {
		rate, white = c.RateHz80, c.White80
	}
	period := 1 / rate
	mainsPh := 2 * math.Pi * rng.Float64()
	acPh := 2 * math.Pi * rng.Float64()

	var yp, vp float64 // platform
	var cr1, cr2 float64
	var red1, red2 float64
	loadG := func() float64 { return k * yp / g0 * 1000 }
	// support is the fraction of the weight the hand carries at t (s).
	handForce := func(q *parcel, t float64) float64 {
		at := float64(q.AtMs) / 1000
		rel := q.ReleaseMs / 1000
		w := q.m * g0
		var f float64
		switch q.How {
		case "hand":
			x := smoothstep((t - at) / rel)
			f = w*(1-x) + q.TremorG/1000*g0*(1-x)*math.Sin(2*math.Pi*q.trF*(t-at)+q.trPh)
		case "slide":
			// Stick-slip: the share on the platform advances in jerks.
			x := (t - at) / rel
			share := 0.0
			for _, st := range q.steps {
				share += smoothstep((x - st) / 0.04)
			}
			share /= float64(len(q.steps))
			f = w*(1-share) + q.TremorG/1000*g0*(1-share)*math.Sin(2*math.Pi*q.trF*(t-at)+q.trPh)
		}
		if q.SwayToMs > q.SwayFromMs {
			from, to := float64(q.SwayFromMs)/1000, float64(q.SwayToMs)/1000
			if t >= from && t < to+0.3 {
				env := smoothstep((t-from)/0.4) * (1 - smoothstep((t-to)/0.3))
				sw := 0.55 + 0.3*math.Sin(2*math.Pi*q.sw1*(t-from)+q.swPh) + 0.15*math.Sin(2*math.Pi*q.sw2*(t-from))
				f -= q.SwayG / 1000 * g0 * env * sw
			}
		}
		if q.RemoveMs > 0 && t >= float64(q.RemoveMs)/1000 {
			// Lifting: the hand takes the weight over 400 ms, then a little
			// more, which carries the parcel off.
			x := smoothstep((t - float64(q.RemoveMs)/1000) / 0.4)
			f = w * 1.15 * x
		}
		return f
	}

	tr := Trace{}
	spikes := append([]int64(nil), s.Spikes...)
	var spikeAt []int64
	steps := int(math.Round(period / dtB))
	// lTrue is the true load at 0.5 ms resolution, for the truth.
	half := int(math.Round(0.0005 / dtB))
	var lTrue []float64
	n := 0
	for kConv := 1; ; kConv++ {
		tEnd := float64(kConv) * period
		if tEnd*1000 > float64(s.DurationMs) {
			break
		}
		var sumL, sumX float64
		for range steps {
			n++
			t := float64(n) * dtB
			// Forces on the platform from the parcels.
			fp := -k*yp - cp*vp
			for _, q := range ps {
				if t < float64(q.AtMs)/1000 || q.gone {
					continue
				}
				if !q.on {
					q.on = true
					q.y = yp
					q.v = vp
					if q.How == "drop" {
						q.y = yp - q.DropMm/1000
					}
				}
				pen := q.y - yp
				fc := 0.0
				if pen > 0 {
					fc = c.ContactNPerM*pen + q.cc*(q.v-vp)
					fc = math.Max(fc, 0)
				}
				fq := q.m*g0 - fc - handForce(q, t)
				q.v += fq / q.m * dtB
				q.y += q.v * dtB
				fp += fc
				if q.RemoveMs > 0 && t > float64(q.RemoveMs)/1000 && q.y < yp-0.01 {
					q.gone = true
				}
			}
			vp += fp / mp * dtB
			yp += vp * dtB
			l := loadG()
			if n%half == 0 {
				lTrue = append(lTrue, l)
			}
			sumL += l
			sumX += c.MainsG * math.Sin(2*math.Pi*c.MainsHz*t+mainsPh)
			cr1 += (c.Creep1*math.Max(l, 0) - cr1) / c.Creep1TauS * dtB
			cr2 += (c.Creep2*math.Max(l, 0) - cr2) / c.Creep2TauS * dtB
		}
		l := sumL / float64(steps)
		a1 := math.Exp(-period / c.Red1TauS)
		a2 := math.Exp(-period / c.Red2TauS)
		red1 = a1*red1 + c.Red1G*math.Sqrt(1-a1*a1)*rng.NormFloat64()
		red2 = a2*red2 + c.Red2G*math.Sqrt(1-a2*a2)*rng.NormFloat64()
		zero := s.DriftGPerMin*tEnd/60 + s.ACG*math.Sin(2*math.Pi*tEnd/420+acPh)
		gr := l + sumX/float64(steps) + cr1 + cr2 + zero + red1 + red2 + white*rng.NormFloat64()
		raw := int64(math.Round(c.Offset + c.CountsPerGram*gr))
		tms := int64(math.Floor(tEnd*1000 + c.JitterMs*rng.Float64()))
		if s.LostEvery > 0 && rng.IntN(s.LostEvery) == 0 {
			continue
		}
		if len(spikes) > 0 && tms >= spikes[0] {
			spikes = spikes[1:]
			raw = glitch(raw, rng)
			spikeAt = append(spikeAt, tms)
		}
		raw = min(max(raw, trace.RawMin), trace.RawMax)
		if nS := len(tr.Samples); nS > 0 && tms < tr.Samples[nS-1].T.Milliseconds() {
			tms = tr.Samples[nS-1].T.Milliseconds()
		}
		tr.Samples = append(tr.Samples, trace.Sample{T: msDur(tms), Raw: int32(raw)})
		tr.Grams = append(tr.Grams, l)
	}

	noise := white
	truth := trace.Truth{
		Name: s.Name, Description: s.Description, Seed: s.Seed, RateSPS: s.Rate,
		Offset: c.Offset, CountsPerGram: c.CountsPerGram,
		NoiseG:       math.Round(1000*math.Sqrt(noise*noise+c.Red1G*c.Red1G+c.Red2G*c.Red2G)) / 1000,
		DriftGPerMin: s.DriftGPerMin, SpikesMs: spikeAt,
		Placements: []trace.Placement{}, Disturbance: []trace.Disturbance{},
	}
	if truth.SpikesMs == nil {
		truth.SpikesMs = []int64{}
	}
	if nS := len(tr.Samples); nS > 0 {
		truth.DurationMs = tr.Samples[nS-1].T.Milliseconds()
	}
	// The true load at t ms, from lTrue (0.5 ms steps).
	at := func(ms float64) float64 {
		i := int(ms / 0.5)
		if i < 0 {
			return 0
		}
		if i >= len(lTrue) {
			return lTrue[len(lTrue)-1]
		}
		return lTrue[i]
	}
	// Loads add up: the mass on the platform is the sum of the parcels set
	// down and not yet lifted.
	for i, p := range s.Placements {
		mass := p.MassG
		for _, o := range s.Placements[:i] {
			if o.RemoveMs == 0 || o.RemoveMs > p.AtMs {
				mass += o.MassG
			}
		}
		end := float64(truth.DurationMs)
		if p.RemoveMs > 0 {
			end = float64(p.RemoveMs)
		}
		for _, o := range s.Placements[i+1:] {
			if float64(o.AtMs) < end {
				end = float64(o.AtMs)
			}
		}
		tol := trace.Tolerance(mass)
		pl := trace.Placement{
			MassG: mass, ToleranceG: tol, SetDownMs: p.AtMs,
			EnteredMs: enteredBand(at, float64(p.AtMs), end, mass, tol),
		}
		if p.RemoveMs > 0 {
			pl.RemovedMs = p.RemoveMs
			next := float64(truth.DurationMs)
			if i+1 < len(s.Placements) {
				next = float64(s.Placements[i+1].AtMs)
			}
			pl.EmptyMs = enteredBand(at, float64(p.RemoveMs), next, mass-p.MassG, trace.Tolerance(mass-p.MassG))
		}
		truth.Placements = append(truth.Placements, pl)
		if p.How == "drop" {
			// The bounce: from the release until the load first stays within
			// 10 % of the mass.
			e := enteredBand(at, float64(p.AtMs), end, mass, 0.1*p.MassG)
			truth.Disturbance = append(truth.Disturbance, trace.Disturbance{Kind: "bounce", StartMs: p.AtMs, EndMs: e})
		}
		if p.SwayToMs > p.SwayFromMs {
			truth.Disturbance = append(truth.Disturbance, trace.Disturbance{Kind: "sway", StartMs: p.SwayFromMs, EndMs: p.SwayToMs + 300})
		}
	}
	tr.Truth = truth
	return tr
}

// ScenariosB is model B's trace set: hand set-downs, drops, slides, a hand
// resting on a parcel, creep, drift with mains pickup, read faults and lost
// conversions, two parcels, at 10 and 80 SPS, 60 g to 18 kg.
func ScenariosB() []ScenarioB {
	cell := DefaultCellB()
	hand := func(at int64, mass, rel, tremor float64) PlaceB {
		return PlaceB{AtMs: at, MassG: mass, How: "hand", ReleaseMs: rel, TremorG: tremor}
	}
	drop := func(at int64, mass, mm float64) PlaceB {
		return PlaceB{AtMs: at, MassG: mass, How: "drop", DropMm: mm}
	}
	slide := func(at int64, mass, rel float64) PlaceB {
		return PlaceB{AtMs: at, MassG: mass, How: "slide", ReleaseMs: rel, TremorG: 0.01 * mass}
	}
	removed := func(p PlaceB, at int64) PlaceB { p.RemoveMs = at; return p }
	sway := func(p PlaceB, from, to int64, g float64) PlaceB {
		p.SwayFromMs, p.SwayToMs, p.SwayG = from, to, g
		return p
	}
	sc := func(name string, seed uint64, rate int, dur int64, desc string, ps ...PlaceB) ScenarioB {
		return ScenarioB{Name: "b-" + name, Description: "model B: " + desc, Seed: seed, Rate: rate, DurationMs: dur, Cell: cell, Placements: ps}
	}
	out := []ScenarioB{
		sc("hand-60g-10sps", 201, 10, 12000, "a 60 g letter lowered by hand", hand(3100, 60, 350, 0.6)),
		sc("hand-60g-80sps", 202, 80, 10000, "a 60 g letter lowered by hand at 80 SPS", hand(2700, 60, 300, 0.6)),
		sc("hand-450g-10sps", 203, 10, 14000, "450 g lowered by hand, tremor", hand(3300, 450, 450, 4)),
		sc("hand-2200g-80sps", 204, 80, 12000, "2.2 kg lowered by hand at 80 SPS", hand(2900, 2200, 550, 15)),
		sc("hand-9500g-10sps", 205, 10, 15000, "9.5 kg lowered by hand", hand(3600, 9500, 700, 40)),
		sc("hand-18kg-80sps", 206, 80, 14000, "18 kg (near capacity) lowered by hand at 80 SPS", hand(3200, 18000, 800, 60)),
		sc("drop-700g-10sps", 207, 10, 14000, "700 g dropped from 25 mm: it bounces", drop(3400, 700, 25)),
		sc("drop-3100g-80sps", 208, 80, 12000, "3.1 kg dropped from 15 mm at 80 SPS", drop(2800, 3100, 15)),
		sc("slide-1400g-10sps", 209, 10, 14000, "1.4 kg slid on from the table, stick-slip", slide(3000, 1400, 700)),
		sc("slide-12kg-80sps", 210, 80, 14000, "12 kg slid on at 80 SPS, stick-slip", slide(3000, 12000, 900)),
		sc("sway-2600g-10sps", 211, 10, 18000, "2.6 kg with a hand resting and swaying on it for 5 s (up to 80 g)",
			sway(hand(3000, 2600, 500, 12), 3600, 8600, 80)),
		sc("sway-900g-80sps", 212, 80, 16000, "900 g with a light hand on it for 4 s at 80 SPS (up to 15 g)",
			sway(hand(2600, 900, 400, 5), 3200, 7200, 15)),
		sc("removal-5kg-10sps", 213, 10, 16000, "5 kg lowered, weighed, lifted off", removed(hand(3000, 5000, 600, 20), 9500)),
		sc("two-80sps", 214, 80, 20000, "350 g lowered and lifted, then 7.5 kg dropped from 10 mm and lifted",
			removed(hand(2500, 350, 400, 2), 8000), removed(drop(11500, 7500, 10), 17500)),
	}
	creep := sc("creep-15kg-10sps", 215, 10, 150000, "15 kg left on for 2 min: two-term creep, recovery after removal",
		removed(hand(4000, 15000, 800, 50), 125000))
	out = append(out, creep)
	drift := sc("drift-empty-80sps", 216, 80, 240000, "an empty platform drifting -1.2 g/min with an air-conditioning cycle and 60 Hz mains")
	drift.DriftGPerMin, drift.ACG = -1.2, 0.8
	drift.Cell.MainsHz, drift.Cell.MainsG = 60, 2.5
	out = append(out, drift)
	faults := sc("faults-1200g-10sps", 217, 10, 25000, "1.2 kg with read faults and lost conversions", hand(3000, 1200, 450, 6))
	faults.Spikes = []int64{1700, 6200, 9100, 13300, 16900, 21400}
	faults.LostEvery = 40
	out = append(out, faults)
	return out
}

// NoisyScenarios is model B's platform on a cheap, noisy cell: σ 3 g white
// noise at 10 SPS (no correlated noise, no mains), parcels from 150 g to
// 18 kg, set down by hand, slid, dropped. No configuration changes for it.
func NoisyScenarios() []ScenarioB {
	cell := DefaultCellB()
	cell.White10, cell.Red1G, cell.Red2G, cell.MainsG = 3, 0, 0, 0
	sc := func(name string, seed uint64, p PlaceB) ScenarioB {
		return ScenarioB{Name: "noisy-" + name, Description: "σ 3 g cell at 10 SPS: " + name, Seed: seed, Rate: 10, DurationMs: 14000, Cell: cell, Placements: []PlaceB{p}}
	}
	return []ScenarioB{
		sc("hand-150g", 301, PlaceB{AtMs: 3200, MassG: 150, How: "hand", ReleaseMs: 400, TremorG: 1.5}),
		sc("hand-800g", 302, PlaceB{AtMs: 3000, MassG: 800, How: "hand", ReleaseMs: 450, TremorG: 5}),
		sc("hand-2500g", 303, PlaceB{AtMs: 3400, MassG: 2500, How: "hand", ReleaseMs: 550, TremorG: 12}),
		sc("slide-4200g", 304, PlaceB{AtMs: 3100, MassG: 4200, How: "slide", ReleaseMs: 700, TremorG: 40}),
		sc("drop-1800g", 305, PlaceB{AtMs: 3300, MassG: 1800, How: "drop", DropMm: 15}),
		sc("hand-11kg", 306, PlaceB{AtMs: 3000, MassG: 11000, How: "hand", ReleaseMs: 700, TremorG: 40}),
		sc("hand-18kg", 307, PlaceB{AtMs: 3500, MassG: 18000, How: "hand", ReleaseMs: 800, TremorG: 60}),
		sc("slide-350g", 308, PlaceB{AtMs: 2900, MassG: 350, How: "slide", ReleaseMs: 600, TremorG: 3.5}),
	}
}

// RandomB returns n model-B scenarios drawn at random (from seed), a
// hold-out for model B itself: 10 or 80 SPS; 50 g to 18 kg (log-uniform);
// the platform's stiffness, damping, contact, noise and mains frequency
// varied around DefaultCellB; set down by hand, dropped, slid, with a hand
// resting on it, with read faults, or two parcels in a row.
func RandomB(seed uint64, n int) []ScenarioB {
	rng := rand.New(rand.NewPCG(seed, 0x72616e646f6d62)) // "randomb"
	uni := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	mass := func() float64 { return math.Round(50 * math.Pow(360, rng.Float64())) }
	place := func(at int64) PlaceB {
		m := mass()
		p := PlaceB{AtMs: at, MassG: m, How: "hand", ReleaseMs: uni(250, 800), TremorG: uni(0.002, 0.006) * m}
		switch rng.IntN(3) {
		case 1:
			p.How, p.DropMm, p.ReleaseMs, p.TremorG = "drop", uni(5, 30), 0, 0
		case 2:
			p.How, p.ReleaseMs = "slide", uni(400, 1000)
		}
		return p
	}
	out := make([]ScenarioB, 0, n)
	for i := range n {
		c := DefaultCellB()
		c.PlatformKg = uni(1, 4)
		c.StiffNPerM = uni(2e5, 8e5)
		c.Zeta = uni(0.02, 0.08)
		c.ContactNPerM = uni(3e4, 2e5)
		c.ContactZeta = uni(0.15, 0.4)
		c.White10, c.White80 = uni(0.15, 0.5), uni(0.4, 1.0)
		c.MainsG = uni(0, 3)
		if rng.IntN(2) == 1 {
			c.MainsHz = 60
		}
		s := ScenarioB{Seed: seed*1000 + uint64(i), Rate: 10, DurationMs: 15000, Cell: c}
		if rng.IntN(2) == 1 {
			s.Rate = 80
		}
		p := place(int64(uni(2500, 4000)))
		kind := []string{"place", "sway", "faults", "two"}[rng.IntN(4)]
		switch kind {
		case "sway":
			from := p.AtMs + int64(p.ReleaseMs) + int64(uni(200, 600))
			p.SwayFromMs, p.SwayToMs, p.SwayG = from, from+int64(uni(2000, 5000)), uni(5, 120)
			s.DurationMs = p.SwayToMs + 6000
		case "faults":
			for t := int64(uni(500, 1500)); t < s.DurationMs-500; t += int64(uni(1500, 4000)) {
				s.Spikes = append(s.Spikes, t)
			}
			s.LostEvery = 50
		case "two":
			p.RemoveMs = p.AtMs + int64(uni(4000, 7000))
			q := place(p.RemoveMs + int64(uni(2000, 4000)))
			q.RemoveMs = q.AtMs + int64(uni(4000, 7000))
			s.Placements = append(s.Placements, q)
			s.DurationMs = q.RemoveMs + 4000
		}
		s.Placements = append([]PlaceB{p}, s.Placements...)
		s.Name = fmt.Sprintf("randomb-%d-%s-%s-%dsps", s.Seed, kind, p.How, s.Rate)
		s.Description = "model B hold-out: " + kind
		out = append(out, s)
	}
	return out
}
