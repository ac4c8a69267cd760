package evidence

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"path"
	"time"

	"weighin/internal/evidence/sshsig"
)

// Outcome statuses: how the dispute ended (seed, Phase 4).
const (
	// StatusResolved: the seller or agent settled; Resolution says how.
	StatusResolved = "resolved"
	// StatusRefused: the seller refused; the buyer may still escalate.
	StatusRefused = "refused"
	// StatusEscalated: handed to the agent's dispute mediation.
	StatusEscalated = "escalated"
)

// Resolutions of a resolved dispute.
const (
	ResolutionRefund        = "refund"
	ResolutionReplacement   = "replacement"
	ResolutionPartialRefund = "partial_refund"
)

// ErrOutcome is wrapped by Outcome.Validate's errors.
var ErrOutcome = errors.New("evidence: invalid outcome")

// Outcome is what the buyer records after the session: how the claim ended.
type Outcome struct {
	Status string `json:"status"`
	// Resolution is set when Status is resolved.
	Resolution string `json:"resolution,omitempty"`
	// Amount and Currency are required for a partial refund, optional for a
	// refund. Currency is an ISO 4217 code such as "USD" or "CNY".
	Amount   *float64 `json:"amount,omitempty"`
	Currency string   `json:"currency,omitempty"`
	// Note is free text, at most 1000 bytes.
	Note string `json:"note,omitempty"`
}

// Open reports whether the dispute is still open: anything but resolved.
// Retention never removes a bundle whose latest outcome is open.
func (o Outcome) Open() bool { return o.Status != StatusResolved }

// Validate checks the outcome's fields and their combination.
func (o Outcome) Validate() error {
	switch o.Status {
	case StatusResolved:
		switch o.Resolution {
		case ResolutionRefund, ResolutionReplacement:
		case ResolutionPartialRefund:
			if o.Amount == nil {
				return fmt.Errorf("%w: a partial refund needs an amount", ErrOutcome)
			}
		default:
			return fmt.Errorf("%w: resolution must be refund, replacement or partial_refund, got %q", ErrOutcome, o.Resolution)
		}
	case StatusRefused, StatusEscalated:
		if o.Resolution != "" {
			return fmt.Errorf("%w: resolution %q given for status %s", ErrOutcome, o.Resolution, o.Status)
		}
	default:
		return fmt.Errorf("%w: status must be resolved, refused or escalated, got %q", ErrOutcome, o.Status)
	}
	if o.Amount != nil {
		if a := *o.Amount; math.IsNaN(a) || math.IsInf(a, 0) || a <= 0 || a > 1e9 {
			return fmt.Errorf("%w: amount must be greater than 0, got %v", ErrOutcome, a)
		}
		if len(o.Currency) != 3 || !isUpper(o.Currency) {
			return fmt.Errorf("%w: an amount needs a currency code such as USD, got %q", ErrOutcome, o.Currency)
		}
		if o.Resolution != ResolutionRefund && o.Resolution != ResolutionPartialRefund {
			return fmt.Errorf("%w: an amount goes with a refund or partial refund", ErrOutcome)
		}
	} else if o.Currency != "" {
		return fmt.Errorf("%w: currency %q without an amount", ErrOutcome, o.Currency)
	}
	if len(o.Note) > 1000 {
		return fmt.Errorf("%w: note of %d bytes (at most 1000)", ErrOutcome, len(o.Note))
	}
	return nil
}

func isUpper(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// String is a short human form: "resolved: partial_refund 12.5 USD".
func (o Outcome) String() string {
	s := o.Status
	if o.Resolution != "" {
		s += ": " + o.Resolution
	}
	if o.Amount != nil {
		s += fmt.Sprintf(" %g %s", *o.Amount, o.Currency)
	}
	return s
}

// OutcomeAddendum is the content of a legacy outcome-NNN.json, the signed
// outcome record written before the addendum mechanism (see Addendum). Such
// files are still read and verified; new outcomes are addenda of kind
// KindOutcome. Legacy outcomes are numbered from 1 and chained like addenda;
// the first addendum of a bundle that has them names the last one's hash.
type OutcomeAddendum struct {
	Type           string `json:"type"`
	Version        int    `json:"version"`
	SessionID      string `json:"session_id"`
	Seq            int64  `json:"seq"`
	N              int    `json:"n"`
	ManifestSHA256 string `json:"manifest_sha256"`
	// PreviousSHA256 is the previous outcome's SHA-256, empty for n = 1.
	PreviousSHA256 string `json:"previous_sha256"`
	// RecordedAt is RFC 3339 UTC, trustworthy only when ClockSynced.
	RecordedAt  string  `json:"recorded_at"`
	ClockSynced bool    `json:"clock_synced"`
	Outcome     Outcome `json:"outcome"`
	StationKey  string  `json:"station_key"`
}

// OutcomeFileName is the name of legacy outcome n: outcome-001.json; its
// signature is outcome-001.sig.
func OutcomeFileName(n int) string { return fmt.Sprintf("outcome-%03d.json", n) }

func outcomeSigName(jsonName string) string {
	return jsonName[:len(jsonName)-len(path.Ext(jsonName))] + ".sig"
}

// ParseOutcomeAddendum decodes and checks a legacy outcome-NNN.json (not its
// signature).
func ParseOutcomeAddendum(data []byte) (*OutcomeAddendum, ed25519.PublicKey, error) {
	var a OutcomeAddendum
	if err := decodeStrict(data, &a); err != nil {
		return nil, nil, fmt.Errorf("%w: outcome: %v", ErrFormat, err)
	}
	bad := func(format string, args ...any) (*OutcomeAddendum, ed25519.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: outcome: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	if a.Type != TypeOutcome || a.Version != 1 {
		return bad("type %q version %d, want %q version 1", a.Type, a.Version, TypeOutcome)
	}
	if a.N < 1 {
		return bad("n %d, want at least 1", a.N)
	}
	if !hexRE.MatchString(a.ManifestSHA256) {
		return bad("manifest_sha256 %q is not a lower-case hex SHA-256", a.ManifestSHA256)
	}
	if (a.N == 1) != (a.PreviousSHA256 == "") || a.PreviousSHA256 != "" && !hexRE.MatchString(a.PreviousSHA256) {
		return bad("previous_sha256 %q does not fit n %d", a.PreviousSHA256, a.N)
	}
	if _, err := time.Parse(time.RFC3339, a.RecordedAt); err != nil {
		return bad("recorded_at: %v", err)
	}
	if err := a.Outcome.Validate(); err != nil {
		return bad("%v", err)
	}
	pub, err := sshsig.ParseAuthorizedKey(a.StationKey)
	if err != nil {
		return bad("station_key: %v", err)
	}
	return &a, pub, nil
}
