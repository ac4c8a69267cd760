package station_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/result"
)

// TestOneDaemonAndOwnPreroll (issue 12): while session 2 records, a
// second weighd on the same configuration exits non-zero at once, naming
// the holder's PID, having touched nothing; session 2 is then sealed
// once, complete. Its pre-roll's subtitles and weight.csv carry session
// 2's weight and time, not session 1's, and weight.csv is on the video
// axis.
func TestOneDaemonAndOwnPreroll(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: `make deps` installs Debian's ffmpeg", tool)
		}
	}
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL())
	d.start()
	r1 := d.session(1793.3, 2*time.Second)

	// Session 2's parcel rests on the scale for a whole pre-roll (5 s,
	// the default) before the press.
	const grams2 = 3211.8
	d.do(api.CmdSimPlace, fmt.Sprint(grams2))
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-grams2) < 3
	})
	time.Sleep(5500 * time.Millisecond)
	d.do(api.CmdSimPress, "short")
	id2 := d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording && s.SessionID != "" }).SessionID
	dir2 := filepath.Join(d.state, "sessions", id2)

	// The second weighd: refused at once, naming the holder.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	out, err := exec.CommandContext(ctx, d.bin, "--sim", "--config", d.conf).CombinedOutput()
	t.Logf("second weighd exited after %v", time.Since(began).Round(time.Millisecond))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || ctx.Err() != nil {
		t.Fatalf("second weighd: %v (want a non-zero exit)\n%s", err, out)
	}
	if want := fmt.Sprintf("PID %d", d.cmd.Process.Pid); !bytes.Contains(out, []byte(want)) {
		t.Errorf("second weighd does not name the holder (%s):\n%s", want, out)
	}
	if st := d.status(); !st.Recording || st.SessionID != id2 {
		t.Fatalf("after the second weighd: recording %v session %q, want session %s still recording", st.Recording, st.SessionID, id2)
	}
	if _, err := os.Stat(filepath.Join(dir2, evidence.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the second weighd touched the open bundle: manifest %v", err)
	}
	d.recordFor(2 * time.Second)
	d.do(api.CmdSimPress, "long")
	d.waitSealed(id2, 30*time.Second)
	m := sealedManifest(t, d, id2)
	if m.Interrupted || m.StopReason != result.StopButton {
		t.Errorf("session 2: interrupted %v, stop_reason %q; want complete, stopped by the button", m.Interrupted, m.StopReason)
	}
	if n := strings.Count(d.logText(), "interrupted session sealed at recovery"); n != 0 {
		t.Errorf("%d sessions sealed at recovery: a second seal", n)
	}
	chain, err := evidence.VerifyChain(filepath.Join(d.state, "sessions"), evidence.ChainOptions{})
	if err != nil || !chain.OK() {
		t.Errorf("chain: %v %+v", err, chain)
	}

	// The pre-roll: the video's first 4 s show session 2's weight and a
	// time of session 2 (the press, less the pre-roll), never n/a.
	var srt bytes.Buffer
	ff := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", filepath.Join(dir2, "video-000.mkv"), "-map", "0:s:0", "-c:s", "srt", "-f", "srt", "pipe:1")
	ff.Stdout = &srt
	if err := ff.Run(); err != nil {
		t.Fatalf("ffmpeg subtitles: %v", err)
	}
	cues, err := export.ParseSRT(srt.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pressed, _ := time.Parse(time.RFC3339, m.StartedAt)
	ended1, _ := time.Parse(time.RFC3339, r1.StartedAt)
	n := 0
	for _, c := range cues {
		if c.At >= 4*time.Second {
			break
		}
		si, err := export.ParseSubtitle(c.Text)
		if err != nil || si.Mark {
			t.Errorf("pre-roll subtitle at %v: %q %v", c.At, c.Text, err)
			continue
		}
		n++
		if !si.HasGrams || math.Abs(si.Grams-grams2) > 3 {
			t.Errorf("pre-roll subtitle at %v: %q, want session 2's %.1f g", c.At, c.Text, grams2)
		}
		if si.Wall.Before(pressed.Add(-7*time.Second)) || si.Wall.After(pressed.Add(time.Second)) || !si.Wall.After(ended1) {
			t.Errorf("pre-roll subtitle at %v: %q, want a time of session 2 (pressed %v)", c.At, c.Text, pressed)
		}
	}
	if n < 8 {
		t.Errorf("%d subtitles in the first 4 s of the video, want one every 250 ms", n)
	}
	// weight.csv on the same axis: from video time 0, the pre-roll's rows
	// session 2's weight too.
	f, err := os.Open(filepath.Join(dir2, "weight.csv"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := export.ReadWeightLog(f)
	f.Close()
	if err != nil || len(log) == 0 {
		t.Fatalf("weight.csv: %v, %d rows", err, len(log))
	}
	if log[0].T > time.Second {
		t.Errorf("weight.csv starts at %v, want video time 0 (the pre-roll's first frame)", log[0].T)
	}
	for _, r := range log {
		if r.T < 4*time.Second && math.Abs(r.Grams-grams2) > 3 {
			t.Errorf("weight.csv at %v: %.2f g in the pre-roll, want %.1f g", r.T, r.Grams, grams2)
			break
		}
	}
	if m.WeightAxis != result.WeightAxisVideo {
		t.Errorf("manifest weight_axis %q, want %q", m.WeightAxis, result.WeightAxisVideo)
	}
	d.stop()
}
