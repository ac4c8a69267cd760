package offsite

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"weighin/internal/evidence"
)

const prefix = "shops/test"

func allVerified(r *Replicator) func() bool {
	return func() bool {
		st := r.Status()
		return st.BacklogObjects == 0 && st.Objects["conflict"] == 0 && st.Objects["verified"] > 0
	}
}

func newFixture(t *testing.T, srv *server, bucket, station string, bundles, videoBytes int) *fixture {
	state := t.TempDir()
	return &fixture{srv: srv, bucket: bucket, state: state, station: station, dirs: makeBundles(t, state, station, bundles, videoBytes)}
}

// TestReplicateVerifyFromStore: bundles reach the store byte-identical
// (s3cmd reads them back), an addendum added later follows, a bundle
// verifies from the store, and one flipped byte in the store's copy fails
// that verification.
func TestReplicateVerifyFromStore(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 3, 300<<10)
	r := f.replicator(t, f.store(t, nil))
	defer r.Close()
	if n, err := r.EnqueueAll(); err != nil || n != 3 {
		t.Fatalf("EnqueueAll = %d, %v; want 3 bundles", n, err)
	}
	run(t, r)
	waitFor(t, 30*time.Second, "every object verified", allVerified(r))

	// An outcome addendum after the seal is queued and copied too.
	st, err := evidence.Open(f.state, slog.New(slog.DiscardHandler), evidence.Options{StationID: f.station})
	if err != nil {
		t.Fatal(err)
	}
	session := filepath.Base(f.dirs[1])
	if _, err := st.RecordOutcome(session, evidence.Outcome{Status: evidence.StatusRefused, Note: "carrier refused"}, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := r.Enqueue(f.dirs[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the addendum verified", allVerified(r))
	status := r.Status()
	stored := f.checkStored(t, prefix, nil)
	t.Logf("counts: %d objects stored; %s", stored, counts(status))
	if status.Bundles["verified"] != 3 || status.Objects["verified"] != stored {
		t.Errorf("status %s; want 3 bundles verified and %d objects", counts(status), stored)
	}
	if s, ok := r.BundleState(session); !ok || s != Verified {
		t.Errorf("BundleState(%s) = %v, %v; want verified", session, s, ok)
	}

	// Verify from the store, then flip one byte of the store's copy.
	store := f.store(t, nil)
	rep, err := VerifyFromStore(context.Background(), store, f.station, session, evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Outcomes) != 1 {
		t.Fatalf("verify from the store: ok %v, outcomes %d, problems %v; want OK with the outcome", rep.OK(), len(rep.Outcomes), rep.Problems)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "linked to the previous bundle") {
		t.Errorf("chain link to the previous bundle in the store not checked: notes %v", rep.Notes)
	}
	backend := filepath.Join(srv.root, "evidence", prefix, f.station, session, "video.mkv")
	data, err := os.ReadFile(backend)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(backend, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyFromStore(context.Background(), store, f.station, session, evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var onVideo []string
	for _, p := range rep.Problems {
		if p.File == "video.mkv" {
			onVideo = append(onVideo, p.Reason)
		}
	}
	if rep.OK() || len(onVideo) == 0 {
		t.Fatalf("one flipped byte in the store's video.mkv: ok %v, problems %v; want a problem on video.mkv", rep.OK(), rep.Problems)
	}
	t.Logf("flipped byte found: %v", onVideo)
	if _, err := VerifyFromStore(context.Background(), store, f.station, "000099-20260301T100000Z", evidence.VerifyOptions{}); !errors.Is(err, ErrNotInStore) {
		t.Errorf("session not in the store: err %v, want ErrNotInStore", err)
	}
}

// TestConflict: an object already in the store with other content is never
// overwritten: Conflict, reported, and the rest of the bundle Verified.
func TestConflict(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 1, 64<<10)
	session := filepath.Base(f.dirs[0])
	key := prefix + "/dock-1/" + session + "/weight.csv"
	other := filepath.Join(t.TempDir(), "weight.csv")
	os.WriteFile(other, []byte("someone else's file\n"), 0o644)
	srv.s3cmd("put", other, "s3://evidence/"+key)

	r := f.replicator(t, f.store(t, nil))
	defer r.Close()
	if err := r.Enqueue(f.dirs[0]); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, 30*time.Second, "all but the conflict verified", func() bool {
		st := r.Status()
		return st.BacklogObjects == 0 && st.Objects["conflict"] == 1
	})
	st := r.Status()
	t.Logf("counts: %s", counts(st))
	if len(st.Problems) != 1 || st.Problems[0].File != "weight.csv" || st.Problems[0].State != Conflict || !strings.Contains(st.Problems[0].Err, "not overwritten") {
		t.Fatalf("problems %+v; want weight.csv in conflict, reported", st.Problems)
	}
	if s, _ := r.BundleState(session); s != Conflict {
		t.Errorf("bundle state %v, want conflict", s)
	}
	if got := srv.getObject("evidence", key); string(got) != "someone else's file\n" {
		t.Errorf("the remote object was overwritten: %q", got)
	}
	f.checkStored(t, prefix, map[string]bool{key: true})
}

// TestServerKilledMidUpload: the store dies (SIGKILL) in the middle of a
// paced upload and comes back on the same disk; the copy resumes and ends
// Verified, with nothing duplicated or half-written in the store.
func TestServerKilledMidUpload(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 2, 4<<20)
	r := f.replicator(t, f.store(t, func(o *StoreOptions) { o.MaxBytesPerS = 2 << 20 }))
	defer r.Close()
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, 30*time.Second, "an upload half done", func() bool {
		c := r.Status().Current
		return c != nil && c.Sent > c.Bytes/3
	})
	cut := r.Status().Current
	srv.kill()
	waitFor(t, 30*time.Second, "the failure reported", func() bool { return r.Status().LastError != "" })
	t.Logf("server killed during %s/%s at %d of %d bytes; reported: %s", cut.Session, cut.File, cut.Sent, cut.Bytes, r.Status().LastError)
	srv.start()
	waitFor(t, 60*time.Second, "every object verified after the restart", allVerified(r))
	st := r.Status()
	stored := f.checkStored(t, prefix, nil)
	t.Logf("counts: %d objects stored; %s", stored, counts(st))
	if st.Objects["verified"] != stored {
		t.Errorf("%d verified, %d stored", st.Objects["verified"], stored)
	}
}

// TestMain doubles as the uploading process that TestUploaderKilled kills.
func TestMain(m *testing.M) {
	if state := os.Getenv("WEIGHIN_OFFSITE_HELPER_STATE"); state != "" {
		os.Exit(helperUploader(state))
	}
	os.Exit(m.Run())
}

func helperUploader(state string) int {
	rate, _ := strconv.ParseInt(os.Getenv("WEIGHIN_OFFSITE_HELPER_RATE"), 10, 64)
	s, err := NewStore(StoreOptions{Endpoint: os.Getenv("WEIGHIN_OFFSITE_HELPER_ENDPOINT"), Bucket: "evidence", Prefix: prefix, Region: "us-east-1",
		Credentials: Credentials{AccessKey: rootAK, Secret: rootSK}, MaxBytesPerS: rate})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	r, err := New(Options{Store: s, StationID: "dock-1", StateDir: state, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	if _, err := r.EnqueueAll(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	if err := r.Run(context.Background()); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

// TestUploaderKilled: the uploading process is killed with SIGKILL in the
// middle of an upload; a new one resumes from the journal, and every object
// ends Verified exactly once.
func TestUploaderKilled(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 2, 8<<20)
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEIGHIN_OFFSITE_HELPER_STATE="+f.state, "WEIGHIN_OFFSITE_HELPER_ENDPOINT="+srv.endpoint(),
		"WEIGHIN_OFFSITE_HELPER_RATE="+strconv.Itoa(2<<20))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var copying Object
	waitFor(t, 30*time.Second, "the helper copying video.mkv", func() bool {
		objs, err := ReadJournal(f.state)
		if err != nil {
			return false
		}
		for _, o := range objs {
			if o.State == Copying && o.File == "video.mkv" {
				copying = o
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // about a quarter of the 8 MiB at 2 MiB/s
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before, _ := ReadJournal(f.state)
	byState := map[State]int{}
	for _, o := range before {
		byState[o.State]++
	}
	t.Logf("uploader killed while copying %s/%s; journal then: %v\n%s", copying.Session, copying.File, byState, stderr.String())
	if byState[Copying] != 1 {
		t.Fatalf("journal after the kill: %v; want one object cut while copying", byState)
	}

	r := f.replicator(t, f.store(t, nil))
	defer r.Close()
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, 60*time.Second, "every object verified after the restart", allVerified(r))
	st := r.Status()
	stored := f.checkStored(t, prefix, nil)
	t.Logf("counts: %d objects stored; %s", stored, counts(st))
	if st.Objects["verified"] != stored || len(before) != stored {
		t.Errorf("%d verified, %d stored, %d journaled before the kill", st.Objects["verified"], stored, len(before))
	}
}

// TestWrongCredentials: the store refuses them; nothing is stored, every
// object stays queued and the refusal is reported without the secret; with
// the right credentials a new replicator finishes the job.
func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 2, 64<<10)
	bad := f.store(t, func(o *StoreOptions) { o.Credentials = Credentials{AccessKey: rootAK, Secret: "not-the-secret-at-all"} })
	if err := bad.Check(context.Background()); !errors.Is(err, ErrAccess) {
		t.Fatalf("Check with a wrong secret = %v, want ErrAccess", err)
	}
	r := f.replicator(t, bad)
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	stop := run(t, r)
	waitFor(t, 30*time.Second, "the refusal reported", func() bool { return r.Status().ConsecutiveFailures >= 2 })
	stop()
	st := r.Status()
	t.Logf("wrong credentials: %s", counts(st))
	if strings.Contains(st.LastError, "not-the-secret") || !strings.Contains(st.LastError, "denied") {
		t.Errorf("last error %q: want the refusal, without the secret", st.LastError)
	}
	if st.Objects["verified"] != 0 || st.BacklogObjects == 0 {
		t.Errorf("status %s; want nothing verified, all queued", counts(st))
	}
	if keys := srv.listKeys("evidence"); len(keys) != 0 {
		t.Errorf("objects stored with wrong credentials: %v", keys)
	}
	r.Close()

	r2 := f.replicator(t, f.store(t, nil))
	defer r2.Close()
	run(t, r2)
	waitFor(t, 30*time.Second, "verified with the right credentials", allVerified(r2))
	t.Logf("right credentials: %d objects stored; %s", f.checkStored(t, prefix, nil), counts(r2.Status()))
}

// TestMissingBucket: a clear error naming the bucket; the work waits and
// goes on once the bucket exists.
func TestMissingBucket(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "")
	f := newFixture(t, srv, "late", "dock-1", 1, 64<<10)
	s := f.store(t, nil)
	err := s.Check(context.Background())
	if !errors.Is(err, ErrNoBucket) || !strings.Contains(err.Error(), `"late"`) {
		t.Fatalf("Check = %v; want ErrNoBucket naming \"late\"", err)
	}
	r := f.replicator(t, s)
	defer r.Close()
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, 30*time.Second, "the missing bucket reported", func() bool { return strings.Contains(r.Status().LastError, "does not exist") })
	t.Logf("missing bucket: %s", counts(r.Status()))
	srv.s3cmd("mb", "s3://late")
	waitFor(t, 30*time.Second, "verified once the bucket exists", allVerified(r))
	t.Logf("bucket made: %d objects stored; %s", f.checkStored(t, prefix, nil), counts(r.Status()))
}

// TestServerDiskFull: the store's disk (a size-limited tmpfs) cannot take
// the video: the video is Failed and reported, the small files are
// Verified; with room again the video follows.
func TestServerDiskFull(t *testing.T) {
	t.Parallel()
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "weighin-offsite-test", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a 3 MiB tmpfs for the store (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	srv := startServer(t, filepath.Join(disk, "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 1, 6<<20)
	r := f.replicator(t, f.store(t, nil))
	defer r.Close()
	if _, err := r.EnqueueAll(); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	waitFor(t, 30*time.Second, "the video failed, the rest verified", func() bool {
		st := r.Status()
		return st.Objects["failed"] == 1 && st.Objects["verified"] > 0 && st.Objects["pending"] == 0 && st.Current == nil
	})
	st := r.Status()
	t.Logf("disk full: %s; problems %+v", counts(st), st.Problems)
	if len(st.Problems) != 1 || st.Problems[0].File != "video.mkv" || st.Problems[0].Err == "" {
		t.Fatalf("problems %+v; want video.mkv failed with the reason", st.Problems)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	waitFor(t, 30*time.Second, "the video verified with room again", allVerified(r))
	t.Logf("room again: %d objects stored; %s", f.checkStored(t, prefix, nil), counts(r.Status()))
}

// TestTwoStationsOneBucket: two stations (two ids, bundles of the same
// session names) share a bucket without a single shared object.
func TestTwoStationsOneBucket(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	a := newFixture(t, srv, "evidence", "dock-a", 2, 64<<10)
	b := newFixture(t, srv, "evidence", "dock-b", 2, 64<<10)
	if filepath.Base(a.dirs[0]) != filepath.Base(b.dirs[0]) {
		t.Fatalf("fixture: want the same session names on both stations, got %s and %s", a.dirs[0], b.dirs[0])
	}
	for _, f := range []*fixture{a, b} {
		r := f.replicator(t, f.store(t, nil))
		defer r.Close()
		if _, err := r.EnqueueAll(); err != nil {
			t.Fatal(err)
		}
		run(t, r)
		waitFor(t, 30*time.Second, f.station+" verified", allVerified(r))
	}
	na, nb := a.checkStored(t, prefix, nil), b.checkStored(t, prefix, nil)
	all := srv.listKeys("evidence")
	t.Logf("counts: dock-a %d objects, dock-b %d, bucket %d", na, nb, len(all))
	if len(all) != na+nb || na != len(a.localFiles(t, prefix)) || nb != len(b.localFiles(t, prefix)) {
		t.Errorf("bucket holds %d objects, want %d + %d, all distinct", len(all), na, nb)
	}
}
