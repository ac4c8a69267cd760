package main

import (
	"context"
	"fmt"
	"io"
)

// version is weighctl's version, set at link time by the Makefile
// (-X main.version=…) with the same value as weighd's.
var version = "dev"

// runVersion is `weighctl version`.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "weighctl version: takes no arguments, got %q\n", args[0])
		return exitUsage
	}
	fmt.Fprintln(stdout, "weighctl", version)
	return exitOK
}
