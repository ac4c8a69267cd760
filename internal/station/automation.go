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

// sealed sends a sealed session's events (with its share link, "" while
// the web app is off), and its tracking number to the tag scanner when
// the number was decoded from the label's barcode.
func (a *automation) sealed(r result.Result, shareURL string) {
	p := a.pub()
	if p == nil {
		return
	}
	for _, e := range publish.SealEvents(r) {
		e.ShareURL = shareURL
		p.PublishEvent(e)
	}
	if r.LabelRead == result.LabelReadBarcode && r.Tracking != "" {
		p.PublishTag(r.Tracking)
	}
}

// shareURL is the share link Home Assistant gets for a sealed session
// (web.Server.SessionShare), "" while the web app is off or on failure.
func (s *Station) shareURL(session string) string {
	if s.web == nil || session == "" {
		return ""
	}
	u, err := s.web.SessionShare(session)
	if err != nil {
		s.log.Warn("share link for Home Assistant", "session", session, "err", err)
		return ""
	}
	return u
}

// fileURL is a file of a session through its share link (what the image
// entities fetch), "" while the web app is off.
func (s *Station) fileURL(session, name string) string { return shareFile(s.shareURL(session), name) }

// shareFile is the file name of a share link's session, "" without a link.
func shareFile(share, name string) string {
	if share == "" {
		return ""
	}
	return share + "f/" + name
}
