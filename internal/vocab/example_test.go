package vocab_test

import (
	"fmt"

	"weighin/internal/vocab"
)

func ExampleParseIssueType() {
	for _, s := range []string{"damaged item (cosmetic)", "wrong-item", "late"} {
		v, err := vocab.ParseIssueType(s)
		fmt.Printf("%q %v\n", v, err)
	}
	// Output:
	// "damaged_cosmetic" <nil>
	// "wrong_item" <nil>
	// "" issue type "late" is not one of missing item, damaged item, damaged item (cosmetic), wrong item (or missing_item, wrong_item, damaged_cosmetic, damaged_functional, none)
}
