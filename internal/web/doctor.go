package web

import (
	"weighin/internal/api"
	"weighin/internal/config"
)

// Doctor is weighctl doctor's web check: status (ok, WARN or FAIL), name,
// detail and the fix. running says whether weighd answered; st is its
// status's web part then.
func Doctor(c config.Web, stateDir string, running bool, st api.WebStatus) (status, name, detail, fix string) {
	name = "web"
	if c.Listen == "" {
		return "ok", name, "off (web.listen is empty)", "for the phone app: set web.listen (e.g. \":8080\") and run weighctl web passwd"
	}
	pw := HasPassword(stateDir)
	tls := ""
	switch {
	case c.TLSSelfSigned:
		fp := st.Fingerprint
		if fp == "" {
			fp, _ = SelfSignedFingerprint(stateDir)
		}
		if fp == "" {
			fp = "made at weighd's next start"
		}
		tls = ", TLS self-signed, certificate SHA-256 " + fp
	case c.TLSCert != "":
		tls = ", TLS " + c.TLSCert
		if st.Fingerprint != "" {
			tls += " (SHA-256 " + st.Fingerprint + ")"
		}
	}
	if !Loopback(c.Listen) && !pw {
		return "WARN", name, "web.listen " + c.Listen + " is not a loopback address and no web password is set: the web app is off", "sudo weighctl web passwd"
	}
	if running && st.State == "disabled" {
		return "WARN", name, st.Reason, "journalctl -u weighd"
	}
	login := "login required"
	if !pw {
		login = "no password (loopback only): open to anyone on this machine"
	}
	state := "configured"
	if running {
		state = st.State
	}
	return "ok", name, state + " at " + BaseURL(c, hostName()) + ", " + login + tls, ""
}
