package sysclock

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestJudge: the kernel's answers that mean a trustworthy clock, and those
// that do not.
func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		state  int
		status int32
		err    error
		want   bool
	}{
		{"NTP synchronised", unix.TIME_OK, unix.STA_PLL, nil, true},
		{"synchronised, leap second announced", unix.TIME_INS, unix.STA_PLL | unix.STA_INS, nil, true},
		{"synchronised, no status bits", unix.TIME_OK, 0, nil, true},
		{"never synchronised (boot default)", unix.TIME_ERROR, unix.STA_UNSYNC, nil, false},
		{"STA_UNSYNC set, state OK", unix.TIME_OK, unix.STA_UNSYNC | unix.STA_PLL, nil, false},
		{"TIME_ERROR without STA_UNSYNC", unix.TIME_ERROR, unix.STA_PLL, nil, false},
		{"adjtimex failed", unix.TIME_OK, 0, unix.EPERM, false},
	} {
		if got := judge(tc.state, tc.status, tc.err); got != tc.want {
			t.Errorf("%s: judge(%d, %#x, %v) = %v, want %v", tc.name, tc.state, tc.status, tc.err, got, tc.want)
		}
	}
}

// TestSyncedAsks: Synced asks the kernel and does not fail on this machine,
// synchronised or not.
func TestSyncedAsks(t *testing.T) {
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		t.Fatalf("adjtimex: %v", err)
	}
	t.Logf("this machine's clock is synchronised: %v", Synced())
}
