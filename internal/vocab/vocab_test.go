package vocab

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseIssueType(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"missing item", IssueMissingItem, ""},
		{"missing_item", IssueMissingItem, ""},
		{"missing-item", IssueMissingItem, ""},
		{"missing", IssueMissingItem, ""},
		{"wrong item", IssueWrongItem, ""},
		{"damaged item", IssueDamagedFunctional, ""},
		{"damaged", IssueDamagedFunctional, ""},
		{"damaged item (functional)", IssueDamagedFunctional, ""},
		{"damaged item (cosmetic)", IssueDamagedCosmetic, ""},
		{"damaged_cosmetic", IssueDamagedCosmetic, ""},
		{"cosmetic", IssueDamagedCosmetic, ""},
		{"none", IssueNone, ""},
		{"", IssueNone, ""},
		{"Missing Item", "", `issue type "Missing Item" is not one of missing item, damaged item, damaged item (cosmetic), wrong item`},
		{" missing item", "", "is not one of"},
		{"late", "", `issue type "late" is not one of`},
	}
	for _, tc := range tests {
		got, err := ParseIssueType(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseIssueType(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseIssueType(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// Every label Home Assistant offers is accepted.
	for _, l := range IssueLabels {
		if v, err := ParseIssueType(l); err != nil || v == IssueNone {
			t.Errorf("the select option %q is refused: %q, %v", l, v, err)
		}
	}
}

func TestEnums(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		err  error
	}{
		{"exterior torn", true, nil},
		{"exterior Wet", false, nil},
		{"tier auto", true, nil},
		{"tier 4", false, nil},
		{"solution default", true, nil},
		{"solution full_refund", true, nil},
		{"solution money", false, nil},
	} {
		kind, v, _ := strings.Cut(tc.name, " ")
		var err error
		switch kind {
		case "exterior":
			_, err = ParseExterior(v)
		case "tier":
			_, err = ParseTier(v)
		case "solution":
			_, err = ParseSolution(v)
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if n, err := ParseTier("auto"); n != -1 || err != nil {
		t.Errorf("ParseTier(auto) = %d, %v", n, err)
	}
	if n, err := ParseTier("2"); n != 2 || err != nil {
		t.Errorf("ParseTier(2) = %d, %v", n, err)
	}
}

func TestTracking(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err string
	}{
		{"LX123456785CN", ""},
		{"1Z-999-AA1", ""},
		{"", "tracking is required"},
		{"LX 1", "only letters, digits and '-'"},
		{strings.Repeat("A", 41), "41 characters exceeds 40"},
	} {
		err := CheckTracking(tc.in)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckTracking(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
	if got := NormalizeTracking(" lx 1234-5678 5cn\t"); got != "LX123456785CN" {
		t.Errorf("NormalizeTracking = %q", got)
	}
	for in, ok := range map[string]bool{"LX123456785CN": true, "AB1": false, "LX-1234": false, "": false} {
		if err := CheckRegisteredTracking(in); (err == nil) != ok {
			t.Errorf("CheckRegisteredTracking(%q) = %v, want ok %v", in, err, ok)
		}
	}
}

func TestGramsAndText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"2350", 2350, ""},
		{"2350.5", 2350.5, ""},
		{"0", 0, "must be between 1 and 100000 g"},
		{"100000.1", 0, "must be between 1 and 100000 g"},
		{"-5", 0, "is negative"},
		{"1e3", 0, "not a plain decimal"},
		{"NaN", 0, "not a plain decimal"},
		{".5", 0, "not a plain decimal"},
		{"5.", 0, "not a plain decimal"},
		{"", 0, "not a number"},
		{strings.Repeat("9", 17), 0, "exceeds 16"},
	} {
		got, err := ParseLabelGrams(tc.in)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) || err == nil && got != tc.want {
			t.Errorf("ParseLabelGrams(%q) = %g, %v; want %g, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		in   string
		want float64
	}{{"1000", 1000}, {" 500.5\n", 500.5}, {"1e3", 1000}, {"0", 0}, {"-5", 0}, {"NaN", 0}, {"+Inf", 0}, {"200000.5", 0}, {"", 0}} {
		got, err := ParseMass(tc.in)
		if (tc.want == 0) != (err != nil) || got != tc.want || err != nil && !strings.Contains(err.Error(), "is not a mass in grams (greater than 0, at most 200000)") {
			t.Errorf("ParseMass(%q) = %g, %v; want %g", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, err string }{
		{"KB-1", ""}, {"订单 1", ""}, {"", "empty"}, {" a", "leading or trailing"},
		{"a\nb", "control"}, {"a\u202eb", "control"}, {string([]byte{0xff}), "UTF-8"}, {strings.Repeat("x", 65), "exceeds 64"},
	} {
		err := CheckText(tc.in, MaxOrderRefRunes)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckText(%q) = %v, want %q", tc.in, err, tc.err)
		}
	}
}

// FuzzParse: every parser either accepts a value it then round-trips to a
// known form, or refuses it with a short, valid UTF-8 reason.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"missing item", "damaged", "torn", "auto", "3", "full_refund", "2350.5", "1e3", "LX-1", "\xff", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(name string, err error) {
			if err != nil && (len(err.Error()) > 512 || !utf8.ValidString(err.Error())) {
				t.Errorf("%s(%q): reason of %d bytes, not short valid UTF-8", name, s, len(err.Error()))
			}
		}
		v, err := ParseIssueType(s)
		check("ParseIssueType", err)
		if err == nil {
			if again, err := ParseIssueType(v); err != nil || again != v {
				t.Errorf("ParseIssueType(%q) = %q, which does not parse as itself", s, v)
			}
		}
		_, err = ParseExterior(s)
		check("ParseExterior", err)
		n, err := ParseTier(s)
		check("ParseTier", err)
		if err == nil && (n < -1 || n > 3) {
			t.Errorf("ParseTier(%q) = %d", s, n)
		}
		g, err := ParseLabelGrams(s)
		check("ParseLabelGrams", err)
		if err == nil && (g < MinLabelG || g > MaxLabelG) {
			t.Errorf("ParseLabelGrams(%q) = %g out of range", s, g)
		}
		check("CheckTracking", CheckTracking(s))
		check("CheckText", CheckText(s, MaxOrderRefRunes))
		if CheckTracking(s) == nil && CheckRegisteredTracking(NormalizeTracking(s)) == nil && strings.ContainsAny(NormalizeTracking(s), " -") {
			t.Errorf("NormalizeTracking(%q) kept a separator", s)
		}
	})
}

// hostileText is every class the one text rule refuses (issue 13); each is
// refused by CheckText wherever it stands in the text.
var hostileText = []string{
	"\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\u0080", "\u0085", "\u009b", "\u009f",
	"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
	"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u3164", "\uffa0", "\u115f", "\u1160",
	"\u2028", "\u2029", "\u00a0", "\u00ad", "\ue000", "\U000e0001",
}

func TestTextRule(t *testing.T) {
	for _, h := range hostileText {
		for _, s := range []string{"a" + h + "b", "ab" + h, h + "ab"} {
			if err := CheckText(s, 64); err == nil {
				t.Errorf("CheckText(%q) accepted", s)
			}
			if !HasRefused(h) {
				t.Errorf("HasRefused(%q) = false", h)
			}
		}
	}
	for _, p := range FormulaPrefixes {
		if err := CheckText(string(p)+"1+1", 64); err == nil || !strings.Contains(err.Error(), "formula") {
			t.Errorf("CheckText(%q...) = %v, want a formula refusal", p, err)
		}
	}
	for _, ok := range []string{"KB-2026-04417", "Leather jacket", "订单 123", "Ünïcödé #5", "a-b", "1=1"} {
		if err := CheckText(ok, 64); err != nil {
			t.Errorf("CheckText(%q) = %v", ok, err)
		}
	}
	// Tracking numbers: ASCII only, never folded from non-ASCII.
	for _, in := range []string{"\u0131x123456785cn", "\u017f123456785cn", "LX\uff11\uff12345678CN", "LX123\u200b456785CN", "\u212aX123456785CN"} {
		if err := CheckTracking(in); err == nil {
			t.Errorf("CheckTracking(%q) accepted", in)
		}
		if err := CheckRegisteredTracking(NormalizeTracking(in)); err == nil {
			t.Errorf("%q normalised to %q, which registers", in, NormalizeTracking(in))
		}
	}
	if got := NormalizeTracking(" lx-123 456 785cn "); got != "LX123456785CN" {
		t.Errorf("NormalizeTracking = %q", got)
	}
}
