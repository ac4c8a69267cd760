package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Files under <state>/web.
const (
	DirName      = "web"
	passwordFile = "password"
	lockFile     = ".lock"
)

// bcryptCost: about 0.1 s on a desktop core, about 1 s on a Pi Zero. Slow
// enough to make guessing expensive with the rate limit on top. (A
// variable so the package's tests, which hash many times under the race
// detector, can use bcrypt's minimum.)
var bcryptCost = 11

// Password length limits (bcrypt reads at most 72 bytes).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// ErrWeakPassword is returned by SetPassword for a password outside the
// length limits.
var ErrWeakPassword = errors.New("web: password")

// SetPassword stores password's bcrypt hash in <stateDir>/web/password
// (mode 0600, written atomically). A running weighd sees the new file at the
// next request: every login session made under the old password ends.
func SetPassword(stateDir, password string) error {
	password = strings.TrimRight(password, "\r\n")
	if err := CheckPassword(password); err != nil {
		return err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("web: hash password: %w", err)
	}
	dir := filepath.Join(stateDir, DirName)
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	return writeAtomic(dir, passwordFile, append(h, '\n'), 0o600)
}

// CheckPassword refuses a password outside the limits (ErrWeakPassword).
func CheckPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("%w: at most %d bytes", ErrWeakPassword, MaxPasswordLen)
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	}
	return nil
}

// passwords reads the password file, re-reading it when it changes (its
// size, modification time or inode), so weighctl web passwd takes effect at
// the next request without a restart.
type passwords struct {
	path string

	mu   sync.Mutex
	key  string // the file's identity when last read
	hash []byte
	err  error
}

func newPasswords(stateDir string) *passwords {
	return &passwords{path: filepath.Join(stateDir, DirName, passwordFile)}
}

// current returns the stored hash, nil when no password is set.
func (p *passwords) current() ([]byte, error) {
	fi, err := os.Stat(p.path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if errors.Is(err, os.ErrNotExist) {
		p.key, p.hash, p.err = "", nil, nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("web: password file: %w", err)
	}
	key := fileKey(fi)
	if key == p.key {
		return p.hash, p.err
	}
	data, err := os.ReadFile(p.path)
	p.key, p.hash, p.err = key, nil, nil
	switch {
	case err != nil:
		p.err = fmt.Errorf("web: password file: %w", err)
	default:
		h := []byte(strings.TrimSpace(string(data)))
		if _, cerr := bcrypt.Cost(h); cerr != nil {
			p.err = fmt.Errorf("web: %s is not a bcrypt hash (set it again with weighctl web passwd): %v", p.path, cerr)
		} else {
			p.hash = h
		}
	}
	return p.hash, p.err
}

// check compares password with the stored hash.
func (p *passwords) check(password string) bool {
	h, err := p.current()
	if err != nil || h == nil {
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// HasPassword reports whether a web password is set under stateDir.
func HasPassword(stateDir string) bool {
	h, err := newPasswords(stateDir).current()
	return err == nil && h != nil
}

// Login sessions: an in-memory table of random tokens (the cookie's value).
// A restart of weighd ends them all; so does a new password.

const (
	cookieName      = "weighin_session"
	sessionLifetime = 7 * 24 * time.Hour
	maxSessions     = 1000 // logged in or not; the oldest go first
)

type loginSession struct {
	csrf    string
	authed  bool
	pwHash  string // the password hash the login was made under
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*loginSession
}

func newSessions() *sessions { return &sessions{m: map[string]*loginSession{}} }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the session of the request's cookie, nil if none is valid.
func (s *sessions) get(r *http.Request, now time.Time) (string, *loginSession) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.m[c.Value]
	if ls == nil {
		return "", nil
	}
	if now.After(ls.expires) {
		delete(s.m, c.Value)
		return "", nil
	}
	cp := *ls
	return c.Value, &cp
}

// create makes a session and returns its token.
func (s *sessions) create(authed bool, pwHash string, now time.Time) (string, *loginSession) {
	tok := randomToken()
	ls := &loginSession{csrf: randomToken(), authed: authed, pwHash: pwHash, expires: now.Add(sessionLifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		var oldest string
		var at time.Time
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
	s.m[tok] = ls
	cp := *ls
	return tok, &cp
}

func (s *sessions) remove(tok string) {
	s.mu.Lock()
	delete(s.m, tok)
	s.mu.Unlock()
}

func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// limiter refuses logins from an address after maxFailures wrong passwords
// within failureWindow, for lockout; and from everyone after
// maxGlobalFailures in the window (a guesser with many addresses). It is
// written here rather than taken from golang.org/x/time/rate because the
// rule is a count of failures, not a rate of requests: a right password
// must not spend the allowance.
type limiter struct {
	mu     sync.Mutex
	byAddr map[string]*failures
	global failures
}

type failures struct {
	n      int
	first  time.Time
	locked time.Time // refused until then
}

const (
	maxFailures       = 5
	maxGlobalFailures = 50
	failureWindow     = 15 * time.Minute
	lockout           = 5 * time.Minute
)

func newLimiter() *limiter { return &limiter{byAddr: map[string]*failures{}} }

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowed reports whether a login attempt from addr may be checked, and if
// not, for how long it is refused.
func (l *limiter) allowed(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range []*failures{&l.global, l.byAddr[addr]} {
		if f != nil && now.Before(f.locked) {
			return false, f.locked.Sub(now)
		}
	}
	return true, 0
}

func (l *limiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byAddr[addr]
	if f == nil {
		if len(l.byAddr) > 10000 {
			l.byAddr = map[string]*failures{}
		}
		f = &failures{}
		l.byAddr[addr] = f
	}
	f.add(now, maxFailures)
	l.global.add(now, maxGlobalFailures)
}

func (f *failures) add(now time.Time, max int) {
	if now.Sub(f.first) > failureWindow {
		f.n, f.first = 0, now
	}
	f.n++
	if f.n >= max {
		f.locked = now.Add(lockout)
		f.n, f.first = 0, now
	}
}

func (l *limiter) succeeded(addr string) {
	l.mu.Lock()
	delete(l.byAddr, addr)
	l.mu.Unlock()
}
