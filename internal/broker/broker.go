// Package broker runs the embedded MQTT broker (github.com/mochi-mqtt/
// server/v2) that weighd starts when the configuration names no external
// broker, so Home Assistant or mosquitto_sub can point straight at the
// station. It listens on mqtt.embedded_listen (127.0.0.1:1883 by default).
// Authentication: anonymous clients are allowed only when it listens on
// loopback and no credentials are configured; otherwise the configured user
// alone. weighd's own client authenticates with a password drawn at every
// start; it alone publishes under <base>/ outside <base>/cmd/, and the
// commands that write signed records (outcome, parcel) are forwarded only
// from the configured user (acl.go). Sessions, subscriptions, queued QoS 1
// messages and retained messages (bounded: store.go) persist in
// <state_dir>/broker.db when Options.Dir is set, so they survive weighd's
// restarts; brokerdb.ClearRetained deletes stored retained messages while no broker
// runs (brokerdb.ClearRetained: weighctl ha clear with weighd stopped). A connection that
// sends no CONNECT within ConnectTimeout is closed.
package broker

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.etcd.io/bbolt"

	"weighin/internal/broker/brokerdb"
	"weighin/internal/config"
)

// ErrConfig is wrapped by every configuration refusal.
var ErrConfig = errors.New("broker: configuration")

// Broker is a running embedded broker.
type Broker struct {
	srv    *mochi.Server
	addr   string
	auth   string
	guard  *guard
	closed *atomic.Int64 // connections the broker has closed
}

// Options are the station's side of the broker.
type Options struct {
	// StationID names the topic tree the ACL guards (weighin/<id>) and
	// weighd's client id (mqtt.client_id, else weighin-<id>).
	StationID string
	// Dir holds broker.db, the persistent sessions, subscriptions, queued
	// QoS 1 and retained messages ("" keeps them in memory only).
	Dir string
	// ConnectTimeout closes a connection that sent no CONNECT within it
	// (0: DefaultConnectTimeout).
	ConnectTimeout time.Duration
}

// FileName is the broker's store under Options.Dir.
const FileName = brokerdb.FileName

// Bounds of what the broker keeps for clients that are away.
const (
	// DefaultConnectTimeout closes a connection that sent no CONNECT in
	// time.
	DefaultConnectTimeout = 10 * time.Second
	// SessionExpiry: a persistent session away longer is dropped.
	SessionExpiry = 7 * 24 * time.Hour
	// MessageExpiry: a queued message older than this is dropped.
	MessageExpiry = 7 * 24 * time.Hour
	// MaxInflight bounds the QoS 1 messages queued per client.
	MaxInflight = 1024
	// MaxClients bounds the connected clients.
	MaxClients = 64
)

// Start listens on cfg.EmbeddedListen and serves until Close. A listen
// address beyond loopback without username and password is refused.
func Start(cfg config.MQTT, opts Options, log *slog.Logger) (*Broker, error) {
	host, _, err := net.SplitHostPort(cfg.EmbeddedListen)
	if err != nil {
		return nil, fmt.Errorf("%w: mqtt.embedded_listen %q: %w", ErrConfig, cfg.EmbeddedListen, err)
	}
	loopback := isLoopback(host)
	creds := cfg.Username != "" && cfg.Password != ""
	if cfg.Username != "" && cfg.Password == "" || cfg.Username == "" && cfg.Password != "" {
		return nil, fmt.Errorf("%w: mqtt.username and mqtt.password go together", ErrConfig)
	}
	if !loopback && !creds {
		return nil, fmt.Errorf("%w: mqtt.embedded_listen %q is beyond loopback: set mqtt.username and mqtt.password", ErrConfig, cfg.EmbeddedListen)
	}
	if opts.StationID == "" {
		return nil, fmt.Errorf("%w: no station id", ErrConfig)
	}
	log = log.With("component", "broker")
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumSessionExpiryInterval = uint32(SessionExpiry / time.Second)
	caps.MaximumMessageExpiryInterval = int64(MessageExpiry / time.Second)
	caps.MaximumInflight = MaxInflight
	caps.MaximumClients = MaxClients
	srv := mochi.New(&mochi.Options{Logger: log, InlineClient: false, Capabilities: caps})
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("broker: station password: %w", err)
	}
	clientID := cfg.ClientID
	if clientID == "" {
		clientID = "weighin-" + opts.StationID
	}
	g := &guard{base: "weighin/" + opts.StationID, clientID: clientID, station: []byte(hex.EncodeToString(pw)), log: log}
	b := &Broker{srv: srv, guard: g, auth: "anonymous-loopback", closed: new(atomic.Int64)}
	if creds {
		g.user, g.pass = []byte(cfg.Username), []byte(cfg.Password)
		b.auth = "user"
	}
	if err := srv.AddHook(g, nil); err != nil {
		return nil, fmt.Errorf("broker: guard hook: %w", err)
	}
	if opts.Dir != "" {
		bo := &bolt.Options{Path: filepath.Join(opts.Dir, FileName), Options: &bbolt.Options{Timeout: 2 * time.Second}}
		if err := srv.AddHook(new(boltStore), bo); err != nil {
			return nil, fmt.Errorf("broker: store %s: %w", bo.Path, err)
		}
	}
	ln, err := net.Listen("tcp", cfg.EmbeddedListen)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.EmbeddedListen, err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", connectDeadline{ln, cmp.Or(opts.ConnectTimeout, DefaultConnectTimeout), b.closed})); err != nil {
		ln.Close()
		srv.Close()
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.EmbeddedListen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b.addr = ln.Addr().String()
	log.Info("embedded broker listening", "addr", b.addr, "auth", b.auth, "store", opts.Dir != "")
	return b, nil
}

// connectDeadline gives every accepted connection d to send its CONNECT;
// the broker replaces the deadline with the keep-alive's once connected.
// It counts the connections closed, so that a caller can tell a
// connection's end (ClosedConnections) before it stops the broker.
type connectDeadline struct {
	net.Listener
	d      time.Duration
	closed *atomic.Int64
}

func (l connectDeadline) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(l.d))
	return &countedConn{Conn: c, closed: l.closed}, nil
}

type countedConn struct {
	net.Conn
	once   sync.Once
	closed *atomic.Int64
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.closed.Add(1) })
	return err
}

// ClosedConnections counts the client connections the broker has closed.
func (b *Broker) ClosedConnections() int64 { return b.closed.Load() }

// Station returns cfg as weighd's own publisher connects with it: the
// broker's URL and the station's per-run credentials.
func (b *Broker) Station(cfg config.MQTT) config.MQTT {
	cfg.Broker = b.URL()
	cfg.Username, cfg.Password = stationUser, config.Secret(b.guard.station)
	return cfg
}

// OnRefused sets the function told of every refusal (a publish the ACL
// refused, a station-id collision): what is the command or "publish" or
// "connect", reason a sentence. It must not block.
func (b *Broker) OnRefused(f func(what, reason string)) {
	b.guard.mu.Lock()
	b.guard.refused = f
	b.guard.mu.Unlock()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address the broker listens on (with the real port when the
// configuration asked for port 0).
func (b *Broker) Addr() string { return b.addr }

// URL is the tcp:// URL the station's own publisher connects to: the
// listen port on loopback when the broker listens on all addresses.
func (b *Broker) URL() string {
	host, port, err := net.SplitHostPort(b.addr)
	if err != nil {
		return "tcp://" + b.addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	p, _ := strconv.Atoi(port)
	return fmt.Sprintf("tcp://%s", net.JoinHostPort(host, strconv.Itoa(p)))
}

// Auth names the authentication in force for clients other than weighd's:
// "anonymous-loopback" or "user".
func (b *Broker) Auth() string { return b.auth }

// Close stops the broker; connected clients see their connection end (and
// their wills fire).
func (b *Broker) Close() error {
	return b.srv.Close()
}

// tcp is the listen address's host and port.
func (b *Broker) tcp() (string, string) {
	h, p, _ := net.SplitHostPort(b.addr)
	return h, p
}
