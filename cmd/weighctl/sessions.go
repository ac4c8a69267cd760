package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/sysclock"
	"weighin/internal/verdict"
)

const sessionsUsage = `usage: weighctl sessions [--tracking X] [--order Y] [--verdict V] [--since DATE] [--json]
                         [--socket PATH] [--config FILE]

Lists recorded sessions, oldest first. It asks weighd; when weighd is not
running it reads the session index (<state_dir>/registry.db), or else the
bundles under <state_dir>/sessions/ (the source of truth).

DATE is 2006-01-02 (UTC midnight) or an RFC 3339 time.

Exit status: 0 listed (possibly none); 1 the index or bundles could not be
read; 2 usage error.
`

// runSessions is `weighctl sessions`.
func runSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("sessions", sessionsUsage, stderr)
	g := addGlobals(fl)
	var f registry.Filter
	fl.StringVar(&f.Tracking, "tracking", "", "only sessions of this tracking number")
	fl.StringVar(&f.Order, "order", "", "only sessions of this order reference")
	fl.StringVar(&f.Verdict, "verdict", "", "only sessions with this verdict: "+strings.Join(result.Verdicts, ", "))
	since := fl.String("since", "", "only sessions started at or after DATE")
	jsonOut := fl.Bool("json", false, "print the sessions as a JSON array")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, fl, "takes no arguments, got %q", pos[0])
	}
	if f.Verdict != "" && !slices.Contains(result.Verdicts, f.Verdict) {
		return usageError(stderr, fl, "--verdict %q is not one of %s", f.Verdict, strings.Join(result.Verdicts, ", "))
	}
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return usageError(stderr, fl, "--since: %v", err)
		}
		f.Since = t
	}
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl sessions: %v\n", err)
		return exitUsage
	}
	list, source, err := listSessions(ctx, cfg, f)
	if err != nil {
		if errors.Is(err, errRefused) {
			return apiExit(stderr, "sessions", errors.Unwrap(err))
		}
		fmt.Fprintf(stderr, "weighctl sessions: %v\n", err)
		return exitProblem
	}
	if source != "weighd" {
		fmt.Fprintf(stderr, "weighctl sessions: weighd is not running; read %s\n", source)
	}
	if *jsonOut {
		if list == nil {
			list = []registry.Session{}
		}
		return writeJSON(stdout, list)
	}
	printSessions(stdout, list)
	return exitOK
}

var errRefused = errors.New("refused")

func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}

// listSessions asks weighd, then the registry, then the bundles. source
// names where the list came from.
func listSessions(ctx context.Context, cfg config.Config, f registry.Filter) ([]registry.Session, string, error) {
	q := map[string]string{"tracking": f.Tracking, "order": f.Order, "verdict": f.Verdict}
	if !f.Since.IsZero() {
		q["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	var raw json.RawMessage
	err := api.NewClient(cfg.API.Socket).Sessions(ctx, q, &raw)
	if err == nil {
		list, err := decodeSessions(raw)
		return list, "weighd", err
	}
	if !errors.Is(err, api.ErrUnreachable) {
		return nil, "weighd", fmt.Errorf("%w", errors.Join(errRefused, err))
	}
	dbPath := filepath.Join(cfg.StateDir, registry.FileName)
	if _, err := os.Stat(dbPath); err == nil {
		db, err := registry.Open(dbPath)
		if err != nil {
			return nil, dbPath, err
		}
		defer db.Close()
		list, err := db.Sessions(ctx, f)
		return list, dbPath, err
	}
	dir := filepath.Join(cfg.StateDir, evidence.SessionsDir)
	list, err := sessionsFromBundles(dir, f)
	return list, dir, err
}

// decodeSessions accepts a JSON array of sessions or an object holding one
// under "sessions".
func decodeSessions(raw json.RawMessage) ([]registry.Session, error) {
	var list []registry.Session
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Sessions []registry.Session `json:"sessions"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("weighd's session list: %v", err)
	}
	return wrapped.Sessions, nil
}

// bundle is one bundle directory read without changing anything.
type bundle struct {
	dir      string
	state    string // sealed, tombstoned, unsealed, damaged
	manifest *evidence.Manifest
	res      result.Result
	problem  string
}

// readBundle reads a bundle's manifest (or its unsealed checkpoint).
func readBundle(dir string) bundle {
	b := bundle{dir: dir}
	if data, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile)); err == nil {
		m, _, err := evidence.ParseManifest(data)
		if err != nil {
			b.state, b.problem = "damaged", err.Error()
			return b
		}
		b.manifest, b.res, b.state = m, m.Result, "sealed"
		if _, err := os.Stat(filepath.Join(dir, evidence.TombstoneFile)); err == nil {
			b.state = "tombstoned"
		}
		return b
	}
	if data, err := os.ReadFile(filepath.Join(dir, evidence.UnsealedFile)); err == nil {
		var doc struct {
			Result result.Result `json:"result"`
		}
		_ = json.Unmarshal(data, &doc)
		b.res, b.state = doc.Result, "unsealed"
		if b.res.SessionID == "" {
			b.res.SessionID = filepath.Base(dir)
		}
		return b
	}
	b.state, b.problem = "damaged", "no "+evidence.ManifestFile+" and no "+evidence.UnsealedFile
	return b
}

// sessionsFromBundles lists the sealed bundles of dir matching f.
func sessionsFromBundles(dir string, f registry.Filter) ([]registry.Session, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []registry.Session
	for _, de := range des {
		if _, ok := evidence.ParseSessionDirName(de.Name()); !ok || !de.IsDir() {
			continue
		}
		b := readBundle(filepath.Join(dir, de.Name()))
		if b.state != "sealed" && b.state != "tombstoned" {
			continue
		}
		r := b.res
		if f.Tracking != "" && registry.NormalizeTracking(r.Tracking) != registry.NormalizeTracking(f.Tracking) ||
			f.Order != "" && r.OrderRef != f.Order || f.Verdict != "" && r.Verdict != f.Verdict {
			continue
		}
		if !f.Since.IsZero() {
			if t, err := time.Parse(time.RFC3339Nano, r.StartedAt); err != nil || t.Before(f.Since) {
				continue
			}
		}
		outcome := registry.OutcomeComplete
		if r.Interrupted {
			outcome = registry.OutcomeInterrupted
		}
		out = append(out, registry.Session{SessionID: r.SessionID, Seq: r.Seq, StartedAt: r.StartedAt,
			Tracking: r.Tracking, OrderRef: r.OrderRef, Verdict: r.Verdict, Tier: r.Tier,
			Bundle: filepath.Join(evidence.SessionsDir, de.Name()), DeltaG: r.DeltaG, Outcome: outcome})
	}
	slices.SortFunc(out, func(a, b registry.Session) int { return int(a.Seq - b.Seq) })
	return out, nil
}

func printSessions(w io.Writer, list []registry.Session) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no sessions")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTARTED\tTRACKING\tORDER\tVERDICT\tTIER\tDELTA\tCLAIM\tSESSION")
	for _, s := range list {
		delta := "-"
		if s.DeltaG != nil {
			delta = fmt.Sprintf("%+.0f g", *s.DeltaG)
		}
		v := s.Verdict
		if s.Outcome == registry.OutcomeInterrupted {
			v += " (interrupted)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Seq, s.StartedAt, dash(s.Tracking), dash(s.OrderRef), v, s.Tier, delta, dash(s.Claim), s.SessionID)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// findBundle resolves SESSION: a bundle directory path, a directory name
// under <state_dir>/sessions, or a sequence number.
func findBundle(cfg config.Config, arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() && strings.ContainsRune(arg, '/') {
		return filepath.Clean(arg), nil
	}
	dir := filepath.Join(cfg.StateDir, evidence.SessionsDir)
	if arg == "" || strings.ContainsAny(arg, `/\`) {
		return "", fmt.Errorf("%q is not a bundle directory", arg)
	}
	if st, err := os.Stat(filepath.Join(dir, arg)); err == nil && st.IsDir() {
		return filepath.Join(dir, arg), nil
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("no session %q: %v", arg, err)
	}
	want, numErr := strconv.ParseInt(arg, 10, 64)
	var matches []string
	for _, de := range des {
		seq, ok := evidence.ParseSessionDirName(de.Name())
		if !ok || !de.IsDir() {
			continue
		}
		if numErr == nil && seq == want || numErr != nil && strings.HasPrefix(de.Name(), arg) {
			matches = append(matches, de.Name())
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no session %q under %s (weighctl sessions lists them)", arg, dir)
	case 1:
		return filepath.Join(dir, matches[0]), nil
	}
	return "", fmt.Errorf("%q names %d sessions: %s", arg, len(matches), strings.Join(matches, ", "))
}

const showUsage = `usage: weighctl show SESSION [--json] [--config FILE]

Summarises a bundle's manifest, offline. SESSION is the bundle's directory
name under <state_dir>/sessions/, its sequence number, a unique prefix, or a
path to a bundle directory. For the integrity check, use weighctl verify.

Exit status: 0 shown; 1 the bundle is damaged or not sealed; 2 usage error
or no such session.
`

// runShow is `weighctl show`.
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("show", showUsage, stderr)
	g := addGlobals(fl)
	jsonOut := fl.Bool("json", false, "print the manifest's result and files as JSON")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, fl, "want exactly one SESSION, got %d arguments", len(pos))
	}
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl show: %v\n", err)
		return exitUsage
	}
	dir, err := findBundle(cfg, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "weighctl show: %v\n", err)
		return exitUsage
	}
	b := readBundle(dir)
	if *jsonOut {
		doc := struct {
			Bundle   string                 `json:"bundle"`
			State    string                 `json:"state"`
			Problem  string                 `json:"problem,omitempty"`
			Result   result.Result          `json:"result"`
			Files    []evidence.FileEntry   `json:"files"`
			Key      string                 `json:"key_fingerprint,omitempty"`
			Outcomes []evidence.OutcomeInfo `json:"outcomes"`
		}{Bundle: dir, State: b.state, Problem: b.problem, Result: b.res, Files: []evidence.FileEntry{}, Outcomes: outcomesOf(dir)}
		if b.manifest != nil {
			doc.Files, doc.Key = b.manifest.Files, b.manifest.KeyFingerprint
		}
		writeJSON(stdout, doc)
	} else {
		printBundle(stdout, b)
	}
	if b.state != "sealed" && b.state != "tombstoned" {
		fmt.Fprintf(stderr, "weighctl show: %s is %s %s\n", dir, b.state, b.problem)
		return exitProblem
	}
	return exitOK
}

func outcomesOf(dir string) []evidence.OutcomeInfo { return evidence.BundleOutcomes(dir) }

func fmtG(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64) + " g"
}

// stopReasonText says why the recording ended (result schema 2).
func stopReasonText(r result.Result) string {
	why := map[string]string{
		result.StopButton: "a long press of the button", result.StopCommand: "the stop command (MQTT or the API)",
		result.StopMaxDuration: "session.max_duration reached", result.StopInactivity: "no weight change for session.inactivity_stop",
		result.StopShutdown: "weighd was stopped", result.StopInterrupted: "cut by a crash or power failure, sealed at recovery",
	}[r.StopReason]
	switch {
	case r.StopReason == "":
		return fmt.Sprintf("- (not recorded in result schema %d)", r.Schema)
	case why == "":
		return r.StopReason
	}
	return r.StopReason + ": " + why
}

func printBundle(w io.Writer, b bundle) {
	r := b.res
	fmt.Fprintf(w, "bundle     %s (%s)\n", b.dir, b.state)
	if b.problem != "" {
		fmt.Fprintf(w, "problem    %s\n", b.problem)
	}
	fmt.Fprintf(w, "session    %s, seq %d, station %s\n", r.SessionID, r.Seq, r.StationID)
	fmt.Fprintf(w, "started    %s%s\n", r.StartedAt, yesNo(r.ClockSynced, "", " (clock NOT synchronised)"))
	if r.Interrupted {
		fmt.Fprintln(w, "           interrupted: sealed at recovery after a crash or power cut")
	}
	fmt.Fprintf(w, "stopped    %s\n", stopReasonText(r))
	fmt.Fprintf(w, "parcel     tracking %s, order %s\n", dash(r.Tracking), dash(r.OrderRef))
	delta := "-"
	if r.DeltaG != nil {
		delta = fmt.Sprintf("%+g g", *r.DeltaG)
		if r.DeltaPct != nil {
			delta += fmt.Sprintf(" (%+.1f %%)", *r.DeltaPct)
		}
	}
	fmt.Fprintf(w, "weight     measured %g g%s, label %s (resolution %g g), delta %s, tolerance %g g\n",
		r.MeasuredG, yesNo(r.MeasuredStable, " stable", " NOT stable"), fmtG(r.LabelG), r.LabelResolutionG, delta, r.ToleranceG)
	fmt.Fprintf(w, "verdict    %s, tier %d\n", r.Verdict, r.Tier)
	for i, c := range r.MissingCandidates {
		fmt.Fprintf(w, "  missing? #%d %s (%g g, residual %+g g)\n", i+1, strings.Join(c.Items, " + "), c.TotalG, c.ResidualG)
	}
	fmt.Fprintf(w, "buyer      exterior %s, issue %s\n", dash(r.ExteriorCondition), dash(r.IssueType))
	for _, m := range r.Marks {
		fmt.Fprintf(w, "mark       %s %s %s\n", verdict.FormatTimestamp(m.TS), m.File, m.Label)
	}
	c := r.Continuity
	fmt.Fprintf(w, "video      %d frames, %.1f s, %.1f fps, max gap %.0f ms, %d gaps\n", c.Frames, c.DurationS, c.MeanFPS, c.MaxGapMS, len(c.Gaps))
	if b.manifest != nil {
		var total int64
		names := make([]string, 0, len(b.manifest.Files))
		for _, f := range b.manifest.Files {
			total += f.Bytes
			names = append(names, f.Name)
		}
		fmt.Fprintf(w, "files      %s (%s)\n", strings.Join(names, ", "), humanBytes(total))
		fmt.Fprintf(w, "key        %s\n", b.manifest.KeyFingerprint)
		fmt.Fprintf(w, "previous   %s\n", dash(b.manifest.PreviousManifestSHA256))
	}
	for _, a := range outcomesOf(b.dir) {
		fmt.Fprintf(w, "outcome    #%d %s (%s)%s\n", a.N, a.Outcome, a.RecordedAt, noteSuffix(a.Outcome.Note))
	}
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return ": " + n
}

const disputeUsage = `usage: weighctl dispute SESSION [--issue T] [--tier N] [--solution S]
                         [--detail-en TEXT] [--detail-zh TEXT] [--json] [--config FILE]

Prints the claim for a session (English, then Simplified Chinese), written
again from the bundle's result with the buyer's overrides:
  --issue     none, missing_item, wrong_item, damaged_cosmetic, damaged_functional
  --tier      0-3, the buyer's own judgement of severity
  --solution  the remedy asked for (default: from the tier and the issue)
With --issue or --tier the verdict is evaluated again (verdict section of the
configuration, the parcel's items from the registry when it is registered).
The bundle is not changed.

Exit status: 0 printed; 1 the bundle cannot be read; 2 usage error.
`

// runDispute is `weighctl dispute`.
func runDispute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("dispute", disputeUsage, stderr)
	g := addGlobals(fl)
	issue := fl.String("issue", "", "override the issue type")
	tier := fl.Int("tier", -1, "override the tier (0-3)")
	solution := fl.String("solution", "", "override the solution: "+joinSolutions())
	detailEN := fl.String("detail-en", "", "what the video shows, in English (one short factual sentence)")
	detailZH := fl.String("detail-zh", "", "the same in Chinese")
	jsonOut := fl.Bool("json", false, "print {session_id, tier, verdict, en, zh} as JSON")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return usageError(stderr, fl, "want exactly one SESSION, got %d arguments", len(pos))
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var issueType string
	if set["issue"] {
		v, err := verdict.ParseIssueType(*issue)
		if err != nil {
			return usageError(stderr, fl, "--issue: %v", err)
		}
		issueType = v
	}
	if set["tier"] && (*tier < 0 || *tier > 3) {
		return usageError(stderr, fl, "--tier must be 0 to 3, got %d", *tier)
	}
	sol, err := verdict.ParseSolution(*solution)
	if err != nil {
		return usageError(stderr, fl, "--solution: %v", err)
	}
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl dispute: %v\n", err)
		return exitUsage
	}
	dir, err := findBundle(cfg, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "weighctl dispute: %v\n", err)
		return exitUsage
	}
	b := readBundle(dir)
	if b.manifest == nil {
		fmt.Fprintf(stderr, "weighctl dispute: %s is %s %s: no sealed result\n", dir, b.state, b.problem)
		return exitProblem
	}
	res := b.res
	if set["issue"] || set["tier"] {
		var tierOverride *int
		if set["tier"] {
			tierOverride = tier
		}
		if !set["issue"] {
			issueType = res.IssueType
		}
		items, note := parcelItems(ctx, cfg, res.Tracking)
		if note != "" {
			fmt.Fprintf(stderr, "weighctl dispute: %s\n", note)
		}
		res, err = reevaluate(verdict.ParamsFrom(cfg.Verdict), res, items, issueType, tierOverride)
		if err != nil {
			fmt.Fprintf(stderr, "weighctl dispute: %v\n", err)
			return exitProblem
		}
	}
	msg, err := verdict.Compose(res, verdict.DisputeOptions{Solution: sol, DetailEN: *detailEN, DetailZH: *detailZH})
	if err != nil {
		fmt.Fprintf(stderr, "weighctl dispute: %s: %v\n", dir, err)
		return exitProblem
	}
	if *jsonOut {
		return writeJSON(stdout, map[string]any{"session_id": res.SessionID, "verdict": res.Verdict, "tier": res.Tier,
			"issue_type": res.IssueType, "en": msg.EN, "zh": msg.ZH})
	}
	fmt.Fprint(stdout, msg.String())
	return exitOK
}

func joinSolutions() string {
	s := make([]string, len(verdict.Solutions))
	for i, v := range verdict.Solutions {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// parcelItems returns the registered items of a tracking number, or a note
// saying why there are none.
func parcelItems(ctx context.Context, cfg config.Config, tracking string) ([]verdict.Item, string) {
	if tracking == "" {
		return nil, "the session has no tracking number: items unknown, the weigh-in verdict is kept from the bundle"
	}
	path := filepath.Join(cfg.StateDir, registry.FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, "no registry at " + path + ": items unknown, the weigh-in verdict is kept from the bundle"
	}
	db, err := registry.Open(path)
	if err != nil {
		return nil, fmt.Sprintf("registry: %v: items unknown, the weigh-in verdict is kept from the bundle", err)
	}
	defer db.Close()
	p, err := db.GetByTracking(ctx, tracking)
	if err != nil || len(p.Items) == 0 {
		return nil, fmt.Sprintf("parcel %s has no item list in the registry: the weigh-in verdict is kept from the bundle", tracking)
	}
	items := make([]verdict.Item, len(p.Items))
	for i, it := range p.Items {
		items[i] = verdict.Item{Name: it.Name, WeightG: it.WeightG}
	}
	return items, ""
}

// reevaluate applies an issue type and tier override to a sealed result.
// With the parcel's items the whole verdict is evaluated again; without
// them the weigh-in fields stay as sealed and only the tier is decided
// again: max(the tier the weigh-in supported, the issue's tier), or the
// override.
func reevaluate(p verdict.Params, res result.Result, items []verdict.Item, issue string, tierOverride *int) (result.Result, error) {
	res.MissingCandidates = slices.Clone(res.MissingCandidates)
	resolution := res.LabelResolutionG
	in := verdict.Input{LabelG: res.LabelG, LabelResolutionG: &resolution, MeasuredG: res.MeasuredG,
		MeasuredStable: res.MeasuredStable, Items: items, ExteriorCondition: res.ExteriorCondition,
		IssueType: issue, TierOverride: tierOverride}
	o, err := verdict.Evaluate(p, in)
	if err != nil {
		return res, err
	}
	if len(items) > 0 {
		o.Apply(&res)
		return res, nil
	}
	weightTier := o.WeightTier
	switch {
	case res.Verdict == result.VerdictEmpty,
		res.Verdict == result.VerdictUnderweight && len(res.MissingCandidates) > 0:
		weightTier = 3
	case res.Verdict != result.VerdictUnderweight:
		weightTier = 0
	}
	res.IssueType = o.IssueType
	res.Tier = max(weightTier, o.IssueTier)
	if tierOverride != nil {
		res.Tier = *tierOverride
	}
	return res, nil
}

const outcomeUsage = `usage: weighctl outcome SESSION resolved|refused|escalated [--resolution R]
                         [--amount X --currency CODE] [--note TEXT] [--json] [--config FILE]

Records how a dispute ended (seed, Phase 4) as a signed addendum
(outcome-NNN.json and .sig) beside the bundle's manifest, offline, with the
station key in the state directory. R is refund, replacement or
partial_refund (required with resolved; partial_refund needs --amount).
Retention never removes a bundle whose latest outcome is still open
(refused, escalated).

Exit status: 0 recorded; 1 not recorded (bundle not sealed, key problem,
weighd busy sealing); 2 usage error or no such session.
`

// runOutcome is `weighctl outcome`.
func runOutcome(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("outcome", outcomeUsage, stderr)
	g := addGlobals(fl)
	var o evidence.Outcome
	fl.StringVar(&o.Resolution, "resolution", "", "with resolved: refund, replacement or partial_refund")
	amount := fl.String("amount", "", "amount refunded")
	fl.StringVar(&o.Currency, "currency", "", "ISO 4217 currency code of --amount (USD, CNY, EUR …)")
	fl.StringVar(&o.Note, "note", "", "free text, at most 1000 bytes")
	jsonOut := fl.Bool("json", false, "print the signed addendum as JSON")
	pos, code, done := parseFlags(fl, args)
	if done {
		return code
	}
	if len(pos) != 2 {
		return usageError(stderr, fl, "want SESSION and resolved|refused|escalated, got %d arguments", len(pos))
	}
	o.Status = pos[1]
	o.Currency = strings.ToUpper(o.Currency)
	if *amount != "" {
		a, err := strconv.ParseFloat(*amount, 64)
		if err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			return usageError(stderr, fl, "--amount %q is not a number", *amount)
		}
		o.Amount = &a
	}
	if err := o.Validate(); err != nil {
		return usageError(stderr, fl, "%v", strings.TrimPrefix(err.Error(), "evidence: invalid outcome: "))
	}
	cfg, err := g.load()
	if err != nil {
		fmt.Fprintf(stderr, "weighctl outcome: %v\n", err)
		return exitUsage
	}
	dir, err := findBundle(cfg, pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "weighctl outcome: %v\n", err)
		return exitUsage
	}
	sessions := filepath.Join(cfg.StateDir, evidence.SessionsDir)
	if filepath.Dir(dir) != filepath.Clean(sessions) {
		fmt.Fprintf(stderr, "weighctl outcome: %s is not under %s: an outcome is signed with the station key of the state directory (--config names it)\n", dir, sessions)
		return exitUsage
	}
	// weighd shares the state directory: do not open the store while it
	// seals a session.
	var st api.Status
	if err := api.NewClient(cfg.API.Socket).Status(ctx, &st); err == nil {
		switch st.SessionState {
		case "starting", "recording", "sealing":
			fmt.Fprintf(stderr, "weighctl outcome: weighd is %s a session; record the outcome when it has finished\n", st.SessionState)
			return exitProblem
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := evidence.Open(cfg.StateDir, log, evidence.Options{StationID: cfg.ResolvedStationID()})
	if err != nil {
		fmt.Fprintf(stderr, "weighctl outcome: %v\n", err)
		return exitProblem
	}
	a, err := store.RecordOutcome(filepath.Base(dir), o, time.Now(), clockSynced())
	if err != nil {
		fmt.Fprintf(stderr, "weighctl outcome: %v\n", err)
		if errors.Is(err, evidence.ErrNotFound) {
			return exitUsage
		}
		return exitProblem
	}
	if db, err := registry.Open(filepath.Join(cfg.StateDir, registry.FileName)); err == nil {
		if err := db.SetClaim(ctx, a.SessionID, o.String()); err != nil && !errors.Is(err, registry.ErrNotFound) {
			fmt.Fprintf(stderr, "weighctl outcome: session index: %v (the signed addendum is written; weighd re-indexes at its next start)\n", err)
		}
		db.Close()
	}
	if *jsonOut {
		return writeJSON(stdout, a)
	}
	fmt.Fprintf(stdout, "recorded %s in %s: %s\n", a.FileName(), dir, o)
	fmt.Fprintf(stdout, "signed by the station key %s; weighctl verify %s checks it\n", store.KeyFingerprint(), dir)
	if why := evidence.ProtectedBecause(readBundle(dir).res, &o); why != "" {
		fmt.Fprintf(stdout, "retention keeps this bundle (%s)\n", why)
	} else {
		fmt.Fprintln(stdout, "the dispute is closed: retention may reduce this bundle to a tombstone when space runs short")
	}
	return exitOK
}

// clockSynced reports whether timestamps can be trusted; see sysclock.
var clockSynced = sysclock.Synced
