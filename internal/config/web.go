package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
)

// Web configures the station's web app (internal/web). It is off unless
// Listen is set: the shipped configuration opens nothing.
type Web struct {
	// Listen is host:port, such as "127.0.0.1:8080" or ":8443". Empty: off.
	// A non-loopback address serves nothing until a password is set
	// (weighctl web passwd).
	Listen string `yaml:"listen"`
	// URL is the external base URL put in links (share links, Home
	// Assistant), such as "https://weighin.lan:8443". Empty: derived from
	// Listen and the host name.
	URL string `yaml:"url"`
	// TLSCert and TLSKey are PEM files (absolute paths) to serve HTTPS with.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSSelfSigned serves HTTPS with a certificate the station generates on
	// its first start (kept under the state directory); doctor prints its
	// fingerprint.
	TLSSelfSigned bool `yaml:"tls_self_signed"`
}

func defaultWeb() Web { return Web{} }

// TLS reports whether the web app serves HTTPS.
func (w Web) TLS() bool { return w.TLSCert != "" || w.TLSSelfSigned }

func (w Web) validate(p *problems) {
	if w.Listen != "" {
		host, port, err := net.SplitHostPort(w.Listen)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil:
			p.add("web.listen", "must be host:port such as 127.0.0.1:8080, got %q", w.Listen)
		case perr != nil || n < 1 || n > 65535:
			p.add("web.listen", "port must be 1–65535, got %q", port)
		case host != "" && net.ParseIP(host) == nil && !validHostName(host):
			p.add("web.listen", "host %q is neither an IP address nor a host name", host)
		}
	}
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			p.add("web.url", "must be an http:// or https:// URL with a host, got %q", w.URL)
		case u.User != nil:
			p.add("web.url", "must not carry credentials")
		case u.RawQuery != "" || u.Fragment != "":
			p.add("web.url", "must be a base URL without query or fragment, got %q", w.URL)
		}
	}
	if (w.TLSCert == "") != (w.TLSKey == "") {
		p.add("web.tls_cert", "web.tls_cert and web.tls_key go together (one is empty)")
	}
	for key, f := range map[string]string{"web.tls_cert": w.TLSCert, "web.tls_key": w.TLSKey} {
		if f != "" && !filepath.IsAbs(f) {
			p.add(key, "must be an absolute path, got %q", f)
		}
	}
	if w.TLSSelfSigned && w.TLSCert != "" {
		p.add("web.tls_self_signed", "cannot be true together with web.tls_cert/web.tls_key (choose one)")
	}
}

func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return h != ""
}
