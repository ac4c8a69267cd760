package offsite

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is where one object (one file of one bundle) stands.
type State int

// The verified-copy state machine. Verified and Conflict are final; Failed
// goes back to Pending when its back-off has passed.
const (
	// LocalOnly: the file is known but not queued.
	LocalOnly State = iota
	// Pending: queued for copying.
	Pending
	// Copying: the upload is under way.
	Copying
	// Verifying: the store has the object; its checksum and size are being
	// read back.
	Verifying
	// Verified: the store's copy has the file's SHA-256 and size. Final.
	Verified
	// Failed: the last attempt failed (Err says why); retried after Retry.
	Failed
	// Conflict: the store already holds another content under the object's
	// name. Never overwritten; reported until an operator resolves it.
	Conflict
)

var stateNames = [...]string{"local_only", "pending", "copying", "verifying", "verified", "failed", "conflict"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("offsite: unknown state %q", b)
}

// allowed lists the transitions of the state machine. Copying and
// Verifying may also fall back to Pending: that is how a journal left by a
// crash is resumed (the store is asked again before anything is written).
var allowed = map[State][]State{
	LocalOnly: {Pending},
	Pending:   {Copying, Verifying, Failed, Conflict},
	Copying:   {Verifying, Failed, Conflict, Pending},
	Verifying: {Verified, Failed, Conflict, Pending},
	Failed:    {Pending},
	Verified:  {},
	Conflict:  {},
}

// CanMove reports whether the state machine allows from → to.
func CanMove(from, to State) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Backoff is the wait after the n-th consecutive failure (n ≥ 1):
// base·2ⁿ⁻¹, at most ceiling. With the defaults: 30 s, 1 min, 2 min, …, 30 min.
func Backoff(n int, base, ceiling time.Duration) time.Duration {
	if n < 1 {
		return 0
	}
	d := base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= ceiling {
			return ceiling
		}
	}
	return min(d, ceiling)
}

// Time is a time.Time that marshals as RFC 3339 UTC, and as nothing when
// zero.
type Time struct{ time.Time }

// MarshalJSON writes RFC 3339 with milliseconds, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}
