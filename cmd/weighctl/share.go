package main

import (
	"context"
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

const shareUsage = `usage: weighctl share [--config F] [--ttl 7d] SESSION | --list | --revoke ID

A read-only, expiring, revocable link to SESSION's page, player, stills,
sheet and pack; its URL is the last line printed. --config gives
state_dir, api.socket and web.url; the state directory is used only while
weighd is stopped.
`

// runShare is `weighctl share`: a read-only, expiring, revocable link to one
// session's page, player, stills, sheet and pack. The link's full URL is the
// last line printed. With weighd running it goes through the API (weighd
// keeps the links); with weighd stopped it writes them under the state
// directory itself, under the web lock.
func runShare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("share", shareUsage, stderr)
	ttl := c.String("ttl", "7d", "how long the link is valid (7d, 36h, 90m; at most 366d)")
	list := c.Bool("list", false, "list the share links")
	revoke := c.String("revoke", "", "revoke the link with this ID at once")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	cfg := c.cfg
	if !*list && *revoke == "" {
		if len(pos) != 1 {
			return c.usageError("want exactly one SESSION, got %d arguments", len(pos))
		}
		if _, err := web.ParseTTL(*ttl); err != nil {
			return c.fail(exitUsage, "%v", err)
		}
	}
	host, _ := os.Hostname()
	ops := web.ShareOps{Shares: web.OpenShares(cfg.StateDir), StateDir: cfg.StateDir, Base: web.BaseURL(cfg.Web, host)}
	now := time.Now()
	fail := func(running bool, err error) int {
		return c.fail(exitProblem, "%s%v", yesNo(running, "weighd refused: ", ""), err)
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
		c.fail(exitOK, "web.listen and web.url are empty: the web app is off, the link works once it is on")
		link = "http://localhost" + link
	}
	fmt.Fprintf(stdout, "share %s for %s, read-only, expires %s (weighctl share --revoke %s ends it)\n", sh.ID, sh.Session, sh.ExpiresAt, sh.ID)
	fmt.Fprintln(stdout, link)
	return exitOK
}
