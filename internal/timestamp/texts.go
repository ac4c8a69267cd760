package timestamp

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SellerText is the paragraph for a bundle's VERIFY.txt and the README: how
// a third party checks the timestamp tokens with openssl alone.
const SellerText = `Timestamp (RFC 3161). SHA256SUMS.tsr is a token from an independent
timestamp authority (TSA) over the SHA-256 of SHA256SUMS, which lists every
file of the bundle: it proves the bundle existed, sealed, at the time the
token states, whatever the station's clock said. In the bundle directory:

  openssl ts -verify -data SHA256SUMS -in SHA256SUMS.tsr -CAfile ROOT.pem

prints "Verification: OK". ROOT.pem is the TSA's root certificate, taken
from the TSA or from your system (for DigiCert's TSA, Debian and Ubuntu have
/etc/ssl/certs/DigiCert_Trusted_Root_G4.pem), not from the bundle.
SHA256SUMS.tsa.pem, which travels with the bundle, is the chain the station
verified: if openssl cannot find an intermediate certificate, add
-untrusted SHA256SUMS.tsa.pem. The time is shown by

  openssl ts -reply -in SHA256SUMS.tsr -text

Each addendum addendum-NNN-<kind>.json has its own token
addendum-NNN-<kind>.tsr, checked the same way with -data set to the
addendum. If the TSA's certificate has expired since, add -attime with the
token's time in seconds since 1970 (date -d "<Time stamp>" +%s).
`

// Proposal is the text the installer and weighctl doctor show while
// timestamping is off: two public TSAs, what they cost and what they
// promise, and the lines that turn them on.
const Proposal = `Timestamps are off (trust.tsa_urls is empty): bundles carry only the
station's own clock. To have an independent RFC 3161 timestamp authority
sign every bundle's time (one small HTTP request per bundle, carrying only a
SHA-256; nothing of the parcel leaves the station), add to
/etc/weighin/weighd.yaml:

  trust:
    tsa_urls:
      - http://timestamp.digicert.com
      - https://freetsa.org/tsr
    tsa_ca_file: /etc/weighin/freetsa-cacert.pem

DigiCert (http://timestamp.digicert.com): free of charge, no account. The
public timestamping service of a commercial certificate authority, used by
code-signing tools. No contract and no promise of availability to you; its
tokens chain to DigiCert Trusted Root G4, which weighin ships and Debian and
Ubuntu carry in /etc/ssl/certs, so a seller can check them with what they
have.
FreeTSA (https://freetsa.org/tsr): free of charge, no account, run by a
private person as a public service, with no service commitment. Its root is
its own and not shipped: download https://freetsa.org/files/cacert.pem,
compare its fingerprint with the one published on freetsa.org, and save it
as /etc/weighin/freetsa-cacert.pem (trust.tsa_ca_file).
The TSAs are tried in order; while none answers, requests wait on disk and
are retried.
`

// Doctor is the weighctl doctor line for timestamping: status (ok, WARN,
// FAIL), detail and fix. urls and caFile are trust.tsa_urls and
// trust.tsa_ca_file, stateDir is state_dir; st is weighd's queue status,
// nil when weighd is not running.
func Doctor(urls []string, caFile, stateDir string, st *Status) (status, detail, fix string) {
	if len(urls) == 0 {
		return "ok", "off: no timestamp authority configured (trust.tsa_urls), bundles carry only the station's clock",
			"to turn it on: trust.tsa_urls: [http://timestamp.digicert.com, https://freetsa.org/tsr] (see the README, Timestamps)"
	}
	if _, err := Roots(caFile); err != nil {
		return "FAIL", err.Error(), "point trust.tsa_ca_file at a readable PEM file of root certificates, or empty it"
	}
	tsas := fmt.Sprintf("%d TSA(s): %s", len(urls), strings.Join(urls, ", "))
	switch {
	case st == nil:
		return "ok", tsas, ""
	case st.Failed > 0:
		return "WARN", fmt.Sprintf("%s; %d request(s) given up: %s", tsas, st.Failed, st.LastError),
			"see " + filepath.Join(stateDir, Dir, "failed") + " and journalctl -u weighd"
	case st.State == "backoff":
		return "WARN", fmt.Sprintf("%s; %d waiting since %s, %d attempt(s): %s", tsas, st.Backlog, st.OldestQueuedAt, st.Attempts, st.LastError),
			"check the network and the URLs; the queue retries by itself"
	case st.LastTokenAt != "":
		return "ok", fmt.Sprintf("%s; last token %s from %s, %d waiting", tsas, st.LastTokenAt, st.LastTSA, st.Backlog), ""
	}
	return "ok", fmt.Sprintf("%s; %d waiting", tsas, st.Backlog), ""
}
