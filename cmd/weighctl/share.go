package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"weighin/internal/web"
)

// runShare is `weighctl share`: a read-only, expiring, revocable link to one
// session's page, player, stills, sheet and pack. The link's full URL is the
// last line printed. Links live under the state directory, so the command
// works with weighd running or stopped.
func runShare(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("share", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", webConfigPath, "weighd's configuration file, for state_dir and web.url (a missing file means the defaults)")
	stateDir := fl.String("state-dir", "", "the state directory (default: state_dir of the configuration)")
	ttl := fl.String("ttl", "7d", "how long the link is valid (7d, 36h, 90m; at most 366d)")
	list := fl.Bool("list", false, "list the share links")
	revoke := fl.String("revoke", "", "revoke the link with this ID at once")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: weighctl share [--config F] [--ttl 7d] SESSION | --list | --revoke ID")
		fl.PrintDefaults()
	}
	pos, err := parseInterleaved(fl, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, err := webConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl share:", err)
		return exitUsage
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	host, _ := os.Hostname()
	base := web.BaseURL(cfg.Web, host)
	shares := web.OpenShares(cfg.StateDir)
	now := time.Now()
	switch {
	case *list:
		all, err := shares.List()
		if err != nil {
			fmt.Fprintln(stderr, "weighctl share:", err)
			return exitProblem
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSESSION\tSTATE\tEXPIRES\tURL")
		for _, s := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Session, s.State(now), s.ExpiresAt.Format(time.RFC3339), base+s.Path())
		}
		tw.Flush()
		return exitOK
	case *revoke != "":
		if err := shares.Revoke(*revoke, now); err != nil {
			fmt.Fprintln(stderr, "weighctl share:", err)
			return exitUsage
		}
		fmt.Fprintln(stdout, "revoked", *revoke)
		return exitOK
	}
	if len(pos) != 1 {
		fl.Usage()
		return exitUsage
	}
	d, err := web.ParseTTL(*ttl)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl share:", err)
		return exitUsage
	}
	session := filepath.Base(pos[0])
	if fi, err := os.Stat(filepath.Join(cfg.StateDir, "sessions", session, "manifest.json")); err != nil || !fi.Mode().IsRegular() {
		fmt.Fprintf(stderr, "weighctl share: %s: no sealed session of that name under %s\n", session, filepath.Join(cfg.StateDir, "sessions"))
		return exitUsage
	}
	sh, err := shares.Create(session, d, now)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl share:", err)
		return exitProblem
	}
	if base == "" {
		fmt.Fprintln(stderr, "weighctl share: web.listen and web.url are empty: the web app is off, the link works once it is on")
		base = "http://localhost"
	}
	fmt.Fprintf(stdout, "share %s for %s, read-only, expires %s (weighctl share --revoke %s ends it)\n", sh.ID, session, sh.ExpiresAt.Format(time.RFC3339), sh.ID)
	fmt.Fprintln(stdout, base+sh.Path())
	return exitOK
}
