package publish

import "errors"

// PublishExport publishes the dispute pack's state (a JSON document:
// session_id, state, progress, files) retained on <base>/export. Not
// queued: the latest is kept and republished on every connect, so a change
// made while disconnected arrives as the current state.
func (p *Publisher) PublishExport(doc []byte) error { return p.publishKept(p.topics.Export, doc) }

// PublishStill publishes a still of a pack (raw JPEG) retained on
// <base>/still.
func (p *Publisher) PublishStill(jpeg []byte) error { return p.PublishImage(ImageStill, jpeg, "") }

func (p *Publisher) publishRetained(topic string, payload []byte) error {
	p.retainMu.Lock()
	defer p.retainMu.Unlock()
	if p.isCleared() {
		return nil
	}
	err := p.publishWait(p.ctx(), topic, 1, true, payload)
	if errors.Is(err, ErrNotConnected) {
		return nil
	}
	return err
}
