//go:build race

package registry

// raceEnabled: the race detector slows the kill test's helper process
// several times; it imports a smaller file then.
const raceEnabled = true
