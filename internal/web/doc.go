// Package web is the station's web app: the sessions, a session's player
// with the weight plot, its claim, downloads, outcome form and share links,
// for a phone on the home LAN. Pages and assets are embedded (html/template,
// one plain JS file, one CSS file; no build step).
//
// # One API, two doors
//
// The JSON endpoints under /v1/ are api.NewMux over the station's
// api.Handler — the handlers the unix socket serves to weighctl — behind the
// login and the CSRF check. The sessions page reads the index through the
// same Handler (its "sessions" command); the outcome form posts to
// /v1/cmd/outcome, the command that writes the signed outcome addendum.
//
// The session page makes a missing MP4 on demand through the same API: it
// posts the export command (weighd's export queue, which waits while a
// recording runs) and polls /v1/status for its progress, then reloads to
// play it. The web app's own commands — web_passwd (socket only, refused on
// the web door), share, share_list, share_revoke (commands.go) — are how
// weighctl web passwd and weighctl share work while weighd runs; with
// weighd stopped they write <state>/web/ themselves (ShareOps,
// SetPassword). Server.URL is the base URL for Home Assistant's
// configuration_url and the results' page_url, "" whenever the app is not
// serving.
//
// The parcels, station and calibration pages (station.go) are plain HTML
// forms that the web app carries out through the station's API commands,
// the ones weighctl uses while weighd runs: parcel, parcel_rm and
// parcel_import (the CSV from a multipart form; its line-numbered errors
// shown on the page), parcels (the list with arrivals), share_list and
// share_revoke, calibrate_zero and calibrate_span with package calib's
// guided steps. The station page shows internal/doctor's checks, which
// weighd runs for it (Options.Doctor), and the status's storage, clock,
// key fingerprint, chain head and version.
//
// # Security
//
//   - Off unless web.listen is set. A non-loopback listen serves nothing
//     until a password exists (<state>/web/password, a bcrypt hash written by
//     weighctl web passwd, re-read when it changes: a new password ends every
//     login at once). Run checks every second and starts or stops listening.
//   - Once a password exists every path needs a login, loopback included:
//     401 for /v1/ and *.json, a redirect to /login for the rest. Only
//     /login and /s/TOKEN/… (share links) answer without one.
//   - Login sessions are random tokens in an HttpOnly, SameSite=Strict
//     cookie (Secure under TLS), kept in memory for 7 days.
//   - Every state-changing request (anything but GET/HEAD, the login form
//     and logout included) needs the session's CSRF token (X-CSRF-Token or a
//     csrf field of an urlencoded or multipart form): 403 without it.
//   - Logins are limited: 5 wrong passwords from an address lock it out for
//     5 minutes (429); 50 from anywhere in 15 minutes lock everyone out.
//   - Files are served only from a bundle's top level, through os.Root on
//     <state>/sessions: no "..", no absolute path, no symlink (404).
//   - Share links (share.go) are HMAC-signed, expiring, revocable,
//     read-only capabilities for one session's page, MP4 exports, stills,
//     sheet and pack, carried in the URL path (/s/TOKEN/…) of every resource
//     they grant, never in a cookie; everything else answers 403.
//   - Pages carry a strict Content-Security-Policy (no inline script) and
//     Referrer-Policy no-referrer, so a share token never leaks in a Referer.
//
// Optional TLS: web.tls_cert/web.tls_key, or web.tls_self_signed (an ECDSA
// certificate made on first start under <state>/web; its fingerprint is in
// the status and doctor).
//
// Written here rather than taken from a library: the login-failure counter
// (its rule is a count of failures, not a request rate) and the session
// table (a few lines over a map); bcrypt comes from golang.org/x/crypto, QR
// codes from github.com/skip2/go-qrcode, Range requests from
// net/http.ServeContent.
package web
