package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"weighin/drivers/hx711"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/web"
)

const doctorUsage = `usage: weighctl doctor [--json]

Checks GPIO, the HX711, the camera, the MQTT broker, free space, the clock,
the calibration and the station key, one line each with a fix. While weighd
runs, the scale's and camera's health come from its status.

Exit status: 0 no FAIL; 1 at least one FAIL; 2 usage error.
`

// doctorDeps are the doctor's contacts with this machine for cfg; tests
// replace it.
var doctorDeps = func(cfg config.Config) doctor.Deps {
	d := doctor.Local(func(ctx context.Context) (st api.Status, err error) {
		return st, api.NewClient(cfg.API.Socket).Status(ctx, &st)
	}, fmt.Sprintf("weighctl-doctor-%d", os.Getpid()), web.Doctor)
	d.Clock = clockSynced
	d.Scale = doctor.ProbeScale(func(sc config.Scale) (*hx711.Dev, error) { return openScale(sc, io.Discard) })
	d.Camera = doctor.ProbeCamera
	return d
}

// runDoctor is `weighctl doctor`: it prints internal/doctor's checks.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("doctor", doctorUsage, stderr)
	jsonOut := c.Bool("json", false, "print the checks as a JSON array")
	// A bad configuration is the first finding, not the end of the checks.
	pos, err := parseInterleaved(c.FlagSet, args)
	if err != nil {
		return yesNoInt(errors.Is(err, flag.ErrHelp), exitOK, exitUsage)
	}
	if len(pos) > 0 {
		return c.usageError("takes no arguments, got %q", pos[0])
	}
	cfg, first := doctor.LoadConfig(c.config)
	c.override(&cfg)
	checks := append([]doctor.Check{first}, doctor.Run(ctx, cfg, doctorDeps(cfg))...)
	if *jsonOut {
		writeJSON(stdout, checks)
	} else {
		for _, c := range checks {
			fmt.Fprintln(stdout, c)
		}
	}
	if doctor.Failed(checks) {
		return exitProblem
	}
	return exitOK
}
