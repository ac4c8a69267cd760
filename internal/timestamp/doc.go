// Package timestamp gives every sealed bundle, and every later addendum, an
// RFC 3161 timestamp token: a timestamp authority's (TSA's) signature over
// the file's SHA-256 and the TSA's time. A Pi has no battery-backed clock,
// and even a synchronised clock is only the station's word; a token is a
// time anyone checks with `openssl ts -verify`, a tool sellers already have.
// Only a hash leaves the station, in one small HTTP request per token.
//
// Flow. After a seal the station calls Queue.Enqueue(bundleDir,
// "SHA256SUMS"); after every addendum whose kind Stamps (every kind but
// Kind: no token of a token) it calls Enqueue(bundleDir, the addendum's
// document). The request is on disk, with the file's SHA-256, before Enqueue
// returns (<state>/timestamp/queue/NNNNNNNNNN.json). Queue.Run takes the
// oldest request and asks the TSAs of trust.tsa_urls in order; when all of
// them fail, the whole queue waits (backoff doubling from 30 s to 30 min) and
// the same request is tried again, so tokens come in the order of the seals.
// An answer is checked (CheckResponse: a token that would not verify is
// refused at once and the next TSA tried) and kept beside the request, then
// recorded by a RecordFunc as one signed addendum of kind "timestamp"; a
// restart between the two records the kept answer without asking again.
// Status reports the state and the backlog for the status API and MQTT.
//
// Files in the bundle (regular files at the top level, listed by the
// timestamp addendum):
//
//	SHA256SUMS.tsr                the TSA's full DER TimeStampResp, exactly as
//	                              `openssl ts -reply` writes it and
//	                              `openssl ts -verify -in` reads it
//	SHA256SUMS.tsa.pem            the TSA's certificate chain as verified when
//	                              the token came, TSA certificate first, root last
//	addendum-NNN-<kind>.tsr       the token of addendum-NNN-<kind>.json
//	addendum-NNN-<kind>.tsa.pem   and its chain
//
// Verification (Verify, for weighctl verify) checks each token: the TSA
// granted it; its signature; the ESS signing-certificate attribute names the
// signing certificate; the message imprint is the file's SHA-256; the token's
// time lies within the TSA certificate's validity; the certificate has the
// critical timeStamping extended key usage; and it chains, at the token's
// time, to the shipped roots (ShippedRoots) and those of trust.tsa_ca_file.
// A file without its token yet is pending: a note, not a failure. For
// SHA256SUMS the report sets the TSA's time against the session's start by
// the station's clock; a bundle named "unsynced" thereby gains a trusted
// time.
//
// A seller checks a token in the bundle directory with (see SellerText):
//
//	openssl ts -verify -data SHA256SUMS -in SHA256SUMS.tsr -CAfile ROOT.pem
//
// Libraries: github.com/digitorus/timestamp (which sigstore uses) builds the
// requests and parses TSTInfo; github.com/digitorus/pkcs7 checks the CMS
// signature; crypto/x509 the chain. Written here, because neither library
// offers it: the decoding of the response's status (to tell a refusal from a
// malformed answer), the head of TSTInfo up to genTime (the library's
// parser checks the signer's validity inside the signature check, with a
// vaguer message), and the ESS signing-certificate check.
package timestamp
