package station

import (
	"sync/atomic"

	"weighin/internal/publish"
	"weighin/internal/result"
)

// automationPublisher takes what Home Assistant automations start from
// (issue 23): the event entity's events, the button's presses for the
// device triggers, and label barcodes for the tag scanner.
type automationPublisher interface {
	PublishEvent(publish.Event)
	PublishPress(kind string)
	PublishTag(code string)
}

// automation holds the publisher once MQTT is up (the off-site replicator
// reports verified copies from its own goroutine, before that); before,
// and in tests without MQTT, nothing is sent.
type automation struct{ v atomic.Value }

func (a *automation) set(p automationPublisher) { a.v.Store(&p) }

func (a *automation) pub() automationPublisher {
	if p, _ := a.v.Load().(*automationPublisher); p != nil {
		return *p
	}
	return nil
}

func (a *automation) event(e publish.Event) {
	if p := a.pub(); p != nil {
		p.PublishEvent(e)
	}
}

func (a *automation) press(kind string) {
	if p := a.pub(); p != nil {
		p.PublishPress(kind)
	}
}

// sealed sends a sealed session's events, and its tracking number to the
// tag scanner when the number was decoded from the label's barcode.
func (a *automation) sealed(r result.Result) {
	p := a.pub()
	if p == nil {
		return
	}
	for _, e := range publish.SealEvents(r) {
		p.PublishEvent(e)
	}
	if r.LabelRead == result.LabelReadBarcode && r.Tracking != "" {
		p.PublishTag(r.Tracking)
	}
}
