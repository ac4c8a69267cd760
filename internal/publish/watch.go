package publish

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"weighin/internal/config"
)

// Message is one MQTT message a Watcher (or the retained sweep) saw.
type Message struct {
	Topic    string
	Retained bool
	Payload  []byte
}

// collector is the one subscriber of this package: it subscribes to
// filters on a client and keeps every message, signalling each arrival.
type collector struct {
	mu     sync.Mutex
	msgs   []Message
	notify chan struct{}
}

func collect(ctx context.Context, c mqtt.Client, filters []string) (*collector, error) {
	col := &collector{notify: make(chan struct{}, 1)}
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	onMsg := func(_ mqtt.Client, m mqtt.Message) {
		col.mu.Lock()
		col.msgs = append(col.msgs, Message{Topic: m.Topic(), Retained: m.Retained(), Payload: bytes.Clone(m.Payload())})
		col.mu.Unlock()
		select {
		case col.notify <- struct{}{}:
		default:
		}
	}
	if err := waitToken(ctx, c.SubscribeMultiple(subs, onMsg), defaultAckTimeout); err != nil {
		return nil, fmt.Errorf("publish: subscribe %v: %w", filters, err)
	}
	return col, nil
}

func (col *collector) messages() []Message {
	col.mu.Lock()
	defer col.mu.Unlock()
	return slices.Clone(col.msgs)
}

// wait returns when a message matches (nil: never), when none came for
// quiet, after limit, or when ctx ends (its error).
func (col *collector) wait(ctx context.Context, match func(Message) bool, quiet, limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		if match != nil && slices.ContainsFunc(col.messages(), match) {
			return nil
		}
		q := time.NewTimer(quiet)
		select {
		case <-col.notify:
			q.Stop()
		case <-q.C:
			return nil
		case <-deadline.C:
			q.Stop()
			return nil
		case <-ctx.Done():
			q.Stop()
			return ctx.Err()
		}
	}
}

// Watcher sees the broker as Home Assistant does: a client of its own
// (cfg's credentials and TLS) subscribed to filters, keeping every
// message. weighctl demo shows what it saw.
type Watcher struct {
	c   mqtt.Client
	col *collector
}

// Watch connects with clientID (retrying for up to connectFor, as a broker
// that has just started may not listen yet) and subscribes to filters.
func Watch(ctx context.Context, cfg config.MQTT, clientID string, filters []string, connectFor time.Duration) (*Watcher, error) {
	o, err := clientOptions(cfg, clientID, 200*time.Millisecond, time.Second)
	if err != nil {
		return nil, err
	}
	o.SetAutoReconnect(false)
	o.SetConnectRetry(true)
	c := mqtt.NewClient(o)
	if err := waitToken(ctx, c.Connect(), connectFor); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("publish: watch: connect to %s: %w", redactURL(cfg.Broker), err)
	}
	col, err := collect(ctx, c, filters)
	if err != nil {
		c.Disconnect(100)
		return nil, err
	}
	return &Watcher{c: c, col: col}, nil
}

// Messages returns every message seen so far, in arrival order.
func (w *Watcher) Messages() []Message { return w.col.messages() }

// Wait returns when a message matches (nil: never), when none came for
// quiet, or after limit.
func (w *Watcher) Wait(ctx context.Context, match func(Message) bool, quiet, limit time.Duration) error {
	return w.col.wait(ctx, match, quiet, limit)
}

// Close disconnects.
func (w *Watcher) Close() { w.c.Disconnect(100) }
