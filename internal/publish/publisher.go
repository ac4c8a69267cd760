package publish

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"weighin/internal/config"
	"weighin/internal/result"
)

// Handler carries out a valid command. The daemon implements it; an error
// refuses the command (answered on <base>/error) and must mean nothing was
// applied.
type Handler interface {
	Command(ctx context.Context, c Command) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c Command) error

// Command calls f.
func (f HandlerFunc) Command(ctx context.Context, c Command) error { return f(ctx, c) }

// Errors of the publisher.
var (
	ErrConfig       = errors.New("publish: configuration")
	ErrNotConnected = errors.New("publish: not connected")
	ErrTimeout      = errors.New("publish: timed out waiting for the broker")
)

// Timing defaults.
const (
	defaultAckTimeout     = 10 * time.Second
	defaultConnectTimeout = 10 * time.Second
	defaultRetryInterval  = 2 * time.Second
	defaultMaxReconnect   = 10 * time.Second
	defaultCommandTimeout = 10 * time.Second
	defaultProbeEvery     = 30 * time.Second
)

// Option adjusts a Publisher.
type Option func(*Publisher)

// WithVersion sets the software version shown in discovery.
func WithVersion(v string) Option { return func(p *Publisher) { p.version = v } }

// WithReconnect sets the connect-retry interval and the longest reconnect
// back-off (defaults 2 s and 10 s).
func WithReconnect(retry, max time.Duration) Option {
	return func(p *Publisher) { p.retryInterval, p.maxReconnect = retry, max }
}

// WithProbe sets how often the command subscription is probed through the
// broker and how long a probe may take to come back (defaults 30 s, 10 s).
func WithProbe(every, wait time.Duration) Option {
	return func(p *Publisher) { p.probeEvery, p.probeWait = every, wait }
}

// WithDelivered registers a function called after each result entry was
// acknowledged by the broker and removed from the outbox (for metrics and
// tests; it must not block).
func WithDelivered(f func(seq uint64)) Option { return func(p *Publisher) { p.delivered = f } }

// Publisher speaks the station's MQTT topic tree: availability with a
// retained last will, Home Assistant discovery, rate-limited live state, a
// durable outbox for results, the label still, and commands.
type Publisher struct {
	cfg       config.MQTT
	stationID string
	topics    Topics
	handler   Handler
	log       *slog.Logger
	outbox    *Outbox
	acked     *delivered
	opts      *mqtt.ClientOptions
	client    mqtt.Client

	version       string
	webURL        func() string
	offsite       bool
	retryInterval time.Duration
	maxReconnect  time.Duration
	ackTimeout    time.Duration
	delivered     func(uint64)
	probeEvery    time.Duration
	probeWait     time.Duration
	probeSeen     chan string

	wakeOutbox  chan struct{}
	wakeState   chan struct{}
	repeatState chan struct{}
	inbox       chan inbound

	mu       sync.Mutex
	runCtx   context.Context
	newest   State
	haveNew  bool
	limiter  Limiter
	kept     map[string][]byte // retained documents republished on every connect (result, label, entries, export), by topic
	cleared  bool
	connects int
	// heard: the command subscription answered a probe since the last
	// connect; problem says what is wrong (a failed probe, a collision).
	heard        bool
	probeProblem string
	noted        string
	probeNonce   string
	connectedAt  time.Time
	flaps        int

	// retainMu serialises every retained publish with Clear, so nothing
	// retained is published after the station was cleared, and the newest
	// label stays retained.
	retainMu sync.Mutex

	// errorShown (under mu): <base>/error holds a refusal that the next
	// accepted command clears; errorDoc is that document, republished on
	// every connect.
	errorShown bool
	errorDoc   []byte
}

// New prepares a publisher for the broker named by cfg.Broker (the daemon
// sets it to the embedded broker's URL when the configuration names none).
// The outbox lives in <stateDir>/outbox. Nothing connects until Run.
func New(cfg config.MQTT, stationID, stateDir string, h Handler, log *slog.Logger, opts ...Option) (*Publisher, error) {
	if stationID == "" || config.SanitizeStationID(stationID) != stationID {
		return nil, fmt.Errorf("%w: station id %q must be non-empty [a-z0-9_-]", ErrConfig, stationID)
	}
	if h == nil || log == nil {
		return nil, fmt.Errorf("%w: handler and logger are required", ErrConfig)
	}
	if cfg.Broker == "" {
		return nil, fmt.Errorf("%w: mqtt.broker is empty (start the embedded broker and pass its URL)", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	ob, err := OpenOutbox(filepath.Join(stateDir, "outbox"))
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		cfg: cfg, stationID: stationID, topics: NewTopics(stationID, cfg.DiscoveryPrefix),
		handler: h, log: log.With("component", "mqtt"), outbox: ob, acked: &delivered{path: filepath.Join(ob.Dir(), DeliveredName)},
		retryInterval: defaultRetryInterval, maxReconnect: defaultMaxReconnect, ackTimeout: defaultAckTimeout,
		wakeOutbox: make(chan struct{}, 1), wakeState: make(chan struct{}, 1), inbox: make(chan inbound, inboxDepth),
		repeatState: make(chan struct{}, 1),
		probeEvery:  defaultProbeEvery, probeWait: defaultAckTimeout, probeSeen: make(chan string, 1),
		limiter: Limiter{Interval: cfg.StateInterval, DeadbandG: cfg.WeightDeadbandG},
	}
	p.loadKept()
	for _, o := range opts {
		o(p)
	}
	mo, err := clientOptions(cfg, clientID(cfg, stationID), p.retryInterval, p.maxReconnect)
	if err != nil {
		return nil, err
	}
	mo.SetBinaryWill(p.topics.Availability, []byte("offline"), 1, true)
	mo.SetOnConnectHandler(p.onConnect)
	mo.SetConnectionLostHandler(p.onLost)
	mo.SetReconnectingHandler(func(mqtt.Client, *mqtt.ClientOptions) {
		p.log.Debug("reconnecting")
	})
	p.opts = mo
	return p, nil
}

// Close releases the outbox (and its lock). Call it after Run returned;
// PublishResult fails afterwards.
func (p *Publisher) Close() error { return p.outbox.Close() }

// Topics returns the station's topic tree.
func (p *Publisher) Topics() Topics { return p.topics }

// Outbox returns the durable outbox (for status reporting).
func (p *Publisher) Outbox() *Outbox { return p.outbox }

func clientID(cfg config.MQTT, stationID string) string {
	if cfg.ClientID != "" {
		return cfg.ClientID
	}
	return "weighin-" + stationID
}

// brokerLog is the broker's address for logs, without any user info.
type brokerLog struct {
	url      string
	username string
	password config.Secret
}

// LogValue shows where and as whom, never the password.
func (b brokerLog) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", redactURL(b.url)),
		slog.String("username", b.username),
		slog.Bool("password_set", b.password != ""),
	)
}

// redactURL drops user info (and anything unparsable) from a broker URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}

// clientOptions builds the paho options shared by Publisher and Check:
// stable client id, clean session, TLS and credentials.
func clientOptions(cfg config.MQTT, id string, retry, maxReconnect time.Duration) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(cfg.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: mqtt.broker %q is not a URL like tcp://host:1883", ErrConfig, redactURL(cfg.Broker))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: mqtt.broker must not carry credentials; use mqtt.username and mqtt.password", ErrConfig)
	}
	secure := false
	switch u.Scheme {
	case "ssl", "tls", "mqtts", "wss":
		secure = true
	case "tcp", "mqtt", "ws":
	default:
		return nil, fmt.Errorf("%w: mqtt.broker: unknown scheme %q", ErrConfig, u.Scheme)
	}
	o := mqtt.NewClientOptions()
	o.AddBroker(cfg.Broker)
	o.SetClientID(id)
	o.SetCleanSession(true) // commands must not queue while away
	// Handlers run in the order messages arrive and only hand them to the
	// inbox loop, so commands are applied in order and nothing blocks
	// paho's network loop.
	o.SetOrderMatters(true)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(true)
	o.SetConnectRetryInterval(retry)
	o.SetMaxReconnectInterval(maxReconnect)
	o.SetConnectTimeout(defaultConnectTimeout)
	o.SetWriteTimeout(defaultAckTimeout)
	o.SetKeepAlive(30 * time.Second)
	o.SetProtocolVersion(4)
	o.SetStore(newCopyStore())
	if cfg.Username != "" {
		o.SetUsername(cfg.Username)
		o.SetPassword(string(cfg.Password))
	}
	if secure {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	} else if cfg.CAFile != "" || cfg.CertFile != "" {
		return nil, fmt.Errorf("%w: mqtt.ca_file/cert_file are set but mqtt.broker %q is not a TLS URL (ssl://, mqtts://, wss://)", ErrConfig, cfg.Broker)
	}
	return o, nil
}

func tlsConfig(cfg config.MQTT) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: mqtt.ca_file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: mqtt.ca_file %s: no PEM certificate in it", ErrConfig, cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: mqtt.cert_file/key_file: %w", ErrConfig, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Check makes one connection attempt with cfg (TLS and credentials as
// Publisher uses them) and disconnects. It returns nil when the broker
// accepted the connection.
func Check(ctx context.Context, cfg config.MQTT, clientID string) error {
	o, err := clientOptions(cfg, clientID, time.Second, time.Second)
	if err != nil {
		return err
	}
	o.SetConnectRetry(false)
	o.SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if err := waitToken(ctx, tok, defaultConnectTimeout); err != nil {
		return fmt.Errorf("publish: connect to %s: %w", redactURL(cfg.Broker), err)
	}
	c.Disconnect(100)
	return nil
}

// waitToken waits for a token with a timeout and the context; never a bare
// Wait.
func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return ErrTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run connects (retrying until ctx ends), keeps the connection, drains the
// outbox and publishes state until ctx is cancelled. On the way out it
// publishes "offline" (retained) and disconnects. It returns nil after a
// clean shutdown.
func (p *Publisher) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.runCtx != nil {
		p.mu.Unlock()
		return fmt.Errorf("publish: Run called twice")
	}
	p.runCtx = ctx
	p.client = mqtt.NewClient(p.opts)
	p.mu.Unlock()

	p.log.Info("connecting", "broker", brokerLog{url: p.cfg.Broker, username: p.cfg.Username, password: p.cfg.Password},
		"client_id", p.opts.ClientID, "base", p.topics.Base)
	p.client.Connect() // with ConnectRetry the token completes on success or Disconnect; progress shows in onConnect

	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); p.probeLoop(ctx) }()
	go func() { defer wg.Done(); p.inboxLoop(ctx) }()
	go func() { defer wg.Done(); p.outboxLoop(ctx) }()
	go func() { defer wg.Done(); p.stateLoop(ctx) }()
	<-ctx.Done()
	wg.Wait()

	p.mu.Lock()
	cleared := p.cleared
	p.mu.Unlock()
	if c := p.conn(); c != nil && !cleared {
		tok := c.Publish(p.topics.Availability, 1, true, "offline")
		if err := waitToken(context.Background(), tok, 2*time.Second); err != nil {
			p.log.Warn("publish offline at shutdown", "err", err)
		}
	}
	p.client.Disconnect(250)
	p.log.Info("disconnected")
	return nil
}

func (p *Publisher) ctx() context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runCtx == nil {
		return context.Background()
	}
	return p.runCtx
}

// publishWait publishes and waits for completion (the broker's PUBACK at
// QoS 1) with a timeout.
func (p *Publisher) publishWait(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	c := p.conn()
	if c == nil {
		return ErrNotConnected
	}
	return waitToken(ctx, c.Publish(topic, qos, retained, payload), p.ackTimeout)
}

// Connected reports whether the connection to the broker is open and the
// command subscription answered its probe since it opened.
func (p *Publisher) Connected() bool {
	p.mu.Lock()
	heard := p.heard
	p.mu.Unlock()
	return heard && p.conn() != nil
}

// Problem says what is wrong with the connection ("" when nothing is): the
// command subscription did not answer its probe, a station-id collision.
func (p *Publisher) Problem() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.probeProblem != "" && p.noted != "":
		return p.probeProblem + "; " + p.noted
	case p.probeProblem != "":
		return p.probeProblem
	}
	return p.noted
}

// NoteProblem records a problem the publisher cannot see itself (the
// embedded broker refused a client with the station's id, a connection
// taken over again and again); it stays in Problem, with its time, until
// the next one.
func (p *Publisher) NoteProblem(reason string) {
	p.mu.Lock()
	p.noted = reason + " (at " + time.Now().UTC().Format(time.RFC3339) + ")"
	p.mu.Unlock()
	p.log.Warn("mqtt problem", "reason", reason)
}

// probeFailed records that the command subscription did not answer.
func (p *Publisher) probeFailed(reason string) {
	p.mu.Lock()
	p.probeProblem = reason
	p.mu.Unlock()
	p.log.Warn("mqtt problem", "reason", reason)
}

// collisionWindow: a connection lost this soon after it opened, twice in a
// row, is taken for another client taking the session over.
const collisionWindow = 10 * time.Second

func (p *Publisher) onLost(_ mqtt.Client, err error) {
	p.mu.Lock()
	p.heard = false
	if time.Since(p.connectedAt) < collisionWindow {
		p.flaps++
	} else {
		p.flaps = 0
	}
	flaps := p.flaps
	p.mu.Unlock()
	p.log.Warn("connection lost", "err", err)
	if flaps >= 2 {
		p.NoteProblem(fmt.Sprintf("station-id collision suspected: the connection as %s was lost %d times within %v of opening (another client with the same client id?)",
			p.opts.ClientID, flaps, collisionWindow))
	}
}

// probeLoop checks the command subscription every probeEvery: a probe
// published on <base>/cmd/probe must come back through it. When it does
// not, the subscription is renewed; when that does not help, the
// connection is dropped and made again.
func (p *Publisher) probeLoop(ctx context.Context) {
	t := time.NewTicker(p.probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := p.conn()
		if c == nil || p.isCleared() {
			continue
		}
		if p.probe(ctx, c) {
			continue
		}
		p.probeFailed("the command subscription did not answer its probe; subscribing again")
		p.subscribe(ctx, c)
		if p.probe(ctx, c) {
			continue
		}
		p.probeFailed("the command subscription did not answer its probe after subscribing again; reconnecting")
		p.mu.Lock()
		p.heard = false
		p.mu.Unlock()
		c.Disconnect(100)
		c.Connect() // with ConnectRetry: onConnect subscribes and probes again
	}
}

// probe publishes a fresh nonce on <base>/cmd/probe and reports whether
// the command subscription delivered it back within the ack timeout; on
// success the connection counts as connected and a problem is cleared.
func (p *Publisher) probe(ctx context.Context, c mqtt.Client) bool {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	p.mu.Lock()
	p.probeNonce = nonce
	p.mu.Unlock()
	select { // a late answer to an earlier probe
	case <-p.probeSeen:
	default:
	}
	if err := waitToken(ctx, c.Publish(p.topics.Probe, 1, false, nonce), p.ackTimeout); err != nil {
		return false
	}
	t := time.NewTimer(p.probeWait)
	defer t.Stop()
	for {
		select {
		case got := <-p.probeSeen:
			if got != nonce {
				continue
			}
			p.mu.Lock()
			p.heard, p.probeProblem = true, ""
			p.mu.Unlock()
			return true
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// subscribe subscribes to the commands and Home Assistant's status.
func (p *Publisher) subscribe(ctx context.Context, c mqtt.Client) {
	for _, topic := range []string{p.topics.CmdFilter, p.topics.HAStatus} {
		if err := waitToken(ctx, c.Subscribe(topic, 1, p.onMessage), p.ackTimeout); err != nil {
			p.log.Error("subscribe", "topic", topic, "err", err)
		}
	}
}

// conn returns the client when its connection is open, else nil.
func (p *Publisher) conn() mqtt.Client {
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	if c == nil || !c.IsConnectionOpen() {
		return nil
	}
	return c
}

// onConnect runs in its own goroutine after every (re)connection:
// subscriptions, online, discovery, the last state and label, then the
// outbox.
func (p *Publisher) onConnect(c mqtt.Client) {
	ctx := p.ctx()
	p.mu.Lock()
	p.connects++
	p.heard, p.connectedAt = false, time.Now()
	n, cleared := p.connects, p.cleared
	p.mu.Unlock()
	p.log.Info("connected", "connects", n)
	if cleared {
		return
	}
	// Subscribe first, so that a command sent as soon as "online" shows is
	// not lost; "connected" only once a probe came back through it.
	p.republishError(ctx)
	p.subscribe(ctx, c)
	if !p.probe(ctx, c) {
		p.probeFailed("the command subscription did not answer its probe after connecting")
	}
	if err := p.announce(ctx); err != nil {
		p.log.Error("announce", "err", err)
	}
	p.repeat()
	p.mu.Lock()
	kept := make(map[string][]byte, len(p.kept))
	for topic, b := range p.kept {
		kept[topic] = b
	}
	p.mu.Unlock()
	p.retainMu.Lock()
	for topic, b := range kept {
		if p.isCleared() {
			break
		}
		if err := p.publishWait(ctx, topic, 1, true, b); err != nil {
			p.log.Warn("republish", "topic", topic, "err", err)
		}
	}
	p.retainMu.Unlock()
	p.kick()
}

// announce publishes "online" and the discovery document, both retained.
func (p *Publisher) announce(ctx context.Context) error {
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return nil
	}
	if err := p.publishWait(ctx, p.topics.Availability, 1, true, []byte("online")); err != nil {
		return fmt.Errorf("online: %w", err)
	}
	cu := ""
	if base := p.web(); base != "" {
		cu = base + "/sessions"
	}
	disc := Discovery(p.stationID, p.topics, p.version).WithConfigurationURL(cu)
	if p.offsite {
		disc = disc.WithOffsite(p.stationID, p.topics)
	}
	if p.cfg.TagScanner {
		disc = disc.WithTagScanner(p.stationID, p.topics)
	}
	d := disc.JSON()
	if err := p.publishWait(ctx, p.topics.Discovery, 1, true, d); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

// inbound is one received message, copied out of paho.
type inbound struct {
	topic    string
	payload  []byte
	size     int // of the payload as received
	retained bool
}

// inboxDepth bounds the commands waiting for the handler; beyond it a
// command is refused as busy.
const inboxDepth = 32

// onMessage runs on paho's goroutine, in arrival order: it only queues.
func (p *Publisher) onMessage(_ mqtt.Client, m mqtt.Message) {
	if m.Topic() == p.topics.Probe {
		select {
		case p.probeSeen <- string(m.Payload()):
		default:
		}
		return
	}
	in := inbound{topic: m.Topic(), retained: m.Retained(), size: len(m.Payload())}
	if len(m.Payload()) <= MaxJSONPayloadBytes { // the largest any command takes
		in.payload = append([]byte(nil), m.Payload()...)
	} else {
		// Keep only the size: the parser refuses it without reading it.
		in.payload = make([]byte, MaxJSONPayloadBytes+1)
	}
	select {
	case p.inbox <- in:
	default:
		name := strings.TrimPrefix(in.topic, p.topics.CmdPrefix)
		go p.refuse(name, "station busy: too many commands queued", len(m.Payload()))
	}
}

// inboxLoop handles received messages one at a time, in order.
func (p *Publisher) inboxLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-p.inbox:
			if in.topic == p.topics.HAStatus {
				p.onHAStatus(string(in.payload))
			} else {
				p.onCommand(in)
			}
		}
	}
}

func (p *Publisher) onHAStatus(payload string) {
	p.mu.Lock()
	cleared := p.cleared
	p.mu.Unlock()
	if payload != "online" || cleared {
		return
	}
	p.log.Info("home assistant online: republishing discovery")
	if err := p.announce(p.ctx()); err != nil {
		p.log.Error("republish discovery", "err", err)
	}
	p.repeat()
}

// repeat asks the state loop to send the last state again, rate-limited.
func (p *Publisher) repeat() {
	select {
	case p.repeatState <- struct{}{}:
	default:
	}
}

// commandError is the JSON answer on <base>/error.
type commandError struct {
	Command string `json:"command"`
	Reason  string `json:"reason"`
	At      string `json:"at"`
}

func (p *Publisher) onCommand(in inbound) {
	name := strings.TrimPrefix(in.topic, p.topics.CmdPrefix)
	cmd, err := ParseCommand(name, in.payload, in.retained)
	if err != nil {
		var ce *CommandError
		switch {
		case errors.As(err, &ce) && errors.Is(err, ErrBadPayload) && in.size > len(in.payload):
			p.refuse(ce.Command, fmt.Sprintf("payload of %d bytes exceeds %d", in.size, PayloadLimit(CommandName(name))), in.size)
		case errors.As(err, &ce):
			p.refuse(ce.Command, ce.Reason, in.size)
		default:
			p.refuse(name, err.Error(), in.size)
		}
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx(), defaultCommandTimeout)
	defer cancel()
	if err := p.handler.Command(ctx, cmd); err != nil {
		p.refuse(string(cmd.Name), err.Error(), in.size)
		return
	}
	p.log.Info("command", "command", cmd.String())
	p.Accepted(string(cmd.Name))
}

// PublishFault reports on <base>/error, in the shape of a refused command,
// something the station could not do that no command asked for at that
// moment: a recording that could not start because storage is full of
// protected evidence, a camera that went away. It does not wait for the
// broker and is dropped when not connected (the API's status and the LED
// still show it).
func (p *Publisher) PublishFault(what, reason string) { p.publishError(what, reason, false) }

// PublishJournal publishes a line of the evidence journal (a signed seal
// or addendum record) on <base>/journal, QoS 1, not retained, so Home
// Assistant's history holds a copy of every record's hash. Like
// PublishFault it does not wait, and a line made while disconnected is not
// sent (the journal on disk keeps it).
func (p *Publisher) PublishJournal(line []byte) {
	if c := p.conn(); c != nil {
		c.Publish(p.topics.Journal, 1, false, append([]byte(nil), line...))
	}
}

func (p *Publisher) refuse(command, reason string, payloadBytes int) {
	p.log.Warn("command refused", "command", command, "reason", reason, "payload_bytes", payloadBytes)
	p.publishError(command, reason, true)
}

// PublishResult writes r to the durable outbox (fsynced) and returns; the
// outbox loop publishes it at QoS 1 on <base>/results and retained on
// <base>/result, and removes it once the broker acknowledged both. An error
// means r was not stored.
func (p *Publisher) PublishResult(r result.Result) error {
	if r.SessionID == "" {
		return fmt.Errorf("publish: result without session_id")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("publish: encode result %s: %w", r.SessionID, err)
	}
	if base := p.web(); base != "" {
		b = withPageURL(b, SessionPageURL(base, r.SessionID))
	}
	if _, err := p.outbox.Append(b); err != nil {
		return err
	}
	p.kick()
	return nil
}

func (p *Publisher) kick() {
	select {
	case p.wakeOutbox <- struct{}{}:
	default:
	}
}

// outboxLoop sends pending entries oldest first, one at a time, each
// acknowledged before the next, so order holds across reconnects and
// restarts.
func (p *Publisher) outboxLoop(ctx context.Context) {
	retry := time.NewTicker(p.retryInterval)
	defer retry.Stop()
	dirty := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wakeOutbox:
			dirty = true
		case <-retry.C:
		}
		if !dirty || p.conn() == nil {
			continue
		}
		dirty = !p.drain(ctx)
	}
}

// drain sends what is pending; it reports whether the outbox was emptied.
func (p *Publisher) drain(ctx context.Context) bool {
	entries, err := p.outbox.Pending()
	if err != nil {
		p.log.Error("outbox", "err", err)
		return false
	}
	for _, e := range entries {
		if err := p.publishWait(ctx, p.topics.Results, 1, false, e.Payload); err != nil {
			p.log.Warn("result not acknowledged; will retry", "entry", e.Seq, "err", err)
			return false
		}
		if err := p.publishRetainedResult(ctx, e.Payload); err != nil {
			p.log.Warn("retained result not acknowledged; will retry", "entry", e.Seq, "err", err)
			return false
		}
		p.keep(p.topics.Result, e.Payload) // republished on every connect, after a restart too
		if id := sessionOf(e.Payload); id != "" {
			if err := p.acked.add(id); err != nil {
				p.log.Error("outbox", "err", err) // sent again after a restart: a duplicate
			}
		}
		if err := p.outbox.Remove(e.Seq); err != nil {
			p.log.Error("outbox", "err", err)
			return false
		}
		if p.delivered != nil {
			p.delivered(e.Seq)
		}
	}
	p.log.Debug("outbox drained", "entries", len(entries))
	return true
}

// PublishState offers the newest live state; it is sent rate-limited
// (config state_interval, weight_deadband_g). Live state is never queued:
// while disconnected only the newest is kept and sent on reconnect.
func (p *Publisher) PublishState(s State) {
	p.mu.Lock()
	p.newest, p.haveNew = s, true
	p.mu.Unlock()
	select {
	case p.wakeState <- struct{}{}:
	default:
	}
}

func (p *Publisher) stateLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var (
			s    State
			send bool
		)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.wakeState:
			p.mu.Lock()
			if p.haveNew {
				var due time.Time
				send, due = p.limiter.Offer(p.newest, time.Now())
				s, p.haveNew = p.newest, false
				if !due.IsZero() {
					timer.Reset(time.Until(due))
				}
			}
			p.mu.Unlock()
		case <-p.repeatState:
			p.mu.Lock()
			var due time.Time
			send, due = p.limiter.Repeat(time.Now())
			s, _ = p.limiter.Last()
			if !due.IsZero() {
				timer.Reset(time.Until(due))
			}
			p.mu.Unlock()
		case <-timer.C:
			p.mu.Lock()
			s, send = p.limiter.Due(time.Now())
			if due, ok := p.limiter.Pending(); ok {
				timer.Reset(time.Until(due))
			}
			p.mu.Unlock()
		}
		if send {
			if err := p.publishState(ctx, s); err != nil && !errors.Is(err, ErrNotConnected) {
				p.log.Debug("state not sent", "err", err)
			}
		}
	}
}

func (p *Publisher) publishState(ctx context.Context, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("publish: encode state: %w", err)
	}
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return nil
	}
	return p.publishWait(ctx, p.topics.State, 0, true, b)
}

func (p *Publisher) publishRetainedResult(ctx context.Context, payload []byte) error {
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return nil
	}
	return p.publishWait(ctx, p.topics.Result, 1, true, payload)
}

func (p *Publisher) isCleared() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cleared
}

// PublishLabel publishes the label still (raw JPEG) retained on
// <base>/label, and keeps it to republish after a reconnect.
func (p *Publisher) PublishLabel(jpeg []byte) error { return p.publishKept(p.topics.Label, jpeg) }

// publishKept publishes payload retained on topic and keeps it to
// republish on every connect (a broker that lost its retained messages,
// e.g. the embedded one after a restart, gets it back).
func (p *Publisher) publishKept(topic string, payload []byte) error {
	b := append([]byte(nil), payload...)
	p.keep(topic, b)
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return nil
	}
	err := p.publishWait(p.ctx(), topic, 1, true, b)
	if errors.Is(err, ErrNotConnected) {
		return nil // sent on the next connect
	}
	return err
}

// Clear removes the station's retained messages (discovery, state, result,
// label, availability, then with ClearStation whatever else is retained
// under its topics) for decommissioning; Home Assistant then drops the
// device. It waits for a connection until ctx ends. Afterwards the
// publisher disconnects cleanly (no last will) and stays off the broker
// until the process restarts; results wait in the durable outbox.
func (p *Publisher) Clear(ctx context.Context) error {
	if p.isCleared() {
		// Off the broker already: a second clear sweeps on its own
		// connection.
		return ClearStation(ctx, p.cfg, p.stationID)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for p.conn() == nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish: clear: %w", ErrNotConnected)
		case <-tick.C:
		}
	}
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	p.mu.Lock()
	p.cleared = true
	p.kept = nil
	p.mu.Unlock()
	for _, topic := range p.topics.Retained() {
		if err := p.publishWait(ctx, topic, 1, true, nil); err != nil {
			return fmt.Errorf("publish: clear %s: %w", topic, err)
		}
	}
	// Whatever else is retained under the station's topics goes too, over
	// a connection of its own so the sweep's subscription never doubles a
	// command on the station's.
	if err := ClearStation(ctx, p.cfg, p.stationID); err != nil {
		return err
	}
	// Leave the broker cleanly, so the last will ("offline", retained) is
	// never sent: a connection lost later would otherwise retain it again.
	if c := p.conn(); c != nil {
		c.Disconnect(250)
	}
	p.log.Info("cleared retained discovery and state; off the broker until weighd restarts")
	return nil
}

// ClearStation removes a station's retained messages (discovery, state,
// result, label, availability, and whatever else is retained under the
// station's base topic or on its discovery topic) with one connection of
// its own, for decommissioning while weighd is stopped. It connects with
// cfg (TLS and credentials as Publisher) under the client id
// "<client id>-clear", so it does not take over a running station's
// session.
func ClearStation(ctx context.Context, cfg config.MQTT, stationID string) error {
	if stationID == "" || config.SanitizeStationID(stationID) != stationID {
		return fmt.Errorf("%w: station id %q must be non-empty [a-z0-9_-]", ErrConfig, stationID)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	o, err := clientOptions(cfg, clientID(cfg, stationID)+"-clear", time.Second, time.Second)
	if err != nil {
		return err
	}
	o.SetConnectRetry(false)
	o.SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if err := waitToken(ctx, c.Connect(), defaultConnectTimeout); err != nil {
		return fmt.Errorf("publish: clear: connect to %s: %w", redactURL(cfg.Broker), err)
	}
	defer c.Disconnect(250)
	t := NewTopics(stationID, cfg.DiscoveryPrefix)
	for _, topic := range t.Retained() {
		if err := waitToken(ctx, c.Publish(topic, 1, true, []byte{}), defaultAckTimeout); err != nil {
			return fmt.Errorf("publish: clear %s: %w", topic, err)
		}
	}
	_, err = sweepRetained(ctx, c, t)
	return err
}
