// Command benchmqtt measures the latency from "result ready" (the call to
// Publisher.PublishResult, which first writes the result durably to the
// outbox) to its receipt by a subscriber on <base>/results, over a loopback
// Debian Mosquitto started for the run. Next to it, in the same run and on
// the same broker, it measures the floor: a bare paho QoS 1 publish of the
// same payload to a paho subscriber. Target: p99 ≤ 2 × floor p99 + 5 ms.
//
//	go run ./internal/publish/benchmqtt [-n 300] [-state DIR]
//
// -state puts the outbox on a chosen file system (default: a temporary
// directory), since the outbox's fsyncs dominate on slow storage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/publish/mqtttest"
	"weighin/internal/result"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchmqtt:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 300, "results per measurement (≥ 200)")
	stateDir := flag.String("state", "", "directory for the outbox (default: a temporary directory)")
	flag.Parse()
	if *n < 200 {
		return fmt.Errorf("-n %d: at least 200 results", *n)
	}
	dir, err := os.MkdirTemp("", "benchmqtt")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	state := *stateDir
	if state == "" {
		state = dir
	}
	port, err := mqtttest.FreePort()
	if err != nil {
		return err
	}
	broker, err := mqtttest.Start(dir, port, mqtttest.Config(port, dir, "max_inflight_messages 20\nmax_queued_messages 10000\n")+"log_type error\n")
	if err != nil {
		return err
	}
	defer broker.Stop()
	url := broker.URL()

	payload := func(i int) []byte {
		b, _ := json.Marshal(sample(i))
		return b
	}

	// Subscriber shared by both measurements.
	recv := make(chan string, 64)
	so := mqtt.NewClientOptions().AddBroker(url).SetClientID("bench-sub").SetOrderMatters(false)
	so.SetOnConnectHandler(func(c mqtt.Client) {})
	sub := mqtt.NewClient(so)
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("subscriber connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		var r struct {
			SessionID string `json:"session_id"`
		}
		json.Unmarshal(m.Payload(), &r)
		recv <- r.SessionID
	}
	for _, topic := range []string{"bench/floor", "weighin/bench/results"} {
		if tok := sub.Subscribe(topic, 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("subscribe %s: %v", topic, tok.Error())
		}
	}
	waitFor := func(id string) (time.Time, error) {
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case got := <-recv:
				if got == id {
					return time.Now(), nil
				}
			case <-t.C:
				return time.Time{}, fmt.Errorf("no receipt of %s within 10 s", id)
			}
		}
	}

	// Floor: bare paho publish → subscribe.
	po := mqtt.NewClientOptions().AddBroker(url).SetClientID("bench-floor")
	pc := mqtt.NewClient(po)
	if tok := pc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("floor publisher connect: %v", tok.Error())
	}
	defer pc.Disconnect(100)

	// Station publisher.
	cfg := config.Default().MQTT
	cfg.Broker = url
	delivered := make(chan uint64, 64)
	p, err := publish.New(cfg, "bench", state, publish.HandlerFunc(func(context.Context, publish.Command) error { return nil }),
		slog.New(slog.NewTextHandler(io.Discard, nil)),
		publish.WithDelivered(func(seq uint64) { delivered <- seq }))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := publish.Check(ctx, cfg, "bench-probe"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker not reachable")
		}
	}
	time.Sleep(300 * time.Millisecond) // let the publisher announce itself

	var floor, ours, appendT []time.Duration
	warm := 20
	// Interleave the two so that both see the same machine noise.
	for i := 0; i < *n+warm; i++ {
		b := payload(100000 + i)
		id := sample(100000 + i).SessionID
		t0 := time.Now()
		tok := pc.Publish("bench/floor", 1, false, b)
		t1, err := waitFor(id)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		if !tok.WaitTimeout(10 * time.Second) {
			return fmt.Errorf("floor: no PUBACK")
		}
		r := sample(i)
		t2start := time.Now()
		if err := p.PublishResult(r); err != nil {
			return err
		}
		tAppended := time.Now()
		t2, err := waitFor(r.SessionID)
		if err != nil {
			return fmt.Errorf("station: %w", err)
		}
		select {
		case <-delivered:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("station: entry %d never removed from the outbox", i)
		}
		if i >= warm {
			floor = append(floor, t1.Sub(t0))
			ours = append(ours, t2.Sub(t2start))
			appendT = append(appendT, tAppended.Sub(t2start))
		}
	}
	fs, os_, as := stats(floor), stats(ours), stats(appendT)
	target := 2*fs.p99 + 5*time.Millisecond
	verdict := "MET"
	if os_.p99 > target {
		verdict = "MISSED"
	}
	fmt.Printf("benchmqtt: %d results each, %s on loopback, GOOS/GOARCH %s/%s, %d CPUs, outbox in %s\n",
		len(ours), mosquittoVersion(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), state)
	fmt.Printf("%-42s %9s %9s %9s %9s\n", "path", "p50", "p99", "mean", "max")
	fmt.Printf("%-42s %9s %9s %9s %9s\n", "floor: bare paho QoS 1 publish → subscriber", ms(fs.p50), ms(fs.p99), ms(fs.mean), ms(fs.max))
	fmt.Printf("%-42s %9s %9s %9s %9s\n", "station: PublishResult (outbox) → results", ms(os_.p50), ms(os_.p99), ms(os_.mean), ms(os_.max))
	fmt.Printf("%-42s %9s %9s %9s %9s\n", "  of which outbox write (fsync) returns", ms(as.p50), ms(as.p99), ms(as.mean), ms(as.max))
	fmt.Printf("target p99 ≤ 2 × floor p99 + 5 ms = %s: %s\n", ms(target), verdict)
	return nil
}

// mosquittoVersion is the first line of `mosquitto -h`, e.g.
// "mosquitto version 2.0.11".
func mosquittoVersion() string {
	out, _ := exec.Command(mqtttest.MosquittoPath, "-h").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	if line == "" {
		return "mosquitto"
	}
	return strings.TrimSpace(line)
}

type summary struct{ p50, p99, mean, max time.Duration }

func stats(d []time.Duration) summary {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1)+0.5)] }
	return summary{p50: q(0.50), p99: q(0.99), mean: sum / time.Duration(len(s)), max: s[len(s)-1]}
}

func ms(d time.Duration) string {
	return strings.TrimSuffix(fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)), "") + " ms"
}

func sample(i int) result.Result {
	label, delta, pct := 1850.0, -412.0, -22.3
	return result.Result{
		Schema: result.Schema, SessionID: fmt.Sprintf("%06d-20260101T000000Z-bench", i), Seq: int64(i),
		StationID: "bench", StartedAt: "2026-01-01T00:00:00Z", ClockSynced: true,
		Tracking: "LP00123456789CN", OrderRef: "#12345", LabelG: &label, LabelResolutionG: 10,
		MeasuredG: label + delta, MeasuredStable: true, DeltaG: &delta, DeltaPct: &pct, ToleranceG: 20,
		Verdict: result.VerdictUnderweight, Tier: 3,
		MissingCandidates: []result.MissingCandidate{{Items: []string{"hoodie"}, TotalG: 410, ResidualG: 2}},
		ExteriorCondition: "intact", IssueType: "missing item",
		Marks:      []result.Mark{{TS: 45.2, File: "video.mkv", Label: "empty bag"}},
		Continuity: result.Continuity{Frames: 5400, DurationS: 180, MeanFPS: 30, MaxGapMS: 40},
		Bundle:     "sessions/000001", ManifestSHA256: strings.Repeat("ab", 32), ChainHead: strings.Repeat("cd", 32),
		KeyFingerprint: "SHA256:" + strings.Repeat("x", 43),
		Dispute:        "Order #12345 arrived 412 g under its label weight of 1850 g. Please see the attached unboxing video at 0:45. I request a refund of the missing item.",
	}
}
