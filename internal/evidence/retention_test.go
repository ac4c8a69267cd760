package evidence

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"weighin/internal/result"
)

func TestProtectedBecause(t *testing.T) {
	match := sampleResult(result.VerdictMatch)
	with := func(f func(*result.Result)) result.Result { r := match; f(&r); return r }
	tests := []struct {
		name   string
		res    result.Result
		latest *Outcome
		want   string
	}{
		{"match, nothing else", match, nil, ""},
		{"underweight", sampleResult(result.VerdictUnderweight), nil, "verdict underweight"},
		{"no label weight", with(func(r *result.Result) { r.Verdict = result.VerdictNoLabelWeight }), nil, "verdict no_label_weight"},
		{"no verdict (cut before the weigh-in)", with(func(r *result.Result) { r.Verdict = "" }), nil, "verdict none"},
		{"a mark", with(func(r *result.Result) { r.Marks = []result.Mark{{TS: 1}} }), nil, "1 mark(s)"},
		{"damage claim", with(func(r *result.Result) { r.IssueType = "damaged" }), nil, "issue_type damaged"},
		{"escalated", match, &Outcome{Status: StatusEscalated}, "open outcome (escalated)"},
		{"refused", match, &Outcome{Status: StatusRefused}, "open outcome (refused)"},
		{"resolved", match, &Outcome{Status: StatusResolved, Resolution: ResolutionRefund}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProtectedBecause(tc.res, tc.latest); got != tc.want {
				t.Errorf("ProtectedBecause(verdict %q, marks %d, issue %q, %v) = %q, want %q",
					tc.res.Verdict, len(tc.res.Marks), tc.res.IssueType, tc.latest, got, tc.want)
			}
		})
	}
}

// fakeDisk is an injectable free-space measure.
type fakeDisk struct {
	mu   sync.Mutex
	free int64
}

func (d *fakeDisk) FreeSpace(string) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.free, nil
}

func (d *fakeDisk) set(n int64) { d.mu.Lock(); d.free = n; d.mu.Unlock() }

func TestRetentionKeepsProtectedAndRefuses(t *testing.T) {
	state := t.TempDir()
	disk := &fakeDisk{free: 100 << 20}
	st := openStore(t, state, Options{Retention: Retention{MinFreeBytes: 10 << 20}, FreeSpace: disk.FreeSpace})

	mk := func(v string, f func(*result.Result)) result.Result {
		r := sampleResult(v)
		if f != nil {
			f(&r)
		}
		return r
	}
	specs := []result.Result{
		mk(result.VerdictMatch, nil),       // 1: goes first
		mk(result.VerdictUnderweight, nil), // 2: discrepancy
		mk(result.VerdictMatch, func(r *result.Result) { r.Marks = []result.Mark{{TS: 3, File: "video.mkv", Label: "here"}} }), // 3: mark
		mk(result.VerdictMatch, func(r *result.Result) { r.IssueType = "wrong_item" }),                                         // 4: claim
		mk(result.VerdictMatch, nil), // 5: open outcome below
		mk(result.VerdictMatch, nil), // 6: resolved outcome: may go
		mk(result.VerdictMatch, nil), // 7: goes
	}
	var ids []string
	for i, r := range specs {
		ids = append(ids, sealOne(t, st, t0.Add(time.Duration(i)*time.Minute), true, r).SessionID)
	}
	if _, err := st.RecordOutcome(ids[4], Outcome{Status: StatusEscalated, Note: "seller refused, mediation opened"}, t0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOutcome(ids[5], Outcome{Status: StatusResolved, Resolution: ResolutionReplacement}, t0, true); err != nil {
		t.Fatal(err)
	}
	head := st.Head()

	// Enough space: nothing happens.
	rep, err := st.Enforce(t0.Add(time.Hour), true)
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("with space: %v %+v", err, rep)
	}
	// Space short and never recovering: every unprotected bundle goes,
	// oldest first, then the refusal.
	disk.set(1 << 20)
	rep, err = st.Enforce(t0.Add(time.Hour), true)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Enforce: got %v, want ErrNoSpace", err)
	}
	t.Logf("refusal: %v", err)
	var removed []string
	for _, r := range rep.Removed {
		removed = append(removed, r.SessionID)
		if r.Reason != ReasonLowSpace || r.FreedBytes < 100_000 {
			t.Errorf("removal %+v", r)
		}
	}
	if want := []string{ids[0], ids[5], ids[6]}; !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	if rep.Protected != 4 {
		t.Errorf("protected %d, want 4", rep.Protected)
	}
	// Begin refuses with the same sentinel.
	if _, err := st.Begin(t0.Add(2*time.Hour), true, ""); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Begin with only protected evidence left: got %v, want ErrNoSpace", err)
	}
	// Protected bundles are intact; removed ones are tombstones; the chain
	// verifies through them and the head has not moved.
	c, err := VerifyChain(state, ChainOptions{Head: head})
	if err != nil || !c.OK() {
		t.Fatalf("chain: %v %+v", err, c)
	}
	for i, b := range c.Bundles {
		wantState := "sealed"
		if slices.Contains(removed, ids[i]) {
			wantState = "tombstoned"
		}
		if b.State != wantState {
			t.Errorf("%s: state %s, want %s", b.Bundle, b.State, wantState)
		}
		if wantState == "sealed" {
			for _, f := range b.Files {
				if f.Status != "ok" {
					t.Errorf("%s: protected file %s is %s", b.Bundle, f.Name, f.Status)
				}
			}
		}
	}
	// Resolving the open outcome lets that bundle go too.
	if _, err := st.RecordOutcome(ids[4], Outcome{Status: StatusResolved, Resolution: ResolutionRefund, Amount: ptr(23), Currency: "USD"}, t0, true); err != nil {
		t.Fatal(err)
	}
	rep, err = st.Enforce(t0.Add(3*time.Hour), true)
	if !errors.Is(err, ErrNoSpace) || len(rep.Removed) != 1 || rep.Removed[0].SessionID != ids[4] {
		t.Fatalf("after resolving: %v %+v", err, rep)
	}
	// Space back: recording is allowed again.
	disk.set(50 << 20)
	if _, err := st.Begin(t0.Add(4*time.Hour), true, ""); err != nil {
		t.Fatalf("Begin with space: %v", err)
	}
	// A reopened store sees the tombstones.
	st2 := openStore(t, state, Options{})
	var states []string
	for _, b := range st2.List() {
		states = append(states, b.State)
	}
	want := []string{"tombstoned", "sealed", "sealed", "sealed", "tombstoned", "tombstoned", "tombstoned", "unsealed"}
	if !slices.Equal(states, want) {
		t.Errorf("states after reopen %v, want %v", states, want)
	}
}

func TestRetentionMaxAgeTrustsOnlySyncedClock(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{Retention: Retention{MaxAge: 30 * 24 * time.Hour}})
	old := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	unsynced := sealOne(t, st, t0, false, sampleResult(result.VerdictMatch))
	protected := sealOne(t, st, t0, true, sampleResult(result.VerdictUnderweight))
	fresh := sealOne(t, st, t0.Add(20*24*time.Hour), true, sampleResult(result.VerdictMatch))
	now := t0.Add(45 * 24 * time.Hour)

	rep, err := st.Enforce(now, false)
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("unsynced clock removed %+v (%v)", rep.Removed, err)
	}
	rep, err = st.Enforce(now, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || rep.Removed[0].SessionID != old.SessionID || rep.Removed[0].Reason != ReasonMaxAge {
		t.Fatalf("removed %+v, want only %s (max_age)", rep.Removed, old.SessionID)
	}
	_, _, _ = unsynced, protected, fresh
	r, _ := VerifyBundle(filepath.Join(state, SessionsDir, old.SessionID), VerifyOptions{})
	if !r.OK() || r.Tombstone == nil || r.Tombstone.Reason != ReasonMaxAge || !strings.Contains(r.Tombstone.Detail, "720h0m0s") {
		t.Fatalf("tombstone: %+v", r)
	}
}

// TestRetentionOnFullFilesystem records on a real 4 MiB tmpfs until only
// protected evidence is left: unprotected bundles go, protected ones stay
// intact, and Begin finally refuses with ErrNoSpace.
func TestRetentionOnFullFilesystem(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a 4 MiB tmpfs on %s (the test runs as root): %v: %s", mnt, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	const minFree = 1 << 20
	st := openStore(t, mnt, Options{Retention: Retention{MinFreeBytes: minFree}})
	if fi, err := os.Stat(filepath.Join(mnt, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file on tmpfs: %v %v", fi.Mode(), err)
	}
	video := make([]byte, 600<<10)
	var protected, unprotected []string
	var refusal error
	for i := 0; i < 40; i++ {
		verdict := result.VerdictMatch
		if i%3 == 1 {
			verdict = result.VerdictUnderweight
		}
		s, err := st.Begin(t0.Add(time.Duration(i)*time.Minute), true, "")
		if err != nil {
			refusal = err
			break
		}
		rand.Read(video)
		writeFiles(t, s, video)
		if _, err := s.Seal(sampleResult(verdict)); err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
		if verdict == result.VerdictMatch {
			unprotected = append(unprotected, s.ID())
		} else {
			protected = append(protected, s.ID())
		}
	}
	if !errors.Is(refusal, ErrNoSpace) {
		t.Fatalf("recording never refused (err %v)", refusal)
	}
	free, err := FreeBytes(mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refused after %d sessions (%d protected), %d bytes free: %v", len(protected)+len(unprotected), len(protected), free, refusal)
	if free >= minFree {
		t.Errorf("refused with %d bytes free, threshold %d", free, minFree)
	}
	if len(protected) < 3 {
		t.Errorf("only %d protected bundles fit", len(protected))
	}
	c, err := VerifyChain(mnt, ChainOptions{VerifyOptions: VerifyOptions{Key: st.PublicKey()}, Head: st.Head()})
	if err != nil || !c.OK() {
		t.Fatalf("chain on tmpfs: %v %+v", err, c)
	}
	for _, b := range c.Bundles {
		switch {
		case slices.Contains(protected, b.Bundle):
			if b.State != "sealed" {
				t.Errorf("protected %s is %s", b.Bundle, b.State)
			}
		case slices.Contains(unprotected, b.Bundle):
			if b.State != "tombstoned" {
				t.Errorf("unprotected %s is %s, want tombstoned", b.Bundle, b.State)
			}
		default:
			t.Errorf("unexpected bundle %s", b.Bundle)
		}
	}
}

// TestRunPeriodic: Run applies retention at once and then every interval
// (fake time), and returns when its context ends.
func TestRunPeriodic(t *testing.T) {
	state := t.TempDir()
	disk := &fakeDisk{free: 100 << 20}
	st := openStore(t, state, Options{Retention: Retention{MinFreeBytes: 10 << 20}, FreeSpace: disk.FreeSpace})
	a := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	b := sealOne(t, st, t0.Add(time.Minute), true, sampleResult(result.VerdictMatch))
	states := func() []string {
		var out []string
		for _, i := range st.List() {
			out = append(out, i.State)
		}
		return out
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		var calls atomic.Int32
		go func() {
			done <- st.Run(ctx, 10*time.Minute, func() (time.Time, bool) {
				calls.Add(1)
				return time.Now(), true
			})
		}()
		synctest.Wait()
		if calls.Load() != 1 || !slices.Equal(states(), []string{"sealed", "sealed"}) {
			t.Fatalf("after start: %d checks, states %v", calls.Load(), states())
		}
		disk.set(1 << 20) // space runs short
		time.Sleep(10*time.Minute + time.Second)
		synctest.Wait()
		if calls.Load() != 2 || !slices.Equal(states(), []string{"tombstoned", "tombstoned"}) {
			t.Fatalf("after one interval: %d checks, states %v", calls.Load(), states())
		}
		// Only refusals from now on, logged, and Run keeps going.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if calls.Load() != 3 {
			t.Fatalf("%d checks after two intervals", calls.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v", err)
		}
	})
	_, _ = a, b
	if err := st.Run(context.Background(), 0, nil); err == nil {
		t.Fatal("Run with interval 0 accepted")
	}
}

// TestRemovalCutShort: the power went after the tombstone was written but
// before every data file was deleted (or between a signature and its
// document): verify still passes, noting the leftovers, and Open finishes
// the job.
func TestRemovalCutShort(t *testing.T) {
	state := t.TempDir()
	st := openStore(t, state, Options{})
	a := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	dir := filepath.Join(state, SessionsDir, a.SessionID)
	saved := map[string][]byte{}
	for _, n := range []string{"video.mkv", SumsFile} {
		saved[n], _ = os.ReadFile(filepath.Join(dir, n))
	}
	st.mu.Lock()
	_, err := st.tombstoneLocked(st.entries[0], ReasonLowSpace, "test", t0, true)
	st.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for n, data := range saved {
		os.WriteFile(filepath.Join(dir, n), data, 0o644)
	}
	// An outcome signature whose document never made it.
	os.WriteFile(filepath.Join(dir, "outcome-001.sig"), []byte("x"), 0o644)
	rep, _ := VerifyBundle(dir, VerifyOptions{})
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "video.mkv: left over") }) {
		t.Errorf("leftover not noted: %v", rep.Notes)
	}
	openStore(t, state, Options{})
	for _, n := range []string{"video.mkv", SumsFile, "outcome-001.sig"} {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Open", n)
		}
	}
	if rep, _ := VerifyBundle(dir, VerifyOptions{}); !rep.OK() || rep.State != "tombstoned" {
		t.Fatalf("after Open: %+v", rep)
	}
}

// TestTwoProcesses: weighctl records an outcome through its own Store while
// weighd's Store is open on the same state directory. weighd's retention
// sees the new outcome, and outcome numbers never collide.
func TestTwoProcesses(t *testing.T) {
	state := t.TempDir()
	disk := &fakeDisk{free: 100 << 20}
	daemon := openStore(t, state, Options{Retention: Retention{MinFreeBytes: 10 << 20}, FreeSpace: disk.FreeSpace})
	a := sealOne(t, daemon, t0, true, sampleResult(result.VerdictMatch))
	b := sealOne(t, daemon, t0.Add(time.Hour), true, sampleResult(result.VerdictMatch))

	ctl := openStore(t, state, Options{})
	if _, err := ctl.RecordOutcome(a.SessionID, Outcome{Status: StatusEscalated}, t0, true); err != nil {
		t.Fatal(err)
	}
	if n, err := daemon.RecordOutcome(a.SessionID, Outcome{Status: StatusRefused}, t0, true); err != nil || n.N != 2 {
		t.Fatalf("daemon's outcome after weighctl's: n %d, %v", n.N, err)
	}
	disk.set(1)
	rep, err := daemon.Enforce(t0.Add(2*time.Hour), true)
	if !errors.Is(err, ErrNoSpace) || len(rep.Removed) != 1 || rep.Removed[0].SessionID != b.SessionID {
		t.Fatalf("Enforce: %v, removed %+v (want only %s)", err, rep.Removed, b.SessionID)
	}
	r, _ := VerifyBundle(filepath.Join(state, SessionsDir, a.SessionID), VerifyOptions{})
	if !r.OK() || r.State != "sealed" || len(r.Outcomes) != 2 {
		t.Fatalf("bundle with the open outcome: %+v", r)
	}
}

// TestRetentionDerivedFirst: low space takes the derived files (a pack's
// zip, which can be made again) before any bundle, and bundles only once
// none is left.
func TestRetentionDerivedFirst(t *testing.T) {
	state := t.TempDir()
	disk := &fakeDisk{free: 100 << 20}
	derived := []int64{3 << 20, 4 << 20} // two zips, oldest first
	var calls int
	remove := func() (int64, error) {
		calls++
		if len(derived) == 0 {
			return 0, nil
		}
		n := derived[0]
		derived = derived[1:]
		free, _ := disk.FreeSpace("")
		disk.set(free + n)
		return n, nil
	}
	st := openStore(t, state, Options{Retention: Retention{MinFreeBytes: 10 << 20, RemoveDerived: remove}, FreeSpace: disk.FreeSpace})
	a := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	sealOne(t, st, t0.Add(time.Minute), true, sampleResult(result.VerdictMatch))

	// 4 MiB free; the two zips bring it to 11 MiB: no bundle goes.
	disk.set(4 << 20)
	rep, err := st.Enforce(t0.Add(time.Hour), true)
	if err != nil || len(rep.Removed) != 0 || rep.DerivedBytes != 7<<20 {
		t.Fatalf("derived first: %v %+v", err, rep)
	}
	// Short again with no derived file left: the oldest bundle goes.
	disk.set(9 << 20)
	rep, _ = st.Enforce(t0.Add(time.Hour), true) // the fake disk never gains: every unprotected bundle goes
	if len(rep.Removed) == 0 || rep.Removed[0].SessionID != a.SessionID || rep.DerivedBytes != 0 {
		t.Fatalf("after the derived files: %+v", rep)
	}
	if calls < 3 {
		t.Errorf("RemoveDerived asked %d times", calls)
	}
}

// TestOffload: offsite.delete_local_after_verified. Only sealed,
// unprotected bundles the off-site store has verified lose their data
// files; they stay "offloaded" with manifest, SHA256SUMS and signatures,
// verify as such, and a copy read back from the store verifies whole (a
// flipped byte fails).
func TestOffload(t *testing.T) {
	state := t.TempDir()
	var mu sync.Mutex
	verified := map[string]bool{}
	asked := func(s string) bool { mu.Lock(); defer mu.Unlock(); return verified[s] }
	st := openStore(t, state, Options{Retention: Retention{Offloadable: asked}})
	a := sealOne(t, st, t0, true, sampleResult(result.VerdictMatch))
	b := sealOne(t, st, t0.Add(time.Minute), true, sampleResult(result.VerdictUnderweight)) // protected
	c := sealOne(t, st, t0.Add(2*time.Minute), true, sampleResult(result.VerdictMatch))     // not verified yet
	mu.Lock()
	verified[a.SessionID], verified[b.SessionID] = true, true
	mu.Unlock()
	dirA := filepath.Join(state, SessionsDir, a.SessionID)
	video, _ := os.ReadFile(filepath.Join(dirA, "video.mkv"))

	rep, err := st.Enforce(t0.Add(time.Hour), true)
	if err != nil || len(rep.Removed) != 1 || rep.Removed[0].SessionID != a.SessionID || rep.Removed[0].Reason != ReasonOffloaded {
		t.Fatalf("Enforce: %v %+v", err, rep)
	}
	if _, ok, err := st.Offload(c.SessionID); ok || err != nil {
		t.Fatalf("Offload of a bundle not verified: %v %v", ok, err)
	}
	mu.Lock()
	verified[c.SessionID] = true
	mu.Unlock()
	if r, ok, err := st.Offload(c.SessionID); !ok || err != nil || r.FreedBytes == 0 {
		t.Fatalf("Offload once verified: %+v %v %v", r, ok, err)
	}
	for _, keep := range []string{ManifestFile, ManifestSigFile, SumsFile, SumsSigFile, TombstoneFile, TombstoneSigFile} {
		if _, err := os.Stat(filepath.Join(dirA, keep)); err != nil {
			t.Errorf("offloaded bundle lost %s: %v", keep, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dirA, "video.mkv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("video.mkv still there: %v", err)
	}
	r, _ := VerifyBundle(dirA, VerifyOptions{})
	if !r.OK() || r.State != StateOffloaded || !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, OffloadedNote) }) {
		t.Fatalf("verify offloaded: ok %v state %s notes %v problems %v", r.OK(), r.State, r.Notes, r.Problems)
	}
	t.Logf("weighctl verify says: %s", r.Notes[0])
	ch, err := VerifyChain(state, ChainOptions{Head: st.Head()})
	if err != nil || !ch.OK() {
		t.Fatalf("chain: %v %+v", err, ch)
	}
	// A reopened store (and ReadBundle) report it offloaded; the
	// protected one stays sealed.
	st.Close()
	var states []string
	for _, bi := range openStore(t, state, Options{}).List() {
		states = append(states, bi.State)
	}
	if want := []string{StateOffloaded, "sealed", StateOffloaded}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	// The store's copy: the data files back beside the tombstone.
	os.WriteFile(filepath.Join(dirA, "video.mkv"), video, 0o644)
	if r, _ := VerifyBundle(dirA, VerifyOptions{}); !r.OK() || slices.ContainsFunc(r.Files, func(f FileCheck) bool { return f.Name == "video.mkv" && f.Status != "ok" }) {
		t.Fatalf("copy with its data: %+v", r)
	}
	video[len(video)/2] ^= 1
	os.WriteFile(filepath.Join(dirA, "video.mkv"), video, 0o644)
	if r, _ := VerifyBundle(dirA, VerifyOptions{}); r.OK() {
		t.Fatal("a flipped byte in an offloaded bundle's copy verified")
	}
}
