package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"weighin/internal/config"
	"weighin/internal/registry"
)

// runParcels is `weighctl parcels add|list|rm|import`: it works directly on
// the registry file under the state directory (WAL lets weighd keep it
// open at the same time).
func runParcels(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, `usage: weighctl parcels [--config FILE] [--state-dir DIR] add|list|rm|import ...
  add --tracking T [--order REF] [--label-g G] [--resolution-g G] [--items "Name:g;Name:g"]
  list [--json]
  rm TRACKING
  import FILE.csv    (header: order_ref,tracking,label_g,label_resolution_g,items)`)
	}
	fs := flag.NewFlagSet("parcels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfigPath, "weighd's configuration file, for state_dir (a missing file means the defaults)")
	stateDir := fs.String("state-dir", "", "state directory (default: the config's state_dir, "+config.Default().StateDir+")")
	fs.Usage = usage
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() == 0 {
		usage()
		return exitUsage
	}
	dir := *stateDir
	if dir == "" {
		cfg, err := (&globals{config: *cfgPath}).load()
		if err != nil {
			fmt.Fprintln(stderr, "weighctl parcels:", err)
			return exitUsage
		}
		dir = cfg.StateDir
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		fmt.Fprintln(stderr, "weighctl parcels:", err)
		return exitProblem
	}
	db, err := registry.Open(filepath.Join(dir, registry.FileName))
	if err != nil {
		fmt.Fprintln(stderr, "weighctl parcels:", err)
		return exitProblem
	}
	defer db.Close()
	sub, rest := fs.Arg(0), fs.Args()[1:]
	switch sub {
	case "add":
		return parcelsAdd(ctx, db, rest, stdout, stderr)
	case "list":
		return parcelsList(ctx, db, rest, stdout, stderr)
	case "rm":
		if len(rest) != 1 {
			usage()
			return exitUsage
		}
		if err := db.RemoveParcel(ctx, rest[0]); err != nil {
			fmt.Fprintln(stderr, "weighctl parcels rm:", err)
			if errors.Is(err, registry.ErrNotFound) {
				return exitUsage
			}
			return exitProblem
		}
		fmt.Fprintln(stdout, "removed", registry.NormalizeTracking(rest[0]))
		return exitOK
	case "import":
		if len(rest) != 1 {
			usage()
			return exitUsage
		}
		f, err := os.Open(rest[0])
		if err != nil {
			fmt.Fprintln(stderr, "weighctl parcels import:", err)
			return exitUsage
		}
		defer f.Close()
		n, err := db.ImportCSV(ctx, f, rest[0])
		if err != nil {
			fmt.Fprintln(stderr, err)
			if errors.Is(err, registry.ErrBadCSV) {
				return exitUsage
			}
			return exitProblem
		}
		fmt.Fprintf(stdout, "imported %d parcels from %s\n", n, rest[0])
		return exitOK
	}
	fmt.Fprintf(stderr, "weighctl parcels: unknown subcommand %q\n", sub)
	usage()
	return exitUsage
}

func parcelsAdd(ctx context.Context, db *registry.DB, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parcels add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tracking := fs.String("tracking", "", "tracking number (required)")
	order := fs.String("order", "", "order reference")
	labelG := fs.String("label-g", "", "label weight in grams")
	resG := fs.Float64("resolution-g", 0, "carrier's rounding step in grams (0: config default)")
	items := fs.String("items", "", `items, "Name:grams;Name:grams"`)
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "weighctl %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	p := registry.Parcel{Tracking: *tracking, OrderRef: *order, LabelResolutionG: *resG}
	if *labelG != "" {
		v, err := strconv.ParseFloat(*labelG, 64)
		if err != nil {
			fmt.Fprintf(stderr, "weighctl parcels add: --label-g %q: not a number\n", *labelG)
			return exitUsage
		}
		p.LabelG = &v
	}
	var err error
	if p.Items, err = registry.ParseItems(*items); err != nil {
		fmt.Fprintf(stderr, "weighctl parcels add: --items: %v\n", err)
		return exitUsage
	}
	if err := db.AddParcel(ctx, p); err != nil {
		fmt.Fprintln(stderr, "weighctl parcels add:", err)
		if errors.Is(err, registry.ErrInvalid) || errors.Is(err, registry.ErrExists) {
			return exitUsage
		}
		return exitProblem
	}
	fmt.Fprintln(stdout, "added", registry.NormalizeTracking(p.Tracking))
	return exitOK
}

func parcelsList(ctx context.Context, db *registry.DB, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parcels list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "weighctl %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	ps, err := db.ListParcels(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "weighctl parcels list:", err)
		return exitProblem
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, p := range ps {
			if err := enc.Encode(p); err != nil {
				return exitProblem
			}
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACKING\tORDER\tLABEL_G\tRES_G\tITEMS")
	for _, p := range ps {
		l := "-"
		if p.LabelG != nil {
			l = strconv.FormatFloat(*p.LabelG, 'f', -1, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%g\t%s\n", p.Tracking, p.OrderRef, l, p.LabelResolutionG, registry.FormatItems(p.Items))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "weighctl parcels list:", err)
		return exitProblem
	}
	return exitOK
}
