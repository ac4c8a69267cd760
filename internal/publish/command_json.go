package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// decodeStrict decodes one JSON object into v: unknown keys, a second
// value, or a value of the wrong type are refused. It returns the reason,
// or "".
func decodeStrict(payload []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Sprintf("not a JSON object: %v at byte %d", se, se.Offset)
		case errors.As(err, &te):
			return fmt.Sprintf("%s must be %s, got %s", te.Field, te.Type, te.Value)
		}
		return "bad JSON: " + err.Error()
	}
	if _, err := dec.Token(); err != io.EOF {
		return "more than one JSON value"
	}
	return ""
}

func checkGrams(field string, g float64, min, max float64) string {
	if math.IsNaN(g) || math.IsInf(g, 0) || g < min || g > max {
		return fmt.Sprintf("%s must be between %g and %g g, got %g", field, min, max, g)
	}
	return ""
}

func checkParcel(p Parcel) string {
	if p.Tracking == "" {
		return "tracking is required"
	}
	if len(p.Tracking) > MaxTrackingLen {
		return fmt.Sprintf("tracking of %d characters exceeds %d", len(p.Tracking), MaxTrackingLen)
	}
	for i, r := range p.Tracking {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("tracking may hold only letters, digits and '-': %q at byte %d", r, i)
		}
	}
	if p.OrderRef != "" {
		if reason := checkText(p.OrderRef, MaxOrderRefRunes); reason != "" {
			return "order_ref: " + reason
		}
	}
	if p.LabelG != nil {
		if reason := checkGrams("label_g", *p.LabelG, MinLabelWeightG, MaxLabelWeightG); reason != "" {
			return reason
		}
	}
	if reason := checkGrams("label_resolution_g", p.LabelResolutionG, 0, maxResolutionG); reason != "" {
		return reason
	}
	if len(p.Items) > MaxItems {
		return fmt.Sprintf("%d items exceed %d", len(p.Items), MaxItems)
	}
	for i, it := range p.Items {
		if it.Name == "" {
			return fmt.Sprintf("items[%d].name is required", i)
		}
		if reason := checkText(it.Name, MaxItemRunes); reason != "" {
			return fmt.Sprintf("items[%d].name: %s", i, reason)
		}
		if reason := checkGrams(fmt.Sprintf("items[%d].weight_g", i), it.WeightG, 0.1, MaxLabelWeightG); reason != "" {
			return reason
		}
	}
	return ""
}

func checkOutcome(o Outcome) string {
	if o.SessionID == "" || len(o.SessionID) > maxSessionID {
		return "session_id is required (a bundle's directory name)"
	}
	for i, r := range o.SessionID {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Sprintf("session_id may hold only letters, digits, '-' and '_': %q at byte %d", r, i)
		}
	}
	switch o.Status {
	case "resolved":
		if !oneOf(o.Resolution, []string{"refund", "replacement", "partial_refund"}) {
			return fmt.Sprintf("resolution must be refund, replacement or partial_refund when resolved, got %q", truncate(o.Resolution, 32))
		}
	case "refused", "escalated":
		if o.Resolution != "" {
			return fmt.Sprintf("resolution belongs to a resolved claim, not a %s one", o.Status)
		}
	default:
		return fmt.Sprintf("status must be resolved, refused or escalated, got %q", truncate(o.Status, 32))
	}
	if o.Amount != nil && (math.IsNaN(*o.Amount) || *o.Amount < 0 || *o.Amount > MaxAmount) {
		return fmt.Sprintf("amount must be between 0 and %g, got %g", MaxAmount, *o.Amount)
	}
	if o.Currency != "" {
		if len(o.Currency) != 3 || o.Currency[0] < 'A' || o.Currency[0] > 'Z' || o.Currency[1] < 'A' || o.Currency[1] > 'Z' || o.Currency[2] < 'A' || o.Currency[2] > 'Z' {
			return fmt.Sprintf("currency must be an ISO 4217 code such as USD, got %q", truncate(o.Currency, 8))
		}
	}
	if len(o.Note) > MaxNoteBytes {
		return fmt.Sprintf("note of %d bytes exceeds %d", len(o.Note), MaxNoteBytes)
	}
	if o.Note != "" {
		if reason := checkText(o.Note, MaxNoteBytes); reason != "" {
			return "note: " + reason
		}
	}
	return ""
}
