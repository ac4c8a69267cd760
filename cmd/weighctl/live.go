package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"weighin/internal/api"
	"weighin/internal/calib"
	"weighin/internal/doctor"
	"weighin/internal/motion"
	"weighin/internal/publish"
	"weighin/internal/vocab"
)

// stdin is what the interactive commands (calibrate) read; tests replace it.
var stdin io.Reader = os.Stdin

// simpleCmd is a command that sends one API command with at most one value.
// The value is checked before it is sent by the parser weighd itself uses
// (publish.ParseCommand), so the refusal reads the same as weighd's.
type simpleCmd struct {
	apiName string // the API command
	args    string // "" none, "VALUE" one required, "[VALUE]" one optional
	help    string
	done    string // printed on success; VALUE is replaced by the value
}

// simpleCommands are the one-call commands, registered in main.go's table.
var simpleCommands = map[string]simpleCmd{
	"tare":             {"tare", "", "Sets the present load as zero.", "tared"},
	"start":            {"start", "[FORCE]", "Starts a session (as a short press on an idle station does): freezes the weight, takes the label still, starts recording; continues a session paused after an inactivity stop. A no-op when already recording.\nThe platform must have returned to empty since the last session; FORCE starts anyway\n(as a double press does) and the result says leftover_load.", "started"},
	"stop":             {"stop", "", "Stops the recording and seals the bundle (as a long press does). A no-op when not recording.", "stopped"},
	"mark":             {"mark", "[LABEL]", "Marks this moment of the recording, with an optional label (\"damage here\").", "marked"},
	"label-weight":     {"label_weight", "GRAMS", "Enters the weight printed on the shipping label, in grams.", "label weight set to VALUE g"},
	"order-ref":        {"order_ref", "REF", "Enters the order reference of the parcel on the scale.", "order reference set to VALUE"},
	"tracking":         {"tracking", "NUMBER", "Enters the tracking number (when the label's barcode cannot be read).", "tracking number set to VALUE"},
	"exterior":         {"exterior_condition", "CONDITION", "Notes the outer box before opening: " + strings.Join(vocab.Exteriors, ", ") + ".", "exterior condition set to VALUE"},
	"confirm-tracking": {"confirm_tracking", "[CODE]", "Confirms the code read from the label that no carrier pattern knows (weighctl status: \"label code\")\nas the session's tracking number; CODE, when given, must be that code.", "tracking number confirmed"},
	"issue": {"issue_type", "ISSUE_TYPE", "Enters the issue found: " + strings.Join(vocab.IssueLabels, ", ") +
		"\n(missing_item, damaged, wrong-item … are accepted too).", "issue type set to VALUE"},
	"damage":    {"damage", "TEXT", "Describes the damage in your words, in English or Chinese (at most 160 characters); the claim carries it into both texts, noting its language.", "damage description set to VALUE"},
	"clear-all": {"clear_entries", "", "Empties every entry (label weight, order reference, tracking, exterior, issue, solution, tier, damage) of the parcel on the scale.", "entries cleared"},
}

func simple(name string) func(context.Context, []string, io.Writer, io.Writer) int {
	s := simpleCommands[name]
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		c := newCLI(name, fmt.Sprintf("usage: weighctl %s [--socket PATH] [--config FILE] %s\n\n%s\n\nExit status: 0 done; 1 weighd refused; 2 usage error; 3 weighd unreachable.\n", name, s.args, s.help), stderr)
		pos, code, done := c.parse(args)
		if done {
			return code
		}
		optional := strings.HasPrefix(s.args, "[")
		switch {
		case s.args == "" && len(pos) > 0:
			return c.usageError("takes no arguments, got %q", pos[0])
		case optional && len(pos) > 1:
			return c.usageError("takes at most one argument, got %d", len(pos))
		case s.args != "" && !optional && len(pos) != 1:
			return c.usageError("want exactly one %s, got %d arguments", s.args, len(pos))
		}
		value := strings.Join(pos, "")
		switch {
		case s.args == "" || optional && value == "" && s.apiName != "mark":
			value = publish.PressPayload // a button's payload
		case s.apiName == "mark":
			if err := vocab.CheckMarkLabel(value); err != nil {
				return c.usageError("%v", err)
			}
		default:
			var ce *publish.CommandError
			if _, err := publish.ParseCommand(s.apiName, []byte(value), false); errors.As(err, &ce) {
				return c.usageError("%s", ce.Reason)
			}
		}
		if err := c.client().Command(ctx, s.apiName, value, nil); err != nil {
			return c.apiExit(err)
		}
		fmt.Fprintln(stdout, strings.ReplaceAll(s.done, "VALUE", value))
		return exitOK
	}
}

// checkMass accepts a test mass for calibration or the simulator
// (vocab.ParseMass, weighd's rule for calibrate_span), in its plain form.
func checkMass(s string) (string, error) {
	g, err := vocab.ParseMass(s)
	return strconv.FormatFloat(g, 'f', -1, 64), err
}

const statusUsage = `usage: weighctl status [--json]

Shows weighd's live state: weight (or over capacity), session, entries,
scale, camera and MQTT health, and the last result.
`

// runStatus is `weighctl status`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("status", statusUsage, stderr)
	jsonOut := c.Bool("json", false, "print weighd's status document as JSON")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	var raw json.RawMessage
	if err := c.client().Status(ctx, &raw); err != nil {
		return c.apiExit(err)
	}
	if *jsonOut {
		return writeJSON(stdout, raw)
	}
	var st api.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return c.fail(exitProblem, "weighd's answer: %v", err)
	}
	printStatus(stdout, st)
	return exitOK
}

func printStatus(w io.Writer, st api.Status) {
	fmt.Fprintf(w, "station   %s%s, weighd %s, up %s\n", st.StationID, yesNo(st.Sim, " (simulated hardware)", ""), st.Version, (time.Duration(st.UptimeS) * time.Second).String())
	weight := fmt.Sprintf("%.1f g %s", st.WeightG, st.WeightState)
	if st.OverCapacity {
		weight = "over capacity: the load is beyond the cell's range, take it off"
	} else if st.Stable {
		weight += fmt.Sprintf(" (spread %.2f g)", st.SpreadG)
	}
	weight += yesNo(st.WarmingUp, ", warming up", "") + yesNo(st.Calibrated, "", ", NOT CALIBRATED (weighctl calibrate)")
	fmt.Fprintf(w, "weight    %s\n", weight)
	sess := st.SessionState
	if st.Recording {
		sess += fmt.Sprintf(", recording %s for %.0f s", st.SessionID, st.RecordingS)
	}
	if st.AutoStopInS != nil {
		sess += fmt.Sprintf(", stops in %d s unless the weight changes or a mark comes", *st.AutoStopInS)
	}
	if st.ResumeInS != nil {
		sess += fmt.Sprintf(" %s: a short press (weighctl start) within %d s continues it", st.SessionID, *st.ResumeInS)
	}
	if st.LeftoverLoad {
		sess += ", the platform has not been empty since the last session (weighctl start FORCE to start anyway)"
	}
	fmt.Fprintf(w, "session   %s\n", sess)
	if st.TrackingOffer != "" {
		fmt.Fprintf(w, "label     code %s read, no carrier known: weighctl confirm-tracking to take it as the tracking number\n", st.TrackingOffer)
	}
	var ent []string
	if st.Entries.LabelG != nil {
		ent = append(ent, fmt.Sprintf("label %g g", *st.Entries.LabelG))
	}
	for _, e := range [][2]string{{"order ", st.Entries.OrderRef}, {"tracking ", st.Entries.Tracking},
		{"exterior ", st.Entries.ExteriorCondition}, {"issue ", st.Entries.IssueType}} {
		if e[1] != "" {
			ent = append(ent, e[0]+e[1])
		}
	}
	if len(ent) == 0 {
		ent = []string{"none"}
	}
	fmt.Fprintf(w, "entries   %s\n", strings.Join(ent, ", "))
	sc := st.Scale
	fmt.Fprintf(w, "scale     %d SPS, %d reads, %d glitches, %d timeouts%s\n", sc.Rate, sc.Reads, sc.Glitches, sc.Timeouts, suffix(", last error: ", sc.LastErr))
	cam := st.Camera
	camera := fmt.Sprintf("%s %s", cam.Device, yesNo(cam.Connected, "connected", "DISCONNECTED"))
	if cam.Connected {
		camera += fmt.Sprintf(", %dx%d at %.1f fps, %d frames, pre-roll %.1f s", cam.Width, cam.Height, cam.FPS, cam.Frames, cam.PreRollS)
	}
	fmt.Fprintf(w, "camera    %s%s\n", camera, suffix(", last error: ", cam.LastErr))
	fmt.Fprintf(w, "mqtt      %s%s %s, %d results pending\n", st.MQTT.Broker, yesNo(st.MQTT.Embedded, " (embedded)", ""), yesNo(st.MQTT.Connected, "connected", "NOT CONNECTED"), st.MQTT.Pending)
	if st.MQTT.Problem != "" {
		fmt.Fprintf(w, "          problem: %s\n", st.MQTT.Problem)
	}
	fmt.Fprintf(w, "storage   %s free in %s\n", doctor.HumanBytes(st.FreeStorageBytes), st.StateDir)
	fmt.Fprintf(w, "clock     %s\n", yesNo(st.ClockSynced, "synchronised", "NOT synchronised (bundles are named unsynced)"))
	head := st.ChainHead
	if len(head) > 16 {
		head = head[:16] + "…"
	}
	fmt.Fprintf(w, "key       %s, chain head %s\n", st.KeyFingerprint, yesNo(head == "", "(none)", head))
	if x := st.Exports; x.State != "" {
		line := x.State + suffix(": ", x.Reason)
		if x.State == "running" || x.State == "paused" {
			line += fmt.Sprintf(" %s %s %.0f %%", x.Session, x.Preset, x.Percent)
		}
		fmt.Fprintf(w, "exports   %s, %d done, %d failed\n", line, x.Done, x.Failed)
	}
	if o := st.Offsite; o != nil {
		fmt.Fprintf(w, "offsite   bucket %s as %s: %d object(s) verified, backlog %d (%s), %d problem(s)%s\n", o.Bucket, o.StationID,
			o.Objects["verified"], o.BacklogObjects, doctor.HumanBytes(o.BacklogBytes), len(o.Problems), suffix(", last error: ", o.LastError))
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "error     %s\n", st.LastError)
	}
	if r := st.LastResult; r != nil {
		fmt.Fprintf(w, "last      %s: %s, tier %d, %s\n", r.SessionID, r.Verdict, r.Tier, r.Bundle)
	}
}

// suffix is prefix+s, or "" when s is empty.
func suffix(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

const calibrateUsage = `usage: weighctl calibrate [--mass GRAMS]
       weighctl calibrate --region x,y,w,h

Guided two-point calibration through weighd: empty platform and Enter, then
the known mass and Enter; weighd saves the calibration.

--region sets where the scale's platform is in the camera's picture, as
fractions of the frame (x, y the top-left corner, w, h the size; w and h at
least 0.05, x+w and y+h at most 1): weighd saves it in its state directory
(platform_region.json, which wins over camera.platform_region) and watches
it for a hand from the next weigh-in on.
`

// runCalibrate is `weighctl calibrate`.
func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("calibrate", calibrateUsage, stderr)
	massFlag := c.String("mass", "", "the known mass in grams (asked for when absent)")
	regionFlag := c.String("region", "", "the camera's platform region x,y,w,h (fractions of the frame)")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	if *regionFlag != "" {
		if *massFlag != "" {
			return c.usageError("--region and --mass are separate calibrations")
		}
		if _, err := motion.ParseRegion(*regionFlag); err != nil {
			return c.usageError("--region: %v", err)
		}
		var reply api.RegionReply
		if err := c.client().Command(ctx, api.CmdCalibrateRegion, *regionFlag, &reply); err != nil {
			return c.apiExit(err)
		}
		fmt.Fprintf(stdout, "platform region %v saved in %s.\n", reply.Region, reply.File)
		return exitOK
	}
	mass := ""
	if *massFlag != "" {
		m, err := checkMass(*massFlag)
		if err != nil {
			return c.usageError("--mass: %v", err)
		}
		mass = m
	}
	cl := c.client()
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
	if err := cl.Status(ctx, &st); err != nil {
		return c.apiExit(err)
	}
	fmt.Fprintf(stdout, "1/%d  %s, then press Enter. ", calib.Steps, calib.StepZero)
	if _, ok := readLine(); !ok {
		return c.fail(exitUsage, "\ninput ended; nothing changed")
	}
	if err := cl.Command(ctx, api.CmdCalibrateZero, "", nil); err != nil {
		return c.apiExit(err)
	}
	fmt.Fprintln(stdout, "     zero recorded.")
	const lost = "\ninput ended; the zero was recorded, the calibration was not saved"
	for mass == "" {
		fmt.Fprint(stdout, "     "+calib.AskMass+": ")
		s, ok := readLine()
		if !ok {
			return c.fail(exitUsage, lost)
		}
		m, err := checkMass(s)
		if err != nil {
			fmt.Fprintf(stdout, "     %v\n", err)
			continue
		}
		mass = m
	}
	fmt.Fprintf(stdout, "2/%d  %s, then press Enter. ", calib.Steps, calib.StepSpan(mass))
	if _, ok := readLine(); !ok {
		return c.fail(exitUsage, lost)
	}
	var reply json.RawMessage
	if err := cl.Command(ctx, api.CmdCalibrateSpan, mass, &reply); err != nil {
		return c.apiExit(err)
	}
	fmt.Fprintf(stdout, "     calibration saved (%s g).\n", mass)
	if len(reply) > 0 && !strings.Contains(string(reply), `"ok":true`) {
		fmt.Fprintf(stdout, "     %s\n", strings.TrimSpace(string(reply)))
	}
	return exitOK
}

const simUsage = `usage: weighctl sim place GRAMS | sim remove | sim press [--long|--double] |
       sim label TRACKING | sim hand GRAMS

Drives weighd --sim's hardware: a load on the simulated scale, the virtual
button (--long: stop; --double: a double press, which forces a start over
a platform not emptied since the last session), a shipping label with TRACKING as
a Code 128 barcode held up to the synthetic camera for 4 s, or a hand
resting on the parcel (GRAMS of steady extra force and a swaying hand over
the camera's platform region; sim hand 0 takes it away).
`

// simLabelCmd is weighd's sim_label command (station.CmdSimLabel).
const simLabelCmd = "sim_label"

// runSim is `weighctl sim`.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("sim", simUsage, stderr)
	long := c.Bool("long", false, "with press: a long press")
	double := c.Bool("double", false, "with press: a double press")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return c.usageError("want place GRAMS, remove, press, label TRACKING or hand GRAMS")
	}
	want := map[string]int{"place": 2, "remove": 1, "press": 1, "label": 2, "hand": 2}
	n, ok := want[pos[0]]
	switch {
	case !ok:
		return c.usageError("unknown action %q: want place, remove, press, label or hand", pos[0])
	case len(pos) != n:
		return c.usageError("%s takes %d argument(s)", pos[0], n-1)
	case (*long || *double) && pos[0] != "press":
		return c.usageError("--long and --double go with press")
	case *long && *double:
		return c.usageError("press: --long or --double, not both")
	}
	var name, value, msg string
	switch pos[0] {
	case "place":
		m, err := checkMass(pos[1])
		if err != nil {
			return c.usageError("place: %v", err)
		}
		name, value, msg = api.CmdSimPlace, m, "placed "+m+" g"
	case "remove":
		name, msg = api.CmdSimRemove, "removed the load"
	case "press":
		kind := "short"
		switch {
		case *long:
			kind = "long"
		case *double:
			kind = "double"
		}
		name, value, msg = api.CmdSimPress, kind, "pressed ("+kind+")"
	case "hand":
		g, err := strconv.ParseFloat(strings.TrimSpace(pos[1]), 64)
		if err != nil || math.IsNaN(g) || g < 0 || g > 20000 {
			return c.usageError("hand: %q is not a force in grams (0 to 20000; 0 takes the hand away)", pos[1])
		}
		v := strconv.FormatFloat(g, 'f', -1, 64)
		name, value, msg = api.CmdSimHand, v, "a hand rests on the parcel with "+v+" g"
		if g == 0 {
			msg = "took the hand away"
		}
	case "label":
		if err := vocab.CheckTracking(pos[1]); err != nil {
			return c.usageError("label: %v", err)
		}
		name, value, msg = simLabelCmd, pos[1], "holding the label of "+pos[1]+" up to the camera for 4 s: press now"
	}
	if err := c.client().Command(ctx, name, value, nil); err != nil {
		return c.apiExit(err)
	}
	fmt.Fprintln(stdout, msg)
	return exitOK
}
