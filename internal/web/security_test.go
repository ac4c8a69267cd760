package web

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"weighin/internal/api"
	"weighin/internal/config"
)

// TestMain hashes with bcrypt's minimum cost: the tests set and check
// passwords many times, under the race detector too.
func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

const testSession = "000001-20261201T100000Z-YT1"

// fakeStation is an api.Handler that records the commands it gets.
type fakeStation struct {
	mu   sync.Mutex
	cmds []string
	rows []map[string]any
}

func (f *fakeStation) Status(context.Context) (any, error) { return map[string]any{"ok": true}, nil }
func (f *fakeStation) Command(_ context.Context, name, value string, q map[string]string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == api.CmdSessions {
		var out []map[string]any
		for _, r := range f.rows {
			if q["tracking"] == "" || r["tracking"] == q["tracking"] {
				out = append(out, r)
			}
		}
		return out, nil
	}
	f.cmds = append(f.cmds, name+" "+value)
	if name == "start" {
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s", api.ErrUnknownCommand, name)
}

func (f *fakeStation) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// testState makes a state directory with one bundle, a symlink in it
// pointing out, and a session directory that is a symlink out.
func testState(t *testing.T) string {
	t.Helper()
	state := t.TempDir()
	b := filepath.Join(state, "sessions", testSession)
	if err := os.MkdirAll(b, 0o750); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"manifest.json":    `{"result":{"session_id":"` + testSession + `","verdict":"match","tracking":"YT1","dispute":"Claim.\n\n我希望"}}`,
		"weight.csv":       "t_ms,raw,grams,stable\n0,0,0.00,1\n1000,0,500.00,1\n",
		"video-000.mkv":    strings.Repeat("m", 1000),
		"export-phone.mp4": strings.Repeat("v", 1000),
		"label.jpg":        "jpeg",
		"dispute.txt":      "Claim.\n\n我希望\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(b, n), []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("outside"), 0o600)
	if err := os.Symlink(secret, filepath.Join(b, "leak.mp4")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(state, "sessions", "000002-unsynced")); err != nil {
		t.Fatal(err)
	}
	return state
}

type env struct {
	t     *testing.T
	state string
	st    *fakeStation
	srv   *Server
	ts    *httptest.Server
	now   time.Time
	mu    sync.Mutex
}

func newEnv(t *testing.T, withPassword bool) *env {
	t.Helper()
	e := &env{t: t, state: testState(t), st: &fakeStation{}, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	e.st.rows = []map[string]any{{"session_id": testSession, "seq": 1, "tracking": "YT1", "verdict": "match", "started_at": "2026-12-01T10:00:00Z"}}
	if withPassword {
		if err := SetPassword(e.state, "right password"); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := New(Options{Config: config.Web{Listen: "127.0.0.1:0"}, StateDir: e.state, Station: e.st, Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs c in and returns the session's CSRF token.
func (e *env) login(c *http.Client, password string) (int, string) {
	e.t.Helper()
	_, page := do(e.t, c, "GET", e.ts.URL+"/login", "")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("login page without a CSRF token:\n%s", page)
	}
	form := url.Values{"csrf": {m[1]}, "password": {password}, "next": {"/sessions"}}
	resp, _ := do(e.t, c, "POST", e.ts.URL+"/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, ""
	}
	_, list := do(e.t, c, "GET", e.ts.URL+"/sessions", "")
	m = csrfRE.FindStringSubmatch(list)
	if m == nil {
		e.t.Fatalf("sessions page without a CSRF token:\n%s", list)
	}
	return resp.StatusCode, m[1]
}

func TestEveryPathNeedsLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	s := "/sessions/" + testSession + "/"
	for _, p := range []string{"/", "/sessions", "/sessions?tracking=YT1", s, s + "f/export-phone.mp4", s + "f/video-000.mkv", s + "bundle.zip",
		s + "marks.vtt", "/static/app.js", "/static/app.css", "/no/such/page", "/favicon.ico", "/logout"} {
		for _, m := range []string{"GET", "POST", "HEAD"} {
			resp, _ := do(t, c, m, e.ts.URL+p, "")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s %s without login: %d %s", m, p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	for _, p := range []string{"/v1/status", "/v1/sessions", "/v1/cmd/start", "/v1/nothing", s + "weight.json"} {
		for _, m := range []string{"GET", "POST"} {
			if resp, _ := do(t, c, m, e.ts.URL+p, ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s without login: %d", m, p, resp.StatusCode)
			}
		}
	}
	if n := len(e.st.commands()); n != 0 {
		t.Errorf("the station got %d commands without a login", n)
	}
	// With the login, the same paths answer; cookies are HttpOnly and
	// SameSite=Strict.
	code, _ := e.login(c, "right password")
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(e.ts.URL)
	if len(c.Jar.Cookies(u)) != 1 {
		t.Fatalf("cookies: %v", c.Jar.Cookies(u))
	}
	for _, p := range []string{"/sessions", s, s + "weight.json", "/v1/status", "/static/app.js"} {
		if resp, _ := do(t, c, "GET", e.ts.URL+p, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s logged in: %d", p, resp.StatusCode)
		}
	}
	resp, _ := do(t, e.client(), "GET", e.ts.URL+"/login", "")
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
		t.Errorf("cookie attributes: %s", sc)
	}
	// A new password ends every login at once.
	if err := SetPassword(e.state, "another password"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, c, "GET", e.ts.URL+"/v1/status", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after a new password the old login still works: %d", resp.StatusCode)
	}
}

func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	var codes []int
	for range 10 {
		code, _ := e.login(c, "wrong password")
		codes = append(codes, code)
	}
	for i, code := range codes {
		want := http.StatusUnauthorized
		if i >= maxFailures {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Errorf("attempt %d: %d, want %d (all: %v)", i+1, code, want, codes)
		}
	}
	// Locked out: even the right password is refused, until the lockout ends.
	if code, _ := e.login(c, "right password"); code != http.StatusTooManyRequests {
		t.Errorf("right password while locked out: %d", code)
	}
	e.advance(lockout + time.Second)
	if code, _ := e.login(c, "right password"); code != http.StatusSeeOther {
		t.Errorf("right password after the lockout: %d", code)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	_, tok := e.login(c, "right password")
	for _, hdr := range [][]string{nil, {"X-CSRF-Token", "wrong"}, {"X-CSRF-Token", tok + "x"}} {
		resp, _ := do(t, c, "POST", e.ts.URL+"/v1/cmd/start", "{}", hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /v1/cmd/start with %v: %d", hdr, resp.StatusCode)
		}
		resp, _ = do(t, c, "POST", e.ts.URL+"/sessions/"+testSession+"/share", "", hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST share with %v: %d", hdr, resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, "POST", e.ts.URL+"/logout", "csrf=nope", "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout with a wrong token: %d", resp.StatusCode)
	}
	if n := len(e.st.commands()); n != 0 {
		t.Fatalf("commands reached the station without a token: %v", e.st.commands())
	}
	resp, body := do(t, c, "POST", e.ts.URL+"/v1/cmd/start", "{}", "X-CSRF-Token", tok)
	if resp.StatusCode != http.StatusOK || len(e.st.commands()) != 1 {
		t.Errorf("POST /v1/cmd/start with the token: %d %s %v", resp.StatusCode, body, e.st.commands())
	}
	// A login form posted without its token.
	if resp, _ := do(t, e.client(), "POST", e.ts.URL+"/login", "password=right+password", "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without a token: %d", resp.StatusCode)
	}
}

func TestShareLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	shares := OpenShares(e.state)
	sh, err := shares.Create(testSession, time.Hour, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	get := func(u string, hdr ...string) int {
		resp, _ := do(t, c, "GET", u, "", hdr...)
		return resp.StatusCode
	}
	base := e.ts.URL + sh.Path()
	if code := get(base); code != http.StatusOK {
		t.Fatalf("share page: %d", code)
	}
	if code := get(base+"f/export-phone.mp4", "Range", "bytes=10-19"); code != http.StatusPartialContent {
		t.Errorf("share Range: %d", code)
	}
	for _, p := range []string{"f/video-000.mkv", "f/manifest.json", "f/dispute.txt", "bundle.zip", "share", "nothing"} {
		if code := get(base + p); code != http.StatusForbidden {
			t.Errorf("share grants %s: %d", p, code)
		}
	}
	if resp, _ := do(t, c, "POST", base+"share", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("share POST: %d", resp.StatusCode)
	}
	// Tampered: each part changed.
	parts := strings.Split(sh.Token, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)-1] == 'A' {
			b[len(b)-1] = 'B'
		} else {
			b[len(b)-1] = 'A'
		}
		return string(b)
	}
	for _, tok := range []string{
		parts[0] + "." + parts[1] + "." + flip(parts[2]),
		parts[0] + "." + fmt.Sprint(e.clock().Add(1000*time.Hour).Unix()) + "." + parts[2],
		flip(parts[0]) + "." + parts[1] + "." + parts[2],
		"garbage", "",
	} {
		if code := get(e.ts.URL + "/s/" + tok + "/"); code != http.StatusForbidden {
			t.Errorf("tampered %q: %d", tok, code)
		}
	}
	// Expired.
	e.advance(2 * time.Hour)
	if code := get(base); code != http.StatusForbidden {
		t.Errorf("expired: %d", code)
	}
	e.advance(-2 * time.Hour)
	// Revoked, page and video alike.
	if err := shares.Revoke(sh.ID, e.clock()); err != nil {
		t.Fatal(err)
	}
	if code := get(base); code != http.StatusForbidden {
		t.Errorf("revoked: %d", code)
	}
	if code := get(base+"f/export-phone.mp4", "Range", "bytes=0-1"); code != http.StatusForbidden {
		t.Errorf("revoked video: %d", code)
	}
	// Another store (weighctl's) sees the revocation: the same files.
	if _, err := OpenShares(e.state).Check(sh.Token, e.clock()); !errors.Is(err, ErrShare) {
		t.Errorf("revoked token checks: %v", err)
	}
}

func TestTraversal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	e.login(c, "right password")
	s := e.ts.URL + "/sessions/" + testSession + "/"
	sh, err := OpenShares(e.state).Create(testSession, time.Hour, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		s + "f/..%2f..%2f..%2fetc%2fpasswd",
		s + "f/%2e%2e/%2e%2e/registry.db",
		s + "f/..%5c..%5cweb%5cpassword",
		s + "f/leak.mp4",                                    // a symlink out of the bundle
		e.ts.URL + "/sessions/000002-unsynced/f/secret.txt", // a session directory that is a symlink out
		e.ts.URL + "/sessions/..%2fweb/f/password",
		e.ts.URL + "/sessions/%2e%2e/f/web",
		s + "f/.",
		s + "f/",
		e.ts.URL + sh.Path() + "f/leak.mp4",
		e.ts.URL + sh.Path() + "f/..%2f..%2fweb%2fpassword",
	} {
		resp, body := do(t, c, "GET", u, "")
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
		if strings.Contains(body, "outside") || strings.Contains(body, "$2a$") {
			t.Errorf("GET %s leaked: %q", u, body)
		}
	}
	// Raw paths with "..", as a client that does not clean them sends.
	for _, raw := range []string{"/sessions/" + testSession + "/f/../../web/password", "/sessions/../web/password"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", raw)
		b, _ := io.ReadAll(conn)
		conn.Close()
		if strings.Contains(string(b), "$2a$") || strings.HasPrefix(string(b), "HTTP/1.1 200") {
			t.Errorf("raw %s: %.80q", raw, b)
		}
	}
}

func TestNonLoopbackNeedsPassword(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var faults []string
	var mu sync.Mutex
	changed := 0
	srv, err := New(Options{Config: config.Web{Listen: fmt.Sprintf("0.0.0.0:%d", port)}, StateDir: state, Station: &fakeStation{},
		Fault:   func(r string) { mu.Lock(); faults = append(faults, r); mu.Unlock() },
		Changed: func() { mu.Lock(); changed++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait := func(state string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for srv.Status().State != state {
			if time.Now().After(deadline) {
				t.Fatalf("web state %+v, want %s", srv.Status(), state)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("disabled")
	if st := srv.Status(); st.Reason != ReasonNoPassword {
		t.Errorf("reason %q", st.Reason)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Fatal("the web app listens without a password on a non-loopback address")
	}
	mu.Lock()
	if len(faults) != 1 || faults[0] != ReasonNoPassword {
		t.Errorf("faults %q", faults)
	}
	if changed != 0 {
		t.Errorf("Changed called %d times while the app never served", changed)
	}
	mu.Unlock()
	// Home Assistant gets no URL to a page that does not answer.
	if u := srv.URL(); u != "" {
		t.Errorf("URL while disabled: %q", u)
	}
	// A password turns it on at once, without a restart.
	if err := SetPassword(state, "a good password"); err != nil {
		t.Fatal(err)
	}
	wait("on")
	host, _ := os.Hostname()
	if u, want := srv.URL(), fmt.Sprintf("http://%s", net.JoinHostPort(host, strconv.Itoa(port))); u != want {
		t.Errorf("URL once on: %q, want %q", u, want)
	}
	mu.Lock()
	if changed != 1 {
		t.Errorf("Changed called %d times, want once (it went on)", changed)
	}
	mu.Unlock()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/status", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status without login: %d", resp.StatusCode)
	}
}

func TestOpenOnLoopbackWithoutPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	c := e.client()
	resp, body := do(t, c, "GET", e.ts.URL+"/sessions", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, testSession) {
		t.Fatalf("open app: %d", resp.StatusCode)
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	// Still CSRF-checked.
	if resp, _ := do(t, c, "POST", e.ts.URL+"/v1/cmd/start", "{}"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	resp, body = do(t, c, "POST", e.ts.URL+"/sessions/"+testSession+"/share", "", "X-CSRF-Token", tok)
	var got struct{ URL, QR string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || !strings.Contains(got.URL, "/s/") {
		t.Errorf("share: %d %s", resp.StatusCode, body)
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1h", "400d", "x"} {
		if _, err := ParseTTL(in); err == nil {
			t.Errorf("ParseTTL(%q) accepted", in)
		}
	}
}

func TestBundleZip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	e.login(c, "right password")
	resp, body := do(t, c, "GET", e.ts.URL+"/sessions/"+testSession+"/bundle.zip", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("bundle.zip: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, want := range []string{"manifest.json", "weight.csv", "video-000.mkv", "export-phone.mp4"} {
		if !names[testSession+"/"+want] {
			t.Errorf("zip lacks %s: %v", want, names)
		}
	}
	if names[testSession+"/leak.mp4"] {
		t.Error("the zip followed a symlink out of the bundle")
	}
	// The MKV download is an attachment, with Range.
	resp, _ = do(t, c, "GET", e.ts.URL+"/sessions/"+testSession+"/f/video-000.mkv", "", "Range", "bytes=0-9")
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("mkv: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
}

func TestLoginNextStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	for _, next := range []string{"//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)", "/sessions\r\nX: y"} {
		c := e.client()
		_, page := do(t, c, "GET", e.ts.URL+"/login", "")
		tok := csrfRE.FindStringSubmatch(page)[1]
		form := url.Values{"csrf": {tok}, "password": {"right password"}, "next": {next}}
		resp, _ := do(t, c, "POST", e.ts.URL+"/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/sessions" {
			t.Errorf("next %q: %d → %q", next, resp.StatusCode, loc)
		}
	}
}

func TestWeightsOnVideoAxis(t *testing.T) {
	b := bundles{dir: filepath.Join(testState(t), "sessions")}
	ws, err := b.weights(testSession, 6, false) // an old log covers 1 s of a 6 s video
	if err != nil {
		t.Fatal(err)
	}
	if ws.Shift != 5 || ws.T[0] != 5 || ws.T[1] != 6 || ws.G[1] != 500 {
		t.Errorf("shifted log: %+v", ws)
	}
	if ws, _ = b.weights(testSession, 1.2, false); ws.Shift != 0 || ws.T[1] != 1 {
		t.Errorf("a log on the video axis moved: %+v", ws)
	}
	// The manifest says the video axis: never shifted (an interrupted
	// recording's log may end a sync interval before its video).
	if ws, _ = b.weights(testSession, 6, true); ws.Shift != 0 || ws.T[1] != 1 {
		t.Errorf("a log the manifest puts on the video axis moved: %+v", ws)
	}
}

// TestSessionPageDisturbed: a weigh-in a hand disturbed says so on the
// session page; an undisturbed one does not.
func TestSessionPageDisturbed(t *testing.T) {
	e := newEnv(t, true)
	c := e.client()
	e.login(c, "right password")
	page := func() string {
		resp, body := do(t, c, "GET", e.ts.URL+"/sessions/"+testSession+"/", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("session page: %d\n%s", resp.StatusCode, body)
		}
		return body
	}
	if strings.Contains(page(), "disturbed") {
		t.Error("an undisturbed weigh-in shows as disturbed")
	}
	man := `{"result":{"session_id":"` + testSession + `","verdict":"underweight","measured_g":1990,"measured_stable":true,"weighin_disturbed":true}}`
	if err := os.WriteFile(filepath.Join(e.state, "sessions", testSession, "manifest.json"), []byte(man), 0o640); err != nil {
		t.Fatal(err)
	}
	if p := page(); !strings.Contains(p, `<b class="disturbed">disturbed</b>: a hand on the parcel during the weigh-in`) {
		t.Errorf("the session page does not say the weigh-in was disturbed:\n%s", p)
	}
}
