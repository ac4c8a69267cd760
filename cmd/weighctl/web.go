package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"weighin/internal/api"
	"weighin/internal/web"
)

// webStdin is what `weighctl web passwd` reads; tests replace it.
var webStdin io.Reader = os.Stdin

const webUsage = `usage: weighctl web passwd [--config FILE] [--state-dir DIR] [--socket PATH]

Sets the web app's password (read from standard input when it is not a
terminal). --config gives state_dir and api.socket; the state directory is
written only while weighd is stopped.
`

// runWeb is `weighctl web passwd`: it sets the web app's password. With
// standard input a terminal it asks twice without echo; otherwise it reads
// the first line. With weighd running it goes through the API (weighd
// writes the hash under its state directory and the new password takes
// effect at once); with weighd stopped it writes the hash itself, under
// the state directory's web lock.
func runWeb(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("web passwd", webUsage, stderr)
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 || pos[0] != "passwd" {
		return c.usageError("want passwd")
	}
	cfg := c.cfg
	pw, err := readPassword(stderr)
	if err == nil {
		err = web.CheckPassword(pw)
	}
	if err != nil {
		return c.fail(exitUsage, "%v", err)
	}
	running, err := viaWeighd(ctx, cfg.API.Socket, func(c *api.Client) error { return c.Command(ctx, api.CmdWebPasswd, pw, nil) })
	switch {
	case running && err == nil:
		fmt.Fprintln(stdout, "web password set through weighd; it takes effect at once (every login made before it ends)")
		return exitOK
	case running:
		return c.fail(exitProblem, "%v", err)
	}
	if err := web.SetPassword(cfg.StateDir, pw); err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	fmt.Fprintf(stdout, "web password set in %s (weighd is not running; it applies when weighd starts)\n", cfg.StateDir)
	return exitOK
}

// viaWeighd runs call against weighd's API socket. running is false only
// when weighd is not there (nothing listens on the socket): the caller may
// then write the state directory itself. A socket this user may not open
// says nothing about whether weighd runs, so it is an error, with running
// true: writing behind a running weighd's back is what the API avoids.
func viaWeighd(ctx context.Context, socket string, call func(*api.Client) error) (running bool, err error) {
	if c, err := net.DialTimeout("unix", socket, 2*time.Second); errors.Is(err, os.ErrPermission) {
		return true, permissionHint(err)
	} else if err == nil {
		c.Close()
	}
	err = call(api.NewClient(socket))
	if errors.Is(err, api.ErrUnreachable) {
		return false, nil
	}
	return true, err
}

func readPassword(stderr io.Writer) (string, error) {
	if f, ok := webStdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "new web password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(webStdin).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
