package publish

import (
	"math"
	"time"
)

// State is the live state published retained on <base>/state, at most every
// config state_interval (≥ 500 ms, so ≤ 2 Hz).
type State struct {
	WeightG float64 `json:"weight_g"`
	Stable  bool    `json:"stable"`
	// Status is the scale's HID POS status (internal/scalestatus), beside
	// Stable, which stays.
	Status           string `json:"status"`
	Recording        bool   `json:"recording"`
	SessionState     string `json:"session_state"`
	FreeStorageBytes int64  `json:"free_storage_bytes"`
	WarmingUp        bool   `json:"warming_up"`
	// OverCapacity: the load is beyond the cell's range (the HX711 sends
	// its saturation code); stable stays false and a start is refused.
	OverCapacity bool `json:"over_capacity"`
	// OrderRef, Tracking and LabelG echo the buyer's entries for the parcel
	// on the scale (empty or nil when none).
	OrderRef string   `json:"order_ref"`
	Tracking string   `json:"tracking"`
	LabelG   *float64 `json:"label_g"`
	// Offsite is the off-site replication's progress, absent when
	// offsite.endpoint is empty.
	Offsite *OffsiteState `json:"offsite,omitempty"`
	// AutoStopInS counts down, in whole seconds, the last 30 s before an
	// inactivity stop (null otherwise); ResumeInS, after it, the grace in
	// which a short press continues the session (null otherwise).
	AutoStopInS *int `json:"auto_stop_in_s"`
	ResumeInS   *int `json:"resume_in_s"`
	// LeftoverLoad: the platform has not returned to empty since the last
	// session; a start needs FORCE (or a double press).
	LeftoverLoad bool `json:"leftover_load"`
	// TrackingOffer is a code read from the label that no carrier pattern
	// knows, offered for confirmation (confirm_tracking); "" when none.
	TrackingOffer string `json:"tracking_offer"`
}

// discrete reports whether a and b differ in anything but the weight.
func (a State) discrete(b State) bool {
	if a.Stable != b.Stable || a.Status != b.Status || a.Recording != b.Recording || a.SessionState != b.SessionState ||
		a.WarmingUp != b.WarmingUp || a.OverCapacity != b.OverCapacity || a.OrderRef != b.OrderRef || a.Tracking != b.Tracking {
		return true
	}
	if (a.LabelG == nil) != (b.LabelG == nil) || a.LabelG != nil && *a.LabelG != *b.LabelG {
		return true
	}
	if (a.Offsite == nil) != (b.Offsite == nil) || a.Offsite != nil && *a.Offsite != *b.Offsite {
		return true
	}
	if a.LeftoverLoad != b.LeftoverLoad || a.TrackingOffer != b.TrackingOffer || !sameInt(a.AutoStopInS, b.AutoStopInS) || !sameInt(a.ResumeInS, b.ResumeInS) {
		return true
	}
	return false
}

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// Limiter decides when live state goes out. It is pure: time is an input.
// A state is worth sending when it differs from the last sent one in a
// discrete field (stable, recording, session_state, …), when the weight
// moved by at least the deadband, or when free storage changed by at least
// 1 MiB. Sends are at least Interval apart; a state worth sending inside the
// interval is held and goes out when the interval ends (the newest wins).
type Limiter struct {
	Interval  time.Duration
	DeadbandG float64

	sent    bool
	last    State
	lastAt  time.Time
	pending bool
	newest  State
	dueAt   time.Time
}

// Offer hands the limiter the newest state at now. It returns send = true
// when s is to be published now; otherwise, when a send is pending, due is
// the time to call Due.
func (l *Limiter) Offer(s State, now time.Time) (send bool, due time.Time) {
	if !l.worth(s) {
		// Back within the deadband of what was sent: nothing to do, and a
		// held state is superseded.
		l.pending = false
		return false, time.Time{}
	}
	if !l.sent || now.Sub(l.lastAt) >= l.Interval {
		l.markSent(s, now)
		return true, time.Time{}
	}
	l.pending, l.newest = true, s
	l.dueAt = l.lastAt.Add(l.Interval)
	return false, l.dueAt
}

// Due returns the held state when its time has come, and marks it sent.
func (l *Limiter) Due(now time.Time) (State, bool) {
	if !l.pending || now.Before(l.dueAt) {
		return State{}, false
	}
	s := l.newest
	l.markSent(s, now)
	return s, true
}

// Repeat asks for the last sent state to go out again (after a reconnect,
// or when Home Assistant comes online), within the rate limit: send = true
// means now; otherwise it is held (unless a newer state already is) and
// due tells when to call Due. Nothing was ever sent: nothing to repeat.
func (l *Limiter) Repeat(now time.Time) (send bool, due time.Time) {
	if !l.sent {
		return false, time.Time{}
	}
	if l.pending {
		return false, l.dueAt
	}
	if now.Sub(l.lastAt) >= l.Interval {
		l.lastAt = now
		return true, time.Time{}
	}
	l.pending, l.newest = true, l.last
	l.dueAt = l.lastAt.Add(l.Interval)
	return false, l.dueAt
}

// Pending reports whether a state is held, and when it is due.
func (l *Limiter) Pending() (time.Time, bool) { return l.dueAt, l.pending }

// Last returns the last state sent, if any.
func (l *Limiter) Last() (State, bool) { return l.last, l.sent }

func (l *Limiter) markSent(s State, now time.Time) {
	l.sent, l.last, l.lastAt, l.pending = true, s, now, false
}

func (l *Limiter) worth(s State) bool {
	if !l.sent {
		return true
	}
	if s.discrete(l.last) {
		return true
	}
	if d := math.Abs(s.WeightG - l.last.WeightG); d >= l.DeadbandG && d > 0 || math.IsNaN(d) {
		return true
	}
	if d := s.FreeStorageBytes - l.last.FreeStorageBytes; d >= 1<<20 || d <= -(1<<20) {
		return true
	}
	return false
}
