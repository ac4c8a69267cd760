package timestamp

import "strings"

// Kind is the addendum kind under which tokens are recorded. Addenda of
// this kind get no token of their own (no token of a token).
const Kind = "timestamp"

// Stamps reports whether an addendum of kind gets its own token: every kind
// but Kind.
func Stamps(kind string) bool { return kind != Kind }

// TokenName is the name of the token stored for a bundle file: SHA256SUMS →
// SHA256SUMS.tsr, addendum-003-outcome.json → addendum-003-outcome.tsr.
func TokenName(file string) string { return strings.TrimSuffix(file, ".json") + ".tsr" }

// ChainName is the name of the TSA certificate chain (PEM) stored beside
// the token: SHA256SUMS → SHA256SUMS.tsa.pem.
func ChainName(file string) string { return strings.TrimSuffix(file, ".json") + ".tsa.pem" }
