package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net/http"

	rfc3161 "github.com/digitorus/timestamp"
)

// maxResponse bounds a TSA's answer; a token with its chain is a few KiB.
const maxResponse = 1 << 20

// request is a TimeStampReq over a SHA-256 digest, asking for the TSA's
// certificate and carrying a fresh 64-bit nonce.
func request(digest []byte) (der []byte, nonce *big.Int, err error) {
	nonce, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	req := rfc3161.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}
	der, err = req.Marshal()
	return der, nonce, err
}

// fetch1 makes one request to one TSA (RFC 3161 §3.4, over HTTP) and returns
// its answer unchecked.
func fetch1(ctx context.Context, client *http.Client, url string, req []byte) ([]byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	resp, err := client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("answer larger than %d bytes", maxResponse)
	}
	return body, nil
}

// Stamp is a token fetched and checked: the TSA's full DER answer and what
// it says.
type Stamp struct {
	URL      string
	Response []byte
	Token    *Token
}

// Fetch asks the TSA at url for a token over digest (a SHA-256), once, and
// checks the answer with CheckResponse against roots and that it carries
// the request's nonce (a replayed answer does not).
func Fetch(ctx context.Context, client *http.Client, url string, digest []byte, roots *x509.CertPool) (*Stamp, error) {
	req, nonce, err := request(digest)
	if err != nil {
		return nil, fmt.Errorf("timestamp: request: %w", err)
	}
	resp, err := fetch1(ctx, client, url, req)
	if err != nil {
		return nil, err
	}
	tok, err := CheckResponse(resp, digest, roots, nil)
	if err != nil {
		return nil, err
	}
	if tok.Nonce == nil || tok.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: the token's nonce %v is not the request's %v (a replayed answer?)", ErrMalformed, tok.Nonce, nonce)
	}
	return &Stamp{URL: url, Response: resp, Token: tok}, nil
}
