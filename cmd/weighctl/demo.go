package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/verdict"
)

const demoUsage = `usage: weighctl demo [--weighd PATH] [--keep] [--timeout 60s]

Runs the whole flow on simulated hardware, in a temporary directory: starts
weighd --sim with its own configuration (state, socket and embedded broker
inside the directory), listens on the broker as Home Assistant would,
registers a parcel (label 2350 g; Leather jacket 505 g, Sneakers 1120 g,
Belt 210 g), enters the order reference, places 1840 g, holds the parcel's
shipping label up to the synthetic camera (sim_label: a Code 128 barcode of
its tracking number) and presses the button, so that the label still gives
the tracking number and the registry the label weight and items; records,
marks, stops, and prints the verdict, the
bundle, weighctl verify's report, the claim in English and Chinese, and the
MQTT messages a subscriber saw. weighd is stopped with SIGTERM at the end and
the directory removed unless --keep.

Without --weighd, weighd is looked for beside weighctl, then in PATH, then
built with go build from ./cmd/weighd.

Exit status: 0 the demo ran and the verdict is the expected one; 1 a step
failed (weighd's log is shown); 2 usage error.
`

// The demo parcel.
var (
	demoTracking = "LB123456789CN"
	demoOrder    = "KB-2026-04417"
	demoLabelG   = 2350.0
	demoPlacedG  = 1840.0
	demoItems    = []registry.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}
)

// runDemo is `weighctl demo`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("demo", demoUsage, stderr)
	weighdPath := fl.String("weighd", "", "the weighd binary")
	keep := fl.Bool("keep", false, "keep the temporary directory (state, bundles, weighd.log)")
	timeout := fl.Duration("timeout", 60*time.Second, "give up after this long")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	}
	d := &demo{out: stdout, errw: stderr, start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	err := d.run(ctx, *weighdPath, *keep)
	if err != nil {
		fmt.Fprintf(stderr, "weighctl demo: %v\n", err)
		d.showLog()
		return exitProblem
	}
	return exitOK
}

type demo struct {
	out, errw io.Writer
	start     time.Time
	dir       string
	logPath   string
	sub       *subscriber
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

// showLog prints the end of weighd's log after a failure.
func (d *demo) showLog() {
	if d.logPath == "" {
		return
	}
	data, err := os.ReadFile(d.logPath)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	fmt.Fprintf(d.errw, "--- last lines of %s ---\n%s\n", d.logPath, strings.Join(lines, "\n"))
}

func (d *demo) run(ctx context.Context, weighdPath string, keep bool) (err error) {
	dir, err := os.MkdirTemp("", "weighin-demo-")
	if err != nil {
		return err
	}
	d.dir = dir
	defer func() {
		if keep {
			fmt.Fprintf(d.out, "kept %s (weighd.log, state/)\n", dir)
			return
		}
		if err != nil {
			// Keep the evidence of a failed run: the log is shown.
			fmt.Fprintf(d.errw, "weighctl demo: kept %s for inspection\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()

	bin, err := findWeighd(ctx, weighdPath, dir)
	if err != nil {
		return err
	}
	if filepath.Dir(bin) == dir {
		d.step("built weighd from ./cmd/weighd (make demo uses bin/weighd)")
	}
	var (
		cfg  config.Config
		proc *weighdProc
		st   api.Status
		c    *api.Client
	)
	defer func() {
		if proc == nil {
			return
		}
		if serr := proc.stop(); serr != nil && err == nil {
			err = serr
		} else if serr == nil {
			d.step("weighd stopped (SIGTERM)")
		}
	}()
	// The broker's port is free when chosen but could be taken before
	// weighd binds it: start again on another port then.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		cfgPath := filepath.Join(dir, "weighd.yaml")
		cfgText := demoConfig(dir, port)
		if cfg, err = config.Parse(cfgPath, []byte(cfgText)); err != nil {
			return fmt.Errorf("demo configuration: %w", err)
		}
		if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
			return err
		}
		d.logPath = filepath.Join(dir, "weighd.log")
		proc, err = startWeighd(bin, cfgPath, d.logPath)
		if err != nil {
			return err
		}
		d.step("started %s --sim --config %s (pid %d)", bin, cfgPath, proc.cmd.Process.Pid)
		c = api.NewClient(cfg.API.Socket)
		st, err = waitAPI(ctx, c, proc.done)
		if err == nil {
			break
		}
		logText, _ := os.ReadFile(d.logPath)
		if proc.exited() && attempt < 3 && strings.Contains(string(logText), "address already in use") {
			d.step("port %d was taken: starting weighd again", port)
			proc = nil
			continue
		}
		return err
	}
	d.step("weighd %s is up: station %s, API %s, embedded broker %s", st.Version, st.StationID, cfg.API.Socket, cfg.MQTT.EmbeddedListen)

	st, err = waitStatus(ctx, c, proc.done, 20*time.Second, "the camera", func(s api.Status) bool { return s.Camera.Connected })
	if err != nil {
		return err
	}
	cameraAt := time.Now()
	d.step("camera %s: %dx%d", st.Camera.Device, st.Camera.Width, st.Camera.Height)

	d.sub, err = subscribe(ctx, "tcp://"+cfg.MQTT.EmbeddedListen, []string{"weighin/#", cfg.MQTT.DiscoveryPrefix + "/#"})
	if err != nil {
		return err
	}
	defer d.sub.close()
	d.step("subscribed to weighin/# and %s/# as a Home Assistant would", cfg.MQTT.DiscoveryPrefix)

	if err := registerParcel(ctx, filepath.Join(cfg.StateDir, registry.FileName)); err != nil {
		return err
	}
	d.step("registered parcel %s (order %s, label %g g): %s", demoTracking, demoOrder, demoLabelG, registry.FormatItems(demoItems))

	cmdStep := func(name, value, msg string) error {
		if err := c.Command(ctx, name, value, nil); err != nil {
			return fmt.Errorf("%s %q: %w", name, value, err)
		}
		d.step("%s", msg)
		return nil
	}
	if err := cmdStep("order_ref", demoOrder, "entered order reference "+demoOrder); err != nil {
		return err
	}
	if err := cmdStep(api.CmdSimPlace, fmt.Sprint(demoPlacedG), fmt.Sprintf("placed the parcel: %g g on the simulated scale", demoPlacedG)); err != nil {
		return err
	}
	st, err = waitStatus(ctx, c, proc.done, 20*time.Second, "a stable weight", func(s api.Status) bool {
		return s.Stable && s.WeightG > demoPlacedG-50 && s.WeightG < demoPlacedG+50
	})
	if err != nil {
		return err
	}
	d.step("stable: %.1f g (spread %.2f g)", st.WeightG, st.SpreadG)
	// A user presses when the parcel is still; the recording opens with
	// the pre-roll, which the camera fills from its first frame.
	if wait := cfg.Recorder.PreRoll - time.Since(cameraAt); wait > 0 {
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
	// No tracking number or label weight is typed: the label held up to
	// the camera at the press carries the tracking number, and the
	// registry knows the rest.
	if err := cmdStep(simLabelCmd, demoTracking, "held the shipping label up to the camera: Code 128 barcode of "+demoTracking); err != nil {
		return err
	}
	if err := cmdStep(api.CmdSimPress, "short", "pressed the button (short): weigh-in, label still, recording"); err != nil {
		return err
	}
	st, err = waitStatus(ctx, c, proc.done, 20*time.Second, "recording", func(s api.Status) bool { return s.Recording })
	if err != nil {
		return err
	}
	session := st.SessionID
	d.step("recording session %s", session)
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	if err := cmdStep(api.CmdSimPress, "short", "pressed the button (short): mark"); err != nil {
		return err
	}
	if err := sleepCtx(ctx, 1500*time.Millisecond); err != nil {
		return err
	}
	if err := cmdStep(api.CmdSimPress, "long", "pressed the button (long): stop"); err != nil {
		return err
	}
	st, err = waitStatus(ctx, c, proc.done, 30*time.Second, "the sealed result", func(s api.Status) bool {
		return s.LastResult != nil && (session == "" || s.LastResult.SessionID == session) && !s.Recording
	})
	if err != nil {
		return err
	}
	res := *st.LastResult
	d.step("sealed %s", res.SessionID)
	if res.Tracking != "" {
		d.step("tracking number %s read from the label's barcode (none typed); label weight %s g and items from the registry", res.Tracking, gramsText(res.LabelG))
	}
	// Let the last retained messages arrive.
	_ = d.sub.waitTopic(ctx, "/result", res.SessionID, 5*time.Second)

	return d.report(ctx, cfg, res)
}

// report prints what the user sees and checks the verdict.
func (d *demo) report(ctx context.Context, cfg config.Config, res result.Result) error {
	w := d.out
	summary := resultSummary(cfg, res)
	fmt.Fprintf(w, "\n== verdict\n%s (tier %d)\n", summary, res.Tier)
	bundle := res.Bundle
	if bundle != "" && !filepath.IsAbs(bundle) {
		bundle = filepath.Join(cfg.StateDir, bundle)
	}
	if st, err := os.Stat(bundle); err != nil || !st.IsDir() {
		alt := filepath.Join(cfg.StateDir, "sessions", res.SessionID)
		if st, err := os.Stat(alt); err == nil && st.IsDir() {
			bundle = alt
		}
	}
	fmt.Fprintf(w, "\n== bundle\n%s\n", bundle)
	entries, _ := os.ReadDir(bundle)
	var names []string
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			names = append(names, fmt.Sprintf("%s (%s)", e.Name(), humanBytes(info.Size())))
		}
	}
	fmt.Fprintf(w, "%s\n", strings.Join(names, ", "))

	fmt.Fprintf(w, "\n== weighctl verify %s\n", bundle)
	var verr bytes.Buffer
	vcode := runVerify(ctx, []string{bundle}, w, &verr)
	if verr.Len() > 0 {
		fmt.Fprint(w, verr.String())
	}

	claim := res.Dispute
	if data, err := os.ReadFile(filepath.Join(bundle, "dispute.txt")); err == nil {
		claim = string(data)
	}
	fmt.Fprintf(w, "\n== claim (dispute.txt)\n%s", claim)
	if !strings.HasSuffix(claim, "\n") {
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\n== MQTT messages seen by a subscriber (weighin/#, %s/#)\n", cfg.MQTT.DiscoveryPrefix)
	// A live subscriber gets every message with the retain flag cleared; a
	// second, fresh subscription shows what the broker keeps for the next
	// subscriber (Home Assistant after a restart).
	topics := []string{"weighin/#", cfg.MQTT.DiscoveryPrefix + "/#"}
	retained, rerr := retainedNow(ctx, "tcp://"+cfg.MQTT.EmbeddedListen, topics)
	if rerr != nil {
		return fmt.Errorf("fresh subscription for retained messages: %w", rerr)
	}
	d.sub.summary(w, retained)

	var problems []string
	if vcode != exitOK {
		problems = append(problems, fmt.Sprintf("weighctl verify exited %d", vcode))
	}
	if res.Verdict != result.VerdictUnderweight || res.Tier != 3 ||
		len(res.MissingCandidates) == 0 || strings.Join(res.MissingCandidates[0].Items, ",") != "Leather jacket" {
		problems = append(problems, fmt.Sprintf("expected underweight, tier 3, missing Leather jacket; got %s, tier %d, candidates %v", res.Verdict, res.Tier, res.MissingCandidates))
	}
	if res.Tracking != demoTracking || res.LabelG == nil || *res.LabelG != demoLabelG {
		problems = append(problems, fmt.Sprintf("expected tracking %s read from the label and label weight %g g from the registry; got tracking %q, label %s g", demoTracking, demoLabelG, res.Tracking, gramsText(res.LabelG)))
	}
	if !d.sub.sawResult(res.SessionID) {
		problems = append(problems, "no result message for "+res.SessionID+" on weighin/+/result")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Fprintf(w, "\ndemo finished in %.1f s\n", time.Since(d.start).Seconds())
	return nil
}

// gramsText prints an optional weight, "none" when absent.
func gramsText(g *float64) string {
	if g == nil {
		return "none"
	}
	return fmt.Sprint(*g)
}

// resultSummary is the one-line verdict, from internal/verdict with the
// registered items.
func resultSummary(cfg config.Config, res result.Result) string {
	items := make([]verdict.Item, len(demoItems))
	for i, it := range demoItems {
		items[i] = verdict.Item{Name: it.Name, WeightG: it.WeightG}
	}
	r := res.LabelResolutionG
	o, err := verdict.Evaluate(verdict.ParamsFrom(cfg.Verdict), verdict.Input{LabelG: res.LabelG, LabelResolutionG: &r,
		MeasuredG: res.MeasuredG, MeasuredStable: res.MeasuredStable, Items: items,
		ExteriorCondition: res.ExteriorCondition, IssueType: res.IssueType})
	if err != nil {
		return fmt.Sprintf("%s (measured %g g)", res.Verdict, res.MeasuredG)
	}
	return o.Summary
}

// demoConfig is the weighd configuration of a demo run in dir.
func demoConfig(dir string, port int) string {
	return fmt.Sprintf(`# weighctl demo: everything inside %[1]s
station_id: demo
state_dir: %[1]s/state
log_level: info
scale:
  rate: 80
  warm_up: 0s
recorder:
  pre_roll: 2s
mqtt:
  embedded_listen: 127.0.0.1:%[2]d
  state_interval: 500ms
api:
  socket: %[1]s/weighd.sock
`, dir, port)
}

// findWeighd returns the weighd binary: the one given, the one beside this
// program, the one in PATH, or one built from ./cmd/weighd into dir.
func findWeighd(ctx context.Context, given, dir string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("--weighd: %w", err)
		}
		return filepath.Abs(given)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "weighd")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && !strings.Contains(self, "go-build") {
			return p, nil
		}
	}
	if p, err := exec.LookPath("weighd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("cmd/weighd"); err == nil {
		out := filepath.Join(dir, "weighd")
		b := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/weighd")
		var msg bytes.Buffer
		b.Stdout, b.Stderr = &msg, &msg
		if err := b.Run(); err != nil {
			return "", fmt.Errorf("go build ./cmd/weighd: %v\n%s", err, msg.String())
		}
		return out, nil
	}
	return "", errors.New("no weighd: give --weighd PATH (make demo builds bin/weighd)")
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitAPI polls weighd's status until it answers.
func waitAPI(ctx context.Context, c *api.Client, exited <-chan struct{}) (api.Status, error) {
	return waitStatus(ctx, c, exited, 20*time.Second, "the API", func(api.Status) bool { return true })
}

// waitStatus polls the status until ok holds, weighd exits, or the time
// runs out.
func waitStatus(ctx context.Context, c *api.Client, exited <-chan struct{}, limit time.Duration, what string, ok func(api.Status) bool) (api.Status, error) {
	deadline := time.Now().Add(limit)
	var last api.Status
	var lastErr error
	for {
		select {
		case <-exited:
			return last, fmt.Errorf("weighd exited while waiting for %s", what)
		default:
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var st api.Status
		lastErr = c.Status(qctx, &st)
		cancel()
		if lastErr == nil {
			last = st
			if ok(st) {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return last, fmt.Errorf("no %s after %v: %w", what, limit, lastErr)
			}
			return last, fmt.Errorf("no %s after %v: session %s, weight %.1f g %s, last error %q", what, limit, last.SessionState, last.WeightG, last.WeightState, last.LastError)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return last, fmt.Errorf("waiting for %s: %w", what, err)
		}
	}
}

// weighdProc is the weighd the demo runs.
type weighdProc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when weighd has exited
	err  error         // its exit, valid once done is closed
}

// startWeighd starts weighd --sim with its output in logPath.
func startWeighd(bin, cfgPath, logPath string) (*weighdProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &weighdProc{cmd: exec.Command(bin, "--sim", "--config", cfgPath), log: logf, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *weighdProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits; SIGKILL after 10 s. A weighd that had
// already exited is an error unless it exited cleanly.
func (p *weighdProc) stop() error {
	if p.exited() {
		if p.err != nil {
			return fmt.Errorf("weighd exited early: %v", p.err)
		}
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		return fmt.Errorf("stop weighd: %w", err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("weighd after SIGTERM: %v", p.err)
		}
		return nil
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("weighd did not stop within 10 s of SIGTERM: killed")
	}
}

// registerParcel adds the demo parcel to the registry weighd uses.
func registerParcel(ctx context.Context, path string) error {
	db, err := registry.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	label := demoLabelG
	err = db.AddParcel(ctx, registry.Parcel{Tracking: demoTracking, OrderRef: demoOrder, LabelG: &label, Items: demoItems})
	if errors.Is(err, registry.ErrExists) {
		return nil
	}
	return err
}

// message is one MQTT message the subscriber saw.
type message struct {
	topic    string
	retained bool
	payload  []byte
}

// subscriber collects what a Home Assistant would see on the broker.
type subscriber struct {
	client mqtt.Client
	mu     sync.Mutex
	msgs   []message
	notify chan struct{}
}

func subscribe(ctx context.Context, broker string, topics []string) (*subscriber, error) {
	s := &subscriber{notify: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("weighctl-demo-%d", os.Getpid())).
		SetAutoReconnect(false).SetConnectTimeout(2 * time.Second).SetOrderMatters(true)
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { s.add(m) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		s.client = mqtt.NewClient(o)
		tok := s.client.Connect()
		if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connect to the embedded broker %s: %v", broker, tok.Error())
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	filters := map[string]byte{}
	for _, t := range topics {
		filters[t] = 1
	}
	tok := s.client.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) { s.add(m) })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		s.client.Disconnect(100)
		return nil, fmt.Errorf("subscribe %v: %v", topics, tok.Error())
	}
	return s, nil
}

func (s *subscriber) add(m mqtt.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, message{topic: m.Topic(), retained: m.Retained(), payload: append([]byte(nil), m.Payload()...)})
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *subscriber) close() { s.client.Disconnect(250) }

func (s *subscriber) sawResult(session string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if strings.HasSuffix(m.topic, "/result") && bytes.Contains(m.payload, []byte(session)) {
			return true
		}
	}
	return false
}

// waitTopic waits until a message on a topic ending in suffix contains
// want.
func (s *subscriber) waitTopic(ctx context.Context, suffix, want string, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.HasSuffix(m.topic, suffix) && bytes.Contains(m.payload, []byte(want)) {
				s.mu.Unlock()
				return nil
			}
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-t.C:
			return fmt.Errorf("no %s message with %q within %v", suffix, want, limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// summary prints one line per topic: messages, retained, size of the last
// and a short form of its payload.
func (s *subscriber) summary(w io.Writer, retained map[string]bool) {
	s.mu.Lock()
	msgs := append([]message(nil), s.msgs...)
	s.mu.Unlock()
	fmt.Fprint(w, summarizeMessages(msgs, retained))
}

// retainedNow subscribes afresh and returns the topics that hold a
// retained message, waiting until no message came for 500 ms.
func retainedNow(ctx context.Context, broker string, topics []string) (map[string]bool, error) {
	s, err := subscribe(ctx, broker, topics)
	if err != nil {
		return nil, err
	}
	defer s.close()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.notify:
			continue
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, m := range s.msgs {
		if m.retained {
			out[m.topic] = true
		}
	}
	return out, nil
}

// summarizeMessages describes the messages per topic; retained names the
// topics a fresh subscriber receives a retained message on.
func summarizeMessages(msgs []message, retained map[string]bool) string {
	type agg struct {
		n    int
		last message
	}
	by := map[string]*agg{}
	var topics []string
	for _, m := range msgs {
		a := by[m.topic]
		if a == nil {
			a = &agg{}
			by[m.topic] = a
			topics = append(topics, m.topic)
		}
		a.n++
		a.last = m
	}
	sort.Strings(topics)
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages on %d topics (retained: kept by the broker for the next subscriber)\n", len(msgs), len(topics))
	for _, t := range topics {
		a := by[t]
		ret := "-"
		if retained[t] {
			ret = "retained"
		}
		fmt.Fprintf(&b, "  %-40s %3d× %-8s last %6d B  %s\n", t, a.n, ret, len(a.last.payload), preview(a.last.payload))
	}
	return b.String()
}

// preview is a short, printable form of a payload.
func preview(p []byte) string {
	switch {
	case len(p) >= 3 && p[0] == 0xFF && p[1] == 0xD8:
		return "<JPEG image>"
	case !utf8.Valid(p):
		return "<binary>"
	}
	s := strings.Join(strings.Fields(string(p)), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}
