//go:build !race

package station_test

// raceFlags: the tests run without the race detector; so does weighd.
var raceFlags []string
