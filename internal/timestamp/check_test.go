package timestamp

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stampWith asks the openssl TSA section for a token over data's SHA-256.
func stampWith(t *testing.T, section string, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	req, _, err := request(sum[:])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := reply(t, section, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestCheckResponse(t *testing.T) {
	data := []byte("0123  SHA256SUMS of a bundle\n")
	sum := sha256.Sum256(data)
	other := sha256.Sum256([]byte("other data"))
	good := stampWith(t, "tsaA", data)
	altered := append([]byte{}, good...)
	altered[len(altered)-1] ^= 0x01 // the last byte of the signature value
	tests := []struct {
		name   string
		resp   []byte
		digest []byte
		roots  []string
		want   error
		reason string
	}{
		{"valid", good, sum[:], []string{"rootA"}, nil, ""},
		{"valid, ESS signingCertificate (v1)", stampWith(t, "tsaAv1", data), sum[:], []string{"rootA"}, nil, ""},
		{"token for other data", good, other[:], []string{"rootA"}, ErrImprint, "the token is for sha256"},
		{"wrong chain", stampWith(t, "tsaB", data), sum[:], []string{"rootA"}, ErrChain, `"CN=weighin test tsaB" (issued by "CN=weighin test rootB") does not chain to a trusted root`},
		{"time outside the certificate's validity", stampWith(t, "tsaOld", data), sum[:], []string{"rootA"}, ErrValidity, "certificate \"CN=weighin test tsaOld\" valid from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z"},
		{"signature altered", altered, sum[:], []string{"rootA"}, ErrSignature, "signer CN=weighin test tsaA"},
		{"not DER", []byte("hello"), sum[:], []string{"rootA"}, ErrMalformed, ""},
		{"truncated", good[:len(good)/2], sum[:], []string{"rootA"}, ErrMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := CheckResponse(tt.resp, tt.digest, pool(t, tt.roots...), nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckResponse = %v, want a token", err)
				}
				if d := time.Since(tok.Time); d < -time.Minute || d > time.Minute {
					t.Errorf("token time %v is not now", tok.Time)
				}
				if tok.TSA() != "weighin test tsaA" || len(tok.Chain) != 2 {
					t.Errorf("TSA %q, chain of %d, want weighin test tsaA and 2", tok.TSA(), len(tok.Chain))
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckResponse = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
}

// TestRefusal: a TSA's failure status (openssl refuses a digest it was not
// configured for) is ErrRefused with the TSA's words.
func TestRefusal(t *testing.T) {
	d := t.TempDir()
	// A SHA-1 request: the test TSAs accept only SHA-2.
	req := filepath.Join(d, "q.tsq")
	os.WriteFile(filepath.Join(d, "data"), []byte("x"), 0o644)
	cmd := execOpenssl(t, d, "ts", "-query", "-data", "data", "-sha1", "-cert", "-out", req)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	q, _ := os.ReadFile(req)
	resp, err := reply(t, "tsaA", q)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckResponse(resp, make([]byte, 32), pool(t, "rootA"), nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("CheckResponse(refusal) = %v, want ErrRefused naming the rejection", err)
	}
}

// BenchmarkCheckResponse is weighctl verify's cost per token (imprint,
// signature, ESS, chain); compare with `openssl ts -verify` on the same
// token (docs/perf-timestamp.md).
func BenchmarkCheckResponse(b *testing.B) {
	data := []byte("0123  SHA256SUMS of a bundle\n")
	sum := sha256.Sum256(data)
	req, _, err := request(sum[:])
	if err != nil {
		b.Fatal(err)
	}
	resp, err := reply(b, "tsaA", req)
	if err != nil {
		b.Fatal(err)
	}
	roots := pool(b, "rootA")
	for b.Loop() {
		if _, err := CheckResponse(resp, sum[:], roots, nil); err != nil {
			b.Fatal(err)
		}
	}
}
