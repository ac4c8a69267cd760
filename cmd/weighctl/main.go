// Command weighctl is the weigh-in station's operator tool, a thin client:
// live operations talk to weighd over its unix socket; offline operations
// (replay, verify, show, sessions, dispute, outcome, parcels) work on files
// through the same internal packages weighd uses, so no domain rule lives
// here.
//
// Every command takes --help; docs/weighctl.md is the reference.
//
// Exit codes: 0 success; 1 the operation ran and found a problem (verify:
// integrity failure); 2 usage or input error (bad flags, bad file); 3 weighd
// unreachable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"weighin/internal/api"
	"weighin/internal/config"
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

// commands is the dispatch table: one line registers a command.
var commands = map[string]command{
	"parcels":          {"expected parcels: add, list, rm, import a CSV (registry under the state dir)", runParcels},
	"replay":           {"replay a load-cell trace CSV through the daemon's weighing pipeline", runReplay},
	"verify":           {"verify evidence bundles: signatures, hashes, chain, continuity (--chain DIR: the whole chain)", runVerify},
	"status":           {"weighd's live state: weight, session, entries, hardware health (--json)", runStatus},
	"tare":             {"set the present load as zero", simple("tare")},
	"calibrate":        {"guided two-point calibration: empty platform, then a known mass (--mass N)", runCalibrate},
	"start":            {"start a session (freeze the weight, take the label still, record) [FORCE]", simple("start")},
	"confirm-tracking": {"take the code read from the label as the tracking number [CODE]", simple("confirm-tracking")},
	"stop":             {"stop the recording and seal the bundle", simple("stop")},
	"mark":             {"mark this moment of the recording [LABEL]", simple("mark")},
	"label-weight":     {"enter the label weight GRAMS of the parcel on the scale", simple("label-weight")},
	"order-ref":        {"enter the order reference REF", simple("order-ref")},
	"tracking":         {"enter the tracking NUMBER by hand", simple("tracking")},
	"exterior":         {"note the outer box: intact, crushed, wet, retaped, torn", simple("exterior")},
	"issue":            {"enter the issue: missing item, damaged item, wrong item", simple("issue")},
	"damage":           {"describe the damage TEXT (any language; carried into both claim texts)", simple("damage")},
	"clear-all":        {"empty every entry of the parcel on the scale (label weight … damage)", simple("clear-all")},
	"sessions":         {"list sessions (--tracking, --order, --verdict, --since, --json); offline when weighd is down", runSessions},
	"show":             {"summarise a bundle's manifest SESSION, offline", runShow},
	"dispute":          {"print the claim for SESSION, with --issue/--tier/--solution overrides", runDispute},
	"outcome":          {"record how the dispute of SESSION ended: resolved|refused|escalated", runOutcome},
	"record":           {"record a raw load-cell trace from the HX711 into a CSV (weighd stopped)", runRecord},
	"doctor":           {"check GPIO, HX711, camera, broker, space, clock, calibration, key", runDoctor},
	"sim":              {"drive weighd --sim: place GRAMS, remove, press [--long], label TRACKING", runSim},
	"demo":             {"run the whole flow on simulated hardware and print what a user sees", runDemo},
	"export":           {"make H.264 MP4s of SESSION with the weight, time and tracking in the picture (--preset chat|phone|full), or its dispute pack or evidence sheet (--preset pack|sheet)", runExport},
	"ha":               {"Home Assistant: clear removes every retained message of the station (decommissioning)", runHA},
	"version":          {"print weighctl's version (the same as weighd --version)", runVersion},
	"web":              {"the web app: passwd sets its password (from standard input when not a terminal)", runWeb},
	"share":            {"a read-only, expiring link to SESSION's page and video (--ttl 7d; --list; --revoke ID)", runShare},
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

// cli is one command's flags and output: every command is built the same
// way (newCLI, its own flags, parse, then cfg or client).
type cli struct {
	*flag.FlagSet
	stderr   io.Writer
	config   string
	socket   string
	stateDir string
	cfg      config.Config
}

// newCLI makes a command's flag set with the flags every command takes:
// --config, --socket and --state-dir. usage is printed for --help.
func newCLI(name, usage string, stderr io.Writer) *cli {
	c := &cli{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), stderr: stderr}
	c.SetOutput(stderr)
	c.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nflags:")
		c.PrintDefaults()
	}
	c.StringVar(&c.config, "config", config.DefaultPath, "weighd's configuration file (a missing file means the defaults)")
	c.StringVar(&c.socket, "socket", "", "weighd's API socket (default: api.socket of the configuration)")
	c.StringVar(&c.stateDir, "state-dir", "", "the state directory (default: state_dir of the configuration)")
	return c
}

// parse parses interleaved flags and positional arguments, then the
// configuration with --socket and --state-dir applied. done is set with the
// exit code on --help, a flag error or a bad configuration.
func (c *cli) parse(args []string) (pos []string, code int, done bool) {
	var err error
	if pos, err = parseInterleaved(c.FlagSet, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, true
		}
		return nil, exitUsage, true
	}
	if c.cfg, err = config.LoadOrDefault(c.config); err != nil {
		fmt.Fprintf(c.stderr, "weighctl %s: %v\n", c.Name(), err)
		return nil, exitUsage, true
	}
	c.override(&c.cfg)
	return pos, exitOK, false
}

// override applies --socket and --state-dir to cfg.
func (c *cli) override(cfg *config.Config) {
	if c.socket != "" {
		cfg.API.Socket = c.socket
	}
	if c.stateDir != "" {
		cfg.StateDir = c.stateDir
	}
}

// client is the API client for the configured socket.
func (c *cli) client() *api.Client { return api.NewClient(c.cfg.API.Socket) }

// fail prints "weighctl NAME: message" and returns code. An error among
// args that is a permission refusal says which path and what to do.
func (c *cli) fail(code int, format string, args ...any) int {
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = permissionHint(err)
		}
	}
	fmt.Fprintf(c.stderr, "weighctl %s: %s\n", c.Name(), fmt.Sprintf(format, args...))
	return code
}

// permissionHint turns a permission refusal (on the API socket, the state
// directory, a bundle) into the one message that says what to do; any
// other error is returned as it is.
func permissionHint(err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	path := "the state directory"
	var pe *fs.PathError
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Addr != nil:
		path = oe.Addr.String()
	case errors.As(err, &pe):
		path = pe.Path
	}
	return fmt.Errorf("permission denied on %s: add yourself to group weighin (sudo usermod -aG weighin $USER)", path)
}

// usageError prints the problem and the usage; it returns exitUsage.
func (c *cli) usageError(format string, args ...any) int {
	c.fail(exitUsage, format, args...)
	c.Usage()
	return exitUsage
}

// throughWeighd sends a writing command to weighd while it runs, so that
// weighd, which owns the state directory, writes; handled is false when
// weighd is not running and the caller writes directly (the same command
// line either way). A refusal to connect (permission) is handled: it is
// reported, not taken for a stopped weighd (viaWeighd).
func (c *cli) throughWeighd(ctx context.Context, name, value string, reply any) (handled bool, code int) {
	running, err := viaWeighd(ctx, c.cfg.API.Socket, func(cl *api.Client) error { return cl.Command(ctx, name, value, reply) })
	switch {
	case !running:
		return false, exitOK
	case err != nil:
		return true, c.apiExit(err)
	}
	return true, exitOK
}

// apiExit reports a failed API call and returns its exit code: 3 when weighd
// cannot be reached, 2 for a command weighd does not know, 1 when weighd
// refused.
func (c *cli) apiExit(err error) int {
	var re *api.RemoteError
	switch {
	case errors.Is(err, fs.ErrPermission):
		return c.fail(exitNoDaemon, "%v", err)
	case errors.Is(err, api.ErrUnreachable):
		return c.fail(exitNoDaemon, "%v\n  is weighd running? (systemctl status weighd; --socket names another socket)", err)
	case errors.As(err, &re) && re.Status == 404:
		return c.fail(exitUsage, "weighd does not know this command: %s", re.Msg)
	case errors.As(err, &re):
		return c.fail(exitProblem, "weighd refused: %s", re.Msg)
	}
	return c.fail(exitProblem, "%v", err)
}

// parseInterleaved parses flags that may come after the positional
// arguments (weighctl verify BUNDLE --json).
func parseInterleaved(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		rest := fl.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if raw, ok := v.(json.RawMessage); ok {
		var x any
		if err := json.Unmarshal(raw, &x); err == nil {
			v = x
		}
	}
	if err := enc.Encode(v); err != nil {
		return exitProblem
	}
	return exitOK
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
