package offsite

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/time/rate"
)

// Errors of the store; test with errors.Is.
var (
	// ErrNoBucket: the bucket does not exist (the station never creates it).
	ErrNoBucket = errors.New("offsite: bucket does not exist")
	// ErrAccess: the store refused the credentials or the request.
	ErrAccess = errors.New("offsite: access denied by the store")
	// ErrUnreachable: no answer from the store (network, TLS, server down).
	ErrUnreachable = errors.New("offsite: store unreachable")
	// ErrNoChecksum: the store does not report the SHA-256 it stored, so its
	// copy cannot be verified.
	ErrNoChecksum = errors.New("offsite: the store reports no SHA-256 checksum")
	// ErrExists: a conditional write found the object already there.
	ErrExists = errors.New("offsite: object already exists")
)

// StoreOptions say how to reach the store.
type StoreOptions struct {
	// Endpoint is http://host:port or https://host (path-style addressing).
	Endpoint    string
	Bucket      string
	Prefix      string
	Region      string
	Credentials Credentials
	// CAFile, when set, is the only CA trusted for an https endpoint.
	CAFile string
	// MaxBytesPerS caps the upload rate (0: no cap).
	MaxBytesPerS int64
	// Timeout bounds every request but the body of an upload or download
	// (0: 30 s).
	Timeout time.Duration
}

// Store is the bucket as the station sees it: objects named
// <prefix>/<station_id>/<session>/<file>, written once with their SHA-256,
// read back, never overwritten and never deleted.
type Store struct {
	c       *minio.Client
	bucket  string
	prefix  string
	limiter *rate.Limiter
}

// RemoteObject is what the store says of one object.
type RemoteObject struct {
	Key   string
	Bytes int64
	// SHA256 is the checksum the store recorded, hex; "" when it has none.
	SHA256 string
}

// NewStore makes the client; it contacts nothing (see Check).
func NewStore(o StoreOptions) (*Store, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("offsite: endpoint %q: want http://host:port or https://host", o.Endpoint)
	}
	if o.Bucket == "" {
		return nil, errors.New("offsite: no bucket")
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		// Bundles are video: compression buys nothing and costs the Pi.
		DisableCompression: true,
		WriteBufferSize:    256 << 10,
		ReadBufferSize:     256 << 10,
	}
	if u.Scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("offsite: ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("offsite: ca_file %s holds no PEM certificate", o.CAFile)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.Credentials.AccessKey, o.Credentials.Secret, ""),
		Secure:       u.Scheme == "https",
		Transport:    tr,
		Region:       o.Region,
		BucketLookup: minio.BucketLookupPath,
		// Needed to send our own x-amz-checksum-sha256 (it then adds no
		// CRC trailer of its own).
		TrailingHeaders: true,
		// One attempt per call: the replicator's loop owns retries and
		// back-off.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("offsite: %w", err)
	}
	s := &Store{c: c, bucket: o.Bucket, prefix: o.Prefix}
	if o.MaxBytesPerS > 0 {
		burst := int(min(o.MaxBytesPerS, 256<<10))
		s.limiter = rate.NewLimiter(rate.Limit(o.MaxBytesPerS), burst)
	}
	return s, nil
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Key is the object name of a bundle's file:
// <prefix>/<station>/<session>/<file>.
func (s *Store) Key(station, session, file string) string {
	return path.Join(s.prefix, station, session, file)
}

// SessionPrefix is the prefix every object of a session starts with,
// ending in "/".
func (s *Store) SessionPrefix(station, session string) string {
	return path.Join(s.prefix, station, session) + "/"
}

// Check asks the store whether the bucket exists: ErrNoBucket,
// ErrAccess or ErrUnreachable (wrapped, with the store's words) when not.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.classify("check bucket", err)
	}
	if !ok {
		return fmt.Errorf("%w: %q at %s; create it on the store (the station never does)", ErrNoBucket, s.bucket, s.c.EndpointURL().Host)
	}
	return nil
}

// Head returns what the store holds under key, with its SHA-256; exists is
// false when there is nothing.
func (s *Store) Head(ctx context.Context, key string) (obj RemoteObject, exists bool, err error) {
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		switch minio.ToErrorResponse(err).Code {
		case minio.NoSuchKey, "NotFound":
			return RemoteObject{}, false, nil
		}
		return RemoteObject{}, false, s.classify("head "+key, err)
	}
	obj = RemoteObject{Key: key, Bytes: info.Size}
	if info.ChecksumSHA256 != "" {
		if raw, err := base64.StdEncoding.DecodeString(info.ChecksumSHA256); err == nil && len(raw) == sha256.Size {
			obj.SHA256 = hex.EncodeToString(raw)
		}
	}
	return obj, true, nil
}

// Put uploads r (size bytes whose SHA-256 is sum, hex) to key as one PUT
// carrying x-amz-checksum-sha256, so the store refuses a body that does not
// match, and If-None-Match: *, so an object already there is never
// replaced (ErrExists). progress, when set, is told of every chunk sent.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, sum string, progress func(n int)) error {
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != sha256.Size {
		return fmt.Errorf("offsite: put %s: bad sha256 %q", key, sum)
	}
	body := &meteredReader{r: r, ctx: ctx, limiter: s.limiter, progress: progress}
	opts := minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: true,
		// The body's integrity is the checksum header's job: no second
		// SHA-256 pass over the body to sign it.
		DisableContentSha256: true,
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(raw)},
	}
	opts.SetMatchETagExcept("*")
	if _, err := s.c.PutObject(ctx, s.bucket, key, body, size, opts); err != nil {
		if code := minio.ToErrorResponse(err).Code; code == "PreconditionFailed" || code == "ConditionalRequestConflict" {
			return fmt.Errorf("%w: %s", ErrExists, key)
		}
		return s.classify("put "+key, err)
	}
	return nil
}

// Get writes the object's bytes to w and returns their SHA-256 (hex) and
// count.
func (s *Store) Get(ctx context.Context, key string, w io.Writer) (sum string, n int64, err error) {
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", 0, s.classify("get "+key, err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(w, h), obj)
	if err != nil {
		return "", n, s.classify("get "+key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// List returns the objects whose names start with prefix, in name order.
func (s *Store) List(ctx context.Context, prefix string) ([]RemoteObject, error) {
	var out []RemoteObject
	for info := range s.c.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, s.classify("list "+prefix, info.Err)
		}
		out = append(out, RemoteObject{Key: info.Key, Bytes: info.Size})
	}
	return out, nil
}

// classify wraps err with the sentinel that decides what to do about it.
func (s *Store) classify(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("offsite: %s: %w", op, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchBucket":
		return fmt.Errorf("%w: %q: %s", ErrNoBucket, s.bucket, op)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%w: %s: %s (%s)", ErrAccess, op, resp.Code, resp.Message)
	case "":
		var ue *url.Error
		var ne net.Error
		if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			strings.Contains(err.Error(), "connection") {
			return fmt.Errorf("%w: %s: %v", ErrUnreachable, op, err)
		}
		return fmt.Errorf("offsite: %s: %v", op, err)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("offsite: %s: the store failed: %s: %s (HTTP %d)", op, resp.Code, resp.Message, resp.StatusCode)
	}
	return fmt.Errorf("offsite: %s: %s: %s (HTTP %d)", op, resp.Code, resp.Message, resp.StatusCode)
}

// meteredReader paces an upload to the limiter and reports its progress.
type meteredReader struct {
	r        io.Reader
	ctx      context.Context
	limiter  *rate.Limiter
	progress func(int)
}

func (m *meteredReader) Read(p []byte) (int, error) {
	if m.limiter != nil && len(p) > m.limiter.Burst() {
		p = p[:m.limiter.Burst()]
	}
	n, err := m.r.Read(p)
	if n > 0 {
		if m.limiter != nil {
			if werr := m.limiter.WaitN(m.ctx, n); werr != nil {
				return n, werr
			}
		}
		if m.progress != nil {
			m.progress(n)
		}
	}
	return n, err
}
