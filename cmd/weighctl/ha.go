package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/api"
	"weighin/internal/broker/brokerdb"
	"weighin/internal/config"
	"weighin/internal/publish"
)

const haUsage = `usage: weighctl ha clear [--config FILE] [--socket PATH] [--timeout D]

Decommissioning: removes every retained message of the station from the
MQTT broker (Home Assistant discovery, state, result, label, availability,
and anything else retained under weighin/<station_id>/ or on the discovery
topic), so Home Assistant drops the device.

  weighd running   weighd publishes the clearing messages (API ha_clear),
                   then stays off the broker until it restarts.
  weighd stopped   with mqtt.broker set, weighctl connects to that broker
                   with the configured credentials and TLS files and clears;
                   with the embedded broker (mqtt.broker empty) weighctl
                   deletes the station's retained messages from the
                   broker's store, <state_dir>/broker.db (the other
                   clients' retained messages and the sessions stay).

--timeout bounds the whole operation: it never hangs without a network.
Exit status: 0 cleared (or nothing retained); 1 failed or timed out;
2 usage or configuration error.
`

// haDefaultTimeout bounds "ha clear" when --timeout is not given.
const haDefaultTimeout = 15 * time.Second

// runHA is `weighctl ha`.
func runHA(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, haUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, haUsage)
		return exitOK
	case "clear":
		return runHAClear(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "weighctl ha: unknown subcommand %q (only clear)\n", args[0])
	return exitUsage
}

func runHAClear(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("ha clear", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, haUsage) }
	cfgPath := fl.String("config", "/etc/weighin/weighd.yaml", "weighd's configuration file (a missing file means the defaults)")
	socket := fl.String("socket", "", "weighd's API socket (default: api.socket of the configuration)")
	timeout := fl.Duration("timeout", haDefaultTimeout, "give up after this long")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "weighctl ha clear: takes no arguments, got %q\n", fl.Arg(0))
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "weighctl ha clear: --timeout must be positive, got %v\n", *timeout)
		return exitUsage
	}
	cfg, err := config.Load(*cfgPath)
	if errors.Is(err, os.ErrNotExist) {
		cfg, err = config.Default(), nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "weighctl ha clear: %v\n", err)
		return exitUsage
	}
	if *socket != "" {
		cfg.API.Socket = *socket
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// A socket we may not open says nothing about whether weighd runs:
	// clearing behind a running weighd's back would not last.
	if c, err := net.DialTimeout("unix", cfg.API.Socket, time.Second); errors.Is(err, os.ErrPermission) {
		fmt.Fprintf(stderr, "weighctl ha clear: %v\n", permissionHint(err))
		return exitProblem
	} else if err == nil {
		c.Close()
	}

	// weighd running: it owns the connection and publishes the clearing
	// messages itself, so nothing it publishes afterwards brings them back.
	var rep api.HAClearReply
	err = api.NewClient(cfg.API.Socket).Command(ctx, api.CmdHAClear, "", &rep)
	switch {
	case err == nil:
		where := rep.Broker
		if rep.Embedded {
			where = "its embedded broker " + rep.Broker
		}
		fmt.Fprintf(stdout, "cleared the retained messages of station %s through weighd, on %s; weighd stays off MQTT until it restarts\n", rep.StationID, where)
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "weighctl ha clear: timed out after %v (weighd at %s did not finish: is its broker reachable?)\n", *timeout, cfg.API.Socket)
		return exitProblem
	case !errors.Is(err, api.ErrUnreachable):
		fmt.Fprintf(stderr, "weighctl ha clear: weighd refused: %v\n", err)
		return exitProblem
	}

	// weighd stopped.
	stationID := cfg.ResolvedStationID()
	if cfg.MQTT.Broker == "" {
		return clearEmbeddedStore(cfg, stationID, stdout, stderr)
	}
	if err := publish.ClearStation(ctx, cfg.MQTT, stationID); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "weighctl ha clear: timed out after %v reaching the broker (weighd is not running): %v\n", *timeout, err)
		} else {
			fmt.Fprintf(stderr, "weighctl ha clear: weighd is not running; %v\n", err)
		}
		return exitProblem
	}
	fmt.Fprintf(stdout, "cleared the retained messages of station %s on %s (weighd is not running)\n", stationID, cfg.MQTT.Broker)
	return exitOK
}

// clearEmbeddedStore deletes the station's retained messages from the
// stopped embedded broker's store.
func clearEmbeddedStore(cfg config.Config, stationID string, stdout, stderr io.Writer) int {
	t := publish.NewTopics(stationID, cfg.MQTT.DiscoveryPrefix)
	store := filepath.Join(cfg.StateDir, brokerdb.FileName)
	cleared, err := brokerdb.ClearRetained(cfg.StateDir, t.RetainedFilters())
	switch {
	case errors.Is(err, os.ErrPermission):
		fmt.Fprintf(stderr, "weighctl ha clear: weighd is not running; %v\n", permissionHint(err))
		return exitProblem
	case err != nil:
		fmt.Fprintf(stderr, "weighctl ha clear: weighd is not running; %v\n", err)
		return exitProblem
	case len(cleared) == 0:
		fmt.Fprintf(stdout, "weighd is not running and mqtt.broker is empty: the embedded broker's store %s holds no retained message of station %s, so none are left to clear\n", store, stationID)
		return exitOK
	}
	fmt.Fprintf(stdout, "deleted station %s's %d retained messages from the embedded broker's store %s (weighd is not running)\n", stationID, len(cleared), store)
	return exitOK
}
