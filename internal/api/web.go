package api

// WebStatus is the web app's state in the status (internal/web fills it).
type WebStatus struct {
	// State is off (web.listen empty), disabled (Reason says why: a
	// non-loopback listen without a password, a port in use, a bad
	// certificate) or on.
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Listen      string `json:"listen,omitempty"`
	URL         string `json:"url,omitempty"`
	TLS         bool   `json:"tls"`
	PasswordSet bool   `json:"password_set"`
	// Fingerprint is the SHA-256 of the served certificate under TLS.
	Fingerprint string `json:"tls_fingerprint,omitempty"`
}
