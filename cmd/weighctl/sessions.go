package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/sysclock"
	"weighin/internal/verdict"
	"weighin/internal/vocab"
)

const sessionsUsage = `usage: weighctl sessions [--tracking X] [--order Y] [--verdict V] [--since DATE] [--json]

Lists sessions, oldest first, from weighd; when it is not running, from the
session index (<state_dir>/registry.db), else from the bundles. DATE is
2006-01-02 (UTC) or an RFC 3339 time.
`

// runSessions is `weighctl sessions`.
func runSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("sessions", sessionsUsage, stderr)
	var f registry.Filter
	c.StringVar(&f.Tracking, "tracking", "", "only sessions of this tracking number")
	c.StringVar(&f.Order, "order", "", "only sessions of this order reference")
	c.StringVar(&f.Verdict, "verdict", "", "only sessions with this verdict: "+strings.Join(result.Verdicts, ", "))
	since := c.String("since", "", "only sessions started at or after DATE")
	jsonOut := c.Bool("json", false, "print the sessions as a JSON array")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	if f.Verdict != "" && !slices.Contains(result.Verdicts, f.Verdict) {
		return c.usageError("--verdict %q is not one of %s", f.Verdict, strings.Join(result.Verdicts, ", "))
	}
	if *since != "" {
		t, err := registry.ParseSince(*since)
		if err != nil {
			return c.usageError("--since: %v", err)
		}
		f.Since = t
	}
	list, source, err := listSessions(ctx, c.cfg, f)
	var re *api.RemoteError
	switch {
	case errors.As(err, &re):
		return c.apiExit(err)
	case err != nil:
		return c.fail(exitProblem, "%v", err)
	case source != "weighd":
		c.fail(exitOK, "weighd is not running; read %s", source)
	}
	if *jsonOut {
		return writeJSON(stdout, append([]registry.Session{}, list...))
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no sessions")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTARTED\tTRACKING\tORDER\tVERDICT\tTIER\tDELTA\tCLAIM\tSESSION")
	for _, s := range list {
		delta := "-"
		if s.DeltaG != nil {
			delta = fmt.Sprintf("%+.0f g", *s.DeltaG)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s%s\t%d\t%s\t%s\t%s\n", s.Seq, s.StartedAt, dash(s.Tracking), dash(s.OrderRef), s.Verdict,
			yesNo(s.Outcome == registry.OutcomeInterrupted, " (interrupted)", ""), s.Tier, delta, dash(s.Claim), s.SessionID)
	}
	tw.Flush()
	return exitOK
}

// listSessions asks weighd, then the registry, then the bundles. source
// names where the list came from.
func listSessions(ctx context.Context, cfg config.Config, f registry.Filter) ([]registry.Session, string, error) {
	q := map[string]string{"tracking": f.Tracking, "order": f.Order, "verdict": f.Verdict}
	if !f.Since.IsZero() {
		q["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	var list []registry.Session
	err := api.NewClient(cfg.API.Socket).Sessions(ctx, q, &list)
	if !errors.Is(err, api.ErrUnreachable) {
		return list, "weighd", err
	}
	return registry.SessionsIn(ctx, cfg.StateDir, f)
}

// bundleOf finds and reads SESSION; on failure it prints why and returns
// the exit code.
func (c *cli) bundleOf(arg string) (evidence.Bundle, int) {
	dir, err := evidence.FindBundle(filepath.Join(c.cfg.StateDir, evidence.SessionsDir), arg)
	if err != nil {
		return evidence.Bundle{}, c.fail(exitUsage, "%v", err)
	}
	b, err := evidence.ReadBundle(dir)
	if err != nil && b.State == "" {
		return b, c.fail(exitUsage, "%v", err)
	}
	if err != nil {
		b.Problem = err.Error()
	}
	return b, exitOK
}

const showUsage = `usage: weighctl show SESSION [--json]

Summarises a bundle, offline. SESSION is its directory name, sequence
number, a unique prefix, or a path. Exit status 1: damaged or not sealed.
`

// runShow is `weighctl show`.
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("show", showUsage, stderr)
	jsonOut := c.Bool("json", false, "print the manifest's result and files as JSON")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("want exactly one SESSION, got %d arguments", len(pos))
	}
	b, code := c.bundleOf(pos[0])
	if code != exitOK {
		return code
	}
	if *jsonOut {
		doc := struct {
			Bundle   string                 `json:"bundle"`
			State    string                 `json:"state"`
			Problem  string                 `json:"problem,omitempty"`
			Result   result.Result          `json:"result"`
			Files    []evidence.FileEntry   `json:"files"`
			Key      string                 `json:"key_fingerprint,omitempty"`
			Outcomes []evidence.OutcomeInfo `json:"outcomes"`
		}{Bundle: b.Dir, State: b.State, Problem: b.Problem, Result: b.Result, Files: []evidence.FileEntry{}, Outcomes: evidence.BundleOutcomes(b.Dir)}
		if b.Manifest != nil {
			doc.Files, doc.Key = b.Manifest.Files, b.Manifest.KeyFingerprint
		}
		writeJSON(stdout, doc)
	} else {
		printBundle(stdout, b)
	}
	if !b.Sealed() {
		return c.fail(exitProblem, "%s is %s %s", b.Dir, b.State, b.Problem)
	}
	return exitOK
}

func printBundle(w io.Writer, b evidence.Bundle) {
	r := b.Result
	fmt.Fprintf(w, "bundle     %s (%s)\n", b.Dir, b.State)
	if b.Problem != "" {
		fmt.Fprintf(w, "problem    %s\n", b.Problem)
	}
	fmt.Fprintf(w, "session    %s, seq %d, station %s\n", r.SessionID, r.Seq, r.StationID)
	fmt.Fprintf(w, "started    %s%s\n", r.StartedAt, yesNo(r.ClockSynced, "", " (clock NOT synchronised)"))
	if r.Interrupted {
		fmt.Fprintln(w, "           interrupted: sealed at recovery after a crash or power cut")
	}
	fmt.Fprintf(w, "stopped    %s\n", result.StopReasonText(r))
	fmt.Fprintf(w, "parcel     tracking %s, order %s\n", dash(r.Tracking), dash(r.OrderRef))
	delta, label := "-", "-"
	if r.DeltaG != nil {
		delta = fmt.Sprintf("%+g g", *r.DeltaG)
		if r.DeltaPct != nil {
			delta += fmt.Sprintf(" (%+.1f %%)", *r.DeltaPct)
		}
	}
	if r.LabelG != nil {
		label = strconv.FormatFloat(*r.LabelG, 'f', -1, 64) + " g"
	}
	fmt.Fprintf(w, "weight     measured %g g%s, label %s (resolution %g g), delta %s, tolerance %g g\n",
		r.MeasuredG, yesNo(r.MeasuredStable, " stable", " NOT stable"), label, r.LabelResolutionG, delta, r.ToleranceG)
	if r.LeftoverLoad {
		fmt.Fprintln(w, "           forced start: the platform was not empty since the previous session (leftover_load)")
	}
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
	for _, p := range c.Resumed {
		fmt.Fprintf(w, "continued  %s at %s, after %s unrecorded (paused for inactivity)\n", p.File, verdict.FormatTimestamp(p.AtS), verdict.FormatTimestamp(p.PausedS))
	}
	if m := b.Manifest; m != nil {
		var total int64
		names := make([]string, 0, len(m.Files))
		for _, f := range m.Files {
			total += f.Bytes
			names = append(names, f.Name)
		}
		fmt.Fprintf(w, "files      %s (%s)\n", strings.Join(names, ", "), doctor.HumanBytes(total))
		fmt.Fprintf(w, "key        %s\n", m.KeyFingerprint)
		fmt.Fprintf(w, "previous   %s\n", dash(m.PreviousManifestSHA256))
	}
	for _, a := range evidence.BundleOutcomes(b.Dir) {
		fmt.Fprintf(w, "outcome    #%d %s (%s)%s\n", a.N, a.Outcome, a.RecordedAt, suffix(": ", a.Outcome.Note))
	}
}

const disputeUsage = `usage: weighctl dispute SESSION [--issue T] [--tier N] [--solution S] [--detail TEXT] [--detail-en TEXT] [--detail-zh TEXT] [--json]

Prints the claim again from the bundle's result (English, then Chinese).
--detail describes what is damaged or missing in whichever language you
write; a description in one language goes into both texts, quoted in the
other with a note of its language.
--issue or --tier evaluates the verdict again (verdict.Reevaluate, with the
registered items when there are some). The bundle is not changed.
`

// runDispute is `weighctl dispute`.
func runDispute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("dispute", disputeUsage, stderr)
	issue := c.String("issue", "", "override the issue type")
	tier := c.Int("tier", -1, "override the tier (0-3)")
	solution := c.String("solution", "", "override the solution")
	detailEN := c.String("detail-en", "", "what the video shows, in English (one short factual sentence)")
	detailZH := c.String("detail-zh", "", "the same in Chinese")
	detail := c.String("detail", "", "what the video shows, in English or Chinese (carried into both texts)")
	jsonOut := c.Bool("json", false, "print {session_id, tier, verdict, en, zh} as JSON")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageError("want exactly one SESSION, got %d arguments", len(pos))
	}
	set := map[string]bool{}
	c.Visit(func(f *flag.Flag) { set[f.Name] = true })
	issueType, err := verdict.ParseIssueType(*issue)
	if err != nil {
		return c.usageError("--issue: %v", err)
	}
	if set["tier"] && (*tier < 0 || *tier > 3) {
		return c.usageError("--tier must be 0 to 3, got %d", *tier)
	}
	sol, err := verdict.ParseSolution(*solution)
	if err != nil {
		return c.usageError("--solution: %v", err)
	}
	b, code := c.bundleOf(pos[0])
	if code != exitOK {
		return code
	}
	if !b.Sealed() {
		return c.fail(exitProblem, "%s is %s %s: no sealed result", b.Dir, b.State, b.Problem)
	}
	res := b.Result
	if set["issue"] || set["tier"] {
		var tierOverride *int
		if set["tier"] {
			tierOverride = tier
		}
		if !set["issue"] {
			issueType = res.IssueType
		}
		items, err := registry.ItemsIn(ctx, c.cfg.StateDir, res.Tracking)
		if err != nil {
			c.fail(exitOK, "%v: items unknown, the weigh-in verdict is kept from the bundle", err)
		}
		if res, err = verdict.Reevaluate(verdict.ParamsFrom(c.cfg.Verdict), res, items, issueType, tierOverride); err != nil {
			return c.fail(exitProblem, "%v", err)
		}
	}
	if *detail == "" && *detailEN == "" && *detailZH == "" {
		*detail = res.Damage // the description entered at the station
	}
	msg, err := verdict.Compose(res, verdict.DisputeOptions{Solution: sol, DetailEN: *detailEN, DetailZH: *detailZH, Detail: *detail})
	if err != nil {
		return c.fail(exitProblem, "%s: %v", b.Dir, err)
	}
	if *jsonOut {
		return writeJSON(stdout, map[string]any{"session_id": res.SessionID, "verdict": res.Verdict, "tier": res.Tier,
			"issue_type": res.IssueType, "en": msg.EN, "zh": msg.ZH, "short": msg.Short})
	}
	fmt.Fprint(stdout, msg.String())
	return exitOK
}

const outcomeUsage = `usage: weighctl outcome SESSION resolved|refused|escalated [--resolution R] [--amount X --currency CODE] [--note TEXT] [--json]

Records how a dispute ended as a signed addendum beside the bundle's
manifest, with the state directory's station key. R: refund, replacement or
partial_refund (with --amount). An open outcome keeps retention off it.
`

// runOutcome is `weighctl outcome`.
func runOutcome(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("outcome", outcomeUsage, stderr)
	var o evidence.Outcome
	c.StringVar(&o.Resolution, "resolution", "", "with resolved: refund, replacement or partial_refund")
	amount := c.String("amount", "", "amount refunded")
	c.StringVar(&o.Currency, "currency", "", "ISO 4217 currency code of --amount (USD, CNY, EUR …)")
	c.StringVar(&o.Note, "note", "", "free text, at most 1000 bytes")
	jsonOut := c.Bool("json", false, "print the signed addendum as JSON")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 2 {
		return c.usageError("want SESSION and resolved|refused|escalated, got %d arguments", len(pos))
	}
	o.Status, o.Currency = pos[1], strings.ToUpper(o.Currency)
	if *amount != "" {
		a, err := strconv.ParseFloat(*amount, 64)
		if err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			return c.usageError("--amount %q is not a number", *amount)
		}
		o.Amount = &a
	}
	if err := o.Validate(); err != nil {
		return c.usageError("%v", strings.TrimPrefix(err.Error(), evidence.ErrOutcome.Error()+": "))
	}
	if o.Note != "" { // the one text rule, as the outcome command on MQTT and the API
		if err := vocab.CheckText(o.Note, vocab.MaxNoteBytes); err != nil {
			return c.usageError("note: %v", err)
		}
	}
	b, code := c.bundleOf(pos[0])
	if code != exitOK {
		return code
	}
	sessions := filepath.Join(c.cfg.StateDir, evidence.SessionsDir)
	if filepath.Dir(b.Dir) != filepath.Clean(sessions) {
		return c.fail(exitUsage, "%s is not under %s: an outcome is signed with the station key of the state directory (--config names it)", b.Dir, sessions)
	}
	// While weighd runs it writes the addendum (it owns the state
	// directory); stopped, weighctl writes it.
	val, err := json.Marshal(publish.Outcome{SessionID: b.SessionID, Outcome: o})
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	var reply api.OutcomeReply
	if handled, code := c.throughWeighd(ctx, string(publish.CmdOutcome), string(val), &reply); handled {
		if code != exitOK {
			return code
		}
		if *jsonOut {
			return writeJSON(stdout, reply)
		}
		fmt.Fprintf(stdout, "recorded %s in %s: %s (through weighd)\n", reply.File, reply.Bundle, o)
		fmt.Fprintf(stdout, "signed by the station key %s; weighctl verify %s checks it\n", reply.KeyFingerprint, reply.Bundle)
		return exitOK
	}
	// Stopped weighd: do not open the store while one is starting and
	// sealing a session.
	var st api.Status
	if err := c.client().Status(ctx, &st); err == nil && slices.Contains([]string{"starting", "recording", "sealing"}, st.SessionState) {
		return c.fail(exitProblem, "weighd is %s a session; record the outcome when it has finished", st.SessionState)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := evidence.Open(c.cfg.StateDir, log, evidence.Options{StationID: stationIDOf(c.cfg)})
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	a, err := store.RecordOutcome(b.SessionID, o, time.Now(), clockSynced())
	if err != nil {
		return c.fail(yesNoInt(errors.Is(err, evidence.ErrNotFound), exitUsage, exitProblem), "%v", err)
	}
	if db, err := registry.Open(filepath.Join(c.cfg.StateDir, registry.FileName)); err == nil {
		if err := db.SetClaim(ctx, a.SessionID, o.String()); err != nil && !errors.Is(err, registry.ErrNotFound) {
			c.fail(exitOK, "session index: %v (the signed addendum is written; weighd re-indexes at its next start)", err)
		}
		db.Close()
	}
	if *jsonOut {
		return writeJSON(stdout, a)
	}
	fmt.Fprintf(stdout, "recorded %s in %s: %s\n", a.FileName(), b.Dir, o)
	fmt.Fprintf(stdout, "signed by the station key %s; weighctl verify %s checks it\n", store.KeyFingerprint(), b.Dir)
	if why := evidence.ProtectedBecause(b.Result, &o); why != "" {
		fmt.Fprintf(stdout, "retention keeps this bundle (%s)\n", why)
	} else {
		fmt.Fprintln(stdout, "the dispute is closed: retention may reduce this bundle to a tombstone when space runs short")
	}
	return exitOK
}

func yesNoInt(b bool, yes, no int) int {
	if b {
		return yes
	}
	return no
}

// clockSynced reports whether timestamps can be trusted; see sysclock.
var clockSynced = sysclock.Synced
