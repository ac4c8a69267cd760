package publish

import (
	"encoding/json"
	"net/url"
	"strings"
)

// WithWebURL gives the web app's base URL (internal/web) as a function
// asked each time it is needed: discovery's device configuration_url opens
// its sessions page, and every result on <base>/result and <base>/results
// carries page_url, its session's page. "" (the web app off, or disabled
// for want of a password) adds neither; Reannounce republishes discovery
// when the answer changes.
func WithWebURL(base func() string) Option {
	return func(p *Publisher) { p.webURL = base }
}

// web is the web app's base URL now, "" while it is off.
func (p *Publisher) web() string {
	if p.webURL == nil {
		return ""
	}
	return strings.TrimRight(p.webURL(), "/")
}

// Reannounce republishes the discovery document (retained) when connected,
// in the background: the web app went on or off, so configuration_url
// changed. Not connected, the next connection announces anyway.
func (p *Publisher) Reannounce() {
	if !p.Connected() {
		return
	}
	go func() {
		if err := p.announce(p.ctx()); err != nil {
			p.log.Warn("republish discovery", "err", err)
		}
	}()
}

// SessionPageURL is a session's page in the web app at base.
func SessionPageURL(base, sessionID string) string {
	return base + "/sessions/" + url.PathEscape(sessionID) + "/"
}

// WithConfigurationURL sets the device's configuration_url ("cu").
func (d DiscoveryPayload) WithConfigurationURL(u string) DiscoveryPayload {
	if u == "" {
		return d
	}
	dev := make(map[string]any, len(d.Device)+1)
	for k, v := range d.Device {
		dev[k] = v
	}
	dev["cu"] = u
	d.Device = dev
	return d
}

// withPageURL adds "page_url" to a result's JSON object.
func withPageURL(result []byte, pageURL string) []byte {
	if pageURL == "" || len(result) < 2 || result[len(result)-1] != '}' {
		return result
	}
	v, _ := json.Marshal(pageURL)
	out := append([]byte(nil), result[:len(result)-1]...)
	if len(result) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"page_url":`...)
	out = append(out, v...)
	return append(out, '}')
}
