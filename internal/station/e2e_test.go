package station_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/registry"
	"weighin/internal/result"
)

// buildWeighd builds cmd/weighd once per test binary, with the race
// detector when the tests have it.
var buildWeighd = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "weighd-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "weighd")
	args := append(append([]string{"build"}, raceFlags...), "-o", bin, "../../cmd/weighd")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build weighd: %v\n%s", err, out)
	}
	return bin, nil
})

// daemon is one weighd --sim process.
type daemon struct {
	t      *testing.T
	bin    string
	conf   string
	sock   string
	state  string
	cmd    *exec.Cmd
	log    *os.File
	client *api.Client
	raced  bool     // a data race was reported already
	env    []string // added to weighd's environment
}

// newDaemon prepares weighd --sim on broker; extra is appended to its
// configuration.
func newDaemon(t *testing.T, broker string, extra ...string) *daemon {
	t.Helper()
	bin, err := buildWeighd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d := &daemon{t: t, bin: bin, sock: filepath.Join(dir, "w.sock"), state: filepath.Join(dir, "state"), conf: filepath.Join(dir, "weighd.yaml")}
	conf := fmt.Sprintf(`station_id: e2e
state_dir: %s
log_level: debug
api:
  socket: %s
mqtt:
  broker: %s
scale:
  rate: 80
camera:
  width: 320
  height: 240
  fps: 15
session:
  label_window: 1s
  stable_wait: 2s
`, d.state, d.sock, broker) + withoutAutoPack(strings.Join(extra, ""))
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d.client = api.NewClient(d.sock)
	return d
}

// withoutAutoPack turns export.auto_pack off unless the test sets it: the
// dispute pack after every seal with a claim would add addenda (and
// encodes) the other tests do not expect. TestAutoPack turns it on.
func withoutAutoPack(extra string) string {
	switch {
	case strings.Contains(extra, "auto_pack:"):
		return extra
	case strings.Contains(extra, "export:\n"):
		return strings.Replace(extra, "export:\n", "export:\n  auto_pack: false\n", 1)
	}
	return extra + "export:\n  auto_pack: false\n"
}

func (d *daemon) start() {
	d.t.Helper()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(d.conf), "weighd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	d.log = logf
	d.cmd = exec.Command(d.bin, "--sim", "--config", d.conf)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { d.kill() })
	// Up means calibrated and the synthetic camera delivering: on a loaded
	// machine its first frame can come seconds after the socket, and a
	// press before it finds no pre-roll and no label frame.
	if !poll(30*time.Second, func() bool {
		var st api.Status
		return d.client.Status(context.Background(), &st) == nil && st.Calibrated && st.Camera.Frames > 0
	}) {
		d.t.Fatalf("weighd did not come up (calibrated, camera frames flowing):\n%s", d.logText())
	}
}

// poll checks cond every 50 ms until it holds (true) or timeout passes
// (false): the one wait on the wall clock of the whole-daemon tests.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func (d *daemon) logText() string {
	data, _ := os.ReadFile(filepath.Join(filepath.Dir(d.conf), "weighd.log"))
	return string(data)
}

func (d *daemon) kill() {
	if d.cmd != nil && d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		_ = d.cmd.Wait()
	}
	if d.log != nil {
		d.log.Close()
	}
	d.checkRaces()
}

// checkRaces fails the test when the race detector reported in weighd's
// log (a killed weighd has no exit status to say so).
func (d *daemon) checkRaces() {
	d.t.Helper()
	if log := d.logText(); strings.Contains(log, "WARNING: DATA RACE") && !d.raced {
		d.raced = true
		d.t.Errorf("weighd: data race\n%s", log)
	}
}

func (d *daemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			d.t.Errorf("weighd exit: %v\n%s", err, d.logText())
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("weighd did not stop on SIGTERM")
	}
}

func (d *daemon) do(name, value string) {
	d.t.Helper()
	if err := d.client.Command(context.Background(), name, value, nil); err != nil {
		d.t.Fatalf("command %s %q: %v", name, value, err)
	}
}

func (d *daemon) status() api.Status {
	d.t.Helper()
	var st api.Status
	if err := d.client.Status(context.Background(), &st); err != nil {
		d.t.Fatalf("status: %v", err)
	}
	return st
}

// waitFor polls the status until cond holds.
func (d *daemon) waitFor(what string, timeout time.Duration, cond func(api.Status) bool) api.Status {
	d.t.Helper()
	var st api.Status
	if !poll(timeout, func() bool { st = d.status(); return cond(st) }) {
		d.t.Fatalf("timed out waiting for %s; status %+v\nlog:\n%s", what, st, d.logText())
	}
	return st
}

// recordFor waits until the recording in progress has run for d.
func (d *daemon) recordFor(dur time.Duration) {
	d.t.Helper()
	d.waitFor(fmt.Sprintf("%v of recording", dur), dur+20*time.Second, func(s api.Status) bool {
		return s.Recording && s.RecordingS >= dur.Seconds()
	})
}

// session runs one weigh-in: place, press, mark, stop; it returns the result.
func (d *daemon) session(grams float64, recordFor time.Duration) result.Result {
	d.t.Helper()
	before := d.status().LastResult
	d.do(api.CmdSimPlace, fmt.Sprint(grams))
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-grams) < 3
	})
	d.do(api.CmdSimPress, "short")
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	d.recordFor(recordFor / 2)
	d.do(api.CmdSimPress, "short") // mark
	d.recordFor(recordFor)
	d.do(api.CmdSimPress, "long") // stop
	st := d.waitFor("the sealed result", 30*time.Second, func(s api.Status) bool {
		return s.LastResult != nil && (before == nil || s.LastResult.SessionID != before.SessionID) && s.SessionState != "sealing"
	})
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })
	return *st.LastResult
}

// startMosquitto runs Debian's Mosquitto on a free loopback port for the
// test.
func startMosquitto(t *testing.T) (*mqtttest.Mosquitto, int) {
	t.Helper()
	port, err := mqtttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mq, err := mqtttest.Start(dir, port, mqtttest.Config(port, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mq.Stop() })
	return mq, port
}

func TestEndToEndWithMosquitto(t *testing.T) {
	t.Parallel()
	mq, port := startMosquitto(t)
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/#", "-t", "homeassistant/#")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	var msgsMu sync.Mutex
	var msgs []mqtttest.Msg
	// collect returns the first message, already seen or still to come,
	// that matches.
	collect := func(timeout time.Duration, match func(mqtttest.Msg) bool) mqtttest.Msg {
		t.Helper()
		msgsMu.Lock()
		for _, m := range msgs {
			if match(m) {
				msgsMu.Unlock()
				return m
			}
		}
		msgsMu.Unlock()
		m, err := sub.Wait(timeout, func(m mqtttest.Msg) bool {
			msgsMu.Lock()
			msgs = append(msgs, m)
			msgsMu.Unlock()
			return match(m)
		})
		if err != nil {
			t.Fatalf("mosquitto_sub: %v\n%s", err, sub.Stderr())
		}
		return m
	}

	d := newDaemon(t, mq.URL())
	d.start()
	collect(20*time.Second, func(m mqtttest.Msg) bool { return m.Topic == "homeassistant/device/e2e/config" })
	pub := func(cmd, payload string) {
		t.Helper()
		if err := mqtttest.Publish("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-q", "1", "-t", "weighin/e2e/cmd/"+cmd, "-m", payload); err != nil {
			t.Fatalf("mosquitto_pub %s: %v", cmd, err)
		}
	}
	// The expected parcel, registered from Home Assistant before it arrives.
	pub("parcel", `{"tracking":"LX123456785CN","order_ref":"12345","label_g":2350,"label_resolution_g":10,`+
		`"items":[{"name":"Leather jacket","weight_g":505},{"name":"Sneakers","weight_g":1120},{"name":"Belt","weight_g":210}]}`)
	// A bad one is refused on <base>/error, naming the reason.
	pub("parcel", `{"tracking":"LX1","label_g":-3}`)
	refusal := collect(10*time.Second, func(m mqtttest.Msg) bool {
		return m.Topic == "weighin/e2e/error" && !strings.Contains(m.Payload, `"reason":""`) // a cleared one comes on connect (issue 14)
	})
	if !strings.Contains(refusal.Payload, "label_g must be between") {
		t.Errorf("refusal %s does not give the reason", refusal.Payload)
	}
	waitParcel(t, d.state, "LX123456785CN")
	collect(10*time.Second, func(m mqtttest.Msg) bool {
		return m.Topic == "weighin/e2e/availability" && m.Payload == "online"
	})

	// Flow 1, the demo: 1840 g in a parcel labelled 2350 g.
	d.do("tracking", "LX123456785CN")
	d.do("issue_type", "missing item")
	pub("solution", "full_refund_or_reshipment") // the buyer's choice of remedy, from the dashboard
	d.do("exterior_condition", "retaped")
	if st := d.status(); !st.MQTT.Connected || st.Entries.IssueType != "missing_item" {
		t.Errorf("status: mqtt connected %v, issue type %q; want true, missing_item", st.MQTT.Connected, st.Entries.IssueType)
	}
	first := d.session(1840, 3*time.Second)
	if first.Verdict != result.VerdictUnderweight || first.Tier != 3 {
		t.Errorf("demo flow: verdict %s tier %d, want underweight tier 3", first.Verdict, first.Tier)
	}
	if first.DeltaG == nil || math.Abs(*first.DeltaG+510) > 3 {
		t.Errorf("demo flow: delta %v, want about -510 g", first.DeltaG)
	}
	if len(first.MissingCandidates) == 0 || first.MissingCandidates[0].Items[0] != "Leather jacket" {
		t.Errorf("demo flow: missing candidates %+v, want Leather jacket first", first.MissingCandidates)
	}
	if first.IssueType != "missing_item" || first.ExteriorCondition != "retaped" {
		t.Errorf("demo flow: issue %q exterior %q", first.IssueType, first.ExteriorCondition)
	}
	if len(first.Marks) != 1 || first.OrderRef != "12345" || first.Tracking != "LX123456785CN" {
		t.Errorf("demo flow: marks %v order %q tracking %q", first.Marks, first.OrderRef, first.Tracking)
	}
	if !strings.Contains(first.Dispute, "a full refund or an immediate reshipment") {
		t.Errorf("the requested solution is not in the claim:\n%s", first.Dispute)
	}
	if !strings.Contains(first.Dispute, "Leather jacket") || !strings.Contains(first.Dispute, "订单") {
		t.Errorf("dispute text lacks the item or the Chinese part:\n%s", first.Dispute)
	}

	// The seller refunded the jacket: the outcome, sent over MQTT, becomes a
	// signed addendum that verification follows.
	pub("outcome", `{"session_id":"`+first.SessionID+`","status":"resolved","resolution":"partial_refund","amount":89.5,"currency":"USD"}`)
	waitFile(t, filepath.Join(d.state, first.Bundle, evidence.AddendumFileName(1, evidence.KindOutcome)))
	// Its hash, in the station's signed journal line, is on MQTT too.
	jl := collect(10*time.Second, func(m mqtttest.Msg) bool {
		return m.Topic == "weighin/e2e/journal" && strings.Contains(m.Payload, `"file":"addendum-001-outcome.json"`)
	})
	if od, err := os.ReadFile(filepath.Join(d.state, first.Bundle, evidence.AddendumFileName(1, evidence.KindOutcome))); err != nil ||
		!strings.Contains(jl.Payload, fmt.Sprintf(`"sha256":"%x"`, sha256.Sum256(od))) || !strings.Contains(jl.Payload, `"session":"`+first.SessionID+`"`) {
		t.Errorf("journal line on MQTT %s does not give the addendum's hash (%v)", jl.Payload, err)
	}
	// The index is written just after the addendum: poll it briefly.
	var index []registry.Session
	var ierr error
	for deadline := time.Now().Add(5 * time.Second); ; {
		ierr = d.client.Sessions(context.Background(), map[string]string{"tracking": "LX123456785CN"}, &index)
		if ierr == nil && len(index) == 1 && strings.Contains(index[0].Claim, "partial_refund") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ierr != nil || len(index) != 1 || !strings.Contains(index[0].Claim, "partial_refund") {
		t.Errorf("session index after the outcome: %+v, %v", index, ierr)
	}

	// Flow 2: a match within tolerance, no registered parcel.
	d.do("label_weight", "2350")
	d.do("order_ref", "A-2")
	second := d.session(2342, 2*time.Second)
	if second.Verdict != result.VerdictMatch || second.Tier != 0 {
		t.Errorf("match flow: verdict %s tier %d, want match tier 0", second.Verdict, second.Tier)
	}

	// Both bundles verify, and the chain holds.
	for _, r := range []result.Result{first, second} {
		rep, err := evidence.VerifyBundle(filepath.Join(d.state, r.Bundle), evidence.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Errorf("verify %s: %v %+v", r.Bundle, err, rep)
		}
	}
	chain, err := evidence.VerifyChain(filepath.Join(d.state, "sessions"), evidence.ChainOptions{})
	if err != nil || !chain.OK() {
		t.Errorf("verify chain: %v %+v", err, chain)
	}
	if second.ChainHead != second.ManifestSHA256 || second.KeyFingerprint == "" {
		t.Errorf("chain head %q, manifest %q, key %q", second.ChainHead, second.ManifestSHA256, second.KeyFingerprint)
	}

	// What Home Assistant sees: both results on results, the second
	// retained on result, and every entity's template over its topic's
	// latest payload giving the right state.
	for _, r := range []result.Result{first, second} {
		m := collect(20*time.Second, func(m mqtttest.Msg) bool {
			var got result.Result
			return m.Topic == "weighin/e2e/results" && json.Unmarshal([]byte(m.Payload), &got) == nil && got.SessionID == r.SessionID
		})
		if !strings.Contains(m.Payload, `"schema":2`) || !strings.Contains(m.Payload, `"stop_reason":"button"`) {
			t.Errorf("result on MQTT lacks schema 2 and stop_reason button: %s", m.Payload)
		}
	}
	collect(5*time.Second, func(m mqtttest.Msg) bool { return m.Topic == "weighin/e2e/label" })
	d.stop()
	collect(10*time.Second, func(m mqtttest.Msg) bool {
		return m.Topic == "weighin/e2e/availability" && m.Payload == "offline"
	})

	// A fresh subscriber gets the retained state of every entity.
	latest := retainedSnapshot(t, port)
	var dp struct {
		Cmps map[string]map[string]any `json:"cmps"`
	}
	if err := json.Unmarshal([]byte(latest["homeassistant/device/e2e/config"]), &dp); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"verdict": "match", "tier": "0", "discrepancy": "OFF", "last_session": second.SessionID,
		"measured_weight": fmt.Sprint(second.MeasuredG), "label_weight": "2350",
		"recording": "OFF", "dispute": second.DisputeShort,
		"auto_stop_soon": "OFF", "auto_stop_in": "None", "resume_in": "None", "tracking_offer": "",
	}
	for key, comp := range dp.Cmps {
		topic, _ := comp["state_topic"].(string)
		tpl, _ := comp["value_template"].(string)
		if topic == "" || tpl == "" {
			continue
		}
		payload, ok := latest[topic]
		if !ok {
			t.Errorf("entity %s: no retained message on %s", key, topic)
			continue
		}
		got, err := renderTemplate(tpl, payload)
		if err != nil {
			t.Errorf("entity %s: %v", key, err)
			continue
		}
		if w, ok := want[key]; ok && got != w {
			t.Errorf("entity %s = %q, want %q", key, got, w)
		}
	}
}

// retainedSnapshot subscribes anew and collects the retained messages.
func retainedSnapshot(t *testing.T, port int) map[string]string {
	t.Helper()
	sub, err := mqtttest.Subscribe("-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "weighin/#", "-t", "homeassistant/#", "-W", "3")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := map[string]string{}
	for {
		m, err := sub.Wait(3*time.Second, func(m mqtttest.Msg) bool { return m.Retained })
		if err != nil {
			return got
		}
		got[m.Topic] = m.Payload
	}
}

var (
	tplField = regexp.MustCompile(`^\{\{ value_json\.(\w+) \}\}$`)
	tplSub   = regexp.MustCompile(`^\{\{ value_json\.(\w+)\.(\w+) \}\}$`)
	tplOnOff = regexp.MustCompile(`^\{\{ 'ON' if value_json\.(\w+) else 'OFF' \}\}$`)
	tplSet   = regexp.MustCompile(`^\{\{ 'ON' if value_json\.(\w+) is not none else 'OFF' \}\}$`)
	tplIn    = regexp.MustCompile(`^\{\{ 'ON' if value_json\.(\w+) in \[([^\]]*)\] else 'OFF' \}\}$`)
	tplSlice = regexp.MustCompile(`^\{\{ \(((?:value_json\.\w+ or )+)''\)\[:(\d+)\] \}\}$`)
	// issue 14: the entry entities and the last refusal.
	tplElse = regexp.MustCompile(`^\{\{ value_json\.(\w+) if value_json\.(\w+)( is not none)? else '([^']*)' \}\}$`)
	tplOr   = regexp.MustCompile(`^\{\{ \(value_json\.(\w+) or '([^']*)'\)\[:(\d+)\] \}\}$`)
)

// renderTemplate evaluates the Jinja forms our discovery uses, as Home
// Assistant would; an unknown form is an error, so a new template must be
// taught here.
func renderTemplate(tpl, payload string) (string, error) {
	var v map[string]any
	if err := json.Unmarshal([]byte(payload), &v); err != nil {
		return "", fmt.Errorf("payload not JSON: %v", err)
	}
	str := func(x any) string {
		switch x := x.(type) {
		case nil:
			return "None"
		case string:
			return x
		case bool:
			if x {
				return "True"
			}
			return "False"
		}
		return fmt.Sprint(x)
	}
	truthy := func(x any) bool {
		switch x := x.(type) {
		case nil:
			return false
		case bool:
			return x
		case string:
			return x != ""
		case float64:
			return x != 0
		}
		return true
	}
	if m := tplField.FindStringSubmatch(tpl); m != nil {
		return str(v[m[1]]), nil
	}
	if m := tplSub.FindStringSubmatch(tpl); m != nil {
		sub, _ := v[m[1]].(map[string]any)
		if sub == nil {
			return "", fmt.Errorf("%s: no object %q in %s", tpl, m[1], payload)
		}
		return str(sub[m[2]]), nil
	}
	if m := tplOnOff.FindStringSubmatch(tpl); m != nil {
		if truthy(v[m[1]]) {
			return "ON", nil
		}
		return "OFF", nil
	}
	if m := tplSet.FindStringSubmatch(tpl); m != nil {
		if v[m[1]] != nil {
			return "ON", nil
		}
		return "OFF", nil
	}
	if m := tplIn.FindStringSubmatch(tpl); m != nil {
		for _, o := range strings.Split(m[2], ",") {
			if strings.Trim(strings.TrimSpace(o), "'") == str(v[m[1]]) {
				return "ON", nil
			}
		}
		return "OFF", nil
	}
	if m := tplSlice.FindStringSubmatch(tpl); m != nil {
		s := "" // the first truthy of "value_json.a or value_json.b or ''"
		for _, f := range strings.Split(strings.TrimSuffix(m[1], " or "), " or ") {
			if x := v[strings.TrimPrefix(f, "value_json.")]; truthy(x) {
				s = str(x)
				break
			}
		}
		var n int
		fmt.Sscan(m[2], &n)
		if r := []rune(s); len(r) > n {
			s = string(r[:n])
		}
		return s, nil
	}
	if m := tplElse.FindStringSubmatch(tpl); m != nil && m[1] == m[2] {
		x := v[m[1]]
		if m[3] != "" && x != nil || m[3] == "" && truthy(x) {
			return str(x), nil
		}
		return m[4], nil
	}
	if m := tplOr.FindStringSubmatch(tpl); m != nil {
		s := m[2]
		if x := v[m[1]]; truthy(x) {
			s = str(x)
		}
		var n int
		fmt.Sscan(m[3], &n)
		if r := []rune(s); len(r) > n {
			s = string(r[:n])
		}
		return s, nil
	}
	return "", fmt.Errorf("template form not understood: %s", tpl)
}

// waitParcel waits until weighd has registered tracking.
func waitParcel(t *testing.T, stateDir, tracking string) {
	t.Helper()
	reg, err := registry.Open(filepath.Join(stateDir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if !poll(10*time.Second, func() bool { ok, err := reg.Has(context.Background(), tracking); return err == nil && ok }) {
		t.Fatalf("parcel %s never registered", tracking)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	if !poll(10*time.Second, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s never appeared", path)
	}
}

// ffprobeFrames is the number of video frames ffprobe decodes in path. Its
// diagnostics (a cut file's last element, say) go to stderr and are only
// logged: the count on stdout is what is judged.
func ffprobeFrames(t *testing.T, path string) (int, bool) {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if stderr.Len() > 0 {
		t.Logf("ffprobe %s: %s", filepath.Base(path), stderr.String())
	}
	n, perr := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || perr != nil {
		t.Errorf("ffprobe %s: %v %v: %q", path, err, perr, out)
		return 0, false
	}
	return n, true
}
