package station_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/result"
	"weighin/internal/verdict"
)

// TestKillDuringRecording kills weighd with SIGKILL at random moments of
// recordings (half of them just after the label still was written); after
// each restart the interrupted session must be sealed (interrupted), its
// video must play to within 2 s of the kill, as judged by ffprobe, and a
// label still written before the kill must be in the bundle.
func TestKillDuringRecording(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not found: `make deps` installs Debian's ffmpeg")
	}
	mq, _ := startMosquitto(t)

	d := newDaemon(t, mq.URL())
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	const kills = 10
	type killed struct {
		session string
		rec     time.Duration // how long it had recorded when killed
	}
	var victims []killed
	for i := range kills {
		d.start()
		if i > 0 {
			checkRecovered(t, d, victims[i-1].session, victims[i-1].rec)
		}
		d.do(api.CmdSimPlace, fmt.Sprint(500+100*i))
		d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
		d.do(api.CmdSimPress, "short")
		st := d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording && s.SessionID != "" })
		began := time.Now()
		if i%2 == 0 {
			// At a random moment, whether or not the label still is out yet.
			d.recordFor(time.Duration(1500+rng.IntN(3000)) * time.Millisecond)
		} else {
			// Shortly after the label still was written, however long its
			// scoring took on this machine: that still must survive.
			if !poll(60*time.Second, func() bool { return labelWritten(d, st.SessionID) }) {
				t.Fatalf("%s: no label still written within 60 s of recording:\n%s", st.SessionID, d.logText())
			}
			time.Sleep(time.Duration(100+rng.IntN(1400)) * time.Millisecond)
		}
		rec := time.Since(began)
		d.kill()
		t.Logf("kill %d: session %s after %.1f s of recording", i+1, st.SessionID, rec.Seconds())
		victims = append(victims, killed{st.SessionID, rec})
	}
	d.start()
	checkRecovered(t, d, victims[kills-1].session, victims[kills-1].rec)
	written := 0
	for _, v := range victims {
		if labelWritten(d, v.session) {
			written++
		}
	}
	t.Logf("label still written before the kill in %d of %d sessions (%d killed just after it)", written, kills, kills/2)
	if written < kills/2 {
		t.Errorf("only %d of %d sessions had their label still written before the kill; half were killed after it", written, kills)
	}
	chain, err := evidence.VerifyChain(filepath.Join(d.state, "sessions"), evidence.ChainOptions{})
	if err != nil || !chain.OK() {
		t.Errorf("chain after %d kills: %v %+v", kills, err, chain)
	}
	d.stop()
}

// checkRecovered checks that the session killed after rec of recording is
// sealed as interrupted and that its video holds at least rec − 2 s.
func checkRecovered(t *testing.T, d *daemon, id string, rec time.Duration) {
	t.Helper()
	dir := filepath.Join(d.state, "sessions", id)
	rep, err := evidence.VerifyBundle(dir, evidence.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("%s after restart: %v %+v", id, err, rep)
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, _, err := evidence.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	m := man.Result
	if !m.Interrupted || m.StopReason != result.StopInterrupted {
		t.Errorf("%s: interrupted %v, stop_reason %q; want interrupted", id, m.Interrupted, m.StopReason)
	}
	// The pre-roll is in the file too, so the video is longer than the
	// recording; what matters is that no more than 2 s before the kill is
	// lost.
	frames, ok := ffprobeFrames(t, filepath.Join(dir, "video-000.mkv"))
	if !ok {
		return
	}
	const fps = 15
	preRoll := 5.0 // config default; the daemon ran for several seconds first
	wantMin := int((rec.Seconds() - 2) * fps)
	if frames < wantMin {
		t.Errorf("%s: %d frames play, want at least %d (%.1f s recorded, 2 s may be lost)", id, frames, wantMin, rec.Seconds())
	}
	if float64(frames) > (rec.Seconds()+preRoll+1)*fps {
		t.Errorf("%s: %d frames, more than the recording and pre-roll could hold", id, frames)
	}
	if m.Continuity.Frames != int64(frames) {
		t.Errorf("%s: manifest says %d frames, ffprobe decodes %d", id, m.Continuity.Frames, frames)
	}
	checkDurable(t, d, id, m, rec)
}

// labelWritten reports whether weighd logged the label still of session id
// as written into its bundle.
func labelWritten(d *daemon, id string) bool {
	for line := range strings.Lines(d.logText()) {
		if strings.Contains(line, `msg="label still written"`) && strings.Contains(line, "session="+id+" ") {
			return true
		}
	}
	return false
}

// checkDurable (issue 12): a power cut loses at most a sync interval (1 s,
// the default) of the weight log, which is on the video's axis; the label
// still chosen before it is kept; the claim says the recording was
// interrupted and how long its video is, not that it is continuous.
func checkDurable(t *testing.T, d *daemon, id string, m result.Result, rec time.Duration) {
	t.Helper()
	dir := filepath.Join(d.state, "sessions", id)
	ts := weightLog(t, d, id)
	const syncInterval, slack = 1000, 1000 // ms: the loop may be a reading behind under load
	if last, video := ts[len(ts)-1], int64(m.Continuity.DurationS*1000); last < video-syncInterval-slack {
		t.Errorf("%s: weight.csv ends at t_ms %d, the video at %d ms: more than a sync interval lost", id, last, video)
	}
	// A label still weighd wrote before the kill is kept. When it is
	// written depends on the machine (the label window is 1 s from the
	// press, the scoring after it), so weighd's log says which it was.
	if labelWritten(d, id) {
		if _, err := os.Stat(filepath.Join(dir, "label.jpg")); err != nil {
			t.Errorf("%s: killed %.1f s into the recording after its label still was written: %v", id, rec.Seconds(), err)
		}
	}
	claim, err := os.ReadFile(filepath.Join(dir, "dispute.txt"))
	if err != nil {
		t.Errorf("%s: no claim: %v", id, err)
		return
	}
	want := "The recording was interrupted (a power cut or a crash of the station) after " + verdict.FormatTimestamp(m.Continuity.DurationS) + " of video."
	if !strings.Contains(string(claim), want) || strings.Contains(string(claim), "continuous") {
		t.Errorf("%s: the claim does not say it was interrupted after %.1f s of video:\n%s", id, m.Continuity.DurationS, claim)
	}
}
