package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/registry"
	"weighin/internal/result"
)

// TestSessionsList: pages of 50, newest first, and the searches by
// tracking, order, verdict and date, over a real registry.
func TestSessionsList(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	reg, err := registry.Open(filepath.Join(state, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var rs []result.Result
	for i := range 120 {
		at := t0.Add(time.Duration(i) * 8 * time.Hour) // 3 a day
		rs = append(rs, result.Result{Schema: 1, Seq: int64(i + 1), SessionID: fmt.Sprintf("%06d-%s", i+1, at.Format("20060102T150405Z")),
			StartedAt: at.Format(time.RFC3339), Tracking: fmt.Sprintf("LX%09dCN", i), OrderRef: fmt.Sprint(5000 + i), Verdict: result.Verdicts[i%3]})
	}
	if _, err := reg.Rebuild(context.Background(), registry.Results(rs)); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Config: config.Web{Listen: "127.0.0.1:0"}, StateDir: state, Station: regStation{reg}})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	rowRE := regexp.MustCompile(`<span class="id">([^<]+)</span>`)
	list := func(q string) ([]string, string) {
		t.Helper()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/sessions"+q, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", q, w.Code)
		}
		var ids []string
		for _, m := range rowRE.FindAllStringSubmatch(w.Body.String(), -1) {
			ids = append(ids, m[1])
		}
		return ids, w.Body.String()
	}
	ids, body := list("")
	if len(ids) != 50 || ids[0] != rs[119].SessionID || ids[49] != rs[70].SessionID || !regexp.MustCompile(`id="next"`).MatchString(body) {
		t.Errorf("page 1: %d rows, %v … %v", len(ids), first(ids), last(ids))
	}
	ids, body = list("?page=3")
	if len(ids) != 20 || ids[19] != rs[0].SessionID || regexp.MustCompile(`id="next"`).MatchString(body) || !regexp.MustCompile(`id="prev"`).MatchString(body) {
		t.Errorf("page 3: %d rows", len(ids))
	}
	if ids, _ = list("?tracking=lx000000042cn"); len(ids) != 1 || ids[0] != rs[42].SessionID {
		t.Errorf("tracking (lower case): %v", ids)
	}
	if ids, _ = list("?order=5007"); len(ids) != 1 || ids[0] != rs[7].SessionID {
		t.Errorf("order: %v", ids)
	}
	if ids, _ = list("?verdict=" + result.Verdicts[1] + "&date=2026-05-02"); len(ids) != 1 || ids[0] != rs[4].SessionID {
		t.Errorf("verdict and date: %v", ids)
	}
	if ids, _ = list("?date=2026-05-02"); len(ids) != 3 {
		t.Errorf("date: %v", ids)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/sessions?date=May", nil))
	if w.Code != http.StatusBadRequest {
		t.Errorf("bad date: %d", w.Code)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
