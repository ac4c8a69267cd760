package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/vocab"
)

// decodeStrict decodes one JSON object into v: unknown keys, a key given
// twice or in another case than the contract's (encoding/json would take
// "TRACKING" for "tracking", and the last of two), a second value, or a
// value of the wrong type are refused. It returns the reason, or "".
func decodeStrict(payload []byte, v any) string {
	if r := checkKeys(json.NewDecoder(bytes.NewReader(payload)), ""); r != "" {
		return r
	}
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

// checkKeys walks one JSON value and refuses an object key given twice or
// not in the contract's form (every key of the JSON commands is lower
// case: a-z, 0-9, '_'). Syntax errors are left to the decoder.
func checkKeys(dec *json.Decoder, path string) string {
	tok, err := dec.Token()
	if err != nil {
		return ""
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return ""
			}
			k, _ := kt.(string)
			if seen[k] {
				return fmt.Sprintf("key %q given twice%s", k, at(path))
			}
			seen[k] = true
			if strings.ContainsFunc(k, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
				return fmt.Sprintf("key %q%s is not a key of the contract (keys are lower case: a-z, 0-9, _)", vocab.Clip(k), at(path))
			}
			if r := checkKeys(dec, path+"."+k); r != "" {
				return r
			}
		}
		_, _ = dec.Token()
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if r := checkKeys(dec, fmt.Sprintf("%s[%d]", path, i)); r != "" {
				return r
			}
		}
		_, _ = dec.Token()
	}
	return ""
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return " in " + strings.TrimPrefix(path, ".")
}

// checkParcel checks the parcel command's payload against the vocabulary;
// the registry normalises and checks it again when it stores it.
func checkParcel(p registry.Parcel) string {
	if err := vocab.CheckTracking(p.Tracking); err != nil {
		return err.Error()
	}
	if p.OrderRef != "" {
		if err := vocab.CheckText(p.OrderRef, vocab.MaxOrderRefRunes); err != nil {
			return "order_ref: " + err.Error()
		}
	}
	if p.LabelG != nil {
		if err := vocab.CheckGrams("label_g", *p.LabelG, vocab.MinLabelG, vocab.MaxLabelG); err != nil {
			return err.Error()
		}
	}
	if err := vocab.CheckGrams("label_resolution_g", p.LabelResolutionG, 0, vocab.MaxResolutionG); err != nil {
		return err.Error()
	}
	if len(p.Items) > vocab.MaxItems {
		return fmt.Sprintf("%d items exceed %d", len(p.Items), vocab.MaxItems)
	}
	for i, it := range p.Items {
		if err := vocab.CheckText(it.Name, vocab.MaxItemNameRunes); err != nil {
			return fmt.Sprintf("items[%d].name: %v", i, err)
		}
		if err := vocab.CheckGrams(fmt.Sprintf("items[%d].weight_g", i), it.WeightG, vocab.MinItemG, vocab.MaxLabelG); err != nil {
			return err.Error()
		}
	}
	return ""
}

// checkOutcome checks the outcome command's session_id; the outcome itself
// is evidence.Outcome's to validate.
func checkOutcome(o Outcome) string {
	if o.SessionID == "" || len(o.SessionID) > maxSessionID {
		return "session_id is required (a bundle's directory name)"
	}
	for i, r := range o.SessionID {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Sprintf("session_id may hold only letters, digits, '-' and '_': %q at byte %d", r, i)
		}
	}
	if err := o.Validate(); err != nil {
		return strings.TrimPrefix(err.Error(), evidence.ErrOutcome.Error()+": ")
	}
	if o.Note != "" {
		if err := vocab.CheckText(o.Note, vocab.MaxNoteBytes); err != nil {
			return "note: " + err.Error()
		}
	}
	return ""
}
