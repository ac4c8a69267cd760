package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"weighin/internal/result"
	"weighin/internal/verdict"
)

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func f64(v float64) *float64 { return &v }

func TestParseCSVErrors(t *testing.T) {
	const head = "order_ref,tracking,label_g,label_resolution_g,items\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "in.csv:1: empty file"},
		{"unknown column", "order_ref,tracking,weight\n", "in.csv:1: weight: unknown column"},
		{"no tracking column", "order_ref,label_g\n", "in.csv:1: tracking: the header has no tracking column"},
		{"duplicate column", "tracking,tracking\n", "in.csv:1: tracking: column given twice"},
		{"missing tracking", head + "A1,,100,,\n", "in.csv:2: tracking: tracking number required"},
		{"bad tracking", head + "A1,LX12#45,100,,\n", "in.csv:2: tracking: tracking number \"LX12#45\": only letters and digits"},
		{"short tracking", head + "A1,AB1,100,,\n", "in.csv:2: tracking: tracking number \"AB1\": 3 characters"},
		{"duplicate tracking", head + "A1,LX123456785CN,100,,\nA2,lx 123456785 cn,200,,\n", "in.csv:3: tracking: LX123456785CN is also on line 2"},
		{"label not a number", head + "A1,LX123456785CN,heavy,,\n", "in.csv:2: label_g: \"heavy\" is not a plain decimal number"},
		{"label zero", head + "A1,LX123456785CN,0,,\n", "in.csv:2: label_g: must be between 1 and 100000 g, got 0"},
		{"label NaN", head + "A1,LX123456785CN,NaN,,\n", "in.csv:2: label_g: \"NaN\" is not a plain decimal number"},
		{"label too big", head + "A1,LX123456785CN,200000,,\n", "in.csv:2: label_g: must be between 1 and 100000 g, got 200000"},
		{"resolution negative", head + "A1,LX123456785CN,100,-5,\n", "in.csv:2: label_resolution_g: \"-5\" is negative"},
		{"item without weight", head + "A1,LX123456785CN,100,,Jacket\n", "in.csv:2: items: item 1 \"Jacket\": want name:grams"},
		{"item bad weight", head + "A1,LX123456785CN,100,,Jacket:505;Belt:x\n", "in.csv:2: items: item 2 \"Belt\": weight \"x\" is not a plain decimal number"},
		{"item no name", head + "A1,LX123456785CN,100,,:505\n", "in.csv:2: items: item 1 \":505\": want name:grams"},
		{"field count", head + "A1,LX123456785CN,100\n", "in.csv:2: 3 fields, the header has 5"},
		{"bad quote", head + "A1,\"LX1\"23,100,,\n", "in.csv:2: "},
		// Issue 13: the one text rule (vocab.CheckText) at import, so no
		// row the verdict could not use is stored.
		{"escape in an item name", head + "A1,LX123456785CN,100,,Leather jacket\x1b[2J:505\n", "in.csv:2: items: item 1: name: control, invisible or non-printable character U+001B"},
		{"bidi override in order_ref", head + "A\u202e1,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+202E"},
		{"bidi isolate in order_ref", head + "A\u20661,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+2066"},
		{"zero width in order_ref", head + "A\u200b1,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+200B"},
		{"word joiner in a name", head + "A1,LX123456785CN,100,,Be\u2060lt:5\n", "in.csv:2: items: item 1: name: control, invisible or non-printable character U+2060"},
		{"BOM inside order_ref", head + "A\ufeff1,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+FEFF"},
		{"hangul filler in order_ref", head + "A\u31641,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+3164"},
		{"hangul choseong filler", head + "A\u115f1,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+115F"},
		{"hangul jungseong filler", head + "A\u11601,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+1160"},
		{"line separator in a name", head + "A1,LX123456785CN,100,,Belt\u2028Full refund:5\n", "in.csv:2: items: item 1: name: control, invisible or non-printable character U+2028"},
		{"paragraph separator", head + "A\u20291,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+2029"},
		{"NEL in order_ref", head + "A\u00851,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+0085"},
		{"CSI in order_ref", head + "A\u009b1,LX123456785CN,100,,\n", "in.csv:2: order_ref: control, invisible or non-printable character U+009B"},
		{"formula =", head + "=1+1,LX123456785CN,100,,\n", "in.csv:2: order_ref: text may not begin with '='"},
		{"formula +", head + "A1,LX123456785CN,100,,+1 cable:5\n", "in.csv:2: items: item 1: name: text may not begin with '+'"},
		{"formula -", head + "-2+3,LX123456785CN,100,,\n", "in.csv:2: order_ref: text may not begin with '-'"},
		{"formula @", head + "@SUM(A1),LX123456785CN,100,,\n", "in.csv:2: order_ref: text may not begin with '@'"},
		{"dotless i folded", head + "A1,\u0131x123456785cn,100,,\n", "in.csv:2: tracking: tracking number \"\u0131X123456785CN\": only letters and digits"},
		{"long s folded", head + "A1,\u017f123456785cn,100,,\n", "in.csv:2: tracking: tracking number \"\u017f123456785CN\": only letters and digits"},
		{"fullwidth digits", head + "A1,LX\uff11\uff12\uff13456785CN,100,,\n", "in.csv:2: tracking: tracking number"},
		{"error on line 4 after comment", head + "# a comment\nA1,LX123456785CN,100,,\nA2,RR987654326CN,-1,,\n", "in.csv:4: label_g: \"-1\" is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ParseCSV(strings.NewReader(tc.in), "in.csv")
			if err == nil {
				t.Fatalf("ParseCSV(%q) = %v, want error %q", tc.in, ps, tc.want)
			}
			if !errors.Is(err, ErrBadCSV) {
				t.Errorf("error %v does not wrap ErrBadCSV", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ParseCSV(%q) error\n  %v\nwant prefix\n  %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	in := "\ufefftracking , items,order_ref,label_g,label_resolution_g\r\n" +
		"LX 1234 5678 5cn,\"Leather jacket:505;Sneakers:1120;Belt:210\",KB-77812,1840,10\r\n" +
		"# comment\r\n\r\n" +
		"1Z999AA10123456784,,,,\r\n" +
		"RR987654326CN,Ratio 1:2 figure:80;,KB-1,99.5,0\r\n"
	ps, err := ParseCSV(strings.NewReader(in), "ok.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Parcel{
		{Tracking: "LX123456785CN", OrderRef: "KB-77812", LabelG: f64(1840), LabelResolutionG: 10,
			Items: []Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}},
		{Tracking: "1Z999AA10123456784"},
		{Tracking: "RR987654326CN", OrderRef: "KB-1", LabelG: f64(99.5), Items: []Item{{Name: "Ratio 1:2 figure", WeightG: 80}}},
	}
	if fmt.Sprint(dump(ps)) != fmt.Sprint(dump(want)) {
		t.Errorf("got\n %v\nwant\n %v", dump(ps), dump(want))
	}
}

func dump(ps []Parcel) []string {
	var out []string
	for _, p := range ps {
		l := "nil"
		if p.LabelG != nil {
			l = fmt.Sprint(*p.LabelG)
		}
		out = append(out, fmt.Sprintf("%s|%s|%s|%v|%v", p.Tracking, p.OrderRef, l, p.LabelResolutionG, p.Items))
	}
	return out
}

// FuzzParseCSV: the parser never panics; an accepted file's parcels are
// valid, unique, and survive a write-out and re-parse unchanged; a rejected
// one names a line.
func FuzzParseCSV(f *testing.F) {
	f.Add("order_ref,tracking,label_g,label_resolution_g,items\nKB,LX123456785CN,1840,10,Jacket:505;Belt:210\n")
	f.Add("tracking\nabc-1234\n")
	f.Add("tracking,items\nAAAA1,\"a:1;b:2;\"\n")
	f.Add("tracking,label_g\nAAAA1,1e3\nAAAA2,0x10\n")
	f.Add("tracking\n\"AAA\nA1\"\n")
	f.Add("tracking,items\nAAAA1,\"\U0001F600\U0001F600\U0001F600:1\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			if ps != nil {
				t.Fatal("parcels with an error")
			}
			if !errors.Is(err, ErrBadCSV) {
				t.Fatalf("error %v does not wrap ErrBadCSV", err)
			}
			if !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		var b strings.Builder
		b.WriteString("order_ref,tracking,label_g,label_resolution_g,items\n")
		seen := map[string]bool{}
		for _, p := range ps {
			q := p
			if err := validate(&q); err != nil {
				t.Fatalf("accepted an invalid parcel: %v", err)
			}
			if seen[p.Tracking] {
				t.Fatalf("duplicate %s accepted", p.Tracking)
			}
			// A row the import accepts is one the verdict can use.
			if _, err := verdict.Evaluate(verdict.DefaultParams(), verdict.Input{LabelG: p.LabelG, MeasuredG: 1000, Items: p.Items}); errors.Is(err, verdict.ErrInvalidInput) {
				t.Fatalf("accepted a row the verdict refuses: %+v: %v", p, err)
			}
			seen[p.Tracking] = true
			l := ""
			if p.LabelG != nil {
				l = fmt.Sprint(*p.LabelG)
			}
			fmt.Fprintf(&b, "%q,%s,%s,%v,%q\n", p.OrderRef, p.Tracking, l, p.LabelResolutionG, FormatItems(p.Items))
		}
		again, err := ParseCSV(strings.NewReader(b.String()), "again.csv")
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		if fmt.Sprint(dump(again)) != fmt.Sprint(dump(ps)) {
			t.Fatalf("round trip changed\n %v\n %v", dump(ps), dump(again))
		}
	})
}

func TestParcelsCRUD(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	p := Parcel{Tracking: "lx-123456785-cn", OrderRef: "KB-77812", LabelG: f64(1840), LabelResolutionG: 10,
		Items: []Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}}}
	if err := db.AddParcel(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := db.AddParcel(ctx, p); !errors.Is(err, ErrExists) {
		t.Errorf("second add: %v, want ErrExists", err)
	}
	if err := db.AddParcel(ctx, Parcel{Tracking: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad add: %v, want ErrInvalid", err)
	}
	got, err := db.GetByTracking(ctx, "LX 123456785 CN")
	if err != nil {
		t.Fatal(err)
	}
	if got.Tracking != "LX123456785CN" || *got.LabelG != 1840 || len(got.Items) != 2 || got.Items[1].Name != "Sneakers" {
		t.Errorf("got %+v", got)
	}
	if ok, err := db.Has(ctx, "lx123456785cn"); !ok || err != nil {
		t.Errorf("Has = %v, %v", ok, err)
	}
	if _, err := db.GetByTracking(ctx, "NOPE1234"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
	ps, err := db.ListParcels(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("list = %v, %v", ps, err)
	}
	if err := db.RemoveParcel(ctx, "LX123456785CN"); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveParcel(ctx, "LX123456785CN"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	if v, err := db.Version(ctx); v != SchemaVersion || err != nil {
		t.Errorf("version %d, %v", v, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, p := range []string{"", "/tmp/a?b.db"} {
		if _, err := Open(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", p, err)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing-dir", FileName)); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	// Not a database.
	bad := filepath.Join(t.TempDir(), FileName)
	os.WriteFile(bad, []byte(strings.Repeat("not sqlite ", 100)), 0o600)
	if _, err := Open(bad); err == nil {
		t.Error("Open of a text file succeeded")
	}
}

func TestOpenNewerSchema(t *testing.T) {
	db, path := openTemp(t)
	if _, err := db.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); !errors.Is(err, ErrTooNew) {
		t.Errorf("Open newer: %v, want ErrTooNew", err)
	}
}

func bigCSV(prefix string, n int) string {
	var b strings.Builder
	b.WriteString("order_ref,tracking,label_g,label_resolution_g,items\n")
	for i := range n {
		fmt.Fprintf(&b, "KB-%d,%s%08d,%d,10,\"Leather jacket:505;Sneakers:1120;Belt:%d\"\n", i, prefix, i, 1000+i%5000, 100+i%300)
	}
	return b.String()
}

func TestImport10000(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	start := time.Now()
	n, err := db.ImportCSV(ctx, strings.NewReader(bigCSV("TN", 10000)), "big.csv")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d parcels in %v", n, time.Since(start))
	ps, err := db.ListParcels(ctx)
	if err != nil || n != 10000 || len(ps) != 10000 {
		t.Fatalf("imported %d, listed %d, %v", n, len(ps), err)
	}
	p, err := db.GetByTracking(ctx, "TN00004321")
	if err != nil || p.OrderRef != "KB-4321" || *p.LabelG != 1000+4321 || len(p.Items) != 3 {
		t.Errorf("TN00004321 = %+v, %v", p, err)
	}
	// A bad file imports nothing, even with valid lines before the error.
	bad := bigCSV("ZZ", 500) + "KB,ZZBAD,heavy,,\n"
	if _, err := db.ImportCSV(ctx, strings.NewReader(bad), "bad.csv"); !errors.Is(err, ErrBadCSV) || !strings.Contains(err.Error(), "bad.csv:502: label_g") {
		t.Fatalf("bad import: %v", err)
	}
	if ok, _ := db.Has(ctx, "ZZ00000001"); ok {
		t.Error("part of a rejected file was imported")
	}
}

func sess(id string, seq int64, at, tracking, order, verdict string, delta float64) result.Result {
	return result.Result{Schema: 1, SessionID: id, Seq: seq, StartedAt: at, Tracking: tracking, OrderRef: order,
		Verdict: verdict, Tier: 2, Bundle: "sessions/" + id, DeltaG: &delta}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	rs := []result.Result{
		sess("000001-20261120T100000Z", 1, "2026-11-20T10:00:00Z", "LX123456785CN", "KB-1", "match", 2),
		sess("000002-20261121T100000Z", 2, "2026-11-21T10:00:00Z", "RR987654326CN", "KB-2", "underweight", -505),
		sess("000003-20261122T100000Z", 3, "2026-11-22T10:00:00.5Z", "LX123456785CN", "KB-1", "underweight", -210),
	}
	rs[2].Interrupted = true
	for _, r := range rs {
		if err := db.IndexSession(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		f    Filter
		want []int64
	}{
		{Filter{}, []int64{1, 2, 3}},
		{Filter{Tracking: "lx123456785cn"}, []int64{1, 3}},
		{Filter{Order: "KB-2"}, []int64{2}},
		{Filter{Verdict: "underweight"}, []int64{2, 3}},
		{Filter{Since: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}, []int64{2, 3}},
		{Filter{Verdict: "underweight", Tracking: "LX123456785CN"}, []int64{3}},
		{Filter{Verdict: "empty"}, nil},
	}
	for _, tc := range tests {
		got, err := db.Sessions(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, s := range got {
			seqs = append(seqs, s.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
			t.Errorf("Sessions(%+v) = %v, want %v", tc.f, seqs, tc.want)
		}
	}
	all, _ := db.Sessions(ctx, Filter{Order: "KB-1"})
	if all[1].Outcome != OutcomeInterrupted || all[0].Outcome != OutcomeComplete || *all[1].DeltaG != -210 {
		t.Errorf("rows %+v", all)
	}
	// Re-indexing updates in place.
	rs[0].Verdict = "overweight"
	if err := db.IndexSession(ctx, rs[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Sessions(ctx, Filter{Verdict: "overweight"}); len(got) != 1 {
		t.Errorf("after update: %v", got)
	}
	if err := db.IndexSession(ctx, result.Result{SessionID: "x", StartedAt: "yesterday"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad started_at: %v", err)
	}
	// Rebuild replaces everything; a failing source leaves the old index.
	n, err := db.Rebuild(ctx, Results(rs[1:2]))
	if err != nil || n != 1 {
		t.Fatalf("rebuild: %d, %v", n, err)
	}
	boom := errors.New("bundle unreadable")
	_, err = db.Rebuild(ctx, func(yield func(result.Result, error) bool) {
		if yield(rs[0], nil) {
			yield(result.Result{}, boom)
		}
	})
	if !errors.Is(err, boom) {
		t.Errorf("failing rebuild: %v", err)
	}
	if got, _ := db.Sessions(ctx, Filter{}); len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("after failed rebuild: %v", got)
	}
}

// TestConcurrentOpen: two handles (weighd and weighctl) on one file, one
// importing while the other reads.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	a, path := openTemp(t)
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		_, err := a.ImportCSV(ctx, strings.NewReader(bigCSV("CC", 3000)), "c.csv")
		done <- err
	}()
	for i := 0; i < 50; i++ {
		if _, err := b.Has(ctx, "CC00000001"); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.AddParcel(ctx, Parcel{Tracking: "DD0001"}); err != nil {
		t.Fatal(err)
	}
}

// The helper process for TestKillDuringImport: imports a CSV and exits.
func TestMain(m *testing.M) {
	if path := os.Getenv("WEIGHIN_REGISTRY_IMPORT_DB"); path != "" {
		db, err := Open(path)
		if err == nil {
			f, ferr := os.Open(os.Getenv("WEIGHIN_REGISTRY_IMPORT_CSV"))
			if ferr != nil {
				err = ferr
			} else {
				// Tell the test the import starts now.
				fmt.Println("importing")
				_, err = db.ImportCSV(context.Background(), f, f.Name())
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillDuringImport: a helper process importing a large CSV is killed
// with SIGKILL at random moments; every time the database opens, passes
// integrity_check, and holds the import wholly or not at all.
func TestKillDuringImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := 10000
	if raceEnabled {
		n = 3000
	}
	var importTime time.Duration
	run := func(prefix string, killAfter time.Duration) (killed bool) {
		csv := filepath.Join(dir, prefix+".csv")
		if err := os.WriteFile(csv, []byte(bigCSV(prefix, n)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "WEIGHIN_REGISTRY_IMPORT_DB="+path, "WEIGHIN_REGISTRY_IMPORT_CSV="+csv)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the helper to reach the import, so the kill moments
		// cover the import itself rather than the process start.
		line := make([]byte, len("importing\n"))
		if _, err := io.ReadFull(out, line); err != nil || string(line) != "importing\n" {
			t.Fatalf("helper did not start its import: %q, %v", line, err)
		}
		if killAfter < 0 {
			start := time.Now()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			importTime = time.Since(start)
			return false
		}
		time.Sleep(killAfter)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		return err != nil
	}
	count := func(db *DB, prefix string) int {
		var c int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM parcels WHERE tracking LIKE ?`, prefix+"%").Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Calibrate: one import to completion.
	run("AA", -1)
	full := importTime
	t.Logf("a %d-parcel import in a helper process takes %v (from the start of the import to the process's exit)", n, full)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	present, absent := 0, 0
	for i := range 8 {
		prefix := fmt.Sprintf("K%d", i)
		// Random moments over the import, the commit included; the last
		// one lands after the helper has finished.
		at := time.Duration(rng.Int64N(int64(full * 13 / 10)))
		if i == 7 {
			at = full * 2
		}
		killed := run(prefix, at)
		db, err := Open(path)
		if err != nil {
			t.Fatalf("kill %d at %v: open: %v", i, at, err)
		}
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Fatalf("kill %d at %v: %v", i, at, err)
		}
		c := count(db, prefix)
		switch c {
		case 0:
			absent++
		case n:
			present++
		default:
			t.Fatalf("kill %d at %v (killed %v): %d of %d parcels present", i, at, killed, c, n)
		}
		if a := count(db, "AA"); a != n {
			t.Fatalf("kill %d: the earlier import lost rows: %d", i, a)
		}
		db.Close()
	}
	t.Logf("after 8 SIGKILLs: import wholly present %d times, wholly absent %d times", present, absent)
}

func BenchmarkGetByTracking(b *testing.B) {
	ctx := context.Background()
	db, _ := openTemp(b)
	if _, err := db.ImportCSV(ctx, strings.NewReader(bigCSV("TN", 10000)), "big.csv"); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := db.GetByTracking(ctx, fmt.Sprintf("TN%08d", i%10000)); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkImport10000(b *testing.B) {
	ctx := context.Background()
	csv := bigCSV("TN", 10000)
	db, _ := openTemp(b)
	for b.Loop() {
		if _, err := db.ImportCSV(ctx, strings.NewReader(csv), "big.csv"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAddParcelInvalid(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	tests := []struct {
		name string
		p    Parcel
		want string
	}{
		{"no tracking", Parcel{}, "tracking: tracking number required"},
		{"zero label", Parcel{Tracking: "AB12345", LabelG: f64(0)}, "label_g: must be between 1 and 100000 g, got 0"},
		{"negative resolution", Parcel{Tracking: "AB12345", LabelResolutionG: -1}, "label_resolution_g: must be between 0 and 10000 g, got -1"},
		{"item name with ;", Parcel{Tracking: "AB12345", Items: []Item{{Name: "a;b", WeightG: 10}}}, "item 1: name \"a;b\" has ';'"},
		{"item without name", Parcel{Tracking: "AB12345", Items: []Item{{Name: "", WeightG: 10}}}, "item 1: name \"\": empty text"},
		{"item weight zero", Parcel{Tracking: "AB12345", Items: []Item{{Name: "Belt", WeightG: 0}}}, "item 1 \"Belt\": weight must be between 0.1 and 100000 g, got 0"},
	}
	for _, tc := range tests {
		err := db.AddParcel(ctx, tc.p)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AddParcel = %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

// TestMigrateV1KeepsSessions: a database made by the first schema opens
// under the second, its sessions intact and their claims empty.
func TestMigrateV1KeepsSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(migrations[0] + `;
		INSERT INTO sessions VALUES ('000001-unsynced', 1, '2026-11-26T05:00:00Z', 0, 'LX1', 'o', 'match', 0, 'sessions/000001-unsynced', NULL, 'complete');
		PRAGMA user_version = 1;`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ss, err := db.Sessions(ctx, Filter{})
	if err != nil || len(ss) != 1 || ss[0].Claim != "" || ss[0].Verdict != "match" {
		t.Fatalf("after migration: %+v, %v", ss, err)
	}
	if err := db.SetClaim(ctx, "000001-unsynced", "resolved: refund"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetClaim(ctx, "000009-nope", "refused"); !errors.Is(err, ErrNotFound) {
		t.Errorf("claim of a missing session: %v, want ErrNotFound", err)
	}
	// Indexing the session again keeps its claim.
	if err := db.IndexSession(ctx, result.Result{SessionID: "000001-unsynced", Seq: 1, StartedAt: "2026-11-26T05:00:00Z", Verdict: "match", Bundle: "sessions/000001-unsynced"}); err != nil {
		t.Fatal(err)
	}
	ss, _ = db.Sessions(ctx, Filter{})
	if len(ss) != 1 || ss[0].Claim != "resolved: refund" {
		t.Errorf("claim after re-index: %+v", ss)
	}
}
