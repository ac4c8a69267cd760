package timestamp

import (
	"crypto/sha256"
	"testing"
)

// FuzzCheckResponse: whatever the bytes, CheckResponse does not panic, and
// it accepts only a token over the given digest from a TSA certificate
// chaining to root A.
func FuzzCheckResponse(f *testing.F) {
	data := []byte("SHA256SUMS\n")
	sum := sha256.Sum256(data)
	req, _, err := request(sum[:])
	if err != nil {
		f.Fatal(err)
	}
	good, err := reply(f, "tsaA", req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x02})
	flipped := append([]byte{}, good...)
	flipped[len(flipped)-10] ^= 1 // inside the signature
	f.Add(flipped)
	roots := pool(f, "rootA")
	f.Fuzz(func(t *testing.T, resp []byte) {
		tok, err := CheckResponse(resp, sum[:], roots, nil)
		if err != nil {
			return
		}
		if tok.Signer.Subject.CommonName != "weighin test tsaA" || len(tok.Chain) != 2 {
			t.Fatalf("accepted a token signed by %s (chain %d)", tok.Signer.Subject, len(tok.Chain))
		}
	})
}
