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

// The web app's commands (internal/web serves them; weighctl web passwd
// and weighctl share use them while weighd runs, and write the files under
// <state>/web themselves only while it is stopped).
const (
	// CmdWebPasswd sets the web app's password (value: the password). The
	// unix socket only: the web door refuses it.
	CmdWebPasswd = "web_passwd"
	// CmdShare makes a share link to a session (value: the session id;
	// query ttl: 7d, 36h, 90m) and answers a ShareInfo.
	CmdShare = "share"
	// CmdShareList lists the share links ([]ShareInfo, oldest first).
	CmdShareList = "share_list"
	// CmdShareRevoke ends the share link whose id is value, at once.
	CmdShareRevoke = "share_revoke"
)

// ShareInfo is one share link.
type ShareInfo struct {
	ID        string `json:"id"`
	Session   string `json:"session"`
	State     string `json:"state"` // active, expired, revoked
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
	// URL is the link in full, with the web app's base URL.
	URL string `json:"url"`
}
