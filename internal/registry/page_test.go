package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"weighin/internal/result"
)

func TestSessionsPaged(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var rs []result.Result
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 6 * time.Hour)
		rs = append(rs, result.Result{Schema: 1, Seq: int64(i + 1), SessionID: fmt.Sprintf("%06d-%s", i+1, at.Format("20060102T150405Z")),
			StartedAt: at.Format(time.RFC3339), Verdict: result.VerdictMatch})
	}
	if _, err := db.Rebuild(ctx, Results(rs)); err != nil {
		t.Fatal(err)
	}
	var f Filter
	if err := f.Page(map[string]string{"newest": "1", "limit": "10", "offset": "10"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Sessions(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].Seq != 20 || got[9].Seq != 11 {
		t.Errorf("page 2 newest first: %d rows, %v … %v", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
	// One day: 4 sessions, 6 h apart.
	f = Filter{Since: t0.Add(24 * time.Hour)}
	if err := f.Page(map[string]string{"until": "2026-03-03"}); err != nil {
		t.Fatal(err)
	}
	if got, err = db.Sessions(ctx, f); err != nil || len(got) != 4 || got[0].Seq != 5 {
		t.Errorf("one day: %v %+v", err, got)
	}
	for _, q := range []map[string]string{{"limit": "-1"}, {"offset": "x"}, {"until": "yesterday"}} {
		if err := new(Filter).Page(q); err == nil {
			t.Errorf("Page(%v) accepted", q)
		}
	}
}
