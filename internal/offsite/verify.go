package offsite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"weighin/internal/evidence"
)

// ErrNotInStore: the store holds no object of that session.
var ErrNotInStore = errors.New("offsite: session not in the store")

// FetchBundle reads the session's objects back from the store into
// dstParent/<session>/, with the manifests of the neighbouring sessions in
// the store (dstParent/<neighbour>/manifest.json) so that
// evidence.VerifyBundle checks the chain links too. Each object's bytes are
// compared with the SHA-256 the store recorded at upload; a difference (the
// store's copy changed since) is returned as a Problem, and the bytes are
// kept as read, for verification to judge.
func FetchBundle(ctx context.Context, s *Store, station, session, dstParent string) (dir string, problems []evidence.Problem, err error) {
	if !validName(station) || !validName(session) {
		return "", nil, fmt.Errorf("offsite: bad station %q or session %q", station, session)
	}
	objs, err := s.List(ctx, s.SessionPrefix(station, session))
	if err != nil {
		return "", nil, err
	}
	if len(objs) == 0 {
		return "", nil, fmt.Errorf("%w: %s in bucket %s", ErrNotInStore, s.SessionPrefix(station, session), s.Bucket())
	}
	dir = filepath.Join(dstParent, session)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("offsite: %w", err)
	}
	for _, o := range objs {
		name := path.Base(o.Key)
		if !validName(name) || s.SessionPrefix(station, session)+name != o.Key {
			problems = append(problems, evidence.Problem{File: o.Key, Reason: "object below the bundle's prefix that is no bundle file (nested name)"})
			continue
		}
		head, _, err := s.Head(ctx, o.Key)
		if err != nil {
			return "", nil, err
		}
		got, n, err := getTo(ctx, s, o.Key, filepath.Join(dir, name))
		if err != nil {
			return "", nil, err
		}
		switch {
		case head.SHA256 == "":
			problems = append(problems, evidence.Problem{File: name, Reason: "the store records no SHA-256 for this object (not uploaded by a station)"})
		case got != head.SHA256 || n != head.Bytes:
			problems = append(problems, evidence.Problem{File: name, Reason: fmt.Sprintf("the store's copy changed after upload: read %d bytes with sha256 %s, the store recorded %d bytes with sha256 %s", n, got, head.Bytes, head.SHA256)})
		}
	}
	if err := fetchNeighbours(ctx, s, station, session, dstParent); err != nil {
		return "", nil, err
	}
	return dir, problems, nil
}

func getTo(ctx context.Context, s *Store, key, dst string) (string, int64, error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("offsite: %w", err)
	}
	sum, n, err := s.Get(ctx, key, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("offsite: %w", cerr)
	}
	return sum, n, err
}

// fetchNeighbours copies the manifests of the sessions just before and
// after session in the store's listing of the station.
func fetchNeighbours(ctx context.Context, s *Store, station, session, dstParent string) error {
	seq, ok := evidence.ParseSessionDirName(session)
	if !ok {
		return nil
	}
	sessions, err := s.Sessions(ctx, station)
	if err != nil {
		return err
	}
	var prev, next string
	var ps, ns int64
	for _, name := range sessions {
		q, ok := evidence.ParseSessionDirName(name)
		if !ok {
			continue
		}
		if q < seq && q > ps {
			ps, prev = q, name
		}
		if q > seq && (ns == 0 || q < ns) {
			ns, next = q, name
		}
	}
	for _, n := range []string{prev, next} {
		if n == "" {
			continue
		}
		d := filepath.Join(dstParent, n)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("offsite: %w", err)
		}
		if _, _, err := getTo(ctx, s, s.Key(station, n, evidence.ManifestFile), filepath.Join(d, evidence.ManifestFile)); err != nil {
			// A neighbour without its manifest in the store: the link is
			// reported as not checked by the verification.
			os.Remove(filepath.Join(d, evidence.ManifestFile))
		}
	}
	return nil
}

// Sessions lists the session names the store holds for station.
func (s *Store) Sessions(ctx context.Context, station string) ([]string, error) {
	pfx := path.Join(s.prefix, station) + "/"
	objs, err := s.List(ctx, pfx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, pfx)
		sess, _, ok := strings.Cut(rest, "/")
		if ok && !seen[sess] {
			seen[sess] = true
			out = append(out, sess)
		}
	}
	return out, nil
}

// VerifyFromStore reads the session back from the store into a temporary
// directory, verifies it as weighctl verify does (signatures, every file's
// hash, the tombstone and addenda, the links to its neighbours in the
// store) and adds the store's own checksum problems to the report. The
// temporary copy is removed.
func VerifyFromStore(ctx context.Context, s *Store, station, session string, opts evidence.VerifyOptions) (*evidence.Report, error) {
	tmp, err := os.MkdirTemp("", "weighin-offsite-verify-*")
	if err != nil {
		return nil, fmt.Errorf("offsite: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir, problems, err := FetchBundle(ctx, s, station, session, tmp)
	if err != nil {
		return nil, err
	}
	rep, err := evidence.VerifyBundle(dir, opts)
	if err != nil {
		return nil, err
	}
	rep.Bundle = "s3://" + s.Bucket() + "/" + s.SessionPrefix(station, session)
	rep.Problems = append(rep.Problems, problems...)
	return rep, nil
}
