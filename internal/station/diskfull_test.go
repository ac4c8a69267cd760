package station_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

// TestDiskFullMidRecording: the state directory is a small tmpfs that
// fills while the unboxing is recorded. The recording ends at once on the
// write error; the status, the LED, last_error and <base>/error say why;
// the bundle is sealed with what was written and a claim that says the
// recording ended early; the next start is refused with the reason until
// there is room again.
func TestDiskFullMidRecording(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/e2e/error")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	d := newDaemon(t, mq.URL(), "retention:\n  min_free_bytes: 0\n")
	if err := os.MkdirAll(d.state, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=12m,mode=0750", "tmpfs", d.state).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the tests run as root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", d.state).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", d.state, err, out)
		}
	})
	d.start()
	if _, err := os.Stat(filepath.Join(d.state, "seal-reserve")); err != nil {
		t.Fatalf("no seal reserve: %v", err)
	}
	d.do(api.CmdSimPlace, "800")
	pre := d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool { return s.WeightState == "stable" }).Camera.PreRollB
	// Leave room for the pre-roll and about 400 kB more: a few seconds of
	// the simulated camera.
	filler := filepath.Join(d.state, "filler")
	var fs syscall.Statfs_t
	if err := syscall.Statfs(d.state, &fs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filler, make([]byte, max(int64(fs.Bavail)*fs.Bsize-pre-400<<10, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	d.do(api.CmdSimPress, "short")
	st := d.waitFor("the recording to end on the full disk", 60*time.Second, func(s api.Status) bool {
		return !s.Recording && s.LastResult != nil && s.LastResult.StopReason == result.StopWriteFailed && s.SessionState != "sealing"
	})
	id := st.LastResult.SessionID
	if !strings.Contains(st.LastError, "no space left on device") || st.LED != "error" {
		t.Errorf("last_error %q, LED %q: want the disk full and the error pattern", st.LastError, st.LED)
	}
	res := sealedManifest(t, d, id)
	if res.StopReason != result.StopWriteFailed || res.Continuity.Frames == 0 {
		t.Errorf("stop_reason %q with %d frames, want write_failed and what was written", res.StopReason, res.Continuity.Frames)
	}
	claim, err := os.ReadFile(filepath.Join(d.state, "sessions", id, "dispute.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(claim), "continuous recording") || !strings.Contains(string(claim), "could not write to its storage") {
		t.Errorf("the claim does not say the recording was cut short:\n%s", claim)
	}
	if _, err := sub.Wait(10*time.Second, func(m mqtttest.Msg) bool { return strings.Contains(m.Payload, "no space left on device") }); err != nil {
		t.Errorf("<base>/error: %v", err)
	}
	// The next start is refused to its sender, with the reason.
	err = d.client.Command(context.Background(), "start", "PRESS", nil)
	if err == nil || !strings.Contains(err.Error(), "no room for the") {
		t.Errorf("start on the full disk: %v, want a refusal naming the storage", err)
	}
	// Room again: the next session starts and ends normally.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })
	next := d.session(900, 2*time.Second)
	if next.StopReason != result.StopButton {
		t.Errorf("the session after the disk was freed: stop_reason %q", next.StopReason)
	}
	if st := d.status(); st.LastError != "" || st.LED == "error" {
		t.Errorf("after room came back: last_error %q, LED %q", st.LastError, st.LED)
	}
	d.stop()
}
