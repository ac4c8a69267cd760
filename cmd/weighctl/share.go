package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"weighin/internal/api"
	"weighin/internal/web"
)

// runShare is `weighctl share`: a read-only, expiring, revocable link to one
// session's page, player, stills, sheet and pack. The link's full URL is the
// last line printed. With weighd running it goes through the API (weighd
// keeps the links); with weighd stopped it writes them under the state
// directory itself, under the web lock.
func runShare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("share", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", webConfigPath, "weighd's configuration file, for state_dir, api.socket and web.url (a missing file means the defaults)")
	stateDir := fl.String("state-dir", "", "the state directory, used only while weighd is stopped (default: state_dir of the configuration)")
	socket := fl.String("socket", "", "weighd's API socket (default: api.socket of the configuration)")
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
	cfg, err := webCLIConfig(*cfgPath, *stateDir, *socket)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl share:", err)
		return exitUsage
	}
	if !*list && *revoke == "" {
		if len(pos) != 1 {
			fl.Usage()
			return exitUsage
		}
		if _, err := web.ParseTTL(*ttl); err != nil {
			fmt.Fprintln(stderr, "weighctl share:", err)
			return exitUsage
		}
	}
	host, _ := os.Hostname()
	ops := web.ShareOps{Shares: web.OpenShares(cfg.StateDir), StateDir: cfg.StateDir, Base: web.BaseURL(cfg.Web, host)}
	now := time.Now()
	fail := func(running bool, err error) int {
		if running {
			fmt.Fprintln(stderr, "weighctl share: weighd refused:", err)
		} else {
			fmt.Fprintln(stderr, "weighctl share:", err)
		}
		return exitProblem
	}
	switch {
	case *list:
		var all []api.ShareInfo
		running, err := viaWeighd(ctx, cfg.API.Socket, func(c *api.Client) error { return c.Command(ctx, api.CmdShareList, "", &all) })
		if !running {
			all, err = ops.List(now)
		}
		if err != nil {
			return fail(running, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSESSION\tSTATE\tEXPIRES\tURL")
		for _, s := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Session, s.State, s.ExpiresAt, s.URL)
		}
		tw.Flush()
		return exitOK
	case *revoke != "":
		running, err := viaWeighd(ctx, cfg.API.Socket, func(c *api.Client) error { return c.Command(ctx, api.CmdShareRevoke, *revoke, nil) })
		if !running {
			err = ops.Revoke(*revoke, now)
		}
		if err != nil {
			return fail(running, err)
		}
		fmt.Fprintln(stdout, "revoked", *revoke)
		return exitOK
	}
	session := filepath.Base(pos[0])
	var sh api.ShareInfo
	running, err := viaWeighd(ctx, cfg.API.Socket, func(c *api.Client) error {
		return c.CommandQuery(ctx, api.CmdShare, session, map[string]string{"ttl": *ttl}, &sh)
	})
	if !running {
		sh, err = ops.Create(session, *ttl, now)
	}
	if err != nil {
		return fail(running, err)
	}
	link := sh.URL
	if strings.HasPrefix(link, "/") {
		fmt.Fprintln(stderr, "weighctl share: web.listen and web.url are empty: the web app is off, the link works once it is on")
		link = "http://localhost" + link
	}
	fmt.Fprintf(stdout, "share %s for %s, read-only, expires %s (weighctl share --revoke %s ends it)\n", sh.ID, sh.Session, sh.ExpiresAt, sh.ID)
	fmt.Fprintln(stdout, link)
	return exitOK
}
