package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/verdict"
)

const demoUsage = `usage: weighctl demo [--weighd PATH] [--keep] [--timeout 180s]

Runs the whole flow on simulated hardware in a temporary directory: weighd
--sim with its own configuration, a subscriber on its embedded broker as
Home Assistant would be, and the steps of demoSteps through weighd's API
(register the parcel, place it, show its label to the camera, press, mark,
stop). Prints the verdict, the bundle, weighctl verify's report, the claim,
the dispute pack weighd makes after the seal (its zip, the sizes and
weighctl verify of the unzipped pack; without ffmpeg it says how to get
it) and the MQTT messages seen. weighd is looked for beside weighctl, then in
PATH (make demo builds bin/weighd).

Exit status: 0 every step ran and the bundle verifies; 1 a step failed
(weighd's log is shown, the directory kept); 2 usage error.
`

// demoParcel is the parcel the demo registers (the parcel command's JSON).
var demoParcel = registry.Parcel{Tracking: "LB123456789CN", OrderRef: "KB-2026-04417", LabelG: new(2350.0),
	Items: []verdict.Item{{Name: "Leather jacket", WeightG: 505}, {Name: "Sneakers", WeightG: 1120}, {Name: "Belt", WeightG: 210}}}

// demoStep is one line of the demo's script: send an API command, wait for
// weighd's status to show something, or let time pass; say is printed
// when it is done.
type demoStep struct {
	cmd, value string
	until      string // what the wait is for
	cond       func(api.Status) bool
	pause      time.Duration
	say        string
}

// demoSteps is the weigh-in the demo runs. No tracking number or label
// weight is typed: the label held up to the camera at the press carries
// the tracking number, and the registry knows the rest.
func demoSteps(preRoll time.Duration) []demoStep {
	parcel, _ := json.Marshal(demoParcel)
	placed := 1840.0
	return []demoStep{
		{until: "the camera", cond: func(s api.Status) bool { return s.Camera.Connected }, say: "camera connected"},
		{cmd: string(publish.CmdParcel), value: string(parcel), say: fmt.Sprintf("registered parcel %s through the API (order %s, label %g g, 3 items)", demoParcel.Tracking, demoParcel.OrderRef, *demoParcel.LabelG)},
		{cmd: string(publish.CmdOrderRef), value: demoParcel.OrderRef, say: "entered order reference " + demoParcel.OrderRef},
		{cmd: api.CmdSimPlace, value: fmt.Sprint(placed), say: fmt.Sprintf("placed the parcel: %g g on the simulated scale", placed)},
		{until: "a stable weight", cond: func(s api.Status) bool { return s.Stable && s.WeightG > placed-50 && s.WeightG < placed+50 }, say: "the weight is stable"},
		// A user presses when the parcel is still; the recording opens
		// with the pre-roll, which the camera fills from its first frame.
		{pause: preRoll, say: "waited for the pre-roll to fill"},
		{cmd: simLabelCmd, value: demoParcel.Tracking, say: "held the shipping label up to the camera: Code 128 barcode of " + demoParcel.Tracking},
		{cmd: api.CmdSimPress, value: "short", say: "pressed the button (short): weigh-in, label still, recording"},
		{until: "recording", cond: func(s api.Status) bool { return s.Recording }, say: "recording"},
		{pause: 3 * time.Second},
		{cmd: api.CmdSimPress, value: "short", say: "pressed the button (short): mark"},
		{pause: 1500 * time.Millisecond},
		{cmd: api.CmdSimPress, value: "long", say: "pressed the button (long): stop"},
		{until: "the sealed result", cond: func(s api.Status) bool { return s.LastResult != nil && !s.Recording && s.SessionState != "sealing" }, say: "sealed"},
	}
}

// runDemo is `weighctl demo`.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("demo", demoUsage, stderr)
	weighdPath := c.String("weighd", "", "the weighd binary")
	keep := c.Bool("keep", false, "keep the temporary directory (state, bundles, weighd.log)")
	timeout := c.Duration("timeout", 180*time.Second, "give up after this long")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	dir, err := os.MkdirTemp("", "weighin-demo-")
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	d := &demo{out: stdout, start: time.Now(), dir: dir}
	err = d.run(ctx, *weighdPath)
	switch {
	case err != nil:
		c.fail(exitProblem, "%v", err)
		if log, rerr := os.ReadFile(filepath.Join(dir, "weighd.log")); rerr == nil {
			lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
			fmt.Fprintf(stderr, "--- last lines of weighd.log ---\n%s\n", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
		return c.fail(exitProblem, "kept %s for inspection", dir)
	case *keep:
		fmt.Fprintf(stdout, "kept %s (weighd.log, state/)\n", dir)
	default:
		os.RemoveAll(dir)
	}
	return exitOK
}

type demo struct {
	out   io.Writer
	start time.Time
	dir   string
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context, weighdPath string) (err error) {
	bin, err := findWeighd(weighdPath)
	if err != nil {
		return err
	}
	cfg, proc, err := d.startWeighd(ctx, bin)
	if err != nil {
		return err
	}
	defer func() {
		if serr := proc.stop(); serr != nil && err == nil {
			err = serr
		} else if serr == nil {
			d.say("weighd stopped (SIGTERM)")
		}
	}()
	mq := cfg.MQTT
	mq.Broker = "tcp://" + cfg.MQTT.EmbeddedListen
	topics := []string{"weighin/#", cfg.MQTT.DiscoveryPrefix + "/#"}
	sub, err := watch(ctx, mq, topics)
	if err != nil {
		return err
	}
	defer sub.Close()
	d.say("subscribed to %s as a Home Assistant would", strings.Join(topics, " and "))
	c := api.NewClient(cfg.API.Socket)
	var st api.Status
	for _, s := range demoSteps(cfg.Recorder.PreRoll) {
		switch {
		case s.cmd != "":
			if err := c.Command(ctx, s.cmd, s.value, nil); err != nil {
				return fmt.Errorf("%s %q: %w", s.cmd, s.value, err)
			}
		case s.cond != nil:
			if st, err = waitStatus(ctx, c, proc.done, 30*time.Second, s.until, s.cond); err != nil {
				return err
			}
		default:
			if err := sleepCtx(ctx, s.pause); err != nil {
				return err
			}
		}
		if s.say != "" {
			d.say("%s", s.say)
		}
	}
	res := *st.LastResult
	d.say("session %s: tracking %s read from the label's barcode (none typed); label weight and items from the registry", res.SessionID, dash(res.Tracking))
	_ = sub.Wait(ctx, func(m publish.Message) bool {
		return strings.HasSuffix(m.Topic, "/result") && bytes.Contains(m.Payload, []byte(res.SessionID))
	}, 5*time.Second, 5*time.Second)
	return d.report(ctx, cfg, res, sub, mq, topics)
}

// startWeighd starts weighd --sim in the demo's directory. The broker's
// port is free when chosen but could be taken before weighd binds it: it
// starts again on another port then.
func (d *demo) startWeighd(ctx context.Context, bin string) (config.Config, *weighdProc, error) {
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return config.Config{}, nil, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfgPath := filepath.Join(d.dir, "weighd.yaml")
		text := demoConfig(d.dir, port)
		cfg, err := config.Parse(cfgPath, []byte(text))
		if err != nil {
			return cfg, nil, fmt.Errorf("demo configuration: %w", err)
		}
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			return cfg, nil, err
		}
		logPath := filepath.Join(d.dir, "weighd.log")
		proc, err := startProc(bin, cfgPath, logPath)
		if err != nil {
			return cfg, nil, err
		}
		d.say("started %s --sim --config %s (pid %d)", bin, cfgPath, proc.cmd.Process.Pid)
		st, err := waitStatus(ctx, api.NewClient(cfg.API.Socket), proc.done, 20*time.Second, "the API", func(api.Status) bool { return true })
		if err == nil {
			d.say("weighd %s is up: station %s, API %s, embedded broker %s", st.Version, st.StationID, cfg.API.Socket, cfg.MQTT.EmbeddedListen)
			return cfg, proc, nil
		}
		logText, _ := os.ReadFile(logPath)
		select {
		case <-proc.done:
			if attempt < 3 && strings.Contains(string(logText), "address already in use") {
				d.say("port %d was taken: starting weighd again", port)
				continue
			}
		default:
		}
		proc.stop()
		return cfg, nil, err
	}
}

// report prints what the user sees: the verdict, the bundle, its
// verification, the claim and the MQTT messages.
func (d *demo) report(ctx context.Context, cfg config.Config, res result.Result, sub *publish.Watcher, mq config.MQTT, topics []string) error {
	w := d.out
	summary := string(res.Verdict)
	r := res.LabelResolutionG
	if o, err := verdict.Evaluate(verdict.ParamsFrom(cfg.Verdict), verdict.Input{LabelG: res.LabelG, LabelResolutionG: &r,
		MeasuredG: res.MeasuredG, MeasuredStable: res.MeasuredStable, Items: demoParcel.Items,
		ExteriorCondition: res.ExteriorCondition, IssueType: res.IssueType}); err == nil {
		summary = o.Summary
	}
	fmt.Fprintf(w, "\n== verdict\n%s (tier %d)\n", summary, res.Tier)
	bundle := res.Bundle
	if !filepath.IsAbs(bundle) {
		bundle = filepath.Join(cfg.StateDir, bundle)
	}
	fmt.Fprintf(w, "\n== bundle\n%s\n", bundle)
	entries, _ := os.ReadDir(bundle)
	var names []string
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			names = append(names, fmt.Sprintf("%s (%s)", e.Name(), doctor.HumanBytes(info.Size())))
		}
	}
	fmt.Fprintf(w, "%s\n", strings.Join(names, ", "))
	fmt.Fprintf(w, "\n== weighctl verify %s\n", bundle)
	vcode := runVerify(ctx, []string{"--config", filepath.Join(d.dir, "weighd.yaml"), bundle}, w, w)
	claim, err := os.ReadFile(filepath.Join(bundle, "dispute.txt"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== claim (dispute.txt)\n%s", strings.TrimSuffix(string(claim), "\n")+"\n")
	if err := d.demoPack(ctx, api.NewClient(cfg.API.Socket), filepath.Join(d.dir, "weighd.yaml"), res.SessionID); err != nil {
		return err
	}
	// A live subscriber gets every message with the retain flag cleared; a
	// second, fresh subscription shows what the broker keeps for the next
	// subscriber (Home Assistant after a restart).
	fresh, err := watch(ctx, mq, topics)
	if err != nil {
		return fmt.Errorf("fresh subscription for retained messages: %w", err)
	}
	_ = fresh.Wait(ctx, nil, 500*time.Millisecond, 3*time.Second)
	fresh.Close()
	retained := map[string]bool{}
	for _, m := range fresh.Messages() {
		retained[m.Topic] = retained[m.Topic] || m.Retained
	}
	fmt.Fprintf(w, "\n== MQTT messages seen by a subscriber (%s)\n%s", strings.Join(topics, ", "), summarizeMessages(sub.Messages(), retained))
	if vcode != exitOK {
		return fmt.Errorf("weighctl verify exited %d", vcode)
	}
	fmt.Fprintf(w, "\ndemo finished in %.1f s\n", time.Since(d.start).Seconds())
	return nil
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
// program, or the one in PATH.
func findWeighd(given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("--weighd: %w", err)
		}
		return filepath.Abs(given)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "weighd")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("weighd"); err == nil {
		return p, nil
	}
	return "", errors.New("no weighd beside weighctl or in PATH: give --weighd PATH (make demo builds bin/weighd)")
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

// waitStatus polls the status until ok holds, weighd exits, or the time
// runs out.
func waitStatus(ctx context.Context, c *api.Client, exited <-chan struct{}, limit time.Duration, what string, ok func(api.Status) bool) (api.Status, error) {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-exited:
			return api.Status{}, fmt.Errorf("weighd exited while waiting for %s", what)
		default:
		}
		var st api.Status
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Status(qctx, &st)
		cancel()
		switch {
		case err == nil && ok(st):
			return st, nil
		case time.Now().After(deadline):
			return st, fmt.Errorf("no %s after %v: session %s, weight %.1f g %s, last error %q (%v)", what, limit, st.SessionState, st.WeightG, st.WeightState, st.LastError, err)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return st, fmt.Errorf("waiting for %s: %w", what, err)
		}
	}
}

// weighdProc is the weighd the demo runs.
type weighdProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when weighd has exited; err is its exit
	err  error
}

// startProc starts weighd --sim with its output in logPath.
func startProc(bin, cfgPath, logPath string) (*weighdProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	p := &weighdProc{cmd: exec.Command(bin, "--sim", "--config", cfgPath), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM and waits; SIGKILL after 10 s. An exit other than a
// clean one is an error.
func (p *weighdProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("weighd: %v", p.err)
		}
		return nil
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("weighd did not stop within 10 s of SIGTERM: killed")
	}
}

// watch subscribes to topics as a Home Assistant would: the demo's only
// view from outside weighd.
func watch(ctx context.Context, mq config.MQTT, topics []string) (*publish.Watcher, error) {
	return publish.Watch(ctx, mq, fmt.Sprintf("weighctl-demo-%d-%d", os.Getpid(), time.Now().UnixNano()), topics, 15*time.Second)
}

// summarizeMessages describes the messages per topic; retained names the
// topics a fresh subscriber receives a retained message on.
func summarizeMessages(msgs []publish.Message, retained map[string]bool) string {
	count := map[string]int{}
	last := map[string]publish.Message{}
	var topics []string
	for _, m := range msgs {
		if count[m.Topic] == 0 {
			topics = append(topics, m.Topic)
		}
		count[m.Topic]++
		last[m.Topic] = m
	}
	sort.Strings(topics)
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages on %d topics (retained: kept by the broker for the next subscriber)\n", len(msgs), len(topics))
	for _, t := range topics {
		p := last[t].Payload
		show := strings.Join(strings.Fields(string(p)), " ")
		switch {
		case len(p) >= 3 && p[0] == 0xFF && p[1] == 0xD8:
			show = "<JPEG image>"
		case !utf8.Valid(p):
			show = "<binary>"
		case utf8.RuneCountInString(show) > 60:
			show = string([]rune(show)[:60]) + "…"
		}
		fmt.Fprintf(&b, "  %-40s %3d× %-8s last %6d B  %s\n", t, count[t], yesNo(retained[t], "retained", "-"), len(p), show)
	}
	return b.String()
}
