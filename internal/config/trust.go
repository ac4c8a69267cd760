package config

import (
	"net/url"
	"path/filepath"
	"strings"
)

// Trust configures the RFC 3161 timestamp authorities (TSAs) that give every
// sealed bundle, and every later addendum, a time nobody has to take the
// station's word for. The default contacts nothing: TSAURLs is empty.
type Trust struct {
	// TSAURLs are the timestamp authorities, tried in order for every
	// token until one answers (http or https; a token is signed, so plain
	// http is fine, and only a SHA-256 leaves the station). Empty turns
	// timestamping off.
	TSAURLs []string `yaml:"tsa_urls"`
	// TSACAFile is a PEM file of extra trusted roots (or intermediates) for
	// a TSA whose root weighin does not ship, such as a private TSA. Empty
	// means only the shipped roots.
	TSACAFile string `yaml:"tsa_ca_file"`
}

// maxTSAs bounds trust.tsa_urls: every one is tried for every token.
const maxTSAs = 8

func defaultTrust() Trust { return Trust{TSAURLs: []string{}, TSACAFile: ""} }

func (t Trust) validate(p *problems) {
	if len(t.TSAURLs) > maxTSAs {
		p.add("trust.tsa_urls", "at most %d timestamp authorities, got %d", maxTSAs, len(t.TSAURLs))
	}
	seen := map[string]bool{}
	const key = "trust.tsa_urls"
	for i, raw := range t.TSAURLs {
		n := i + 1
		u, err := url.Parse(raw)
		switch {
		case raw == "":
			p.add(key, "entry %d is empty", n)
		case err != nil:
			p.add(key, "entry %d is not a URL: %v", n, strings.TrimPrefix(err.Error(), "parse "))
		case u.Scheme != "http" && u.Scheme != "https":
			p.add(key, "entry %d %q: scheme must be http or https", n, raw)
		case u.Host == "":
			p.add(key, "entry %d %q has no host", n, raw)
		case u.User != nil:
			p.add(key, "entry %d must not carry credentials (they would appear in logs and on the status)", n)
		case u.Fragment != "":
			p.add(key, "entry %d %q has a fragment, which is never sent to the server", n, raw)
		case seen[raw]:
			p.add(key, "entry %d %q is listed twice", n, raw)
		}
		seen[raw] = true
	}
	if t.TSACAFile != "" && !filepath.IsAbs(t.TSACAFile) {
		p.add("trust.tsa_ca_file", "must be an absolute path, got %q", t.TSACAFile)
	}
}
