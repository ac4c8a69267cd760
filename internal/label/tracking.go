package label

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"weighin/internal/vocab"
)

// Errors of ChooseTracking. Both mean "no tracking number": a wrong one is
// worse than none.
var (
	// ErrNoTracking: no decoded text is registered or looks like a
	// tracking number.
	ErrNoTracking = errors.New("label: no tracking number found")
	// ErrAmbiguous: several different candidates qualify equally.
	ErrAmbiguous = errors.New("label: several tracking numbers, none chosen")
)

// Lookup reports whether a tracking number is registered (the registry's
// expected parcels). A nil Lookup means nothing is registered.
type Lookup func(tracking string) (bool, error)

// Tracking is the chosen tracking number and why.
type Tracking struct {
	// Number is normalised: upper case, no spaces.
	Number string
	// Source is "registry" (an expected parcel has it) or "pattern" (it
	// matches a carrier pattern below).
	Source string
	// Carrier names the pattern that matched ("" for the registry).
	Carrier string
}

// carrier is one supported tracking-number pattern.
type carrier struct {
	name  string
	re    *regexp.Regexp
	check func(string) bool // nil: the format has no check digit
}

// Carriers supported when nothing is registered. Numbers with a check digit
// must pass it; the others need their distinctive prefix and exact length.
// Purely numeric formats without a strong prefix (FedEx, DHL Express) are
// not guessed: any order or phone number could match them.
//
//	UPU S10 (China Post, EMS, Royal Mail, most postal operators):
//	    two letters, 8 digits, check digit (weights 8 6 4 2 3 5 9 7,
//	    mod 11), ISO country code — e.g. LX123456785CN
//	UPS: 1Z + 15 alphanumerics + check digit (letters map to (ASCII-63)
//	    mod 10, odd positions ×1, even ×2, mod 10) — e.g. 1Z999AA10123456784
//	USPS IMpb: 22 digits starting 92–95, mod-10 check digit (weights 3,1)
//	YunExpress: YT + 16 digits
//	Cainiao: LP + 14 digits
//	SF Express: SF + 12 or 13 digits
var carriers = []carrier{
	{"UPU S10", regexp.MustCompile(`^[A-Z]{2}[0-9]{9}[A-Z]{2}$`), s10Valid},
	{"UPS", regexp.MustCompile(`^1Z[0-9A-Z]{16}$`), upsValid},
	{"USPS", regexp.MustCompile(`^9[2-5][0-9]{20}$`), uspsValid},
	{"YunExpress", regexp.MustCompile(`^YT[0-9]{16}$`), nil},
	{"Cainiao", regexp.MustCompile(`^LP[0-9]{14}$`), nil},
	{"SF Express", regexp.MustCompile(`^SF[0-9]{12,13}$`), nil},
}

// MatchCarrier returns the name of the carrier pattern s (normalised)
// matches, check digit included, or "".
func MatchCarrier(s string) string {
	for _, c := range carriers {
		if c.re.MatchString(s) && (c.check == nil || c.check(s)) {
			return c.name
		}
	}
	return ""
}

func s10Valid(s string) bool {
	w := [8]int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i := range 8 {
		sum += int(s[2+i]-'0') * w[i]
	}
	c := 11 - sum%11
	switch c {
	case 10:
		c = 0
	case 11:
		c = 5
	}
	return int(s[10]-'0') == c
}

func upsValid(s string) bool {
	sum := 0
	for i, ch := range s[2:17] {
		v := int(ch - '0')
		if ch >= 'A' && ch <= 'Z' {
			v = (int(ch) - 63) % 10
		}
		if i%2 == 1 {
			v *= 2
		}
		sum += v
	}
	return int(s[17]-'0') == (10-sum%10)%10
}

func uspsValid(s string) bool {
	sum := 0
	// Weights 3 and 1 alternate from the digit left of the check digit.
	for i := len(s) - 2; i >= 0; i-- {
		v := int(s[i] - '0')
		if (len(s)-2-i)%2 == 0 {
			v *= 3
		}
		sum += v
	}
	return int(s[len(s)-1]-'0') == (10-sum%10)%10
}

var tokenRE = regexp.MustCompile(`[A-Z0-9]{8,40}`)

// candidates lists the strings of the barcodes that could be a tracking
// number: the whole text of a Code 128, QR code or Data Matrix, and every
// run of 8–40 letters and digits inside it (a QR code often holds a URL or
// several fields). EAN-13 and UPC-A are product codes, never tracking.
func candidates(codes []Barcode) []string {
	seen := map[string]bool{}
	var out []string
	addc := func(s string) {
		if len(s) >= 8 && len(s) <= 40 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, c := range codes {
		switch c.Format {
		case FormatEAN13, FormatUPCA:
			continue
		}
		up := strings.ToUpper(c.Text)
		addc(vocab.NormalizeTracking(up))
		for _, t := range tokenRE.FindAllString(up, -1) {
			addc(t)
		}
	}
	return out
}

// ChooseTracking picks the tracking number among a label's barcodes. A
// candidate the registry knows wins; with none registered, a candidate that
// matches a supported carrier pattern (see carriers). When two different
// candidates qualify at the same level it returns ErrAmbiguous; with none,
// ErrNoTracking. A Lookup error is returned wrapped.
func ChooseTracking(codes []Barcode, lookup Lookup) (Tracking, error) {
	cands := candidates(codes)
	if lookup != nil {
		var reg []string
		for _, c := range cands {
			ok, err := lookup(c)
			if err != nil {
				return Tracking{}, fmt.Errorf("label: tracking lookup %q: %w", c, err)
			}
			if ok {
				reg = append(reg, c)
			}
		}
		switch len(reg) {
		case 0:
		case 1:
			return Tracking{Number: reg[0], Source: "registry"}, nil
		default:
			sort.Strings(reg)
			return Tracking{}, fmt.Errorf("%w: registered %s", ErrAmbiguous, strings.Join(reg, ", "))
		}
	}
	var hits []Tracking
	for _, c := range cands {
		if name := MatchCarrier(c); name != "" {
			hits = append(hits, Tracking{Number: c, Source: "pattern", Carrier: name})
		}
	}
	switch len(hits) {
	case 0:
		return Tracking{}, ErrNoTracking
	case 1:
		return hits[0], nil
	}
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.Number
	}
	sort.Strings(names)
	return Tracking{}, fmt.Errorf("%w: %s", ErrAmbiguous, strings.Join(names, ", "))
}
