// Package broker runs the embedded MQTT broker (github.com/mochi-mqtt/
// server/v2) that weighd starts when the configuration names no external
// broker, so Home Assistant or mosquitto_sub can point straight at the
// station. It listens on mqtt.embedded_listen (127.0.0.1:1883 by default).
// Authentication: anonymous clients are allowed only when it listens on
// loopback and no credentials are configured; otherwise a ledger admits the
// configured user alone.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"weighin/internal/config"
)

// ErrConfig is wrapped by every configuration refusal.
var ErrConfig = errors.New("broker: configuration")

// Broker is a running embedded broker.
type Broker struct {
	srv  *mochi.Server
	tcp  *listeners.TCP
	addr string
	auth string
}

// Start listens on cfg.EmbeddedListen and serves until Close. A listen
// address beyond loopback without username and password is refused.
func Start(cfg config.MQTT, log *slog.Logger) (*Broker, error) {
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
	log = log.With("component", "broker")
	srv := mochi.New(&mochi.Options{Logger: log, InlineClient: false})
	b := &Broker{srv: srv}
	if creds {
		ledger := &auth.Ledger{Users: auth.Users{
			cfg.Username: {Username: auth.RString(cfg.Username), Password: auth.RString(string(cfg.Password))},
		}}
		if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger}); err != nil {
			return nil, fmt.Errorf("broker: auth hook: %w", err)
		}
		b.auth = "user"
	} else {
		if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
			return nil, fmt.Errorf("broker: allow hook: %w", err)
		}
		b.auth = "anonymous-loopback"
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: cfg.EmbeddedListen})
	if err := srv.AddListener(tcp); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.EmbeddedListen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	b.tcp = tcp
	b.addr = tcp.Address()
	log.Info("embedded broker listening", "addr", b.addr, "auth", b.auth)
	return b, nil
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

// Auth names the authentication in force: "anonymous-loopback" or "user".
func (b *Broker) Auth() string { return b.auth }

// Close stops the broker; connected clients see their connection end (and
// their wills fire).
func (b *Broker) Close() error {
	return b.srv.Close()
}
