package publish

import (
	"encoding/json"
	"time"

	"weighin/internal/result"
)

// The event types of the station's Home Assistant event entity
// ("Station event", <base>/event, issue 23), in the order a session meets
// them: recording started, the bundle sealed, a discrepancy found (with
// the seal, when the verdict is not a match), the dispute pack made, the
// off-site copy verified.
const (
	EventSessionStarted  = "session_started"
	EventSealed          = "sealed"
	EventDiscrepancy     = "discrepancy"
	EventExportReady     = "export_ready"
	EventOffsiteVerified = "offsite_verified"
)

// EventTypes lists them, as discovery's event_types.
var EventTypes = []string{EventSessionStarted, EventSealed, EventDiscrepancy, EventExportReady, EventOffsiteVerified}

// Event is one message on <base>/event: Home Assistant's event entity
// takes event_type as the event and every other key as its attributes.
type Event struct {
	Type      string `json:"event_type"`
	SessionID string `json:"session_id"`
	// Verdict and Tier come with sealed and discrepancy.
	Verdict string `json:"verdict,omitempty"`
	Tier    *int   `json:"tier,omitempty"`
	// PageURL is the session's page in the web app while it serves.
	PageURL string `json:"page_url,omitempty"`
	At      string `json:"at"`
}

// SealEvents are the events of a sealed session: sealed, then discrepancy
// when its verdict says the parcel does not match its label.
func SealEvents(r result.Result) []Event {
	tier := r.Tier
	ev := []Event{{Type: EventSealed, SessionID: r.SessionID, Verdict: r.Verdict, Tier: &tier}}
	if Discrepant(r.Verdict) {
		ev = append(ev, Event{Type: EventDiscrepancy, SessionID: r.SessionID, Verdict: r.Verdict, Tier: &tier})
	}
	return ev
}

// Discrepant says whether a verdict is a weight discrepancy: every
// verdict but a match and a missing label weight (the binary sensor
// "Weight discrepancy" and the discrepancy event agree).
func Discrepant(verdict string) bool {
	return verdict != result.VerdictMatch && verdict != result.VerdictNoLabelWeight
}

// PublishEvent publishes e on <base>/event, QoS 1, not retained (Home
// Assistant ignores a retained event), with page_url and the time added.
// Like PublishJournal it does not wait, and an event while disconnected
// is not sent: the result on <base>/results is the durable record.
func (p *Publisher) PublishEvent(e Event) {
	if base := p.web(); base != "" && e.SessionID != "" && e.PageURL == "" {
		e.PageURL = SessionPageURL(base, e.SessionID)
	}
	if e.At == "" {
		e.At = time.Now().UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(e)
	if c := p.conn(); c != nil && !p.isCleared() {
		c.Publish(p.topics.Event, 1, false, b)
	}
}

// PublishPress publishes a press of the hardware (or simulated) button on
// <base>/button: "short", "long" or "double", QoS 1, not retained — the
// payloads of the three device triggers. Not sent while disconnected.
func (p *Publisher) PublishPress(kind string) {
	if c := p.conn(); c != nil && !p.isCleared() {
		c.Publish(p.topics.Button, 1, false, []byte(kind))
	}
}

// PublishTag publishes a tracking number read from a label's barcode on
// <base>/tag for Home Assistant's tag scanner, when mqtt.tag_scanner is
// on. Not retained (a retained code would be scanned again at every
// Home Assistant restart); not sent while disconnected.
func (p *Publisher) PublishTag(code string) {
	if !p.cfg.TagScanner || code == "" {
		return
	}
	if c := p.conn(); c != nil && !p.isCleared() {
		c.Publish(p.topics.Tag, 1, false, []byte(code))
	}
}
