package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/registry"
	"weighin/internal/result"
)

// regStation answers the sessions command from a real registry, as the
// station does (internal/station/status.go).
type regStation struct{ reg *registry.DB }

func (r regStation) Status(context.Context) (any, error) { return map[string]any{}, nil }
func (r regStation) Command(ctx context.Context, name, _ string, q map[string]string) (any, error) {
	if name != api.CmdSessions {
		return nil, api.ErrUnknownCommand
	}
	f := registry.Filter{Tracking: q["tracking"], Order: q["order"], Verdict: q["verdict"]}
	if v := q["since"]; v != "" {
		f.Since, _ = time.Parse("2006-01-02", v)
	}
	if err := f.Page(q); err != nil {
		return nil, err
	}
	return r.reg.Sessions(ctx, f)
}

// BenchmarkSessionsPage: the sessions page with 10,000 sessions in the
// index: the first page, a search by tracking number, a day; beside the
// JSON API's whole list (what weighctl sessions fetches), the baseline.
func BenchmarkSessionsPage(b *testing.B) {
	state := b.TempDir()
	reg, err := registry.Open(filepath.Join(state, "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	const n = 10000
	rs := make([]result.Result, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rs {
		tr := fmt.Sprintf("YT%010dCN", i)
		rs[i] = result.Result{Schema: 1, Seq: int64(i + 1), SessionID: fmt.Sprintf("%06d-%s-%s", i+1, t0.Add(time.Duration(i)*time.Hour).Format("20060102T150405Z"), tr),
			StartedAt: t0.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), Tracking: tr, OrderRef: fmt.Sprint(100000 + i), Verdict: result.Verdicts[i%4]}
	}
	if _, err := reg.Rebuild(context.Background(), registry.Results(rs)); err != nil {
		b.Fatal(err)
	}
	if err := SetPassword(state, "bench password"); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Config: config.Web{Listen: "127.0.0.1:0"}, StateDir: state, Station: regStation{reg}})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := srv.sess.create(true, string(must(srv.pw.current())), time.Now())
	h := srv.Handler()
	for _, c := range []struct{ name, path string }{
		{"page1", "/sessions"},
		{"page100", "/sessions?page=100"},
		{"tracking", "/sessions?tracking=YT0000004242CN"},
		{"date", "/sessions?date=2026-06-01"},
		{"baseline-api-all-json", "/v1/sessions"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", c.path, nil)
				req.AddCookie(&http.Cookie{Name: cookieName, Value: tok})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", c.path, w.Code)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
