package timestamp

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"weighin/internal/config"
	"weighin/internal/evidence"
)

// storeToken writes a token (and the chain the token carries) into a bundle
// as the queue would have, bypassing the queue's own checks.
func storeToken(t *testing.T, bundle, file string, resp []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, TokenName(file)), resp, 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(bundle, file))
	sum := sha256.Sum256(data)
	if tok, err := CheckResponse(resp, sum[:], nil, nil); err == nil {
		os.WriteFile(filepath.Join(bundle, ChainName(file)), tok.ChainPEM(), 0o644)
	}
}

// TestVerifyFailures is the second "must show": a token for other
// data, a wrong chain and a token time outside the TSA certificate's
// validity each fail verification with a clear reason, and the seller's
// openssl ts -verify refuses each too.
func TestVerifyFailures(t *testing.T) {
	state := t.TempDir()
	store := openStore(t, state)
	tests := []struct {
		name   string
		token  func(sums []byte) []byte
		reason string
		seller string // what openssl ts -verify says
	}{
		{"token for other data", func([]byte) []byte { return stampWith(t, "tsaA", []byte("another bundle's SHA256SUMS\n")) },
			"token for other data, not this SHA256SUMS: the token is for sha256 ", "message imprint mismatch"},
		{"wrong chain", func(sums []byte) []byte { return stampWith(t, "tsaB", sums) },
			`TSA certificate not trusted: "CN=weighin test tsaB" (issued by "CN=weighin test rootB") does not chain to a trusted root`, "unable to get local issuer certificate"},
		{"token time outside the certificate's validity", func(sums []byte) []byte { return stampWith(t, "tsaOld", sums) },
			`token time outside the TSA certificate's validity: token time 20`, "certificate has expired"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := seal(t, store, i+1, true)
			sums, err := os.ReadFile(filepath.Join(b, evidence.SumsFile))
			if err != nil {
				t.Fatal(err)
			}
			storeToken(t, b, evidence.SumsFile, tt.token(sums))
			r := Verify(os.DirFS(b), pool(t, "rootA"))
			if r.OK() || len(r.Problems) != 1 {
				t.Fatalf("Verify = %+v, want one problem", r)
			}
			p := r.Problems[0]
			t.Logf("verify: %s", p)
			if p.File != "SHA256SUMS.tsr" || !strings.Contains(p.Reason, tt.reason) {
				t.Errorf("problem %q, want SHA256SUMS.tsr: …%s…", p, tt.reason)
			}
			if tc := r.Tokens[0]; tc.Status != "failed" || tc.Reason != p.Reason {
				t.Errorf("token check %+v, want failed with the reason", tc)
			}
			out, err := opensslVerify(t, b, evidence.SumsFile, TokenName(evidence.SumsFile), "rootA")
			t.Logf("openssl ts -verify: %s", strings.TrimSpace(out))
			if err == nil || !strings.Contains(out, tt.seller) {
				t.Errorf("openssl ts -verify: %v, %s; want a failure saying %q", err, out, tt.seller)
			}
		})
	}
}

// TestVerifyAddenda: every addendum but a timestamp one gets a token; a
// token for a file not in the bundle is a problem; tokens of a tombstoned
// bundle's removed SHA256SUMS are a note.
func TestVerifyAddenda(t *testing.T) {
	state := t.TempDir()
	store := openStore(t, state)
	b := seal(t, store, 1, true)
	sums, _ := os.ReadFile(filepath.Join(b, evidence.SumsFile))
	storeToken(t, b, evidence.SumsFile, stampWith(t, "tsaA", sums))
	outcome := []byte(`{"type":"addendum","kind":"outcome"}` + "\n")
	os.WriteFile(filepath.Join(b, "addendum-001-outcome.json"), outcome, 0o644)
	storeToken(t, b, "addendum-001-outcome.json", stampWith(t, "tsaA", outcome))
	os.WriteFile(filepath.Join(b, "addendum-002-timestamp.json"), []byte("{}\n"), 0o644)
	os.WriteFile(filepath.Join(b, "addendum-003-export.json"), []byte("{}\n"), 0o644)

	r := Verify(os.DirFS(b), pool(t, "rootA"))
	got := map[string]string{}
	for _, tc := range r.Tokens {
		got[tc.For] = tc.Status
	}
	want := map[string]string{"SHA256SUMS": "ok", "addendum-001-outcome.json": "ok", "addendum-003-export.json": "pending"}
	if len(got) != len(want) || got["SHA256SUMS"] != "ok" || got["addendum-001-outcome.json"] != "ok" || got["addendum-003-export.json"] != "pending" {
		t.Errorf("tokens %v, want %v (no token of a token)", got, want)
	}
	if !r.OK() {
		t.Errorf("problems %v", r.Problems)
	}
	if out, err := opensslVerify(t, b, "addendum-001-outcome.json", "addendum-001-outcome.tsr", "rootA"); err != nil {
		t.Errorf("openssl ts -verify of the addendum's token: %v\n%s", err, out)
	}

	os.WriteFile(filepath.Join(b, "addendum-009-outcome.tsr"), []byte("x"), 0o644)
	r = Verify(os.DirFS(b), pool(t, "rootA"))
	if r.OK() || r.Problems[0].File != "addendum-009-outcome.tsr" || !strings.Contains(r.Problems[0].Reason, "for no file of the bundle") {
		t.Errorf("stray token: problems %v", r.Problems)
	}
}

func TestStampedAndNames(t *testing.T) {
	got := Stamped([]string{"manifest.json", "SHA256SUMS", "SHA256SUMS.tsr", "addendum-002-timestamp.json", "addendum-001-outcome.json", "addendum-001-outcome.sig", "outcome-001.json", "weight.csv", "addendum-004-evidence-sheet.json"})
	want := []string{"SHA256SUMS", "addendum-001-outcome.json", "addendum-004-evidence-sheet.json"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Stamped = %v, want %v", got, want)
	}
	for in, want := range map[string][2]string{
		"SHA256SUMS":                {"SHA256SUMS.tsr", "SHA256SUMS.tsa.pem"},
		"addendum-003-outcome.json": {"addendum-003-outcome.tsr", "addendum-003-outcome.tsa.pem"},
	} {
		if TokenName(in) != want[0] || ChainName(in) != want[1] {
			t.Errorf("names of %s = %s, %s; want %v", in, TokenName(in), ChainName(in), want)
		}
	}
}

func TestShippedRoots(t *testing.T) {
	roots := ShippedRoots()
	if len(roots) != 1 || roots[0].Subject.CommonName != "DigiCert Trusted Root G4" || !roots[0].IsCA {
		t.Fatalf("shipped roots %v", roots)
	}
	if _, err := Roots(filepath.Join(testPKI(t), "rootA.pem")); err != nil {
		t.Errorf("Roots(rootA.pem) = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	if _, err := Roots(bad); err == nil || !strings.Contains(err.Error(), "trust.tsa_ca_file") || !strings.Contains(err.Error(), "not CERTIFICATE") {
		t.Errorf("Roots(a key file) = %v, want an error naming trust.tsa_ca_file", err)
	}
}

func TestSellerLine(t *testing.T) {
	got := strings.Join(sellerArgs(t, "SHA256SUMS", "SHA256SUMS.tsr", "/r.pem"), " ")
	if want := "ts -verify -data SHA256SUMS -in SHA256SUMS.tsr -CAfile /r.pem"; got != want {
		t.Errorf("seller's line %q, want %q", got, want)
	}
}

func TestDoctor(t *testing.T) {
	urls := []string{"http://timestamp.digicert.com"}
	tests := []struct {
		name         string
		urls         []string
		ca           string
		st           *Status
		status, text string
	}{
		{"off", nil, "", nil, "ok", "off: no timestamp authority configured"},
		{"bad ca file", urls, "/nonexistent/roots.pem", nil, "FAIL", "trust.tsa_ca_file"},
		{"weighd down", urls, "", nil, "ok", "1 TSA(s): http://timestamp.digicert.com"},
		{"offline", urls, "", &Status{State: "backoff", Backlog: 3, Attempts: 4, LastError: "connection refused"}, "WARN", "3 waiting since"},
		{"given up", urls, "", &Status{State: "idle", Failed: 1, LastError: "SHA256SUMS changed"}, "WARN", "1 request(s) given up"},
		{"working", urls, "", &Status{State: "idle", LastTokenAt: "2026-12-01T10:00:00Z", LastTSA: "DigiCert Timestamp 2025"}, "ok", "last token 2026-12-01T10:00:00Z from DigiCert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, detail, fix := Doctor(tt.urls, tt.ca, "/var/lib/weighin", tt.st)
			if status != tt.status || !strings.Contains(detail, tt.text) {
				t.Errorf("Doctor = %s %q (fix %q), want %s …%s…", status, detail, fix, tt.status, tt.text)
			}
		})
	}
	if !strings.Contains(Proposal, "http://timestamp.digicert.com") || !strings.Contains(Proposal, "https://freetsa.org/tsr") {
		t.Error("Proposal does not name the two TSAs")
	}
}

// TestProposalParses: the lines Proposal tells the user to add are a valid
// configuration.
func TestProposalParses(t *testing.T) {
	i := strings.Index(Proposal, "  trust:\n")
	j := strings.Index(Proposal[i:], "\n\n")
	if i < 0 || j < 0 {
		t.Fatal("no trust: block in Proposal")
	}
	cfg, err := config.Parse("proposal.yaml", []byte(Proposal[i:i+j+1]))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Trust.TSAURLs) != 2 || cfg.Trust.TSACAFile == "" {
		t.Errorf("trust = %+v", cfg.Trust)
	}
}
