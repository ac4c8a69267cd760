package publish

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/fsync"
)

// Entries is the buyer's entries, published retained on <base>/entries on
// every change and on every connect (issue 14): the one state every entry
// entity of the discovery reads. Values are in the form the entities show:
// issue_type as the select's option label (IssueTypes), solution
// "default" for the tier's remedy, tier "auto" for the computed one.
type Entries struct {
	LabelG            *float64 `json:"label_g"`
	OrderRef          string   `json:"order_ref"`
	Tracking          string   `json:"tracking"`
	ExteriorCondition string   `json:"exterior_condition"`
	IssueType         string   `json:"issue_type"`
	Solution          string   `json:"solution"`
	Tier              string   `json:"tier"`
	Damage            string   `json:"damage"`
	// DamageLang is the language the damage text was written in ("en",
	// "zh"; "" without one), as the claim notes it.
	DamageLang string `json:"damage_lang"`
	// SessionID is the running session the entries belong to; "" outside
	// one (the entries are for the next parcel).
	SessionID string `json:"session_id"`
}

// PublishEntries publishes e retained on <base>/entries and keeps it to
// republish on every connect; while disconnected it goes out on the next
// connect.
func (p *Publisher) PublishEntries(e Entries) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return p.publishKept(p.topics.Entries, b)
}

// Files under the outbox directory holding the retained documents that
// must survive a restart of weighd, for a broker that lost its retained
// messages (the embedded one without persistence).
const (
	lastResultName = "last_result.json"
	lastLabelName  = "last_label.jpg"
)

// persisted maps the kept topics that survive a restart to their file.
func (p *Publisher) persisted(topic string) string {
	switch topic {
	case p.topics.Result:
		return lastResultName
	case p.topics.Label:
		return lastLabelName
	}
	return ""
}

// keep records payload as the retained document of topic, republished on
// every connect, and writes it durably when it must survive a restart.
func (p *Publisher) keep(topic string, payload []byte) {
	b := append([]byte(nil), payload...)
	p.mu.Lock()
	if p.kept == nil {
		p.kept = map[string][]byte{}
	}
	p.kept[topic] = b
	p.mu.Unlock()
	if name := p.persisted(topic); name != "" {
		if err := fsync.WriteFile(p.outbox.Dir(), name, b, 0o600); err != nil {
			p.log.Warn("keep retained document for a restart", "topic", topic, "err", err)
		}
	}
}

// loadKept reads the documents a previous run kept (New calls it). The
// error starts cleared: a refusal of an earlier run, still retained on the
// broker, is replaced at the first connect.
func (p *Publisher) loadKept() {
	p.errorDoc, _ = json.Marshal(commandError{At: time.Now().UTC().Format(time.RFC3339Nano)})
	for _, topic := range []string{p.topics.Result, p.topics.Label} {
		b, err := os.ReadFile(filepath.Join(p.outbox.Dir(), p.persisted(topic)))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				p.log.Warn("retained document of the last run", "topic", topic, "err", err)
			}
			continue
		}
		if len(b) == 0 {
			continue
		}
		if p.kept == nil {
			p.kept = map[string][]byte{}
		}
		p.kept[topic] = b
	}
}

// publishError publishes a refusal or a fault retained on <base>/error:
// the dashboard shows the last one until the next accepted command
// clears it (Accepted).
func (p *Publisher) publishError(command, reason string, wait bool) {
	b, _ := json.Marshal(commandError{Command: command, Reason: reason, At: time.Now().UTC().Format(time.RFC3339Nano)})
	p.mu.Lock()
	p.errorShown, p.errorDoc = reason != "", b // republished on every connect
	p.mu.Unlock()
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return
	}
	if !wait {
		if c := p.conn(); c != nil {
			c.Publish(p.topics.Error, 1, true, b)
		}
		return
	}
	if err := p.publishWait(p.ctx(), p.topics.Error, 1, true, b); err != nil && !errors.Is(err, ErrNotConnected) {
		p.log.Warn("publish command error", "err", err)
	}
}

// Accepted notes that a command was accepted (over MQTT, or the local API
// through the daemon): a refusal shown on <base>/error is cleared with a
// message of an empty reason.
func (p *Publisher) Accepted(command string) {
	p.mu.Lock()
	shown := p.errorShown
	p.mu.Unlock()
	if shown {
		p.publishError(command, "", true)
	}
}

// LastRefusal is the refusal or fault <base>/error shows now, as
// "command: reason", or "" once an accepted command cleared it (the
// status's last_refusal, for the web app's live page).
func (p *Publisher) LastRefusal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.errorShown {
		return ""
	}
	var e commandError
	if json.Unmarshal(p.errorDoc, &e) != nil || e.Reason == "" {
		return ""
	}
	if e.Command == "" {
		return e.Reason
	}
	return e.Command + ": " + e.Reason
}

// republishError publishes the current <base>/error document after a
// connect, before the command subscription (onConnect): a refusal of a
// command the subscription hands over then comes after it, never
// overwritten by an older one.
func (p *Publisher) republishError(ctx context.Context) {
	p.mu.Lock()
	b := p.errorDoc
	p.mu.Unlock()
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return
	}
	if err := p.publishWait(ctx, p.topics.Error, 1, true, b); err != nil {
		p.log.Warn("republish error", "err", err)
	}
}
