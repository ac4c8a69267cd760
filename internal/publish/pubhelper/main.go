// Command pubhelper runs a publish.Publisher as its own process, for the
// integration tests of internal/publish (which build it with go build,
// SIGKILL it and restart it). It is not part of the product.
//
//	pubhelper -broker tcp://127.0.0.1:1883 -station st1 -state DIR [-results N -first K]
//
// It queues N results (session ids r0000K …) at start, prints "queued N"
// when they are in the outbox, prints "delivered SEQ" for each
// acknowledged entry, and runs until SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"weighin/internal/config"
	"weighin/internal/publish"
	"weighin/internal/result"
)

func main() {
	os.Exit(run())
}

func run() int {
	broker := flag.String("broker", "", "broker URL")
	station := flag.String("station", "st1", "station id")
	state := flag.String("state", "", "state directory")
	n := flag.Int("results", 0, "results to queue at start")
	first := flag.Int("first", 1, "sequence number of the first queued result")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default().MQTT
	cfg.Broker = *broker
	h := publish.HandlerFunc(func(_ context.Context, c publish.Command) error {
		fmt.Printf("command %s\n", c)
		return nil
	})
	p, err := publish.New(cfg, *station, *state, h, log,
		publish.WithReconnect(200*time.Millisecond, time.Second),
		publish.WithDelivered(func(seq uint64) { fmt.Printf("delivered %d\n", seq) }))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := *first; i < *first+*n; i++ {
		if err := p.PublishResult(Sample(*station, i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Printf("queued %d\n", *n)
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Sample is a plausible result numbered i.
func Sample(station string, i int) result.Result {
	label, delta, pct := 1850.0, -10.0-float64(i), -(10.0+float64(i))/18.5
	return result.Result{
		Schema: result.Schema, SessionID: fmt.Sprintf("%06d-20260101T000000Z-r%05d", i, i), Seq: int64(i),
		StationID: station, StartedAt: "2026-01-01T00:00:00Z", ClockSynced: true,
		Tracking: fmt.Sprintf("LP%09dCN", i), OrderRef: fmt.Sprintf("#%d", 10000+i),
		LabelG: &label, LabelResolutionG: 10, MeasuredG: label + delta, MeasuredStable: true,
		DeltaG: &delta, DeltaPct: &pct, ToleranceG: 20, Verdict: result.VerdictMatch,
		Dispute: "Order arrived; weight matches the label.",
	}
}
