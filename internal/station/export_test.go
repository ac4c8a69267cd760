package station_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/export"
	"weighin/internal/timestamp"
	"weighin/internal/timestamp/tsatest"
)

// buildWeighctl builds cmd/weighctl once per test binary.
var buildWeighctl = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "weighctl-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "weighctl")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/weighctl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build weighctl: %v\n%s", err, out)
	}
	return bin, nil
})

// TestExportThroughWeighd: `weighctl export` of a sealed session goes
// through weighd's API while weighd runs; a recording that starts pauses
// the export (the real ffmpeg is stopped) and it finishes after the
// session; the export is bound by a signed addendum that `weighctl verify`
// accepts.
func TestExportThroughWeighd(t *testing.T) {
	t.Parallel()
	ctl, err := buildWeighctl()
	if err != nil {
		t.Fatal(err)
	}
	mq, _ := startMosquitto(t)
	// 720p and libx264's slow preset keep the export running for seconds,
	// long enough for a recording to start in the middle of it. A weighd
	// built with the race detector cannot keep up with a synthetic 720p30
	// camera on a small machine (it records no frame): 360p then.
	size := "  width: 1280\n  height: 720\n  fps: 30\n"
	if len(raceFlags) > 0 {
		size = "  width: 640\n  height: 360\n  fps: 30\n"
	}
	d := newDaemon(t, mq.URL(), "export:\n  encoder: libx264\n  x264_preset: slow\n")
	conf := strings.Replace(mustRead(t, d.conf), "  width: 320\n  height: 240\n  fps: 15\n", size, 1)
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	if st := d.status(); st.Exports.State != "idle" {
		t.Fatalf("exports %+v, want idle (ffmpeg is installed)", st.Exports)
	}
	first := d.session(1200, 6*time.Second)
	if first.Continuity.Frames < 100 {
		t.Fatalf("the session recorded %d frames in 6 s; nothing to export\n%s", first.Continuity.Frames, d.logText())
	}
	bundle := filepath.Join(d.state, first.Bundle)

	// The next parcel is on the scale and steady before the export starts,
	// so that the press comes while the export runs, however fast it is.
	d.do(api.CmdSimPlace, "900")
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-900) < 3
	})

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(ctl, "export", "--config", d.conf, first.SessionID)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	d.waitFor("the export running", 60*time.Second, func(s api.Status) bool {
		return s.Exports.State == "running" && s.Exports.Session == first.SessionID && s.Exports.Percent > 0
	})

	// A recording starts: the export pauses for it.
	d.do(api.CmdSimPress, "short")
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	st := d.waitFor("the export paused", 5*time.Second, func(s api.Status) bool { return s.Exports.State == "paused" })
	pausedAt := st.Exports.Percent
	d.recordFor(2 * time.Second)
	if st := d.status(); st.Exports.State != "paused" || st.Exports.Percent != pausedAt || st.Exports.Done != 0 {
		t.Errorf("during the recording the export went on: %+v (paused at %.1f %%)", st.Exports, pausedAt)
	}
	select {
	case err := <-exited:
		t.Fatalf("weighctl export ended during the recording: %v\n%s", err, stderr.String())
	default:
	}
	before := d.status().LastResult.SessionID
	d.do(api.CmdSimPress, "long")
	d.waitFor("the second session sealed", 30*time.Second, func(s api.Status) bool {
		return s.LastResult != nil && s.LastResult.SessionID != before && s.SessionState != "sealing"
	})

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("weighctl export: %v\n%s\nweighd:\n%s", err, stderr.String(), d.logText())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("the export did not finish after the session\n%s", d.logText())
	}
	if got, want := strings.TrimSpace(stdout.String()), filepath.Join(bundle, "export-chat.mp4"); got != want {
		t.Errorf("weighctl export printed %q, want %q", got, want)
	}
	if log := d.logText(); !strings.Contains(log, "export paused for a recording") {
		t.Errorf("weighd's log does not show the pause:\n%s", log)
	}
	if st := d.status(); st.Exports.Done != 1 || st.Exports.Failed != 0 || st.Exports.State != "idle" {
		t.Errorf("exports after: %+v", st.Exports)
	}
	adds, _ := filepath.Glob(filepath.Join(bundle, "addendum-*-"+export.RecordKind+".json"))
	if len(adds) != 1 {
		t.Fatalf("export addenda %v, want one", adds)
	}
	if _, err := os.Stat(export.WorkDirFor(d.state, first.SessionID, "chat")); !os.IsNotExist(err) {
		t.Errorf("the work directory is left: %v", err)
	}
	out, err := exec.Command(ctl, "verify", "--config", d.conf, bundle).CombinedOutput()
	if err != nil {
		t.Errorf("weighctl verify of the exported bundle: %v\n%s", err, out)
	}
	// Asked again, weighd answers with the files it has.
	var res api.ExportResult
	if err := d.client.Export(context.Background(), first.SessionID, "chat", &res); err != nil || len(res.Files) != 1 {
		t.Errorf("export again: %+v, %v", res, err)
	}
	if err := d.client.Export(context.Background(), first.SessionID, "huge", &res); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("export with a bad preset: %v", err)
	}

	// weighd killed (kill -9) in the middle of an export: the next start
	// resumes it and binds it, with nobody waiting for it.
	go func() { _ = d.client.Export(context.Background(), first.SessionID, "phone", nil) }()
	d.waitFor("the phone export running", 60*time.Second, func(s api.Status) bool {
		return s.Exports.State == "running" && s.Exports.Preset == "phone" && s.Exports.Percent > 0
	})
	d.kill()
	d.start()
	if !poll(120*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(bundle, "addendum-*-"+export.RecordKind+".json"))
		return len(m) == 2 && d.status().Exports.Done == 1
	}) {
		t.Fatalf("the export cut by kill -9 was not resumed and bound at the next start\n%s", d.logText())
	}
	if log := d.logText(); !strings.Contains(log, "resuming export") {
		t.Errorf("weighd's log does not show the resumed export")
	}
	if out, err := exec.Command(ctl, "verify", "--config", d.conf, bundle).CombinedOutput(); err != nil {
		t.Errorf("weighctl verify after the resumed export: %v\n%s", err, out)
	}
	d.stop()
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestTimestampsThroughWeighd: with trust.tsa_urls set to a real `openssl
// ts -reply` TSA over HTTP, a session sealed by weighd gets SHA256SUMS.tsr,
// and an export made through weighd gets a token for its addendum; each
// passes `openssl ts -verify` as a seller runs it.
func TestTimestampsThroughWeighd(t *testing.T) {
	t.Parallel()
	tsa := tsatest.NewServer(t, "tsaA")
	tsa.Up(t)
	root := filepath.Join(tsatest.PKI(t), "rootA.pem")
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL(), fmt.Sprintf("trust:\n  tsa_urls: [%q]\n  tsa_ca_file: %s\nexport:\n  encoder: libx264\n", tsa.URL(), root))
	d.start()
	r := d.session(1500, 2*time.Second)
	bundle := filepath.Join(d.state, r.Bundle)
	sellerVerify := func(data string) {
		t.Helper()
		tok := timestamp.TokenName(data)
		if !poll(30*time.Second, func() bool { _, err := os.Stat(filepath.Join(bundle, tok)); return err == nil }) {
			t.Fatalf("no %s in the bundle; status %+v\n%s", tok, d.status().Timestamps, d.logText())
		}
		cmd := exec.Command("openssl", "ts", "-verify", "-data", data, "-in", tok, "-CAfile", root)
		cmd.Dir = bundle
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Errorf("openssl ts -verify -data %s -in %s: %v\n%s", data, tok, err, out)
		}
	}
	sellerVerify("SHA256SUMS")
	if _, err := os.Stat(filepath.Join(bundle, timestamp.ChainName("SHA256SUMS"))); err != nil {
		t.Errorf("the TSA's chain beside the token: %v", err)
	}

	var res api.ExportResult
	if err := d.client.Export(context.Background(), r.SessionID, "chat", &res); err != nil {
		t.Fatalf("export: %v\n%s", err, d.logText())
	}
	if res.Addendum == "" || len(res.Files) != 1 {
		t.Fatalf("export result %+v", res)
	}
	sellerVerify(res.Addendum)
	if n := tsa.Requests(); n != 2 {
		t.Errorf("the TSA got %d requests, want 2 (the seal, the export's addendum; none for the tokens)", n)
	}
	ctl, err := buildWeighctl()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ctl, "verify", "--config", d.conf, bundle).CombinedOutput(); err != nil {
		t.Errorf("weighctl verify: %v\n%s", err, out)
	}
	d.stop()
}
