package sysclock

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestSyncedAgreesWithTheKernel compares with a direct reading; the build
// machine may or may not run NTP, so only agreement is checked.
func TestSyncedAgreesWithTheKernel(t *testing.T) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		t.Fatalf("adjtimex: %v", err)
	}
	want := state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
	if got := Synced(); got != want {
		t.Errorf("Synced() = %v, kernel says %v (state %d, status %#x)", got, want, state, tx.Status)
	}
}
