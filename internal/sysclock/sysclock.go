// Package sysclock tells whether the system clock can be trusted. A
// Raspberry Pi has no battery-backed clock: until NTP has synchronised it,
// timestamps are guesses, bundles are named "unsynced" and age-based
// retention does nothing.
package sysclock

import "golang.org/x/sys/unix"

// Synced reports whether the kernel considers the clock synchronised: an
// NTP client has cleared STA_UNSYNC and the clock is not in TIME_ERROR.
func Synced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return judge(state, tx.Status, err)
}

// judge is Synced's decision on adjtimex's answer: its clock state, its
// status bits and its error.
func judge(state int, status int32, err error) bool {
	return err == nil && state != unix.TIME_ERROR && status&unix.STA_UNSYNC == 0
}
