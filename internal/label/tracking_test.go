package label

import (
	"errors"
	"strings"
	"testing"

	"weighin/internal/vocab"
)

func TestMatchCarrier(t *testing.T) {
	tests := []struct{ in, want string }{
		{"LX123456785CN", "UPU S10"},
		{"LX123456784CN", ""}, // wrong check digit
		{"RR987654326CN", "UPU S10"},
		{"RR98765432CN", ""}, // too short
		{"1Z999AA10123456784", "UPS"},
		{"1Z999AA10123456785", ""}, // wrong check digit
		{"9400100000000000000006", "USPS"},
		{"9400100000000000000007", ""},
		{"YT2412345678901234", "YunExpress"},
		{"YT241234567890123", ""},
		{"LP00123456789012", "Cainiao"},
		{"SF1234567890123", "SF Express"},
		{"6901234567892", ""}, // an EAN-13
		{"KB-2024-0042", ""},
		{"", ""},
		// Issue 14: the carriers UK and EU buyers see on the box.
		{"JVGL0123456789", "DHL eCommerce"},
		{"JVGL012345678901234567890", ""}, // 20 digits at most
		{"JVGL012345678", ""},             // 10 at least
		{"3SBCC000123456", "PostNL"},
		{"3SABCD1234567", "PostNL"},
		{"3SAB1234567", ""},
		{"H00HYA0012345678", "Evri"},
		{"HELLOWORLDABCDEF", ""}, // 16 capitals are not a number
		{"JD0002212345678901", "Yodel"},
		{"JD000221234567890", ""},
		{"20681234567", "GLS"},
		{"206812345678", "GLS"},
		{"20991234567", ""}, // no such GLS product
		{"01015026003653", "DPD"},
		{"21015026003653", ""},
	}
	for _, tc := range tests {
		if got := MatchCarrier(tc.in); got != tc.want {
			t.Errorf("MatchCarrier(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{" lx 1234 5678 5cn ", "LX123456785CN"},
		{"1z-999-aa1", "1Z999AA1"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := vocab.NormalizeTracking(tc.in); got != tc.want {
			t.Errorf("NormalizeTracking(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func registry(nums ...string) Lookup {
	return func(s string) (bool, error) {
		for _, n := range nums {
			if n == s {
				return true, nil
			}
		}
		return false, nil
	}
}

func TestChooseTracking(t *testing.T) {
	c128 := func(s string) Barcode { return Barcode{FormatCode128, s} }
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		codes   []Barcode
		lookup  Lookup
		want    Tracking
		wantErr error
	}{
		{"s10 by pattern", []Barcode{c128("LX123456785CN"), {FormatEAN13, "6901234567892"}}, nil,
			Tracking{"LX123456785CN", "pattern", "UPU S10"}, nil},
		{"same number in two symbols", []Barcode{c128("LX123456785CN"), {FormatQR, "LX123456785CN"}}, nil,
			Tracking{"LX123456785CN", "pattern", "UPU S10"}, nil},
		{"token inside a QR text", []Barcode{{FormatQR, "TRACK YT2412345678901234 ORDER KB-77812"}}, nil,
			Tracking{"YT2412345678901234", "pattern", "YunExpress"}, nil},
		{"registry wins over pattern", []Barcode{c128("LX123456785CN"), c128("INTERNAL0042")}, registry("INTERNAL0042"),
			Tracking{"INTERNAL0042", "registry", ""}, nil},
		{"registry miss falls back to pattern", []Barcode{c128("LX123456785CN")}, registry("OTHER"),
			Tracking{"LX123456785CN", "pattern", "UPU S10"}, nil},
		{"two carriers: unsure", []Barcode{c128("LX123456785CN"), c128("YT2412345678901234")}, nil,
			Tracking{}, ErrAmbiguous},
		{"two registered: unsure", []Barcode{c128("AAAA11111"), c128("BBBB22222")}, registry("AAAA11111", "BBBB22222"),
			Tracking{}, ErrAmbiguous},
		{"bad check digit is not tracking", []Barcode{c128("LX123456784CN")}, nil, Tracking{}, ErrNoTracking},
		{"EAN is never tracking", []Barcode{{FormatEAN13, "9400100000000"}}, registry("9400100000000"), Tracking{}, ErrNoTracking},
		{"nothing", nil, nil, Tracking{}, ErrNoTracking},
		{"DHL eCommerce JVGL", []Barcode{c128("JVGL 0601 2345 6789"), {FormatEAN13, "6901234567892"}}, nil,
			Tracking{"JVGL060123456789", "pattern", "DHL eCommerce"}, nil},
		{"DPD label barcode", []Barcode{c128("%000123401015026003653101276")}, nil,
			Tracking{"01015026003653", "pattern", "DPD"}, nil},
		{"numeric format only as a whole barcode", []Barcode{{FormatQR, "ORDER 01015026003653 PAID"}}, nil,
			Tracking{}, ErrNoTracking},
		{"Yodel whole", []Barcode{c128("JD0002212345678901")}, nil, Tracking{"JD0002212345678901", "pattern", "Yodel"}, nil},
		{"lookup error", []Barcode{c128("LX123456785CN")}, func(string) (bool, error) { return false, errBoom }, Tracking{}, errBoom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChooseTracking(tc.codes, tc.lookup)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("ChooseTracking(%v) error %v, want %v", tc.codes, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ChooseTracking(%v) = %+v, want %+v", tc.codes, got, tc.want)
			}
		})
	}
}

// FuzzChooseTracking: whatever the barcode texts, a chosen number is one of
// the candidates, matches a carrier pattern or the registry, and an error
// is one of the sentinels.
func FuzzChooseTracking(f *testing.F) {
	f.Add("LX123456785CN", "TRACK YT2412345678901234 ORDER", "6901234567892", "")
	f.Add("1Z999AA10123456784", "", "", "1Z999AA10123456784")
	f.Add("lx 123456785 cn", "http://x/?n=RR987654326CN", "", "RR987654326CN")
	f.Fuzz(func(t *testing.T, a, qr, ean, registered string) {
		codes := []Barcode{{FormatCode128, a}, {FormatQR, qr}, {FormatEAN13, ean}}
		var lookup Lookup
		if registered != "" {
			lookup = registry(registered)
		}
		tr, err := ChooseTracking(codes, lookup)
		if err != nil {
			if !errors.Is(err, ErrNoTracking) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("unexpected error %v", err)
			}
			if tr != (Tracking{}) {
				t.Fatalf("error %v with a tracking %+v", err, tr)
			}
			return
		}
		ok := false
		for _, c := range candidates(codes) {
			ok = ok || c.s == tr.Number
		}
		if !ok {
			t.Fatalf("chose %q, not a candidate of %v", tr.Number, codes)
		}
		switch tr.Source {
		case "registry":
			if tr.Number != registered {
				t.Fatalf("registry source for %q, registered %q", tr.Number, registered)
			}
		case "pattern":
			if MatchCarrier(tr.Number) != tr.Carrier || tr.Carrier == "" {
				t.Fatalf("pattern source for %q, carrier %q", tr.Number, tr.Carrier)
			}
			if strings.Contains(ean, tr.Number) && !strings.Contains(strings.ToUpper(a+qr), tr.Number) {
				t.Fatalf("tracking %q taken from the EAN", tr.Number)
			}
		default:
			t.Fatalf("source %q", tr.Source)
		}
	})
}

// TestOfferTracking: a well-formed code no pattern knows is offered for
// the buyer's confirmation; URLs, product codes and words are not.
func TestOfferTracking(t *testing.T) {
	tests := []struct {
		name  string
		codes []Barcode
		want  string
	}{
		{"unknown carrier", []Barcode{{FormatCode128, "ZX-4471-0092-18"}}, "ZX4471009218"},
		{"Code 128 before a 2D code", []Barcode{{FormatQR, "QQ11112222"}, {FormatCode128, "KK33334444"}}, "KK33334444"},
		{"a URL is not a number", []Barcode{{FormatQR, "https://t.example/?n=AB12345678"}}, ""},
		{"EAN is a product", []Barcode{{FormatEAN13, "6901234567892"}}, ""},
		{"too few digits", []Barcode{{FormatCode128, "ABCDEFGH12"}}, ""},
		{"too short", []Barcode{{FormatCode128, "A1234"}}, ""},
		{"nothing", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OfferTracking(tc.codes); got != tc.want {
				t.Errorf("OfferTracking(%v) = %q, want %q", tc.codes, got, tc.want)
			}
		})
	}
}
