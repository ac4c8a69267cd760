package publish

import (
	"io"
	"log/slog"
	"testing"

	"weighin/internal/config"
	"weighin/internal/result"
)

// TestReconcile: a station without a delivered list takes its sealed
// sessions as delivered; afterwards a sealed session neither acknowledged
// nor waiting in the outbox is queued, once.
func TestReconcile(t *testing.T) {
	cfg := config.Default().MQTT
	cfg.Broker = "tcp://127.0.0.1:1"
	p, err := New(cfg, "st1", t.TempDir(), HandlerFunc(nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := func(id string) result.Result { return result.Result{Schema: result.Schema, SessionID: id} }
	if q, err := p.Reconcile([]result.Result{r("000001-a")}); err != nil || len(q) != 0 {
		t.Fatalf("first reconcile (no list yet): queued %v, %v; want none", q, err)
	}
	for i, want := range [][]string{{"000002-b"}, nil} {
		q, err := p.Reconcile([]result.Result{r("000001-a"), r("000002-b")})
		if err != nil || len(q) != len(want) || len(want) == 1 && q[0] != want[0] {
			t.Errorf("reconcile %d: queued %v, %v; want %v", i+2, q, err, want)
		}
	}
	if n, _ := p.Outbox().Len(); n != 1 {
		t.Errorf("outbox holds %d entries, want 000002-b alone", n)
	}
}
