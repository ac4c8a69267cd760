package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/publish"
)

// defaultConfigPath is where weighd and weighctl read their configuration.
const defaultConfigPath = "/etc/weighin/weighd.yaml"

// stdin is what the interactive commands (calibrate) read; tests replace it.
var stdin io.Reader = os.Stdin

// globals are the flags every command that talks to weighd or reads the
// state directory takes.
type globals struct {
	config string
	socket string
}

func addGlobals(fl *flag.FlagSet) *globals {
	g := &globals{}
	fl.StringVar(&g.config, "config", defaultConfigPath, "weighd's configuration file (a missing file means the defaults)")
	fl.StringVar(&g.socket, "socket", "", "weighd's API socket (default: api.socket of the configuration)")
	return g
}

// load reads the configuration (a missing file gives the defaults) and
// applies --socket.
func (g *globals) load() (config.Config, error) {
	cfg, err := config.Load(g.config)
	if errors.Is(err, os.ErrNotExist) {
		cfg, err = config.Default(), nil
	}
	if err != nil {
		return config.Config{}, err
	}
	if g.socket != "" {
		cfg.API.Socket = g.socket
	}
	return cfg, nil
}

// client loads the configuration and returns a client for its socket; on a
// bad configuration it prints the problem and returns exitUsage.
func (g *globals) client(name string, stderr io.Writer) (*api.Client, int) {
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl %s: %v\n", name, err)
		return nil, exitUsage
	}
	return api.NewClient(cfg.API.Socket), exitOK
}

// apiExit reports a failed API call and returns its exit code: 3 when weighd
// cannot be reached, 2 for a command weighd does not know, 1 when weighd
// refused.
func apiExit(stderr io.Writer, name string, err error) int {
	var re *api.RemoteError
	switch {
	case errors.Is(err, api.ErrUnreachable):
		fmt.Fprintf(stderr, "weighctl %s: %v\n  is weighd running? (systemctl status weighd; --socket names another socket)\n", name, err)
		return exitNoDaemon
	case errors.As(err, &re) && re.Status == 404:
		fmt.Fprintf(stderr, "weighctl %s: weighd does not know this command: %s\n", name, re.Msg)
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "weighctl %s: weighd refused: %s\n", name, re.Msg)
		return exitProblem
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "weighctl %s: %v\n", name, err)
		return exitProblem
	}
	fmt.Fprintf(stderr, "weighctl %s: %v\n", name, err)
	return exitProblem
}

// parseFlags parses interleaved flags and positional arguments; on --help it
// returns done with exitOK, on a flag error done with exitUsage.
func parseFlags(fl *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	pos, err := parseInterleaved(fl, args)
	if err != nil {
		return nil, helpOrUsage(err), true
	}
	return pos, exitOK, false
}

// helpOrUsage is the exit code after a flag parse error: 0 when the user
// asked for --help, 2 otherwise.
func helpOrUsage(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nflags:")
		fl.PrintDefaults()
	}
	return fl
}

func usageError(stderr io.Writer, fl *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(stderr, "weighctl %s: %s\n", fl.Name(), fmt.Sprintf(format, args...))
	fl.Usage()
	return exitUsage
}

// simpleCmd describes a command that sends one API command with at most one
// value.
type simpleCmd struct {
	name    string // weighctl's name
	apiName string // the API command
	args    string // "" none, "VALUE" one required, "[VALUE]" one optional
	help    string
	// check validates and normalises the value (nil: sent as given).
	check func(string) (string, error)
	// done is printed on success.
	done string
	// press is sent as the value of a button command (tare, start, stop):
	// weighd parses API commands as it parses MQTT's, where a button's
	// only payload is PRESS.
	press bool
}

func (s simpleCmd) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := fmt.Sprintf("usage: weighctl %s [--socket PATH] [--config FILE] %s\n\n%s\n\nExit status: 0 done; 1 weighd refused; 2 usage error; 3 weighd unreachable.\n", s.name, s.args, s.help)
	fl := newFlagSet(s.name, usage, stderr)
	g := addGlobals(fl)
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	var value string
	switch {
	case s.args == "" && len(pos) > 0:
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	case strings.HasPrefix(s.args, "[") && len(pos) > 1:
		return usageError(stderr, fl, "takes at most one argument, got %d", len(pos))
	case s.args != "" && !strings.HasPrefix(s.args, "[") && len(pos) != 1:
		return usageError(stderr, fl, "want exactly one %s, got %d arguments", s.args, len(pos))
	case len(pos) == 1:
		value = pos[0]
	}
	if s.check != nil && (value != "" || !strings.HasPrefix(s.args, "[")) {
		v, err := s.check(value)
		if err != nil {
			return usageError(stderr, fl, "%v", err)
		}
		value = v
	}
	c, code := g.client(s.name, stderr)
	if c == nil {
		return code
	}
	if s.press {
		value = publish.PressPayload
	}
	var reply json.RawMessage
	if err := c.Command(ctx, s.apiName, value, &reply); err != nil {
		return apiExit(stderr, s.name, err)
	}
	msg := s.done
	if value != "" && !s.press {
		msg = strings.ReplaceAll(msg, "VALUE", value)
	}
	fmt.Fprintln(stdout, msg)
	return exitOK
}

// checkGrams accepts a plain positive decimal number of grams, as the MQTT
// label_weight command does.
func checkGrams(s string) (string, error) {
	g, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || strings.ContainsAny(s, "eExXpP+_ ") {
		return "", fmt.Errorf("%q is not a number of grams", s)
	}
	if g < publish.MinLabelWeightG || g > publish.MaxLabelWeightG {
		return "", fmt.Errorf("%s g is out of range: %d to %d g", s, publish.MinLabelWeightG, publish.MaxLabelWeightG)
	}
	return strconv.FormatFloat(g, 'f', -1, 64), nil
}

// checkMass accepts a test mass for calibration or the simulator.
func checkMass(s string) (string, error) {
	g, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 || g > 200000 {
		return "", fmt.Errorf("%q is not a mass in grams (greater than 0, at most 200000)", strings.TrimSpace(s))
	}
	return strconv.FormatFloat(g, 'f', -1, 64), nil
}

func checkExterior(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, c := range publish.ExteriorConditions {
		if v == c {
			return v, nil
		}
	}
	return "", fmt.Errorf("exterior condition %q is not one of %s", s, strings.Join(publish.ExteriorConditions, ", "))
}

// checkIssue accepts the MQTT forms ("missing item") and the schema forms
// (missing_item, damaged_cosmetic, damaged_functional) and sends the MQTT
// form, which is what weighd's command parser takes.
func checkIssue(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.NewReplacer("_", " ", "-", " ").Replace(v)
	switch v {
	case "missing", "missing item":
		return "missing item", nil
	case "wrong", "wrong item":
		return "wrong item", nil
	case "damaged", "damaged item", "damaged functional", "damaged item (functional)":
		return "damaged item", nil
	case "cosmetic", "damaged cosmetic", "damaged item (cosmetic)":
		return "damaged item (cosmetic)", nil
	}
	return "", fmt.Errorf("issue type %q is not one of: missing item, damaged item, damaged item (cosmetic), wrong item", s)
}

func checkText(max int) func(string) (string, error) {
	return func(s string) (string, error) {
		if s == "" || strings.TrimSpace(s) != s {
			return "", fmt.Errorf("%q: empty, or leading or trailing space", s)
		}
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("%q is not valid UTF-8", s)
		}
		if n := utf8.RuneCountInString(s); n > max {
			return "", fmt.Errorf("%d characters, at most %d", n, max)
		}
		for i, r := range s {
			if !unicode.IsPrint(r) {
				return "", fmt.Errorf("control or non-printable character %U at byte %d", r, i)
			}
		}
		return s, nil
	}
}

func checkTracking(s string) (string, error) {
	if s == "" || len(s) > publish.MaxTrackingLen {
		return "", fmt.Errorf("tracking number must have 1 to %d characters", publish.MaxTrackingLen)
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return "", fmt.Errorf("tracking number %q: only letters, digits and '-'", s)
		}
	}
	return s, nil
}

// simpleCommands are the one-call commands, registered in main.go's table.
var simpleCommands = map[string]simpleCmd{
	"tare":  {name: "tare", apiName: "tare", help: "Sets the present load as zero.", done: "tared", press: true},
	"start": {name: "start", apiName: "start", help: "Starts a session (as a short press on an idle station does): freezes the weight, takes the label still, starts recording. A no-op when already recording.", done: "started", press: true},
	"stop":  {name: "stop", apiName: "stop", help: "Stops the recording and seals the bundle (as a long press does). A no-op when not recording.", done: "stopped", press: true},
	"mark": {name: "mark", apiName: "mark", args: "[LABEL]", help: "Marks this moment of the recording, with an optional label (\"damage here\").", done: "marked",
		check: checkText(64)},
	"label-weight": {name: "label-weight", apiName: "label_weight", args: "GRAMS", help: "Enters the weight printed on the shipping label, in grams.", done: "label weight set to VALUE g", check: checkGrams},
	"order-ref":    {name: "order-ref", apiName: "order_ref", args: "REF", help: "Enters the order reference of the parcel on the scale.", done: "order reference set to VALUE", check: checkText(publish.MaxOrderRefRunes)},
	"tracking":     {name: "tracking", apiName: "tracking", args: "NUMBER", help: "Enters the tracking number (when the label's barcode cannot be read).", done: "tracking number set to VALUE", check: checkTracking},
	"exterior": {name: "exterior", apiName: "exterior_condition", args: "CONDITION",
		help: "Notes the outer box before opening: " + strings.Join(publish.ExteriorConditions, ", ") + ".", done: "exterior condition set to VALUE", check: checkExterior},
	"issue": {name: "issue", apiName: "issue_type", args: "ISSUE_TYPE",
		help: "Enters the issue found: missing item, damaged item or wrong item\n(missing_item, damaged, wrong-item … are accepted too).", done: "issue type set to VALUE", check: checkIssue},
}

func simpleRunner(name string) func(context.Context, []string, io.Writer, io.Writer) int {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return simpleCommands[name].run(ctx, args, stdout, stderr)
	}
}

const statusUsage = `usage: weighctl status [--json] [--socket PATH] [--config FILE]

Shows weighd's live state: the weight, the session, the buyer's entries, the
scale, camera and MQTT health, and the last result.

Exit status: 0 shown; 1 weighd answered with an error; 2 usage error;
3 weighd unreachable.
`

// runStatus is `weighctl status`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("status", statusUsage, stderr)
	g := addGlobals(fl)
	jsonOut := fl.Bool("json", false, "print weighd's status document as JSON")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	}
	c, code := g.client("status", stderr)
	if c == nil {
		return code
	}
	var raw json.RawMessage
	if err := c.Status(ctx, &raw); err != nil {
		return apiExit(stderr, "status", err)
	}
	if *jsonOut {
		return writeJSON(stdout, raw)
	}
	var st api.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		fmt.Fprintf(stderr, "weighctl status: weighd's answer: %v\n", err)
		return exitProblem
	}
	printStatus(stdout, st)
	return exitOK
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

func printStatus(w io.Writer, st api.Status) {
	mode := ""
	if st.Sim {
		mode = " (simulated hardware)"
	}
	fmt.Fprintf(w, "station   %s%s, weighd %s, up %s\n", st.StationID, mode, st.Version, (time.Duration(st.UptimeS) * time.Second).String())
	weight := fmt.Sprintf("%.1f g %s", st.WeightG, st.WeightState)
	if st.Stable {
		weight += fmt.Sprintf(" (spread %.2f g)", st.SpreadG)
	}
	if st.WarmingUp {
		weight += ", warming up"
	}
	if !st.Calibrated {
		weight += ", NOT CALIBRATED (weighctl calibrate)"
	}
	fmt.Fprintf(w, "weight    %s\n", weight)
	sess := st.SessionState
	if st.Recording {
		sess += fmt.Sprintf(", recording %s for %.0f s", st.SessionID, st.RecordingS)
	}
	fmt.Fprintf(w, "session   %s\n", sess)
	var ent []string
	if st.Entries.LabelG != nil {
		ent = append(ent, fmt.Sprintf("label %g g", *st.Entries.LabelG))
	}
	if st.Entries.OrderRef != "" {
		ent = append(ent, "order "+st.Entries.OrderRef)
	}
	if st.Entries.Tracking != "" {
		ent = append(ent, "tracking "+st.Entries.Tracking)
	}
	if st.Entries.ExteriorCondition != "" {
		ent = append(ent, "exterior "+st.Entries.ExteriorCondition)
	}
	if st.Entries.IssueType != "" {
		ent = append(ent, "issue "+st.Entries.IssueType)
	}
	if len(ent) == 0 {
		ent = []string{"none"}
	}
	fmt.Fprintf(w, "entries   %s\n", strings.Join(ent, ", "))
	sc := st.Scale
	scale := fmt.Sprintf("%d SPS, %d reads, %d glitches, %d timeouts", sc.Rate, sc.Reads, sc.Glitches, sc.Timeouts)
	if sc.LastErr != "" {
		scale += ", last error: " + sc.LastErr
	}
	fmt.Fprintf(w, "scale     %s\n", scale)
	cam := st.Camera
	camera := fmt.Sprintf("%s %s", cam.Device, yesNo(cam.Connected, "connected", "DISCONNECTED"))
	if cam.Connected {
		camera += fmt.Sprintf(", %dx%d at %.1f fps, %d frames, pre-roll %.1f s", cam.Width, cam.Height, cam.FPS, cam.Frames, cam.PreRollS)
	}
	if cam.LastErr != "" {
		camera += ", last error: " + cam.LastErr
	}
	fmt.Fprintf(w, "camera    %s\n", camera)
	broker := st.MQTT.Broker
	if st.MQTT.Embedded {
		broker += " (embedded)"
	}
	fmt.Fprintf(w, "mqtt      %s %s, %d results pending\n", broker, yesNo(st.MQTT.Connected, "connected", "NOT CONNECTED"), st.MQTT.Pending)
	fmt.Fprintf(w, "storage   %s free in %s\n", humanBytes(st.FreeStorageBytes), st.StateDir)
	fmt.Fprintf(w, "clock     %s\n", yesNo(st.ClockSynced, "synchronised", "NOT synchronised (bundles are named unsynced)"))
	fmt.Fprintf(w, "key       %s, chain head %s\n", st.KeyFingerprint, short(st.ChainHead))
	if st.LastError != "" {
		fmt.Fprintf(w, "error     %s\n", st.LastError)
	}
	if r := st.LastResult; r != nil {
		fmt.Fprintf(w, "last      %s: %s, tier %d, %s\n", r.SessionID, r.Verdict, r.Tier, r.Bundle)
	}
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	if s == "" {
		return "(none)"
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "unknown"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

const calibrateUsage = `usage: weighctl calibrate [--mass GRAMS] [--socket PATH] [--config FILE]

Guided two-point calibration through weighd: empty the platform and press
Enter (weighd records the zero), then place a known mass and press Enter
(weighd computes the scale factor and saves the calibration). Without
--mass the mass is asked for.

Exit status: 0 calibrated; 1 weighd refused (e.g. the weight was not
stable); 2 usage error or input ended; 3 weighd unreachable.
`

// runCalibrate is `weighctl calibrate`.
func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("calibrate", calibrateUsage, stderr)
	g := addGlobals(fl)
	massFlag := fl.String("mass", "", "the known mass in grams (asked for when absent)")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	}
	mass := ""
	if *massFlag != "" {
		m, err := checkMass(*massFlag)
		if err != nil {
			return usageError(stderr, fl, "--mass: %v", err)
		}
		mass = m
	}
	c, code := g.client("calibrate", stderr)
	if c == nil {
		return code
	}
	in := bufio.NewReader(stdin)
	readLine := func() (string, bool) {
		s, err := in.ReadString('\n')
		if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	// Check weighd is there before asking anything of the user.
	var st api.Status
	if err := c.Status(ctx, &st); err != nil {
		return apiExit(stderr, "calibrate", err)
	}
	fmt.Fprint(stdout, "1/2  Empty the platform, then press Enter. ")
	if _, ok := readLine(); !ok {
		fmt.Fprintln(stderr, "\nweighctl calibrate: input ended; nothing changed")
		return exitUsage
	}
	if err := c.Command(ctx, api.CmdCalibrateZero, "", nil); err != nil {
		return apiExit(stderr, "calibrate", err)
	}
	fmt.Fprintln(stdout, "     zero recorded.")
	for mass == "" {
		fmt.Fprint(stdout, "     Known mass in grams: ")
		s, ok := readLine()
		if !ok {
			fmt.Fprintln(stderr, "\nweighctl calibrate: input ended; the zero was recorded, the calibration was not saved")
			return exitUsage
		}
		m, err := checkMass(s)
		if err != nil {
			fmt.Fprintf(stdout, "     %v\n", err)
			continue
		}
		mass = m
	}
	fmt.Fprintf(stdout, "2/2  Place the known mass of %s g on the platform, then press Enter. ", mass)
	if _, ok := readLine(); !ok {
		fmt.Fprintln(stderr, "\nweighctl calibrate: input ended; the zero was recorded, the calibration was not saved")
		return exitUsage
	}
	var reply json.RawMessage
	if err := c.Command(ctx, api.CmdCalibrateSpan, mass, &reply); err != nil {
		return apiExit(stderr, "calibrate", err)
	}
	fmt.Fprintf(stdout, "     calibration saved (%s g).\n", mass)
	if len(reply) > 0 && !strings.Contains(string(reply), `"ok":true`) {
		fmt.Fprintf(stdout, "     %s\n", strings.TrimSpace(string(reply)))
	}
	return exitOK
}

const simUsage = `usage: weighctl sim place GRAMS | sim remove | sim press [--long] | sim label TRACKING
       [--socket PATH] [--config FILE]

Drives weighd's simulated hardware (weighd --sim only): place a load on the
simulated scale, empty it, press the virtual button (short: start or mark;
--long: stop), or hold a shipping label with TRACKING as a Code 128 barcode
up to the synthetic camera for 4 s (press within them: the label still then
gives the tracking number).

Exit status: 0 done; 1 weighd refused (not running with --sim); 2 usage
error; 3 weighd unreachable.
`

// simLabelCmd is weighd's sim_label command (station.CmdSimLabel).
const simLabelCmd = "sim_label"

// runSim is `weighctl sim`.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("sim", simUsage, stderr)
	g := addGlobals(fl)
	long := fl.Bool("long", false, "with press: a long press")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return usageError(stderr, fl, "want place GRAMS, remove, press or label TRACKING")
	}
	var name, value, msg string
	switch pos[0] {
	case "place":
		if len(pos) != 2 {
			return usageError(stderr, fl, "place takes one GRAMS argument")
		}
		m, err := checkMass(pos[1])
		if err != nil {
			return usageError(stderr, fl, "place: %v", err)
		}
		name, value, msg = api.CmdSimPlace, m, "placed "+m+" g"
	case "remove":
		if len(pos) != 1 {
			return usageError(stderr, fl, "remove takes no argument")
		}
		name, msg = api.CmdSimRemove, "removed the load"
	case "press":
		if len(pos) != 1 {
			return usageError(stderr, fl, "press takes no argument (--long for a long press)")
		}
		name, value, msg = api.CmdSimPress, "short", "pressed (short)"
		if *long {
			value, msg = "long", "pressed (long)"
		}
	case "label":
		if len(pos) != 2 {
			return usageError(stderr, fl, "label takes one TRACKING argument")
		}
		tr, err := checkTracking(pos[1])
		if err != nil {
			return usageError(stderr, fl, "label: %v", err)
		}
		name, value, msg = simLabelCmd, tr, "holding the label of "+tr+" up to the camera for 4 s: press now"
	default:
		return usageError(stderr, fl, "unknown action %q: want place, remove, press or label", pos[0])
	}
	if *long && pos[0] != "press" {
		return usageError(stderr, fl, "--long goes with press")
	}
	c, code := g.client("sim", stderr)
	if c == nil {
		return code
	}
	if err := c.Command(ctx, name, value, nil); err != nil {
		return apiExit(stderr, "sim", err)
	}
	fmt.Fprintln(stdout, msg)
	return exitOK
}
