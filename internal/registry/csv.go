package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"weighin/internal/vocab"
)

// ErrBadCSV is wrapped by every error ParseCSV and ImportCSV return for bad
// input (as opposed to a read or database failure).
var ErrBadCSV = errors.New("registry: bad parcel CSV")

// CSVError is one problem in one field of a parcel CSV.
type CSVError struct {
	// File is the name given to ParseCSV; Line is 1-based (the header is
	// line 1).
	File string
	Line int
	// Field is the column name ("" for a problem with the whole record).
	Field string
	Msg   string
}

func (e *CSVError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

func (e *CSVError) Unwrap() error { return ErrBadCSV }

// Columns of the parcel CSV, in the order weighctl writes them.
var Columns = []string{"order_ref", "tracking", "label_g", "label_resolution_g", "items"}

// maxCSVErrors bounds how many problems one ParseCSV reports.
const maxCSVErrors = 20

// ParseCSV reads a parcel CSV (format in the package documentation). name
// is used in messages. Every problem is reported, up to 20, each as a
// *CSVError naming the line and the column; nothing is returned then.
func ParseCSV(r io.Reader, name string) ([]Parcel, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var errs []error
	fail := func(line int, field, format string, args ...any) {
		errs = append(errs, &CSVError{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	head, err := cr.Read()
	if err == io.EOF {
		return nil, &CSVError{File: name, Line: 1, Msg: "empty file: a header line is required (" + strings.Join(Columns, ",") + ")"}
	}
	if err != nil {
		return nil, csvReadErr(name, err)
	}
	line, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := false
		for _, c := range Columns {
			known = known || c == h
		}
		switch {
		case !known:
			fail(line, h, "unknown column (columns: %s)", strings.Join(Columns, ","))
		case col[h] != 0:
			fail(line, h, "column given twice")
		default:
			col[h] = i + 1
		}
	}
	if col["tracking"] == 0 {
		fail(line, "tracking", "the header has no tracking column")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	get := func(rec []string, c string) string {
		if i := col[c]; i > 0 && i <= len(rec) {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	var out []Parcel
	seen := map[string]int{}
	for len(errs) < maxCSVErrors {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, csvReadErr(name, err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			fail(line, "", "%d fields, the header has %d", len(rec), len(head))
			continue
		}
		before := len(errs)
		p := Parcel{OrderRef: get(rec, "order_ref")}
		p.Tracking = vocab.NormalizeTracking(get(rec, "tracking"))
		if msg := checkTracking(p.Tracking); msg != "" {
			fail(line, "tracking", "%s", msg)
		} else if prev, dup := seen[p.Tracking]; dup {
			fail(line, "tracking", "%s is also on line %d", p.Tracking, prev)
		} else {
			seen[p.Tracking] = line
		}
		if p.OrderRef != "" {
			if err := vocab.CheckText(p.OrderRef, vocab.MaxOrderRefRunes); err != nil {
				fail(line, "order_ref", "%v", err)
			}
		}
		if s := get(rec, "label_g"); s != "" {
			v, msg := number(s, vocab.MinLabelG, vocab.MaxLabelG)
			if msg != "" {
				fail(line, "label_g", "%s", msg)
			}
			p.LabelG = &v
		}
		if s := get(rec, "label_resolution_g"); s != "" {
			v, msg := number(s, 0, vocab.MaxResolutionG)
			if msg != "" {
				fail(line, "label_resolution_g", "%s", msg)
			}
			p.LabelResolutionG = v
		}
		items, msg := ParseItems(get(rec, "items"))
		if msg != nil {
			fail(line, "items", "%v", msg)
		}
		p.Items = items
		if len(errs) == before {
			out = append(out, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func csvReadErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{File: name, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("registry: read %s: %w", name, err)
}

// number parses a gram value: a plain decimal (vocab.ParseDecimal) in
// [min, max].
func number(s string, min, max float64) (float64, string) {
	v, err := vocab.ParseDecimal(s)
	if err != nil {
		return 0, err.Error()
	}
	return v, checkGrams(v, min, max)
}

// checkGrams returns why v is not an acceptable weight, or "".
func checkGrams(v, min, max float64) string {
	if err := vocab.CheckGrams("", v, min, max); err != nil {
		return strings.TrimSpace(err.Error())
	}
	return ""
}

// ParseItems parses an items field: "name:grams" pairs separated by ";",
// e.g. "Leather jacket:505;Sneakers:1120". The last ":" separates the
// weight, so a name may contain ":" but not ";". An empty field is no
// items.
func ParseItems(s string) ([]Item, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ";")
	if len(parts) > vocab.MaxItems {
		return nil, fmt.Errorf("%d items, at most %d", len(parts), vocab.MaxItems)
	}
	items := make([]Item, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" && i == len(parts)-1 && i > 0 {
			break // a trailing ";"
		}
		name, w, ok := cutLast(part, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("item %d %q: want name:grams", i+1, part)
		}
		if err := vocab.CheckText(name, vocab.MaxItemNameRunes); err != nil {
			return nil, fmt.Errorf("item %d: name: %v", i+1, err)
		}
		v, msg := number(strings.TrimSpace(w), vocab.MinItemG, vocab.MaxLabelG)
		if msg != "" {
			return nil, fmt.Errorf("item %d %q: weight %s", i+1, name, msg)
		}
		items = append(items, Item{Name: name, WeightG: v})
	}
	return items, nil
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// FormatItems is the inverse of ParseItems.
func FormatItems(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.Name + ":" + strconv.FormatFloat(it.WeightG, 'f', -1, 64)
	}
	return strings.Join(parts, ";")
}

// checkTracking returns why a normalised tracking number is unacceptable,
// or "".
func checkTracking(t string) string {
	if err := vocab.CheckRegisteredTracking(t); err != nil {
		return err.Error()
	}
	return ""
}
