package timestamp_test

import (
	"fmt"

	"weighin/internal/timestamp"
)

// The files a token leaves in a bundle, and which files get one.
func ExampleTokenName() {
	for _, f := range timestamp.Stamped([]string{"SHA256SUMS", "addendum-001-outcome.json", "addendum-002-timestamp.json", "weight.csv"}) {
		fmt.Println(f, "→", timestamp.TokenName(f), timestamp.ChainName(f))
	}
	// Output:
	// SHA256SUMS → SHA256SUMS.tsr SHA256SUMS.tsa.pem
	// addendum-001-outcome.json → addendum-001-outcome.tsr addendum-001-outcome.tsa.pem
}
