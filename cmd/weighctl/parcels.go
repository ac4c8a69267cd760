package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"weighin/internal/api"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/vocab"
)

const parcelsUsage = `usage: weighctl parcels add|list|rm|import ...
  add --tracking T [--order REF] [--label-g G] [--resolution-g G] [--items "Name:g;Name:g"]
  list [--json]
  rm TRACKING
  import FILE.csv    (header: order_ref,tracking,label_g,label_resolution_g,items)
`

// runParcels is `weighctl parcels add|list|rm|import`.
func runParcels(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("parcels", parcelsUsage, stderr)
	tracking := c.String("tracking", "", "add: tracking number (required)")
	order := c.String("order", "", "add: order reference")
	labelG := c.String("label-g", "", "add: label weight in grams")
	resG := c.String("resolution-g", "", "add: carrier's rounding step in grams (absent: the configured default)")
	items := c.String("items", "", `add: items, "Name:grams;Name:grams"`)
	asJSON := c.Bool("json", false, "list: one JSON object per line")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	want := map[string]int{"add": 1, "list": 1, "rm": 2, "import": 2}
	if len(pos) == 0 || want[pos[0]] != len(pos) {
		return c.usageError("want add, list, rm TRACKING or import FILE.csv")
	}
	// The parcel to add, from the flags.
	var p registry.Parcel
	if pos[0] == "add" {
		var err error
		if p, err = registry.ParcelFromFields(*tracking, *order, *labelG, *resG, *items); err != nil {
			return c.usageError("add: %v", err)
		}
	}
	// While weighd runs it owns the registry: the writing commands go
	// through it.
	if handled, code := c.parcelsViaWeighd(ctx, pos, p, stdout); handled {
		return code
	}
	if err := os.MkdirAll(c.cfg.StateDir, 0o750); err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	db, err := registry.Open(filepath.Join(c.cfg.StateDir, registry.FileName))
	if err != nil {
		return c.fail(exitProblem, "%v", err)
	}
	defer db.Close()
	failed := func(err error, usage ...error) int {
		for _, u := range usage {
			if errors.Is(err, u) {
				return c.fail(exitUsage, "%s: %v", pos[0], err)
			}
		}
		return c.fail(exitProblem, "%s: %v", pos[0], err)
	}
	switch pos[0] {
	case "add":
		if err := db.AddParcel(ctx, p); err != nil {
			return failed(err, registry.ErrInvalid, registry.ErrExists)
		}
		fmt.Fprintln(stdout, "added", vocab.NormalizeTracking(p.Tracking))
	case "list":
		ps, err := db.ListParcels(ctx)
		if err != nil {
			return failed(err)
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
			return failed(err)
		}
	case "rm":
		if err := db.RemoveParcel(ctx, pos[1]); err != nil {
			return failed(err, registry.ErrNotFound)
		}
		fmt.Fprintln(stdout, "removed", vocab.NormalizeTracking(pos[1]))
	case "import":
		f, err := os.Open(pos[1])
		if err != nil {
			return c.fail(exitUsage, "import: %v", err)
		}
		defer f.Close()
		n, err := db.ImportCSV(ctx, f, pos[1])
		if err != nil {
			return failed(err, registry.ErrBadCSV)
		}
		fmt.Fprintf(stdout, "imported %d parcels from %s\n", n, pos[1])
	}
	return exitOK
}

// maxImportBytes bounds a CSV sent to weighd (the API takes 64 KiB bodies).
const maxImportBytes = 60 << 10

// parcelsViaWeighd carries out add, rm and import through weighd when it
// runs; handled is false when it does not (or for list, which reads).
func (c *cli) parcelsViaWeighd(ctx context.Context, pos []string, p registry.Parcel, stdout io.Writer) (handled bool, code int) {
	switch pos[0] {
	case "add":
		v, err := json.Marshal(p)
		if err != nil {
			return true, c.fail(exitProblem, "add: %v", err)
		}
		if handled, code = c.throughWeighd(ctx, string(publish.CmdParcel), string(v), nil); handled && code == exitOK {
			fmt.Fprintln(stdout, "added", vocab.NormalizeTracking(p.Tracking), "(through weighd)")
		}
	case "rm":
		if handled, code = c.throughWeighd(ctx, api.CmdParcelRemove, pos[1], nil); handled && code == exitOK {
			fmt.Fprintln(stdout, "removed", vocab.NormalizeTracking(pos[1]), "(through weighd)")
		}
	case "import":
		data, err := os.ReadFile(pos[1])
		if err != nil {
			return true, c.fail(exitUsage, "import: %v", err)
		}
		v, err := json.Marshal(api.ImportRequest{Name: pos[1], CSV: string(data)})
		if err != nil {
			return true, c.fail(exitProblem, "import: %v", err)
		}
		if len(v) > maxImportBytes && weighdRunning(ctx, c.cfg) {
			return true, c.fail(exitUsage, "import: %s is larger than %d KiB, more than weighd takes at once: split it", pos[1], maxImportBytes>>10)
		}
		var reply api.ImportReply
		if handled, code = c.throughWeighd(ctx, api.CmdParcelImport, string(v), &reply); handled && code == exitOK {
			fmt.Fprintf(stdout, "imported %d parcels from %s (through weighd)\n", reply.Imported, pos[1])
		}
	}
	return handled, code
}
