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
	// whole: a purely numeric (or weakly prefixed) format, matched only
	// against a barcode's whole text, never against a run of characters
	// inside a longer code (a QR code's URL, an address field).
	whole bool
}

// Carriers supported when nothing is registered. Numbers with a check digit
// must pass it; the others need their distinctive prefix and exact length,
// and the weakly marked ones (whole) must be a barcode's whole text. FedEx
// and DHL Express numbers (10 or 12 plain digits) are not guessed: any
// order or phone number could match them. A code matching none of them is
// offered to the buyer for confirmation (OfferTracking), never taken.
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
//	DHL eCommerce / DHL Parcel UK: JVGL + 10 to 20 digits — DHL's own page
//	    of tracking-ID formats, https://www.dhl.com/cz-en/home/tracking/id-labels.html
//	    ("DHL Parcel: starts with 3S, JVGL or JJD", e.g. JVGL9999999999)
//	PostNL (and DHL Parcel Benelux): 3S + 3 or 4 letters (the sender's
//	    customer code) + 7 to 9 digits — same DHL page (e.g.
//	    3SBCC000123456); PostNL issues them through its Barcode web service,
//	    https://developer.postnl.nl/apis/barcode-webservice/overview
//	Evri (formerly Hermes UK): 16 characters, "the 16-digit tracking number,
//	    which is the barcode number", https://evri.com/faqs/receiving-a-parcel/how-do-i-track-my-parcel;
//	    recognised with the H its labels start with (whole barcode only);
//	    an all-digit one is only offered
//	Yodel: JD + 16 digits (e.g. JD0002212345678901). No carrier page
//	    stating it was found in this project's references: the format is
//	    the one parcel trackers use; whole barcode only
//	GLS: 11 or 12 digits — two for the dispatch depot, two for the product
//	    (10–68 standard, 71–72 CashService, 74 DeliveryAtWork, 85 Express),
//	    a running number and a check digit, https://www.paketda.de/gls/gls-paketlabel.php;
//	    whole barcode only, product code checked (the check digit's method
//	    is not published by GLS)
//	DPD: 14 digits starting 0 or 1, https://dpd.com/lv/en/faq/kur-ir-mans-sutijums-2
//	    (whole barcode only); and the DPD label barcode
//	    [%]PPPPPPP TTTTTTTTTTTTTT SSS CCC (destination post code, the 14-digit
//	    number, service, country), https://www.neodynamic.com/barcodes/DPD-Code-Barcode.aspx,
//	    from which the 14 digits are taken
var carriers = []carrier{
	{name: "UPU S10", re: regexp.MustCompile(`^[A-Z]{2}[0-9]{9}[A-Z]{2}$`), check: s10Valid},
	{name: "UPS", re: regexp.MustCompile(`^1Z[0-9A-Z]{16}$`), check: upsValid},
	{name: "USPS", re: regexp.MustCompile(`^9[2-5][0-9]{20}$`), check: uspsValid},
	{name: "YunExpress", re: regexp.MustCompile(`^YT[0-9]{16}$`)},
	{name: "Cainiao", re: regexp.MustCompile(`^LP[0-9]{14}$`)},
	{name: "SF Express", re: regexp.MustCompile(`^SF[0-9]{12,13}$`)},
	{name: "DHL eCommerce", re: regexp.MustCompile(`^JVGL[0-9]{10,20}$`)},
	{name: "PostNL", re: regexp.MustCompile(`^3S[A-Z]{3,4}[0-9]{7,9}$`)},
	{name: "Evri", re: regexp.MustCompile(`^H[0-9A-Z]{15}$`), check: hasDigits(8), whole: true},
	{name: "Yodel", re: regexp.MustCompile(`^JD[0-9]{16}$`), whole: true},
	{name: "GLS", re: regexp.MustCompile(`^[0-9]{2}(1[0-9]|[2-5][0-9]|6[0-8]|7[124]|85)[0-9]{6,7}[0-9]$`), whole: true},
	{name: "DPD", re: regexp.MustCompile(`^[01][0-9]{13}$`), whole: true},
}

// dpdBarcode is the DPD label's barcode; group 1 is the parcel number.
var dpdBarcode = regexp.MustCompile(`^%?[0-9A-Z]{7}([01][0-9]{13})[0-9]{6}$`)

// hasDigits requires at least n digits (an Evri number is mostly digits;
// a word of capitals is not one).
func hasDigits(n int) func(string) bool {
	return func(s string) bool {
		d := 0
		for i := range len(s) {
			if s[i] >= '0' && s[i] <= '9' {
				d++
			}
		}
		return d >= n
	}
}

// MatchCarrier returns the name of the carrier pattern s (normalised, a
// whole number as printed or typed) matches, check digit included, or "".
func MatchCarrier(s string) string {
	return matchCarrier(s, true)
}

func matchCarrier(s string, whole bool) string {
	for _, c := range carriers {
		if c.whole && !whole {
			continue
		}
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

// candidate is a string that could be a tracking number; whole when it is
// a barcode's whole text (normalised).
type candidate struct {
	s     string
	whole bool
}

// candidates lists the strings of the barcodes that could be a tracking
// number: the whole text of a Code 128, QR code or Data Matrix, the parcel
// number inside a DPD label barcode, and every run of 8–40 letters and
// digits inside it (a QR code often holds a URL or several fields). EAN-13
// and UPC-A are product codes, never tracking.
func candidates(codes []Barcode) []candidate {
	seen := map[string]int{}
	var out []candidate
	addc := func(s string, whole bool) {
		if len(s) < 8 || len(s) > 40 {
			return
		}
		if i, ok := seen[s]; ok {
			out[i].whole = out[i].whole || whole
			return
		}
		seen[s] = len(out)
		out = append(out, candidate{s, whole})
	}
	for _, c := range codes {
		switch c.Format {
		case FormatEAN13, FormatUPCA:
			continue
		}
		up := strings.ToUpper(c.Text)
		n := vocab.NormalizeTracking(up)
		addc(n, true)
		if m := dpdBarcode.FindStringSubmatch(strings.TrimSpace(up)); m != nil {
			addc(m[1], true)
		}
		for _, t := range tokenRE.FindAllString(up, -1) {
			addc(t, t == n)
		}
	}
	return out
}

// OfferTracking returns the code among a label's barcodes to offer the
// buyer for confirmation when ChooseTracking found none: the first
// barcode (Code 128 first, then 2D codes) whose whole text is well formed
// as a tracking number — 8 to 40 letters and digits once normalised, at
// least 4 of them digits, a registrable number (vocab) — and "" when none
// is. It is never taken as the tracking number without the buyer.
func OfferTracking(codes []Barcode) string {
	for _, pass := range []bool{true, false} {
		for _, c := range codes {
			if (c.Format == FormatCode128) != pass || c.Format == FormatEAN13 || c.Format == FormatUPCA {
				continue
			}
			n := vocab.NormalizeTracking(strings.ToUpper(c.Text))
			if len(n) < 8 || len(n) > 40 || !hasDigits(4)(n) || vocab.CheckRegisteredTracking(n) != nil {
				continue
			}
			// Normalising drops spaces and dashes only: a text with
			// anything else (a URL, several fields) is not a number.
			if !onlyTrackingChars(c.Text) {
				continue
			}
			return n
		}
	}
	return ""
}

func onlyTrackingChars(s string) bool {
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r == ' ', r == '-':
		default:
			return false
		}
	}
	return true
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
		for _, cd := range cands {
			c := cd.s
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
		if name := matchCarrier(c.s, c.whole); name != "" {
			hits = append(hits, Tracking{Number: c.s, Source: "pattern", Carrier: name})
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
