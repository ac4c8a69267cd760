package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/result"
)

// TestOffloadedSessionPage: a bundle offloaded by retention
// (offsite.delete_local_after_verified) has its page say "Offloaded —
// verify from the store" instead of offering files that are gone.
func TestOffloadedSessionPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	st, err := evidence.Open(e.state, slog.New(slog.NewTextHandler(io.Discard, nil)),
		evidence.Options{Retention: evidence.Retention{Offloadable: func(string) bool { return true }}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Begin(time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), true, "YT2")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("weight.csv")
	os.WriteFile(p, []byte("t_ms,raw,grams,stable\n0,0,0.00,1\n"), 0o640)
	r, err := s.Seal(result.Result{Verdict: result.VerdictMatch, Tracking: "YT2", StopReason: result.StopButton})
	if err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		resp, body := do(t, e.client(), "GET", e.ts.URL+"/sessions/"+r.SessionID+"/", "")
		if resp.StatusCode != 200 {
			t.Fatalf("session page: %d", resp.StatusCode)
		}
		return body
	}
	if strings.Contains(page(), `id="offloaded"`) {
		t.Fatal("a sealed bundle's page says offloaded")
	}
	if _, ok, err := st.Offload(r.SessionID); !ok || err != nil {
		t.Fatalf("Offload: %v %v", ok, err)
	}
	body := page()
	if !strings.Contains(body, `id="offloaded"`) || !strings.Contains(body, "Offloaded — verify from the store") || strings.Contains(body, `id="noexport"`) {
		t.Fatalf("offloaded page:\n%s", body)
	}
}

// offsiteStation answers GET /v1/status with an offsite object, as weighd
// does with offsite.endpoint set.
type offsiteStation struct{ fakeStation }

func (*offsiteStation) Status(context.Context) (any, error) {
	return map[string]any{"offsite": map[string]any{"bucket": "evidence", "objects": map[string]int{"verified": 12, "pending": 2},
		"backlog_objects": 2, "backlog_bytes": 3_500_000, "problems": []any{map[string]any{"file": "x"}}}}, nil
}

// TestOffsiteOnSessionsPage: the sessions page shows the off-site progress
// and backlog when weighd replicates, and nothing when it does not.
func TestOffsiteOnSessionsPage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		st   api.Handler
		want string
	}{
		{&fakeStation{}, ""},
		{&offsiteStation{}, "Off-site copies in evidence: 12 object(s) verified · backlog 2 object(s), 3.5 MB · 1 problem(s)"},
	} {
		srv, err := New(Options{Config: config.Web{Listen: "127.0.0.1:0"}, StateDir: testState(t), Station: tc.st})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/sessions", nil))
		body := w.Body.String()
		if tc.want == "" && strings.Contains(body, `id="offsite"`) || tc.want != "" && !strings.Contains(body, tc.want) {
			t.Errorf("want %q in the sessions page:\n%s", tc.want, body)
		}
	}
}
