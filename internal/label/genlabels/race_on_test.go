//go:build race

package main

// raceEnabled: under the race detector (about ten times slower for the
// decoders) the testdata tests take a subset of the images; the full set
// runs in the non-race passes (make test-386, plain go test).
const raceEnabled = true
