//go:build race

package station_test

// raceFlags build weighd with the race detector when the tests run with
// it, so that a data race in the daemon fails the tests too.
var raceFlags = []string{"-race"}
