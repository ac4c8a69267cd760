package web

import (
	"archive/zip"
	"context"
	"crypto/tls"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/result"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a Server.
type Options struct {
	Config   config.Web
	StateDir string
	// Station is the API's handler, the one the unix socket serves: the
	// JSON endpoints under /v1/ are api.NewMux(Station) behind the login,
	// and the pages get their data from it.
	Station api.Handler
	Log     *slog.Logger
	// Fault, if set, is told why the web app is off when it cannot be
	// served (a non-loopback listen without a password).
	Fault func(reason string)
	// Changed, if set, is called (on Run's goroutine) whenever the web
	// app starts or stops serving, so URL's answer changed.
	Changed func()
	// Doctor, if set, runs the doctor's checks for the station page.
	Doctor func(ctx context.Context) []doctor.Check
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the web app.
type Server struct {
	opt      Options
	log      *slog.Logger
	pw       *passwords
	sess     *sessions
	limit    *limiter
	shares   *Shares
	bundles  bundles
	apiMux   http.Handler
	tmpl     *template.Template
	static   fs.FS
	loginCSS template.CSS
	base     string

	// feed and watch serve the live page (live.go).
	feed  feed
	watch watchers

	mu     sync.Mutex
	status Status
}

// Status is the web app's state for the station's status.
type Status = api.WebStatus

// ReasonNoPassword is why a non-loopback web app is off.
const ReasonNoPassword = "web.listen is not a loopback address and no web password is set: the web app stays off until `weighctl web passwd` sets one"

// New prepares the web app; Run serves it.
func New(opt Options) (*Server, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	funcs := template.FuncMap{
		"grams": func(p *float64) string {
			if p == nil {
				return "—"
			}
			return strconv.FormatFloat(*p, 'f', 1, 64) + " g"
		},
		"g":     func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " g" },
		"bytes": humanBytes,
		"pathq": url.PathEscape,
		"json": func(v any) (template.JS, error) {
			b, err := json.Marshal(v)
			return template.JS(b), err
		},
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	static, _ := fs.Sub(assets, "static")
	css, err := fs.ReadFile(static, "app.css")
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	s := &Server{
		opt: opt, log: opt.Log, pw: newPasswords(opt.StateDir), sess: newSessions(), limit: newLimiter(),
		shares: OpenShares(opt.StateDir), bundles: bundles{dir: filepath.Join(opt.StateDir, "sessions")},
		apiMux: api.NewMux(webDoor{opt.Station}), tmpl: tmpl, static: static, loginCSS: template.CSS(css),
		base: BaseURL(opt.Config, host),
	}
	s.status = Status{State: "off", Listen: opt.Config.Listen, URL: s.base, TLS: opt.Config.TLS()}
	return s, nil
}

// webDoor is the station's API as the web app serves it: everything but
// the password command. The password is set from the station's shell
// (weighctl web passwd), never from a browser: on a loopback listen
// without a password anyone on the machine could otherwise take the app.
type webDoor struct{ api.Handler }

// ErrNotOnWeb is refused on the web door.
var ErrNotOnWeb = errors.New("not on the web door")

func (d webDoor) Command(ctx context.Context, name, value string, q map[string]string) (any, error) {
	if name == api.CmdWebPasswd {
		return nil, fmt.Errorf("%w: the web password is set with weighctl web passwd on the station", ErrNotOnWeb)
	}
	return d.Handler.Command(ctx, name, value, q)
}

// BaseURL is web.url, or one derived from web.listen and host: the scheme
// from TLS, the listen host unless it is empty or unspecified.
func BaseURL(c config.Web, host string) string {
	if c.URL != "" {
		return strings.TrimRight(c.URL, "/")
	}
	if c.Listen == "" {
		return ""
	}
	h, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(h); h == "" || ip != nil && ip.IsUnspecified() {
		h = host
		if h == "" {
			h = "localhost"
		}
	}
	scheme := "http"
	if c.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(h, port)
}

// URL is the base URL links and Home Assistant use while the web app
// serves, "" while it is off or disabled (a non-loopback listen without a
// password, a port in use): discovery's configuration_url and the results'
// page_url never point at a page that does not answer.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != "on" {
		return ""
	}
	return s.base
}

func hostName() string {
	h, _ := os.Hostname()
	return h
}

// Loopback reports whether listen (host:port) binds only a loopback
// address.
func Loopback(listen string) bool {
	h, _, err := net.SplitHostPort(listen)
	if err != nil || h == "" {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Status returns the web app's state.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	h, _ := s.pw.current()
	st.PasswordSet = h != nil
	return st
}

func (s *Server) setStatus(state, reason string) {
	s.mu.Lock()
	changed := s.status.State != state || s.status.Reason != reason
	serving := s.status.State == "on" || state == "on"
	s.status.State, s.status.Reason = state, reason
	s.mu.Unlock()
	if changed && serving && s.opt.Changed != nil {
		s.opt.Changed()
	}
	if changed && reason != "" {
		s.log.Warn("web app off", "reason", reason)
		if s.opt.Fault != nil {
			s.opt.Fault(reason)
		}
	}
}

// Run serves the web app until ctx ends. A listen failure or a missing
// password is reported on the status and retried; it never ends Run (the
// station keeps recording).
func (s *Server) Run(ctx context.Context) error {
	if s.opt.Config.Listen == "" {
		return nil
	}
	var tlsConf *tls.Config
	if s.opt.Config.TLS() {
		cert, fp, err := loadOrMakeCert(s.opt.Config, s.opt.StateDir)
		if err != nil {
			s.setStatus("disabled", err.Error())
			<-ctx.Done()
			return nil
		}
		s.mu.Lock()
		s.status.Fingerprint = fp
		s.mu.Unlock()
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	loop := Loopback(s.opt.Config.Listen)
	var srv *http.Server
	stop := func() {
		if srv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if srv.Shutdown(sctx) != nil {
				_ = srv.Close()
			}
			cancel()
			srv = nil
		}
	}
	defer stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		want := loop || HasPassword(s.opt.StateDir)
		switch {
		case want && srv == nil:
			ln, err := net.Listen("tcp", s.opt.Config.Listen)
			if err != nil {
				s.setStatus("disabled", "web.listen "+s.opt.Config.Listen+": "+err.Error())
				break
			}
			if tlsConf != nil {
				ln = tls.NewListener(ln, tlsConf)
			}
			// Every request's context derives from bctx, ended when the
			// server shuts down: the live page's streams end then, where
			// Shutdown would otherwise wait for them.
			bctx, endStreams := context.WithCancel(context.Background())
			srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
				ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug), BaseContext: func(net.Listener) context.Context { return bctx }}
			srv.RegisterOnShutdown(endStreams)
			go func(srv *http.Server) { _ = srv.Serve(ln) }(srv)
			s.setStatus("on", "")
			s.log.Info("web app listening", "listen", s.opt.Config.Listen, "url", s.base, "tls", tlsConf != nil)
		case !want:
			stop()
			s.setStatus("disabled", ReasonNoPassword)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Handler is the whole web app: share links, the login, then everything
// else behind it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // share tokens never leak in a Referer
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		switch {
		case strings.HasPrefix(r.URL.Path, "/s/"):
			s.serveShared(w, r)
		case r.URL.Path == "/login":
			s.serveLogin(w, r)
		default:
			s.serveAuthed(w, r)
		}
	})
}

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) cookie(w http.ResponseWriter, r *http.Request, tok string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: maxAge})
}

// visitor returns the request's login session, making one when the web
// app is open (no password, loopback only).
func (s *Server) visitor(w http.ResponseWriter, r *http.Request) (string, *loginSession, bool) {
	now := s.opt.Now()
	hash, err := s.pw.current()
	if err != nil {
		s.log.Error("web password", "err", err)
		http.Error(w, "the web password file is unreadable; set it again with weighctl web passwd", http.StatusInternalServerError)
		return "", nil, false
	}
	tok, ls := s.sess.get(r, now)
	if hash == nil {
		if ls == nil {
			tok, ls = s.sess.create(true, "", now)
			s.cookie(w, r, tok, int(sessionLifetime.Seconds()))
		}
		return tok, ls, true
	}
	if ls == nil || !ls.authed || ls.pwHash != string(hash) {
		if isAPI(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"login required"}`+"\n")
		} else {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		}
		return "", nil, false
	}
	return tok, ls, true
}

func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasSuffix(r.URL.Path, ".json") ||
		strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html")
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// csrfOK checks a state-changing request's token: the X-CSRF-Token header
// or the csrf form field must equal the login session's.
func csrfOK(r *http.Request, ls *loginSession) bool {
	got := r.Header.Get("X-CSRF-Token")
	ct := r.Header.Get("Content-Type")
	switch {
	case got != "":
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf")
	case strings.HasPrefix(ct, "multipart/form-data"):
		// A file from a form (the parcels page's CSV), bounded and kept
		// in memory.
		r.Body = http.MaxBytesReader(nil, r.Body, maxUploadBytes)
		if r.ParseMultipartForm(maxUploadBytes) == nil {
			got = r.PostFormValue("csrf")
		}
	}
	return sameToken(got, ls.csrf)
}

func forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	if isAPI(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, http.StatusForbidden)
}

func (s *Server) serveAuthed(w http.ResponseWriter, r *http.Request) {
	tok, ls, ok := s.visitor(w, r)
	if !ok {
		return
	}
	if !safeMethod(r.Method) && !csrfOK(r, ls) {
		forbidden(w, r, "missing or wrong CSRF token")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/":
		http.Redirect(w, r, "/sessions", http.StatusSeeOther)
	case p == "/logout" && r.Method == http.MethodPost:
		s.sess.remove(tok)
		s.cookie(w, r, "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case strings.HasPrefix(p, "/v1/"):
		s.apiMux.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/static/"):
		s.serveStatic(w, r, strings.TrimPrefix(p, "/static/"))
	case p == "/sessions":
		s.serveList(w, r, ls)
	case p == "/live" && safeMethod(r.Method):
		s.serveLive(w, r, ls)
	case p == "/live/mjpeg" && safeMethod(r.Method):
		s.serveMJPEG(w, r, tok)
	case p == "/live/events" && safeMethod(r.Method):
		s.serveEvents(w, r, tok)
	case p == "/parcels" || strings.HasPrefix(p, "/parcels/"):
		s.serveParcels(w, r, ls, strings.TrimPrefix(strings.TrimPrefix(p, "/parcels"), "/"))
	case p == "/station" || strings.HasPrefix(p, "/station/"):
		s.serveStation(w, r, ls, strings.TrimPrefix(strings.TrimPrefix(p, "/station"), "/"))
	case p == "/calibrate" || strings.HasPrefix(p, "/calibrate/"):
		s.serveCalibrate(w, r, ls, strings.TrimPrefix(strings.TrimPrefix(p, "/calibrate"), "/"))
	case strings.HasPrefix(p, "/sessions/"):
		id, rest, _ := strings.Cut(strings.TrimPrefix(p, "/sessions/"), "/")
		s.serveSession(w, r, id, rest, "/sessions/"+id+"/", ls)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	if !safeMethod(r.Method) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, err := fs.ReadFile(s.static, name)
	if err != nil || !validName(name) {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(data)
}

// The login page.

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	now := s.opt.Now()
	hash, _ := s.pw.current()
	if hash == nil {
		http.Redirect(w, r, "/sessions", http.StatusSeeOther)
		return
	}
	next := r.FormValue("next")
	// Only a path of this site: not "//host" nor "/\host" (browsers read
	// both as another host).
	if u, err := url.Parse(next); err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") || u.Host != "" {
		next = "/sessions"
	}
	tok, ls := s.sess.get(r, now)
	msg, code := "", http.StatusOK
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if ls == nil || !sameToken(r.PostFormValue("csrf"), ls.csrf) {
			forbidden(w, r, "missing or wrong CSRF token (reload the login page)")
			return
		}
		addr := clientAddr(r)
		if ok, wait := s.limit.allowed(addr, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			s.renderCode(w, http.StatusTooManyRequests, "login.html", s.loginData(ls, next, fmt.Sprintf("Too many wrong passwords: try again in %s.", wait.Round(time.Second))))
			return
		}
		if s.pw.check(r.PostFormValue("password")) {
			s.limit.succeeded(addr)
			s.sess.remove(tok)
			ntok, _ := s.sess.create(true, string(hash), now)
			s.cookie(w, r, ntok, int(sessionLifetime.Seconds()))
			s.log.Info("web login", "from", addr)
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		s.limit.failed(addr, now)
		s.log.Warn("web login refused: wrong password", "from", addr)
		code = http.StatusUnauthorized
		msg = "Wrong password."
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ls == nil || ls.authed {
		tok, ls = s.sess.create(false, "", now)
		s.cookie(w, r, tok, int(time.Hour.Seconds()))
	}
	s.renderCode(w, code, "login.html", s.loginData(ls, next, msg))
}

func (s *Server) loginData(ls *loginSession, next, msg string) map[string]any {
	csrf := ""
	if ls != nil {
		csrf = ls.csrf
	}
	return map[string]any{"CSRF": csrf, "Next": next, "Msg": msg, "CSS": s.loginCSS, "Nonce": randomToken()}
}

func (s *Server) render(w http.ResponseWriter, name string, data map[string]any) {
	s.renderCode(w, http.StatusOK, name, data)
}

// renderCode renders page name with the status code.
func (s *Server) renderCode(w http.ResponseWriter, code int, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	policy := csp
	if n, ok := data["Nonce"].(string); ok {
		// The login page carries its style inline: nothing behind the
		// login is served before it.
		policy = strings.Replace(policy, "style-src 'self'", "style-src 'nonce-"+n+"'", 1)
	}
	w.Header().Set("Content-Security-Policy", policy)
	w.WriteHeader(code)
	if err := s.tmpl.ExecuteTemplate(w, name, data); err != nil {
		s.log.Warn("web: render", "page", name, "err", err)
	}
}

// The sessions page.

type row struct {
	SessionID string   `json:"session_id"`
	Seq       int64    `json:"seq"`
	StartedAt string   `json:"started_at"`
	Tracking  string   `json:"tracking"`
	OrderRef  string   `json:"order_ref"`
	Verdict   string   `json:"verdict"`
	Tier      int      `json:"tier"`
	DeltaG    *float64 `json:"delta_g"`
	Outcome   string   `json:"outcome"`
	Claim     string   `json:"claim"`
}

const pageSize = 50

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, ls *loginSession) {
	q := r.URL.Query()
	filter := map[string]string{}
	for _, k := range []string{"tracking", "order", "verdict"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			filter[k] = v
		}
	}
	date := strings.TrimSpace(q.Get("date"))
	if date != "" {
		day, err := time.Parse("2006-01-02", date)
		if err != nil {
			http.Error(w, "date: want YYYY-MM-DD", http.StatusBadRequest)
			return
		}
		filter["since"] = date
		filter["until"] = day.Add(24 * time.Hour).Format(time.RFC3339)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 || page > 1_000_000 {
		page = 1
	}
	// One page, newest first, and one row more to know whether another
	// page follows: the index answers in a few milliseconds however many
	// sessions it holds.
	ask := map[string]string{"newest": "1", "limit": strconv.Itoa(pageSize + 1), "offset": strconv.Itoa((page - 1) * pageSize)}
	for k, v := range filter {
		ask[k] = v
	}
	v, err := s.opt.Station.Command(r.Context(), api.CmdSessions, "", ask)
	var rows []row
	if err == nil {
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			err = json.Unmarshal(b, &rows)
		}
	}
	errMsg := ""
	if err != nil {
		errMsg = err.Error()
	}
	more := len(rows) > pageSize
	if more {
		rows = rows[:pageSize]
	}
	shown := rows
	link := func(p int) string {
		v := url.Values{}
		for k, x := range filter {
			if k != "since" && k != "until" {
				v.Set(k, x)
			}
		}
		if date != "" {
			v.Set("date", date)
		}
		v.Set("page", strconv.Itoa(p))
		return "/sessions?" + v.Encode()
	}
	data := map[string]any{
		"CSRF": ls.csrf, "Rows": shown, "First": (page-1)*pageSize + 1, "Last": (page-1)*pageSize + len(shown), "Page": page, "More": more,
		"Tracking": q.Get("tracking"), "Order": q.Get("order"), "Verdict": q.Get("verdict"), "Date": date,
		"Verdicts": []string{"match", "underweight", "overweight", "empty", "no_label_weight"}, "Error": errMsg,
	}
	if o := s.offsiteLine(r.Context()); o != "" {
		data["Offsite"] = o
	}
	if page > 1 {
		data["Prev"] = link(page - 1)
	}
	if more {
		data["Next"] = link(page + 1)
	}
	s.render(w, "sessions.html", data)
}

// The session page and its resources; base is the page's own path, under
// /sessions/ID/ or /s/TOKEN/.

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, id, rest, base string, ls *loginSession) {
	shared := ls == nil
	if !validSession(id) {
		http.NotFound(w, r)
		return
	}
	switch {
	case rest == "" && safeMethod(r.Method):
		v, err := s.bundles.view(id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		data := map[string]any{"V": v, "Base": base, "Shared": shared}
		if !shared {
			data["CSRF"] = ls.csrf
		}
		s.render(w, "session.html", data)
	case rest == "weight.json" && safeMethod(r.Method):
		dur, videoAxis := 0.0, false
		if v, err := s.bundles.view(id); err == nil {
			dur, videoAxis = v.Result.Continuity.DurationS, v.Result.WeightAxis == result.WeightAxisVideo
		}
		ws, err := s.bundles.weights(id, dur, videoAxis)
		if err != nil {
			ws = &weightSeries{T: []float64{}, G: []float64{}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ws)
	case rest == "marks.vtt" && safeMethod(r.Method):
		v, err := s.bundles.view(id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/vtt; charset=utf-8")
		fmt.Fprint(w, "WEBVTT\n\n")
		// Chapters on the played MP4's own time (placeMarks: each mark
		// placed through the export's mapping, after a rotation too).
		for _, m := range v.Marks {
			if m.T < 0 {
				continue
			}
			fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", m.N, vttTime(m.T), vttTime(m.T+1), strings.ReplaceAll(m.Label, "-->", "→"))
		}
	case strings.HasPrefix(rest, "f/") && safeMethod(r.Method):
		name := strings.TrimPrefix(rest, "f/")
		if shared && !shareable(name) {
			forbidden(w, r, "a share link grants the page, the player, the stills, the sheet and the pack only")
			return
		}
		s.serveFile(w, r, id, name)
	case rest == "bundle.zip" && safeMethod(r.Method) && !shared:
		s.serveZip(w, r, id)
	case rest == "share" && r.Method == http.MethodPost && !shared:
		s.createShare(w, r, id)
	case strings.HasPrefix(rest, "static/") && shared && safeMethod(r.Method):
		s.serveStatic(w, r, strings.TrimPrefix(rest, "static/"))
	case shared:
		forbidden(w, r, "a share link grants one session's page, player, stills, sheet and pack only")
	default:
		http.NotFound(w, r)
	}
}

func vttTime(t float64) string {
	if t < 0 {
		t = 0
	}
	d := time.Duration(t * float64(time.Second))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, d.Milliseconds()%1000)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, id, name string) {
	f, fi, err := s.bundles.open(id, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	w.Header().Set("Cache-Control", "private, max-age=300")
	if r.URL.Query().Get("download") != "" || strings.HasSuffix(name, ".mkv") || strings.HasSuffix(name, ".zip") {
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+"-"+name+`"`)
	}
	if strings.HasSuffix(name, ".mkv") {
		w.Header().Set("Content-Type", "video/x-matroska")
	}
	// ServeContent answers Range requests (206) and conditional ones.
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func (s *Server) serveZip(w http.ResponseWriter, r *http.Request, id string) {
	files, err := s.bundles.files(id)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.zip"`)
	zw := zip.NewWriter(w)
	for _, fi := range files {
		f, _, err := s.bundles.open(id, fi.Name())
		if err != nil {
			continue
		}
		hdr := &zip.FileHeader{Name: id + "/" + fi.Name(), Method: zip.Store, Modified: fi.ModTime()}
		if !strings.HasSuffix(fi.Name(), ".mkv") && !strings.HasSuffix(fi.Name(), ".mp4") && !strings.HasSuffix(fi.Name(), ".jpg") {
			hdr.Method = zip.Deflate
		}
		zf, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = io.Copy(zf, f)
		}
		f.Close()
		if err != nil {
			s.log.Warn("web: bundle zip", "session", id, "err", err)
			return
		}
	}
	_ = zw.Close()
}

func (s *Server) createShare(w http.ResponseWriter, r *http.Request, id string) {
	if _, err := s.bundles.files(id); err != nil {
		http.NotFound(w, r)
		return
	}
	base := s.base
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	info, err := s.shareOps(base).Create(id, r.URL.Query().Get("ttl"), s.opt.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	png, err := qrcode.Encode(info.URL, qrcode.Medium, 320)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.log.Info("share link created", "session", id, "share", info.ID, "expires", info.ExpiresAt)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": info.ID, "url": info.URL, "expires_at": info.ExpiresAt,
		"qr": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
	})
}

// serveShared answers /s/TOKEN/…: the capability is checked on every
// request, the Range requests of the player included.
func (s *Server) serveShared(w http.ResponseWriter, r *http.Request) {
	tok, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/s/"), "/")
	id, err := s.shares.Check(tok, s.opt.Now())
	if err != nil {
		if !errors.Is(err, ErrShare) {
			s.log.Warn("web: share check", "err", err)
		}
		forbidden(w, r, "this link is not valid ("+strings.TrimPrefix(err.Error(), ErrShare.Error()+": ")+")")
		return
	}
	if !safeMethod(r.Method) {
		forbidden(w, r, "a share link is read-only")
		return
	}
	s.serveSession(w, r, id, rest, "/s/"+tok+"/", nil)
}

// ParseTTL reads a duration such as 7d, 36h or 90m.
func ParseTTL(v string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var days float64
		days, err = strconv.ParseFloat(n, 64)
		d = time.Duration(days * 24 * float64(time.Hour))
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d <= 0 || d > MaxTTL {
		return 0, fmt.Errorf("ttl: want a duration such as 7d, 36h or 90m, at most 366d; got %q", v)
	}
	return d, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// offsiteLine is the station's off-site progress and backlog for the
// sessions page ("" when offsite is off or weighd does not answer): the
// "offsite" object of GET /v1/status (package offsite's Status).
func (s *Server) offsiteLine(ctx context.Context) string {
	v, err := s.opt.Station.Status(ctx)
	if err != nil {
		return ""
	}
	var st struct {
		Offsite *struct {
			Bucket         string            `json:"bucket"`
			Objects        map[string]int    `json:"objects"`
			BacklogObjects int               `json:"backlog_objects"`
			BacklogBytes   int64             `json:"backlog_bytes"`
			Problems       []json.RawMessage `json:"problems"`
			LastError      string            `json:"last_error"`
		} `json:"offsite"`
	}
	if b, err := json.Marshal(v); err != nil || json.Unmarshal(b, &st) != nil || st.Offsite == nil {
		return ""
	}
	o := st.Offsite
	line := fmt.Sprintf("Off-site copies in %s: %d object(s) verified · backlog %d object(s), %.1f MB", o.Bucket, o.Objects["verified"], o.BacklogObjects, float64(o.BacklogBytes)/1e6)
	if len(o.Problems) > 0 {
		line += fmt.Sprintf(" · %d problem(s): weighctl status --json lists them", len(o.Problems))
	}
	if o.LastError != "" && o.BacklogObjects > 0 {
		line += " · last error: " + o.LastError
	}
	return line
}
