package web

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/config"
)

// TestSelfSignedTLS: the certificate is made on the first start, served,
// kept across starts, and its fingerprint is the status's and doctor's;
// the cookie is Secure under TLS.
func TestSelfSignedTLS(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c := config.Web{Listen: addr, TLSSelfSigned: true}
	if s, _, d, _ := Doctor(c, state, false, api.WebStatus{}); s != "ok" || !strings.Contains(d, "next start") {
		t.Errorf("doctor before the first start: %s %s", s, d)
	}
	srv, err := New(Options{Config: c, StateDir: state, Station: &fakeStation{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Status().State != "on" {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", srv.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fp, err := SelfSignedFingerprint(state)
	if err != nil || fp == "" || srv.Status().Fingerprint != fp {
		t.Fatalf("fingerprint %q (%v), status %q", fp, err, srv.Status().Fingerprint)
	}
	var seen string
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		seen = Fingerprint(cs.PeerCertificates[0].Raw)
		return nil
	}}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get("https://" + addr + "/sessions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen != fp {
		t.Errorf("served certificate %s, file %s", seen, fp)
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("cookie under TLS: %q", sc)
	}
	if s, _, d, _ := Doctor(c, state, true, srv.Status()); s != "ok" || !strings.Contains(d, fp) {
		t.Errorf("doctor: %s %s", s, d)
	}
	// Kept: a second server serves the same certificate.
	if _, fp2, err := loadOrMakeCert(c, state); err != nil || fp2 != fp {
		t.Errorf("second start: %s %v", fp2, err)
	}
}

func TestDoctor(t *testing.T) {
	state := t.TempDir()
	for _, tc := range []struct {
		c      config.Web
		pw     bool
		st     api.WebStatus
		status string
		has    string
	}{
		{config.Web{}, false, api.WebStatus{}, "ok", "off"},
		{config.Web{Listen: ":8080"}, false, api.WebStatus{State: "disabled", Reason: ReasonNoPassword}, "WARN", "no web password"},
		{config.Web{Listen: "127.0.0.1:8080"}, false, api.WebStatus{State: "on"}, "ok", "loopback only"},
		{config.Web{Listen: ":8080"}, true, api.WebStatus{State: "on"}, "ok", "login required"},
		{config.Web{Listen: ":8080"}, true, api.WebStatus{State: "disabled", Reason: "web.listen :8080: address in use"}, "WARN", "address in use"},
	} {
		if tc.pw {
			if err := SetPassword(state, "doctor password"); err != nil {
				t.Fatal(err)
			}
		}
		s, _, d, _ := Doctor(tc.c, state, true, tc.st)
		if s != tc.status || !strings.Contains(d, tc.has) {
			t.Errorf("%+v: %s %q", tc.c, s, d)
		}
	}
	if got := BaseURL(config.Web{Listen: ":8443", TLSSelfSigned: true}, "station"); got != "https://station:8443" {
		t.Errorf("BaseURL: %s", got)
	}
	if got := BaseURL(config.Web{Listen: "127.0.0.1:80", URL: "http://w.lan/"}, "x"); got != "http://w.lan" {
		t.Errorf("BaseURL with url: %s", got)
	}
}
