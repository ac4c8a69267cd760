// Command weighctl is the weigh-in station's operator tool. Live operations
// talk to weighd over its unix socket; offline operations (replay, verify,
// dispute) work on files.
//
// Every command takes --help; docs/weighctl.md is the reference.
//
// Exit codes: 0 success; 1 the operation ran and found a problem (verify:
// integrity failure); 2 usage or input error (bad flags, bad file); 3 weighd
// unreachable.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes, documented in the package comment and the README.
const (
	exitOK       = 0
	exitProblem  = 1
	exitUsage    = 2
	exitNoDaemon = 3
)

// command is one weighctl subcommand. run returns the exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the dispatch table; each subcommand lives in its own file.
var commands = map[string]command{
	"parcels":      {"expected parcels: add, list, rm, import a CSV (registry under the state dir)", runParcels},
	"replay":       {"replay a load-cell trace CSV through the daemon's weighing pipeline", runReplay},
	"verify":       {"verify evidence bundles: signatures, hashes, chain, continuity (--chain DIR: the whole chain)", runVerify},
	"status":       {"weighd's live state: weight, session, entries, hardware health (--json)", runStatus},
	"tare":         {"set the present load as zero", simpleRunner("tare")},
	"calibrate":    {"guided two-point calibration: empty platform, then a known mass (--mass N)", runCalibrate},
	"start":        {"start a session (freeze the weight, take the label still, record)", simpleRunner("start")},
	"stop":         {"stop the recording and seal the bundle", simpleRunner("stop")},
	"mark":         {"mark this moment of the recording [LABEL]", simpleRunner("mark")},
	"label-weight": {"enter the label weight GRAMS of the parcel on the scale", simpleRunner("label-weight")},
	"order-ref":    {"enter the order reference REF", simpleRunner("order-ref")},
	"tracking":     {"enter the tracking NUMBER by hand", simpleRunner("tracking")},
	"exterior":     {"note the outer box: intact, crushed, wet, retaped, torn", simpleRunner("exterior")},
	"issue":        {"enter the issue: missing item, damaged item, wrong item", simpleRunner("issue")},
	"sessions":     {"list sessions (--tracking, --order, --verdict, --since, --json); offline when weighd is down", runSessions},
	"show":         {"summarise a bundle's manifest SESSION, offline", runShow},
	"dispute":      {"print the claim for SESSION, with --issue/--tier/--solution overrides", runDispute},
	"outcome":      {"record how the dispute of SESSION ended: resolved|refused|escalated", runOutcome},
	"record":       {"record a raw load-cell trace from the HX711 into a CSV (weighd stopped)", runRecord},
	"doctor":       {"check GPIO, HX711, camera, broker, space, clock, calibration, key", runDoctor},
	"sim":          {"drive weighd --sim: place GRAMS, remove, press [--long], label TRACKING", runSim},
	"demo":         {"run the whole flow on simulated hardware and print what a user sees", runDemo},
	"web":          {"the web app: passwd sets its password (from standard input when not a terminal)", runWeb},
	"share":        {"a read-only, expiring link to SESSION's page and video (--ttl 7d; --list; --revoke ID)", runShare},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "weighctl: unknown command %q (weighctl help lists them)\n", args[0])
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: weighctl COMMAND [flags] [args]   (weighctl COMMAND --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 problem found, 2 usage or input error, 3 weighd unreachable")
}
