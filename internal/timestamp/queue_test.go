package timestamp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/fsync"
	"weighin/internal/result"
)

// recorder stands in for the evidence store's AddAddendum at the
// RecordFunc boundary: it moves the files into the bundle (rename, fsync)
// and remembers the bodies in order.
type recorder struct {
	mu     sync.Mutex
	bodies []Body
	dirs   []string
	fail   int // fail this many calls first
}

func (r *recorder) record(bundleDir string, body Body, files []File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("addendum not written (test)")
	}
	for _, f := range files {
		if err := os.Rename(f.Path, filepath.Join(bundleDir, f.Name)); err != nil {
			return err
		}
	}
	if err := fsync.Dir(bundleDir); err != nil {
		return err
	}
	r.bodies = append(r.bodies, body)
	r.dirs = append(r.dirs, bundleDir)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// seal makes a real sealed bundle in the store and returns its directory.
func seal(t *testing.T, store *evidence.Store, n int, synced bool) string {
	t.Helper()
	s, err := store.Begin(time.Now(), synced, fmt.Sprintf("LX%09dCN", n))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "weight.csv"), fmt.Appendf(nil, "t_ms,raw,grams,stable\n0,%d,0.00,1\n", 8000+n), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := s.Seal(result.Result{Verdict: result.VerdictMatch, StopReason: result.StopButton, Continuity: result.Continuity{Frames: 31, DurationS: 3, MeanFPS: 10, MaxGapMS: 100}})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(store.SessionsPath(), res.SessionID)
}

func openStore(t *testing.T, state string) *evidence.Store {
	t.Helper()
	store, err := evidence.Open(state, testLogger(t), evidence.Options{StationID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// running runs q.Run until the returned stop is called.
func running(t *testing.T, q *Queue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastOptions(t *testing.T, rec *recorder, urls ...string) Options {
	return Options{
		URLs: urls, Roots: pool(t, "rootA"), Record: rec.record,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, Spacing: -1,
		Log: testLogger(t),
	}
}

// TestTwentySealsOfflineThenOnline is the "must show": 20 seals
// while the TSA is unreachable, the station restarted after the first 10,
// then the TSA reachable: 20 tokens, in the order of the seals, each
// passing the seller's openssl ts -verify.
func TestTwentySealsOfflineThenOnline(t *testing.T) {
	tsa := newTSAServer(t, "tsaA")
	state := t.TempDir()
	store := openStore(t, state)
	rec := &recorder{}

	q, err := Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, q)
	var bundles []string
	for i := range 10 {
		b := seal(t, store, i+1, i%2 == 0)
		if err := q.Enqueue(b, evidence.SumsFile); err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, b)
	}
	waitFor(t, "the TSA to be found unreachable twice", func() bool {
		st := q.Status()
		return st.State == "backoff" && st.Attempts >= 2
	})
	st := q.Status()
	if st.Backlog != 10 || !strings.Contains(st.LastError, "connection refused") || st.NextAttemptAt == "" {
		t.Errorf("status while offline = %+v, want backlog 10, a connection refused, a next attempt", st)
	}
	stop() // the station goes down

	q, err = Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if st := q.Status(); st.Backlog != 10 || st.Attempts < 2 || st.LastError == "" {
		t.Fatalf("status after restart = %+v, want the 10 requests kept with their attempts", st)
	}
	running(t, q)
	for i := 10; i < 20; i++ {
		b := seal(t, store, i+1, i%2 == 0)
		if err := q.Enqueue(b, evidence.SumsFile); err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, b)
	}
	if rec.count() != 0 {
		t.Fatalf("%d tokens while the TSA was unreachable", rec.count())
	}
	tsa.Up(t)
	q.Retry()
	waitFor(t, "20 tokens", func() bool { return rec.count() == 20 })
	waitFor(t, "an idle queue", func() bool { return q.Status().State == "idle" })
	if st := q.Status(); st.Backlog != 0 || st.Failed != 0 || st.LastError != "" || st.LastTSA != "weighin test tsaA" {
		t.Errorf("status after catching up = %+v", st)
	}

	if !slices.Equal(rec.dirs, bundles) {
		t.Errorf("tokens recorded for\n%v\nwant the seal order\n%v", rec.dirs, bundles)
	}
	var prev time.Time
	var prevSerial string
	for i, b := range bundles {
		out, err := opensslVerify(t, b, evidence.SumsFile, TokenName(evidence.SumsFile), "rootA")
		if err != nil || !strings.Contains(out, "Verification: OK") {
			t.Errorf("%s: openssl ts -verify: %v\n%s", filepath.Base(b), err, out)
		}
		body := rec.bodies[i]
		at, err := time.Parse(time.RFC3339Nano, body.TSATime)
		if err != nil || at.Before(prev) {
			t.Errorf("token %d at %s, before token %d at %s", i+1, body.TSATime, i, prev)
		}
		if len(body.Serial) < len(prevSerial) || len(body.Serial) == len(prevSerial) && body.Serial <= prevSerial {
			t.Errorf("token %d has serial %s, not after %s", i+1, body.Serial, prevSerial)
		}
		prev, prevSerial = at, body.Serial
		r := Verify(os.DirFS(b), pool(t, "rootA"))
		if !r.OK() || len(r.Tokens) != 1 || r.Tokens[0].Status != "ok" {
			t.Errorf("%s: Verify = %+v", filepath.Base(b), r)
		}
		if i < 2 {
			t.Logf("%s: %s", filepath.Base(b), strings.Join(r.Notes, "; "))
		}
		wantNote := "after the session's start by the station's clock"
		if i%2 == 1 {
			wantNote = "bundle named unsynced"
		}
		if !strings.Contains(strings.Join(r.Notes, "\n"), wantNote) {
			t.Errorf("%s: notes %q do not say %q", filepath.Base(b), r.Notes, wantNote)
		}
	}
	if n := tsa.Requests(); n != 20 {
		t.Errorf("the TSA answered %d requests, want 20 (one per token)", n)
	}
	left, _ := os.ReadDir(filepath.Join(state, Dir, "queue"))
	if len(left) != 0 {
		t.Errorf("queue directory not empty: %v", left)
	}
}

// TestKeptAnswerSurvivesRestart: an answer fetched but not yet recorded is
// kept across a restart and recorded without asking the TSA again.
func TestKeptAnswerSurvivesRestart(t *testing.T) {
	tsa := newTSAServer(t, "tsaA")
	tsa.Up(t)
	state := t.TempDir()
	store := openStore(t, state)
	rec := &recorder{fail: 1}
	q, err := Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	b := seal(t, store, 1, true)
	if err := q.Enqueue(b, evidence.SumsFile); err != nil {
		t.Fatal(err)
	}
	stop := running(t, q)
	waitFor(t, "a failed recording", func() bool { return strings.Contains(q.Status().LastError, "addendum not written") })
	stop()
	if _, err := os.Stat(filepath.Join(state, Dir, "queue", jobName(1)+".tsr")); err != nil {
		t.Fatalf("fetched answer not kept: %v", err)
	}
	q, err = Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	running(t, q)
	waitFor(t, "the token", func() bool { return rec.count() == 1 })
	if n := tsa.Requests(); n != 1 {
		t.Errorf("the TSA was asked %d times, want once", n)
	}
	if out, err := opensslVerify(t, b, evidence.SumsFile, TokenName(evidence.SumsFile), "rootA"); err != nil {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
}

// TestTSAsInOrder: the first TSA unreachable, the second answers; a TSA
// whose token does not chain to the roots is passed over like a dead one.
func TestTSAsInOrder(t *testing.T) {
	dead := newTSAServer(t, "tsaA")
	untrusted := newTSAServer(t, "tsaB")
	untrusted.Up(t)
	good := newTSAServer(t, "tsaA")
	good.Up(t)
	state := t.TempDir()
	store := openStore(t, state)
	rec := &recorder{}
	q, err := Open(state, fastOptions(t, rec, dead.URL(), untrusted.URL(), good.URL()))
	if err != nil {
		t.Fatal(err)
	}
	running(t, q)
	b := seal(t, store, 1, true)
	if err := q.Enqueue(b, evidence.SumsFile); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the token", func() bool { return rec.count() == 1 })
	if got := rec.bodies[0].TSAURL; got != good.URL() {
		t.Errorf("token from %s, want the third TSA %s", got, good.URL())
	}
	if untrusted.Requests() != 1 {
		t.Errorf("untrusted TSA asked %d times, want 1", untrusted.Requests())
	}
}

// TestGivenUp: a file changed or gone after it was queued is never stamped;
// the request goes to failed/ with its reason and the queue goes on.
func TestGivenUp(t *testing.T) {
	tsa := newTSAServer(t, "tsaA")
	tsa.Up(t)
	state := t.TempDir()
	store := openStore(t, state)
	rec := &recorder{}
	q, err := Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	changed, gone, fine := seal(t, store, 1, true), seal(t, store, 2, true), seal(t, store, 3, true)
	for _, b := range []string{changed, gone, fine} {
		if err := q.Enqueue(b, evidence.SumsFile); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(changed, evidence.SumsFile), []byte("forged\n"), 0o644)
	os.Remove(filepath.Join(gone, evidence.SumsFile))
	running(t, q)
	waitFor(t, "the third token", func() bool { return rec.count() == 1 })
	st := q.Status()
	if st.Failed != 2 || rec.dirs[0] != fine {
		t.Errorf("status %+v, tokens for %v; want 2 failed and a token for %s only", st, rec.dirs, fine)
	}
	data, _ := os.ReadFile(filepath.Join(state, Dir, "failed", jobName(1)+".json"))
	if !strings.Contains(string(data), "changed since it was queued") {
		t.Errorf("failed request 1 = %s, want the reason", data)
	}
	if _, err := os.Stat(filepath.Join(changed, TokenName(evidence.SumsFile))); err == nil {
		t.Error("a changed file was stamped")
	}
}

// TestOff: with no TSA configured nothing is queued and nothing contacted.
func TestOff(t *testing.T) {
	state := t.TempDir()
	store := openStore(t, state)
	q, err := Open(state, Options{Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, q)
	b := seal(t, store, 1, true)
	if err := q.Enqueue(b, evidence.SumsFile); err != nil {
		t.Fatal(err)
	}
	stop()
	if st := q.Status(); st.State != "off" || st.Backlog != 0 {
		t.Errorf("status = %+v, want off with nothing queued", st)
	}
	if left, _ := os.ReadDir(filepath.Join(state, Dir, "queue")); len(left) != 0 {
		t.Errorf("queued %v with no TSA configured", left)
	}
	r := Verify(os.DirFS(b), pool(t, "rootA"))
	if !r.OK() || len(r.Tokens) != 1 || r.Tokens[0].Status != "pending" || !strings.Contains(strings.Join(r.Notes, " "), "no timestamp token yet") {
		t.Errorf("Verify of a bundle without a token = %+v, want OK with a pending note", r)
	}
}

// TestDamagedKeptAnswer: a kept answer that no longer verifies (cut by a
// crash mid-write of an older version, or altered) is dropped and the TSA
// asked again; leftovers of interrupted writes are removed at Open.
func TestDamagedKeptAnswer(t *testing.T) {
	tsa := newTSAServer(t, "tsaA")
	tsa.Up(t)
	state := t.TempDir()
	store := openStore(t, state)
	rec := &recorder{}
	q, err := Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	b := seal(t, store, 1, true)
	if err := q.Enqueue(b, evidence.SumsFile); err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(state, Dir, "queue")
	os.WriteFile(filepath.Join(qdir, jobName(1)+".tsr"), []byte("cut short"), 0o644)
	os.WriteFile(filepath.Join(qdir, "."+jobName(2)+".json"+tmpMarker+"123"), []byte("{"), 0o644)
	q, err = Open(state, fastOptions(t, rec, tsa.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(qdir, "."+jobName(2)+".json"+tmpMarker+"123")); err == nil {
		t.Error("temporary file of an interrupted write left in the queue")
	}
	running(t, q)
	waitFor(t, "the token", func() bool { return rec.count() == 1 })
	if n := tsa.Requests(); n != 1 {
		t.Errorf("TSA asked %d times, want 1", n)
	}
	if out, err := opensslVerify(t, b, evidence.SumsFile, TokenName(evidence.SumsFile), "rootA"); err != nil {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
}
