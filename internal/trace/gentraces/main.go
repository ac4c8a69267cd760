// Command gentraces writes the synthetic trace sets (NAME.csv and
// NAME.truth.json per scenario; see package weighin/internal/trace/synth for
// the models): the reference set (model A), model B's hold-out set and the
// σ 3 g noisy cell. The output is reproducible byte for byte:
//
//	go run ./internal/trace/gentraces -out testdata/traces -out-b testdata/traces-b -out-noisy testdata/traces-noisy
package main

import (
	"flag"
	"fmt"
	"os"

	"weighin/internal/trace/synth"
)

func main() {
	out := flag.String("out", "testdata/traces", "directory to write the reference set (model A) into")
	outB := flag.String("out-b", "testdata/traces-b", "directory to write model B's set into")
	outN := flag.String("out-noisy", "testdata/traces-noisy", "directory to write the σ 3 g noisy cell's set into")
	flag.Parse()
	if err := synth.WriteAll(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gentraces:", err)
		os.Exit(1)
	}
	fmt.Printf("gentraces: %d scenarios written to %s\n", len(synth.Scenarios()), *out)
	for _, set := range []struct {
		dir string
		ss  []synth.ScenarioB
	}{{*outB, synth.ScenariosB()}, {*outN, synth.NoisyScenarios()}} {
		if err := synth.WriteB(set.dir, set.ss); err != nil {
			fmt.Fprintln(os.Stderr, "gentraces:", err)
			os.Exit(1)
		}
		fmt.Printf("gentraces: %d scenarios written to %s\n", len(set.ss), set.dir)
	}
}
