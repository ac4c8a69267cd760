package station_test

import (
	"encoding/csv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/recorder"
	"weighin/internal/result"
	"weighin/internal/station"
)

// sealedManifest checks that the bundle of session id verifies and returns
// its result.
func sealedManifest(t *testing.T, d *daemon, id string) result.Result {
	t.Helper()
	dir := filepath.Join(d.state, "sessions", id)
	rep, err := evidence.VerifyBundle(dir, evidence.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("%s does not verify: %v %+v\nlog:\n%s", id, err, rep, d.logText())
	}
	data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, _, err := evidence.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return man.Result
}

// weightLog reads a bundle's weight.csv: the t_ms of every row.
func weightLog(t *testing.T, d *daemon, id string) []int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(d.state, "sessions", id, "weight.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[0][0] != "t_ms" {
		t.Fatalf("weight.csv of %s: %d rows, header %v", id, len(rows), rows[0])
	}
	var ts []int64
	for _, r := range rows[1:] {
		v, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatalf("weight.csv of %s: t_ms %q: %v", id, r[0], err)
		}
		ts = append(ts, v)
	}
	return ts
}

// startRecording places grams, presses and waits for the recording; it
// returns its session id.
func (d *daemon) startRecording(grams float64) string {
	d.t.Helper()
	d.do(api.CmdSimPlace, strconv.FormatFloat(grams, 'f', -1, 64))
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
	d.do(api.CmdSimPress, "short")
	return d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording && s.SessionID != "" }).SessionID
}

// waitSealed waits until the session id is the last result and the station
// is out of it.
func (d *daemon) waitSealed(id string, timeout time.Duration) result.Result {
	d.t.Helper()
	st := d.waitFor("session "+id+" sealed", timeout, func(s api.Status) bool {
		return s.LastResult != nil && s.LastResult.SessionID == id && !s.Recording && s.SessionState != "sealing"
	})
	return *st.LastResult
}

// notifySocket makes d's weighd talk to a systemd notify socket with a
// 1 s watchdog; the function returned lists the messages so far.
func notifySocket(t *testing.T, d *daemon) func() []string {
	t.Helper()
	path := filepath.Join(filepath.Dir(d.conf), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.env = append(d.env, "NOTIFY_SOCKET="+path, "WATCHDOG_USEC=1000000")
	var mu sync.Mutex
	var msgs []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, strings.Fields(string(buf[:n]))...)
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(msgs)
	}
}

// TestCameraUnplugAndStopSignal: the camera is pulled out in the middle of a
// recording and comes back; the session seals complete and its continuity
// shows the gap. A session started while the camera is out seals without
// a label still. Then weighd is stopped (SIGTERM) in the middle of a
// recording: it must stop the recording and seal the bundle before it exits
// (complete, not left to be recovered as interrupted), with the weight log
// covering the whole session.
func TestCameraUnplugAndStopSignal(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not found: `make deps` installs Debian's ffmpeg")
	}
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL())
	notes := notifySocket(t, d)
	d.start()

	id := d.startRecording(900)
	d.recordFor(2 * time.Second)
	d.do(station.CmdSimUnplug, "1500ms")
	d.waitFor("the camera lost", 10*time.Second, func(s api.Status) bool { return !s.Camera.Connected })
	back := d.waitFor("the camera back", 20*time.Second, func(s api.Status) bool { return s.Camera.Connected })
	d.recordFor(time.Duration(back.RecordingS*float64(time.Second)) + time.Second)
	d.do(api.CmdSimPress, "long")
	res := d.waitSealed(id, 40*time.Second)
	if res.Interrupted || res.StopReason != result.StopButton {
		t.Errorf("unplug session: interrupted %v, stop_reason %q", res.Interrupted, res.StopReason)
	}
	if len(res.Continuity.Gaps) == 0 || res.Continuity.MaxGapMS < 1000 {
		t.Errorf("continuity after a 1.5 s unplug: max gap %.0f ms, gaps %+v; want a gap of at least 1 s",
			res.Continuity.MaxGapMS, res.Continuity.Gaps)
	}
	if m := sealedManifest(t, d, id); m.Continuity.MaxGapMS != res.Continuity.MaxGapMS {
		t.Errorf("manifest max gap %v, published %v", m.Continuity.MaxGapMS, res.Continuity.MaxGapMS)
	}
	// A press while the camera is out: the label window sees no frame;
	// the session still seals, without a label still, once the camera is
	// back and the recording stopped. (The platform returns to empty
	// between sessions first, as it must.)
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })
	d.do(api.CmdSimPlace, "900")
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" })
	d.do(station.CmdSimUnplug, "4s")
	d.waitFor("the camera lost", 10*time.Second, func(s api.Status) bool { return !s.Camera.Connected })
	d.do(api.CmdSimPress, "short")
	id = d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording && s.SessionID != "" }).SessionID
	back = d.waitFor("the camera back", 20*time.Second, func(s api.Status) bool { return s.Camera.Connected })
	d.recordFor(time.Duration(back.RecordingS*float64(time.Second)) + time.Second)
	d.do(api.CmdSimPress, "long")
	res = d.waitSealed(id, 40*time.Second)
	if res.Interrupted || res.Continuity.MaxGapMS < 2000 {
		t.Errorf("session pressed with the camera out: interrupted %v, max gap %.0f ms; want a complete seal and a gap of at least 2 s",
			res.Interrupted, res.Continuity.MaxGapMS)
	}
	if _, err := os.Stat(filepath.Join(d.state, "sessions", id, "label.jpg")); err == nil {
		t.Errorf("a label still was written with no frame in the label window")
	}
	sealedManifest(t, d, id)
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })

	// SIGTERM during a recording.
	id = d.startRecording(1300)
	began := time.Now()
	// Sound by default under --sim (issue 25): status and LED say so.
	d.waitFor("recording with sound", 10*time.Second, func(s api.Status) bool {
		return s.Audio.On && s.Audio.Device == "synthetic" && s.Audio.Rate == 16000 && s.Audio.LevelDBFS > -30 && s.LED == "recording_sound"
	})
	d.recordFor(3 * time.Second)
	recorded := time.Since(began)
	d.stop()
	m := sealedManifest(t, d, id)
	if m.Interrupted || m.StopReason != result.StopShutdown {
		t.Errorf("session stopped by SIGTERM: interrupted %v, stop_reason %q; want shutdown\nlog:\n%s", m.Interrupted, m.StopReason, d.logText())
	}
	if m.Continuity.Frames < int64(recorded.Seconds()-1)*15 {
		t.Errorf("session stopped by SIGTERM: %d frames after %.1f s at 15 fps", m.Continuity.Frames, recorded.Seconds())
	}
	if _, err := os.Stat(filepath.Join(d.state, "sessions", id, "label.jpg")); err != nil {
		t.Errorf("label still: %v\nlog:\n%s", err, d.logText())
	}
	if n, ok := ffprobeFrames(t, filepath.Join(d.state, "sessions", id, "video-000.mkv")); ok && int64(n) != m.Continuity.Frames {
		t.Errorf("ffprobe decodes %d frames; the manifest says %d", n, m.Continuity.Frames)
	}
	// The sound is in the file, as the manifest says, over most of the
	// video (a loaded machine may stall the simulated microphone's reader).
	if a := m.Continuity.Audio; a == nil || a.Codec != "pcm_s16le" || a.Rate != 16000 || a.DurationS < m.Continuity.DurationS/2 {
		t.Errorf("manifest continuity.audio %+v for %.1f s of video", a, m.Continuity.DurationS)
	} else if an, err := recorder.Analyze(filepath.Join(d.state, "sessions", id, "video-000.mkv"), time.Second); err != nil || an.Audio.Samples != a.Samples {
		t.Errorf("the file's audio track: %d samples, %v; the manifest says %d", an.Audio.Samples, err, a.Samples)
	}
	// weight.csv: time from the session's start, over the whole recording.
	ts := weightLog(t, d, id)
	if ts[0] < 0 || ts[0] > 1000 {
		t.Errorf("weight.csv starts at t_ms %d, want the session's start (0–1000)", ts[0])
	}
	if last := ts[len(ts)-1]; last < recorded.Milliseconds()-1000 {
		t.Errorf("weight.csv ends at t_ms %d after %v of recording", last, recorded)
	}
	// systemd was told: ready, alive (the watchdog, also while recording
	// and sealing), stopping.
	got := notes()
	for _, want := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1"} {
		if !slices.Contains(got, want) {
			t.Errorf("sd_notify messages %q lack %s", got, want)
		}
	}
	// Nothing was left for recovery: every bundle is sealed, none
	// interrupted, and the chain holds.
	chain, err := evidence.VerifyChain(filepath.Join(d.state, "sessions"), evidence.ChainOptions{})
	if err != nil || !chain.OK() || len(chain.Bundles) != 3 {
		t.Fatalf("chain after a clean stop: %v %+v", err, chain)
	}
	for _, b := range chain.Bundles {
		if b.State != "sealed" || b.Interrupted {
			t.Errorf("%s: %s, interrupted %v", b.Bundle, b.State, b.Interrupted)
		}
	}
}
