// Command weighd is the weigh-in station's daemon: it owns the HX711 scale,
// the camera and the button, runs the session, records, seals evidence
// bundles, publishes to Home Assistant over MQTT and serves the local API.
//
//	weighd [--config /etc/weighin/weighd.yaml] [--sim] [--state-dir DIR] [--socket PATH]
//
// --sim runs the same code on simulated hardware: a simulated HX711 chip
// behind fake pins, a synthetic camera, a virtual button and the embedded
// MQTT broker, with extra API calls to place a load and press the button.
//
// SIGTERM or SIGINT stops it cleanly: a recording in progress is stopped and
// its bundle sealed first (within 15 s, inside the unit's TimeoutStopSec); a
// second signal kills at once.
//
// Exit codes: 0 clean stop; 1 runtime failure (systemd restarts it);
// 78 (EX_CONFIG) bad configuration (systemd's RestartPreventExitStatus).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"weighin/internal/config"
	simhw "weighin/internal/sim"
	"weighin/internal/statelock"
	"weighin/internal/station"
)

// memLimit is the Go runtime's soft memory limit unless GOMEMLIMIT is set.
const memLimit = 40 << 20

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitConfig  = 78
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a clean stop (a recording in progress is
		// sealed); a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weighd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", config.DefaultPath, "configuration file (absent file = defaults)")
	sim := fs.Bool("sim", false, "simulated hardware: HX711 chip, camera, button; embedded broker")
	stateDir := fs.String("state-dir", "", "override state_dir")
	socket := fs.String("socket", "", "override api.socket")
	jsonLog := fs.Bool("log-json", false, "log JSON lines instead of text")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *version {
		fmt.Fprintln(stdout, "weighd", station.Version)
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "weighd: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}

	cfg, err := config.LoadOrDefault(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "weighd: %v\n", err)
		return exitConfig
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	if *socket != "" {
		cfg.API.Socket = *socket
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "weighd: %v\n", err)
		return exitConfig
	}

	log := newLogger(stderr, cfg.LogLevel, *jsonLog)
	if os.Getenv("GOMEMLIMIT") == "" {
		// A Pi Zero has 512 MB for everything: keep the heap near what
		// the pre-roll needs rather than letting it double between GCs.
		debug.SetMemoryLimit(memLimit)
	}
	// The one daemon lock, before the hardware is touched: a second weighd
	// on this state directory exits here, naming the holder.
	if err := station.MakeStateDir(cfg.StateDir); err != nil {
		if errors.Is(err, config.ErrInvalid) {
			fmt.Fprintf(stderr, "weighd: %v\n", err)
			return exitConfig
		}
		log.Error("weighd cannot create its state directory", "err", err)
		return exitFailure
	}
	lock, err := statelock.Acquire(cfg.StateDir, "weighd")
	if err != nil {
		log.Error("weighd is already running on this state directory", "err", err)
		return exitFailure
	}
	// The one choice of real or simulated hardware.
	openHW := station.OpenHardware
	if *sim {
		openHW = simhw.Open
	}
	hw, err := openHW(cfg, log)
	if err != nil {
		lock.Release()
		log.Error("weighd cannot open its hardware", "err", err)
		if errors.Is(err, config.ErrInvalid) {
			return exitConfig
		}
		return exitFailure
	}
	if err := station.Run(ctx, station.Options{Config: cfg, Hardware: hw, Log: log, Lock: lock}); err != nil {
		log.Error("weighd stopped", "err", err)
		if errors.Is(err, config.ErrInvalid) {
			return exitConfig
		}
		return exitFailure
	}
	log.Info("weighd stopped")
	return exitOK
}

func newLogger(w io.Writer, level string, asJSON bool) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
