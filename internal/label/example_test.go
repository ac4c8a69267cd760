package label_test

import (
	"fmt"

	"weighin/internal/label"
)

func ExampleChooseTracking() {
	codes := []label.Barcode{
		{Format: label.FormatEAN13, Text: "6901234567892"},
		{Format: label.FormatCode128, Text: "LX123456785CN"},
		{Format: label.FormatQR, Text: "LX123456785CN"},
	}
	tr, err := label.ChooseTracking(codes, nil)
	fmt.Println(tr.Number, tr.Source, tr.Carrier, err)

	// Two different plausible numbers: no guess.
	codes = append(codes, label.Barcode{Format: label.FormatCode128, Text: "1Z999AA10123456784"})
	_, err = label.ChooseTracking(codes, nil)
	fmt.Println(err)

	// The registry settles it.
	registered := func(s string) (bool, error) { return s == "1Z999AA10123456784", nil }
	tr, _ = label.ChooseTracking(codes, registered)
	fmt.Println(tr.Number, tr.Source)
	// Output:
	// LX123456785CN pattern UPU S10 <nil>
	// label: several tracking numbers, none chosen: 1Z999AA10123456784, LX123456785CN
	// 1Z999AA10123456784 registry
}

func ExampleMatchCarrier() {
	for _, s := range []string{"RR987654326CN", "RR987654321CN", "YT2412345678901234"} {
		fmt.Printf("%s %q\n", s, label.MatchCarrier(s))
	}
	// Output:
	// RR987654326CN "UPU S10"
	// RR987654321CN ""
	// YT2412345678901234 "YunExpress"
}
