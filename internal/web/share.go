package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Share links are read-only capabilities for one session: its page, its
// player (the MP4 exports), its stills, sheet and pack. A link's token is
//
//	<id>.<expiry, unix seconds>.<HMAC-SHA256(key, id "\n" session "\n" expiry), base64url>
//
// with the key in <state>/web/share.key (32 random bytes, made on first
// use). The token travels in the path of every URL it grants
// (/s/TOKEN/…), never in a cookie. A link is valid while its signature
// checks, its expiry is ahead and its record in <state>/web/shares.json
// exists unrevoked: weighctl share --revoke (or the page) ends it at once.

const (
	shareKeyFile  = "share.key"
	sharesFile    = "shares.json"
	DefaultTTL    = 7 * 24 * time.Hour
	MaxTTL        = 366 * 24 * time.Hour
	maxShareCount = 10000
)

// Share is one issued link.
type Share struct {
	ID        string    `json:"id"`
	Session   string    `json:"session"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Token     string    `json:"token"`
}

// State is "active", "expired" or "revoked" at now.
func (s Share) State(now time.Time) string {
	switch {
	case !s.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(s.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Path is the share's page path, relative to the web app's base URL.
func (s Share) Path() string { return "/s/" + s.Token + "/" }

type sharesDoc struct {
	Shares []Share `json:"shares"`
}

// Shares is the share-link store under a state directory. weighd and
// weighctl both use it; writes take the directory's lock and the file is
// re-read when it changes.
type Shares struct {
	dir string

	mu   sync.Mutex
	key  []byte
	fkey string
	doc  sharesDoc
}

// OpenShares returns the store under stateDir.
func OpenShares(stateDir string) *Shares {
	return &Shares{dir: filepath.Join(stateDir, DirName)}
}

// ErrShare is wrapped by every refusal of a share token.
var ErrShare = errors.New("share link")

func (s *Shares) loadKey(create bool) ([]byte, error) {
	if s.key != nil {
		return s.key, nil
	}
	p := filepath.Join(s.dir, shareKeyFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) && create {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := writeAtomic(s.dir, shareKeyFile, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
		s.key = k
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("web: share key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("web: %s is not 32 hex-encoded bytes", p)
	}
	s.key = k
	return k, nil
}

// refresh re-reads shares.json when it changed; the caller holds s.mu.
func (s *Shares) refresh() error {
	p := filepath.Join(s.dir, sharesFile)
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		s.fkey, s.doc = "", sharesDoc{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if k := fileKey(fi); k == s.fkey {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	var doc sharesDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("web: %s: %v", p, err)
	}
	s.fkey, s.doc = fileKey(fi), doc
	return nil
}

func (s *Shares) save() error {
	data, err := json.MarshalIndent(s.doc, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(s.dir, sharesFile, append(data, '\n'), 0o600); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(s.dir, sharesFile)); err == nil {
		s.fkey = fileKey(fi)
	}
	return nil
}

func sign(key []byte, id, session string, exp int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s\n%s\n%d", id, session, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Create issues a link to session valid for ttl from now.
func (s *Shares) Create(session string, ttl time.Duration, now time.Time) (Share, error) {
	if ttl <= 0 || ttl > MaxTTL {
		return Share{}, fmt.Errorf("web: share ttl must be between 1s and %s, got %s", MaxTTL, ttl)
	}
	unlock, err := lockDir(s.dir)
	if err != nil {
		return Share{}, err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.loadKey(true)
	if err != nil {
		return Share{}, err
	}
	if err := s.refresh(); err != nil {
		return Share{}, err
	}
	// Expired links older than a month are forgotten.
	kept := s.doc.Shares[:0]
	for _, sh := range s.doc.Shares {
		if now.Sub(sh.ExpiresAt) < 30*24*time.Hour {
			kept = append(kept, sh)
		}
	}
	s.doc.Shares = kept
	if len(s.doc.Shares) >= maxShareCount {
		return Share{}, fmt.Errorf("web: %d share links exist; revoke some first", len(s.doc.Shares))
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return Share{}, err
	}
	id := hex.EncodeToString(b)
	exp := now.Add(ttl).Truncate(time.Second)
	sh := Share{ID: id, Session: session, CreatedAt: now.UTC().Truncate(time.Second), ExpiresAt: exp.UTC()}
	sh.Token = id + "." + strconv.FormatInt(exp.Unix(), 10) + "." + sign(key, id, session, exp.Unix())
	s.doc.Shares = append(s.doc.Shares, sh)
	if err := s.save(); err != nil {
		return Share{}, err
	}
	return sh, nil
}

// List returns every remembered link, oldest first.
func (s *Shares) List() ([]Share, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	return append([]Share(nil), s.doc.Shares...), nil
}

// Revoke ends the link id at once.
func (s *Shares) Revoke(id string, now time.Time) error {
	unlock, err := lockDir(s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return err
	}
	for i := range s.doc.Shares {
		if s.doc.Shares[i].ID == id {
			if s.doc.Shares[i].RevokedAt.IsZero() {
				s.doc.Shares[i].RevokedAt = now.UTC().Truncate(time.Second)
			}
			return s.save()
		}
	}
	return fmt.Errorf("web: no share link with id %q (weighctl share --list)", id)
}

// Check returns the session a token grants, or an error wrapping ErrShare
// saying why not (malformed, bad signature, expired, revoked, unknown).
func (s *Shares) Check(token string, now time.Time) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[0]) != 12 {
		return "", fmt.Errorf("%w: malformed", ErrShare)
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed", ErrShare)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.loadKey(false)
	if err != nil {
		return "", fmt.Errorf("%w: no share key", ErrShare)
	}
	if err := s.refresh(); err != nil {
		return "", err
	}
	for _, sh := range s.doc.Shares {
		if sh.ID != parts[0] {
			continue
		}
		if !hmac.Equal([]byte(parts[2]), []byte(sign(key, sh.ID, sh.Session, exp))) {
			return "", fmt.Errorf("%w: bad signature", ErrShare)
		}
		if exp != sh.ExpiresAt.Unix() {
			return "", fmt.Errorf("%w: bad signature", ErrShare)
		}
		if st := sh.State(now); st != "active" {
			return "", fmt.Errorf("%w: %s", ErrShare, st)
		}
		return sh.Session, nil
	}
	return "", fmt.Errorf("%w: unknown", ErrShare)
}
