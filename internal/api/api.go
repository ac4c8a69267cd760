// Package api is weighd's local API: HTTP with JSON bodies over a unix socket
// (mode 0660, so members of the station's group may use it), spoken by
// weighctl. It carries the same commands as MQTT, plus status, sessions and
// the simulator's controls under --sim.
//
//	GET  /v1/status          the station's live state
//	GET  /v1/sessions        the session index (query: tracking, order, verdict, since)
//	POST /v1/cmd/NAME        a command; body {"value": "…"} where it takes one
//
// Errors come back as {"error": "…"} with 400 (refused), 404 (no such
// command) or 500.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrUnknownCommand is returned by a Handler for a command name it does not
// know; the server answers 404.
var ErrUnknownCommand = errors.New("unknown command")

// Handler is what the server needs of the station.
type Handler interface {
	// Status returns the live state, marshalled as JSON.
	Status(ctx context.Context) (any, error)
	// Command carries out one command; value is "" when it takes none. Its
	// result, if any, is marshalled as JSON.
	Command(ctx context.Context, name, value string, query map[string]string) (any, error)
}

// Request is the body of POST /v1/cmd/NAME.
type Request struct {
	Value string `json:"value,omitempty"`
}

// maxBody bounds a request body; commands are short.
const maxBody = 64 << 10

// ErrNotSocket: something other than a socket is at the socket's path. It
// is left as it is (it could be the station key): a configuration error.
var ErrNotSocket = errors.New("exists and is not a socket")

// Listen creates the socket at path (removing a stale socket, creating the
// directory) with mode 0660. Anything at path that is not a socket is
// never removed: Listen fails with ErrNotSocket.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("api: %s %w (%s): left untouched", path, ErrNotSocket, fi.Mode().Type())
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("api: %s: another weighd is listening", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	return ln, nil
}

// Timeouts of the API's server: a client that sends its request slower
// than readTimeout, or keeps an idle connection open for idleTimeout, is
// disconnected (1,000 slow-body clients must not hold the socket).
var (
	readTimeout = 10 * time.Second
	idleTimeout = time.Minute
)

// Serve answers requests on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	srv := &http.Server{Handler: NewMux(h), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// NewMux returns the API's routes over h.
func NewMux(h Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		v, err := h.Status(r.Context())
		reply(w, v, err)
	})
	mux.HandleFunc("GET /v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		v, err := h.Command(r.Context(), "sessions", "", query(r))
		reply(w, v, err)
	})
	mux.HandleFunc("GET /v1/parcels", func(w http.ResponseWriter, r *http.Request) {
		v, err := h.Command(r.Context(), CmdParcels, "", nil)
		reply(w, v, err)
	})
	mux.HandleFunc("POST /v1/cmd/{name}", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			reply(w, nil, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		case len(body) > maxBody:
			reply(w, nil, fmt.Errorf("%w: body larger than %d bytes", errBadRequest, maxBody))
			return
		case len(strings.TrimSpace(string(body))) > 0:
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				reply(w, nil, fmt.Errorf("%w: body: %v", errBadRequest, err))
				return
			}
		}
		v, err := h.Command(r.Context(), r.PathValue("name"), req.Value, query(r))
		reply(w, v, err)
	})
	return mux
}

var errBadRequest = errors.New("bad request")

func query(r *http.Request) map[string]string {
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	return q
}

type errorBody struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUnknownCommand) {
			code = http.StatusNotFound
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
		return
	}
	if v == nil {
		v = struct {
			OK bool `json:"ok"`
		}{true}
	}
	_ = json.NewEncoder(w).Encode(v)
}

// Client speaks the API over a unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// ErrUnreachable wraps a failure to reach weighd at all.
var ErrUnreachable = errors.New("weighd unreachable")

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{socket: path, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Status fetches the live state into v.
func (c *Client) Status(ctx context.Context, v any) error {
	return c.do(ctx, http.MethodGet, "/v1/status", nil, v)
}

// Sessions fetches the session index into v.
func (c *Client) Sessions(ctx context.Context, q map[string]string, v any) error {
	p := "/v1/sessions"
	vals := url.Values{}
	for k, val := range q {
		if val != "" {
			vals.Set(k, val)
		}
	}
	if len(vals) > 0 {
		p += "?" + vals.Encode()
	}
	return c.do(ctx, http.MethodGet, p, nil, v)
}

// Command sends one command; the reply, if v is non-nil, is decoded into it.
func (c *Client) Command(ctx context.Context, name, value string, v any) error {
	body, _ := json.Marshal(Request{Value: value})
	return c.do(ctx, http.MethodPost, "/v1/cmd/"+name, body, v)
}

// CommandQuery sends one command with query parameters (as the
// commands' query map); the reply, if v is non-nil, is decoded into it.
func (c *Client) CommandQuery(ctx context.Context, name, value string, q map[string]string, v any) error {
	body, _ := json.Marshal(Request{Value: value})
	p := "/v1/cmd/" + name
	vals := url.Values{}
	for k, val := range q {
		vals.Set(k, val)
	}
	if len(vals) > 0 {
		p += "?" + vals.Encode()
	}
	return c.do(ctx, http.MethodPost, p, body, v)
}

// Export asks weighd to export session with preset and waits, without the
// client's timeout (an export takes minutes; ctx bounds it), for the files.
func (c *Client) Export(ctx context.Context, session, preset string, v any) error {
	body, _ := json.Marshal(Request{Value: session})
	long := &Client{socket: c.socket, hc: &http.Client{Transport: c.hc.Transport}}
	return long.do(ctx, http.MethodPost, "/v1/cmd/"+CmdExport+"?"+url.Values{"preset": {preset}}.Encode(), body, v)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, v any) error {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://weighd"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			return &RemoteError{Status: resp.StatusCode, Msg: eb.Error}
		}
		return &RemoteError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
	}
	if v == nil {
		return nil
	}
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	return json.Unmarshal(data, v)
}

// RemoteError is weighd's refusal of a request.
type RemoteError struct {
	Status int
	Msg    string
}

func (e *RemoteError) Error() string { return e.Msg }
