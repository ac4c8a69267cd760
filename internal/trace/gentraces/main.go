// Command gentraces writes the synthetic reference trace set (NAME.csv and
// NAME.truth.json per scenario; see package weighin/internal/trace/synth for
// the model). The output is reproducible byte for byte:
//
//	go run ./internal/trace/gentraces -out testdata/traces
package main

import (
	"flag"
	"fmt"
	"os"

	"weighin/internal/trace/synth"
)

func main() {
	out := flag.String("out", "testdata/traces", "directory to write the traces into")
	flag.Parse()
	if err := synth.WriteAll(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gentraces:", err)
		os.Exit(1)
	}
	fmt.Printf("gentraces: %d scenarios written to %s\n", len(synth.Scenarios()), *out)
}
