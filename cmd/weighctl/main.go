// Command weighctl is the weigh-in station's operator tool. Live operations
// talk to weighd over its unix socket; offline operations (replay, verify,
// dispute) work on files.
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
	"parcels": {"expected parcels: add, list, rm, import a CSV (registry under the state dir)", runParcels},
	"replay":  {"replay a load-cell trace CSV through the daemon's weighing pipeline", runReplay},
	"verify":  {"verify evidence bundles: signatures, hashes, chain, continuity (--chain DIR: the whole chain)", runVerify},
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
