package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"weighin/internal/config"
	"weighin/internal/web"
)

// webConfigPath is weighd's configuration file, the default of --config.
const webConfigPath = "/etc/weighin/weighd.yaml"

// webStdin is what `weighctl web passwd` reads; tests replace it.
var webStdin io.Reader = os.Stdin

// runWeb is `weighctl web passwd`: it sets the web app's password. With
// standard input a terminal it asks twice without echo; otherwise it reads
// the first line. It writes the hash under the state directory directly, so
// it works with weighd running (which re-reads the file at its next
// request) or stopped.
func runWeb(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("web", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", webConfigPath, "weighd's configuration file, for state_dir (a missing file means the defaults)")
	stateDir := fl.String("state-dir", "", "the state directory (default: state_dir of the configuration)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: weighctl web passwd [--config FILE] [--state-dir DIR]\n  sets the web app's password (read from standard input when it is not a terminal)")
		fl.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "passwd" {
		fl.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	if err := fl.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	dir, err := webStateDir(*cfgPath, *stateDir)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl web:", err)
		return exitUsage
	}
	pw, err := readPassword(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl web passwd:", err)
		return exitUsage
	}
	if err := web.SetPassword(dir, pw); err != nil {
		fmt.Fprintln(stderr, "weighctl web passwd:", err)
		if errors.Is(err, web.ErrWeakPassword) {
			return exitUsage
		}
		return exitProblem
	}
	fmt.Fprintln(stdout, "web password set; it takes effect at once (every login made before it ends)")
	return exitOK
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

// webConfig loads the configuration (a missing file means the defaults).
func webConfig(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return config.Default(), nil
	}
	return cfg, err
}

func webStateDir(cfgPath, stateDir string) (string, error) {
	if stateDir != "" {
		return stateDir, nil
	}
	cfg, err := webConfig(cfgPath)
	if err != nil {
		return "", err
	}
	return cfg.StateDir, nil
}
