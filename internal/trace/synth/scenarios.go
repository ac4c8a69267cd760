package synth

// Scenarios returns the reference trace set: every situation the issue
// names (set-down with overshoot and ringing, a bounce, an arm swaying on
// the parcel, creep, thermal drift on an empty platform and under load,
// single-sample spikes, two parcels in a row, removal), at 10 and 80 SPS,
// from 50 g to 4.9 kg. Names and seeds are fixed: changing them changes the
// committed files.
func Scenarios() []Scenario {
	setdown := func(at int64, mass, releaseMs, overshoot, ringHz, tau float64) Place {
		return Place{AtMs: at, MassG: mass, ReleaseMs: releaseMs, Overshoot: overshoot, RingHz: ringHz, RingTauS: tau}
	}
	removed := func(p Place, at int64, lenMs float64) Place {
		p.RemoveMs, p.RemoveLenMs = at, lenMs
		return p
	}
	bounce := func(at int64, mass, airMs float64) Place {
		p := setdown(at, mass, 0, 0.08, 12, 0.12)
		p.Bounce, p.AirMs = true, airMs
		return p
	}
	sway := func(p Place, from, to int64, g float64) Place {
		p.SwayFromMs, p.SwayToMs, p.SwayG = from, to, g
		return p
	}
	creep := func(p Place, frac, tau float64) Place {
		p.Creep, p.CreepTauS = frac, tau
		return p
	}
	return []Scenario{
		{Name: "setdown-50g-10sps", Seed: 101, Rate: 10, DurationMs: 12000,
			Description: "a 50 g letter set down gently, slight ring",
			Placements:  []Place{setdown(3000, 50, 250, 0.05, 14, 0.10)}},
		{Name: "setdown-50g-80sps", Seed: 102, Rate: 80, DurationMs: 10000,
			Description: "a 50 g letter set down gently at 80 SPS",
			Placements:  []Place{setdown(3000, 50, 200, 0.05, 14, 0.10)}},
		{Name: "setdown-250g-10sps", Seed: 103, Rate: 10, DurationMs: 15000,
			Description: "a 250 g padded envelope set down with overshoot and ringing",
			Placements:  []Place{setdown(4000, 250, 300, 0.06, 10, 0.15)}},
		{Name: "setdown-1840g-10sps", Seed: 104, Rate: 10, DurationMs: 15000,
			Description: "a 1840 g box set down, overshoot and ringing",
			Placements:  []Place{setdown(3500, 1840, 400, 0.05, 8, 0.2)}},
		{Name: "setdown-4900g-10sps", Seed: 105, Rate: 10, DurationMs: 15000,
			Description: "a 4.9 kg box (near capacity) set down, slow heavy ring",
			Placements:  []Place{setdown(3000, 4900, 500, 0.04, 6, 0.25)}},
		{Name: "setdown-120g-80sps", Seed: 106, Rate: 80, DurationMs: 10000,
			Description: "a 120 g small parcel set down at 80 SPS",
			Placements:  []Place{setdown(2500, 120, 200, 0.08, 16, 0.10)}},
		{Name: "setdown-980g-80sps", Seed: 107, Rate: 80, DurationMs: 10000,
			Description: "a 980 g box set down at 80 SPS, overshoot and ringing",
			Placements:  []Place{setdown(3000, 980, 350, 0.06, 10, 0.15)}},
		{Name: "setdown-4900g-80sps", Seed: 108, Rate: 80, DurationMs: 12000,
			Description: "a 4.9 kg box set down at 80 SPS, slow heavy ring",
			Placements:  []Place{setdown(3000, 4900, 500, 0.04, 6, 0.25)}},
		{Name: "bounce-600g-10sps", Seed: 109, Rate: 10, DurationMs: 15000,
			Description: "a 600 g parcel dropped from a few cm: impact, airborne 120 ms, lands and rings",
			Placements:  []Place{bounce(4000, 600, 120)}},
		{Name: "bounce-2300g-80sps", Seed: 110, Rate: 80, DurationMs: 12000,
			Description: "a 2.3 kg parcel dropped at 80 SPS: impact, airborne 90 ms, lands and rings",
			Placements:  []Place{bounce(3000, 2300, 90)}},
		{Name: "sway-1500g-10sps", Seed: 111, Rate: 10, DurationMs: 20000,
			Description: "a 1.5 kg parcel with a hand resting and swaying on it for 5 s (up to 60 g)",
			Placements:  []Place{sway(setdown(3000, 1500, 350, 0.05, 9, 0.15), 3400, 8400, 60)}},
		{Name: "sway-400g-10sps", Seed: 112, Rate: 10, DurationMs: 20000,
			Description: "a 400 g parcel with a light hand swaying on it for 6 s (up to 12 g)",
			Placements:  []Place{sway(setdown(3000, 400, 300, 0.05, 11, 0.12), 3300, 9300, 12)}},
		{Name: "sway-3200g-80sps", Seed: 113, Rate: 80, DurationMs: 16000,
			Description: "a 3.2 kg parcel with an arm swaying on it for 5 s at 80 SPS (up to 150 g)",
			Placements:  []Place{sway(setdown(2500, 3200, 450, 0.05, 7, 0.2), 3000, 8000, 150)}},
		{Name: "sway-700g-80sps", Seed: 114, Rate: 80, DurationMs: 16000,
			Description: "a 700 g parcel with a light hand swaying on it at 80 SPS (up to 10 g)",
			Placements:  []Place{sway(setdown(2500, 700, 300, 0.05, 10, 0.15), 2900, 8900, 10)}},
		{Name: "creep-4900g-10sps", Seed: 115, Rate: 10, DurationMs: 150000,
			Description: "4.9 kg left on for 2 min: the cell creeps 0.02 % (τ 40 s), recovers after removal",
			Placements:  []Place{removed(creep(setdown(5000, 4900, 500, 0.04, 6, 0.25), 0.0002, 40), 125000, 400)}},
		{Name: "creep-2500g-80sps", Seed: 116, Rate: 80, DurationMs: 75000,
			Description: "2.5 kg left on for 1 min at 80 SPS: the cell creeps 0.02 % (τ 30 s)",
			Placements:  []Place{removed(creep(setdown(4000, 2500, 400, 0.05, 8, 0.2), 0.0002, 30), 64000, 350)}},
		{Name: "drift-empty-10sps", Seed: 117, Rate: 10, DurationMs: 360000, DriftGPerMin: 1.5,
			Description: "an empty platform drifting 1.5 g/min for 6 min (9 g in all, past the 5 g zero band)"},
		{Name: "drift-empty-80sps", Seed: 118, Rate: 80, DurationMs: 240000, DriftGPerMin: -1.5,
			Description: "an empty platform drifting -1.5 g/min for 4 min at 80 SPS"},
		{Name: "drift-loaded-10sps", Seed: 119, Rate: 10, DurationMs: 180000, DriftGPerMin: 1.5,
			Description: "zero drifting 1.5 g/min: 90 s empty, then 800 g for 15 s, empty, then 3 kg for 20 s",
			Placements: []Place{
				removed(setdown(90000, 800, 350, 0.05, 10, 0.15), 105000, 300),
				removed(setdown(140000, 3000, 450, 0.05, 7, 0.2), 160000, 400),
			}},
		{Name: "drift-loaded-80sps", Seed: 120, Rate: 80, DurationMs: 120000, DriftGPerMin: -1.5,
			Description: "zero drifting -1.5 g/min at 80 SPS: 60 s empty, then 1.2 kg for 15 s, removed",
			Placements:  []Place{removed(setdown(60000, 1200, 350, 0.05, 9, 0.15), 75000, 300)}},
		{Name: "spikes-empty-10sps", Seed: 121, Rate: 10, DurationMs: 30000,
			Description: "an empty platform with 8 single-conversion read faults",
			Spikes:      []int64{2500, 5000, 7300, 11000, 14800, 19200, 23500, 27000}},
		{Name: "spikes-loaded-10sps", Seed: 122, Rate: 10, DurationMs: 25000,
			Description: "1 kg on the platform with 7 single-conversion read faults",
			Placements:  []Place{setdown(3000, 1000, 350, 0.05, 10, 0.15)},
			Spikes:      []int64{1500, 6000, 8800, 12100, 15500, 19000, 22700}},
		{Name: "spikes-loaded-80sps", Seed: 123, Rate: 80, DurationMs: 20000,
			Description: "350 g at 80 SPS with 9 single-conversion read faults",
			Placements:  []Place{setdown(2500, 350, 250, 0.06, 12, 0.12)},
			Spikes:      []int64{1200, 4800, 6100, 7700, 9400, 11000, 13300, 16000, 18800}},
		{Name: "two-parcels-10sps", Seed: 124, Rate: 10, DurationMs: 30000,
			Description: "700 g set down and removed, then 2.1 kg set down and removed",
			Placements: []Place{
				removed(setdown(3000, 700, 300, 0.05, 10, 0.15), 10000, 300),
				removed(setdown(15000, 2100, 400, 0.05, 8, 0.2), 23000, 400),
			}},
		{Name: "two-parcels-80sps", Seed: 125, Rate: 80, DurationMs: 25000,
			Description: "50 g set down and removed, then 4.9 kg set down and removed, at 80 SPS",
			Placements: []Place{
				removed(setdown(2500, 50, 200, 0.05, 14, 0.1), 8000, 250),
				removed(setdown(12000, 4900, 500, 0.04, 6, 0.25), 19000, 500),
			}},
		{Name: "removal-3300g-10sps", Seed: 126, Rate: 10, DurationMs: 20000,
			Description: "3.3 kg set down, weighed, lifted off; the platform must read empty again",
			Placements:  []Place{removed(setdown(3000, 3300, 450, 0.05, 7, 0.2), 10000, 400)}},
		{Name: "removal-1100g-80sps", Seed: 127, Rate: 80, DurationMs: 15000,
			Description: "1.1 kg set down, weighed, lifted off at 80 SPS",
			Placements:  []Place{removed(setdown(2500, 1100, 350, 0.05, 9, 0.15), 8000, 300)}},
		{Name: "bounce-sway-900g-10sps", Seed: 128, Rate: 10, DurationMs: 18000,
			Description: "a 900 g parcel dropped, then steadied by a swaying hand for 3 s",
			Placements:  []Place{sway(bounce(3000, 900, 100), 3400, 6400, 40)}},
	}
}
