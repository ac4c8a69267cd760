package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// multipartCSV is a multipart form with the csv file and, unless csrf is
// "", the csrf field.
func multipartCSV(t *testing.T, csrf, name, csv string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if csrf != "" {
		if err := mw.WriteField("csrf", csrf); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("csv", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(csv))
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// actions are the commands the station got but the pages' reads.
func actions(f *fakeStation) []string {
	var out []string
	for _, c := range f.commands() {
		if c != "parcels " && c != "share_list " {
			out = append(out, c)
		}
	}
	return out
}

// TestStationPagesLoginAndCSRF: the parcels, station and calibration
// pages need the login, and each of their forms the CSRF token (the
// multipart import's included) before anything reaches the station.
func TestStationPagesLoginAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	c := e.client()
	const form = "application/x-www-form-urlencoded"
	posts := []string{"/parcels/add", "/parcels/rm", "/parcels/import", "/station/share-revoke", "/calibrate/zero", "/calibrate/span"}
	for _, p := range append([]string{"/parcels", "/station", "/calibrate", "/calibrate?step=2&mass=100", "/v1/parcels", "/static/station.js"}, posts...) {
		resp, _ := do(t, c, "GET", e.ts.URL+p, "")
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without login: %d", p, resp.StatusCode)
		}
	}
	_, tok := e.login(c, "right password")
	for _, p := range posts {
		for _, bad := range []string{"", "csrf=wrong"} {
			if resp, _ := do(t, c, "POST", e.ts.URL+p, bad+"&tracking=LX123456785CN&mass=100&id=x", "Content-Type", form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %q: %d", p, bad, resp.StatusCode)
			}
		}
		body, ct := multipartCSV(t, "wrong", "p.csv", "tracking\nLX123456785CN\n")
		if resp, _ := do(t, c, "POST", e.ts.URL+p, body, "Content-Type", ct); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s multipart with a wrong token: %d", p, resp.StatusCode)
		}
	}
	if n := e.st.commands(); len(n) != 0 {
		t.Fatalf("commands reached the station without a token: %v", n)
	}
	// With the token each reaches its API command (which this fake
	// station does not know: the page says so).
	want := map[string]string{"/parcels/add": "parcel {", "/parcels/rm": "parcel_rm LX123456785CN", "/station/share-revoke": "share_revoke x",
		"/calibrate/zero": "calibrate_zero ", "/calibrate/span": "calibrate_span 100"}
	for p, cmd := range want {
		v := url.Values{"csrf": {tok}, "tracking": {"LX123456785CN"}, "mass": {"100"}, "id": {"x"}}
		resp, page := do(t, c, "POST", e.ts.URL+p, v.Encode(), "Content-Type", form)
		cmds := actions(e.st)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "unknown command") || len(cmds) == 0 || !strings.HasPrefix(cmds[len(cmds)-1], cmd) {
			t.Errorf("POST %s: %d, commands %v", p, resp.StatusCode, cmds)
		}
	}
	body, ct := multipartCSV(t, tok, `C:\orders\june.csv`, "tracking\nLX123456785CN\n")
	resp, page := do(t, c, "POST", e.ts.URL+"/parcels/import", body, "Content-Type", ct)
	cmds := actions(e.st)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "import-errors") || cmds[len(cmds)-1] != `parcel_import {"name":"june.csv","csv":"tracking\nLX123456785CN\n"}` {
		t.Errorf("import: %d, last command %q", resp.StatusCode, cmds[len(cmds)-1])
	}
	// A file larger than weighd takes is refused by name, before the API.
	body, ct = multipartCSV(t, tok, "big.csv", strings.Repeat("x", maxImportBytes+1))
	n := len(actions(e.st))
	if resp, page := do(t, c, "POST", e.ts.URL+"/parcels/import", body, "Content-Type", ct); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "big.csv is larger than 60 KiB") || len(actions(e.st)) != n {
		t.Errorf("a large CSV: %d", resp.StatusCode)
	}
}
