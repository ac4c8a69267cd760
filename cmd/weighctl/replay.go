package main

import (
	"context"
	"fmt"
	"io"
)

// runReplay is `weighctl replay`; see internal/weighing and the contract in
// shared/design/architecture.md. (Filled in by the weighing work.)
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "weighctl replay: not built yet")
	return exitUsage
}
