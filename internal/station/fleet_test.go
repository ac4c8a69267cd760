package station_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/offsite"
)

// TestTwoStationsOneBrokerOneBucket: two weighd --sim stations on one
// Mosquitto and one versitygw bucket. Station B was set up by an older
// version with station_id legacy-b; upgraded to an empty station_id it
// keeps legacy-b (from its chain). Station A derives its id and offloads
// (offsite.delete_local_after_verified). The broker holds two Home
// Assistant devices, each with its off-site sensors; the stations have two
// chains under two keys; the bucket holds exactly both journals' objects,
// under two prefixes. A's offloaded bundle verifies locally as "offloaded —
// verify from the store" and from the store in full.
func TestTwoStationsOneBrokerOneBucket(t *testing.T) {
	t.Parallel()
	ctl, _, s3cmd, off := offsiteRig(t)
	mq, port := startMosquitto(t)
	setID := func(d *daemon, line string) {
		t.Helper()
		if err := os.WriteFile(d.conf, []byte(strings.Replace(mustRead(t, d.conf), "station_id: e2e\n", line, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// B: an older install with station_id legacy-b, then upgraded to an
	// empty station_id (nothing persisted: a configured id never is).
	b := newDaemon(t, mq.URL(), off)
	setID(b, "station_id: legacy-b\n")
	b.start()
	rb := b.session(900, 2*time.Second)
	b.stop()
	if err := os.WriteFile(b.conf, []byte(strings.Replace(mustRead(t, b.conf), "station_id: legacy-b\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.state, "station_id")); err == nil {
		t.Fatal("a configured station_id was persisted")
	}
	b.start()
	if id := b.status().StationID; id != "legacy-b" {
		t.Fatalf("upgraded station with an empty station_id is %q, want its old legacy-b", id)
	}

	a := newDaemon(t, mq.URL(), off, "  delete_local_after_verified: true\n")
	setID(a, "")
	a.start()
	idA := a.status().StationID
	if idA == "" || idA == "legacy-b" {
		t.Fatalf("station A's id %q", idA)
	}
	// A match without a mark: unprotected, so it may be offloaded.
	a.do("label_weight", "2350")
	a.do(api.CmdSimPlace, "2342")
	a.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
	a.do(api.CmdSimPress, "short")
	a.recordFor(2 * time.Second)
	a.do(api.CmdSimPress, "long")
	ra := *a.waitFor("the sealed result", 30*time.Second, func(s api.Status) bool {
		return s.LastResult != nil && s.SessionState != "sealing"
	}).LastResult
	if ra.Verdict != "match" || len(ra.Marks) != 0 {
		t.Fatalf("A's session: verdict %s, %d mark(s), want an unprotected match", ra.Verdict, len(ra.Marks))
	}

	done := func(s api.Status) bool {
		return s.Offsite != nil && s.Offsite.BacklogObjects == 0 && len(s.Offsite.Problems) == 0
	}
	b.waitFor("B's objects verified", 60*time.Second, done)
	bundleA := filepath.Join(a.state, ra.Bundle)
	if !poll(60*time.Second, func() bool {
		bi, err := evidence.ReadBundle(bundleA)
		return err == nil && bi.State == evidence.StateOffloaded && done(a.status())
	}) {
		t.Fatalf("A's bundle was not offloaded with every object (the tombstone too) verified: %+v\n%s", a.status().Offsite, a.logText())
	}
	if _, err := os.Stat(filepath.Join(bundleA, "weight.csv")); err == nil {
		t.Error("A's offloaded bundle still has weight.csv")
	}

	// Two Home Assistant devices, each with its off-site sensors, whose
	// templates render over the retained state (which follows the status
	// within about a second: asked again until it shows the empty backlog).
	var problems []string
	var devices map[string]bool
	for deadline := time.Now().Add(30 * time.Second); ; {
		problems, devices = nil, map[string]bool{}
		latest := retainedSnapshot(t, port)
		for _, id := range []string{idA, "legacy-b"} {
			var dp struct {
				Dev  struct{ IDs []string } `json:"dev"`
				Cmps map[string]map[string]any
			}
			if err := json.Unmarshal([]byte(latest["homeassistant/device/"+id+"/config"]), &dp); err != nil || len(dp.Dev.IDs) != 1 {
				t.Fatalf("discovery of %s: %v %+v", id, err, dp.Dev)
			}
			devices[dp.Dev.IDs[0]] = true
			for _, key := range []string{"offsite_backlog", "offsite_backlog_bytes"} {
				c := dp.Cmps[key]
				tpl, _ := c["value_template"].(string)
				topic, _ := c["state_topic"].(string)
				if got, err := renderTemplate(tpl, latest[topic]); err != nil || topic != "weighin/"+id+"/state" || got != "0" {
					problems = append(problems, fmt.Sprintf("%s %s on %s = %q (%v)", id, key, topic, got, err))
				}
			}
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(devices) != 2 {
		t.Errorf("Home Assistant devices %v, want two", devices)
	}

	// Two chains under two keys.
	var keys []string
	for _, d := range []*daemon{a, b} {
		c, err := evidence.VerifyChain(filepath.Join(d.state, evidence.SessionsDir), evidence.ChainOptions{})
		if err != nil || !c.OK() {
			t.Fatalf("chain of %s: %v %+v", d.state, err, c)
		}
		keys = append(keys, c.KeyFingerprint)
	}
	if keys[0] == keys[1] {
		t.Errorf("both stations sign with %s", keys[0])
	}

	// The bucket holds exactly the two journals' objects, all distinct.
	out, err := s3cmd("ls", "--recursive", "s3://evidence/")
	if err != nil {
		t.Fatalf("s3cmd ls: %v\n%s", err, out)
	}
	var remote []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		remote = append(remote, strings.TrimPrefix(f[len(f)-1], "s3://evidence/"))
	}
	var want []string
	for _, st := range []struct{ dir, id string }{{a.state, idA}, {b.state, "legacy-b"}} {
		objs, err := offsite.ReadJournal(st.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.State != offsite.Verified {
				t.Errorf("%s/%s is %s", o.Session, o.File, o.State)
			}
			want = append(want, "shop/"+st.id+"/"+o.Session+"/"+o.File)
		}
	}
	slices.Sort(remote)
	slices.Sort(want)
	if !slices.Equal(remote, want) || len(slices.Compact(slices.Clone(want))) != len(want) {
		t.Errorf("objects in the bucket:\n%v\nwant the journals':\n%v", remote, want)
	}
	t.Logf("bucket: %d objects (%s: A %s, B %s)", len(remote), "shop/<station>/<session>/<file>", ra.SessionID, rb.SessionID)

	// Verify: locally "offloaded — verify from the store", from the store
	// in full.
	vout, err := exec.Command(ctl, "verify", "--config", a.conf, bundleA).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), evidence.OffloadedNote) {
		t.Errorf("weighctl verify of the offloaded bundle: %v\n%s", err, vout)
	}
	vout, err = exec.Command(ctl, "verify", "--offsite", "--config", a.conf, ra.SessionID).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), "0 failed integrity") || strings.Contains(string(vout), "removed") {
		t.Errorf("weighctl verify --offsite of the offloaded bundle: %v\n%s", err, vout)
	}
	t.Logf("weighctl verify --offsite of the offloaded bundle:\n%s", vout)
	a.stop()
	b.stop()
}
