package station

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// clockSynced reports whether the kernel considers the system clock
// synchronised (NTP cleared STA_UNSYNC). A Pi has no RTC: until then,
// timestamps are not trusted and bundles are named "unsynced".
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}

// freeBytes is the space available to an unprivileged user under path.
func freeBytes(path string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// notifyReady tells systemd (when it started us with Type=notify) that
// weighd is up; a no-op otherwise.
func notifyReady(log *slog.Logger) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("sd_notify READY failed", "err", err)
	} else if ok {
		log.Debug("told systemd we are ready")
	}
}

// notifyStopping tells systemd we are shutting down.
func notifyStopping() { _, _ = daemon.SdNotify(false, daemon.SdNotifyStopping) }

// runWatchdog pings systemd's watchdog at half its interval while healthy
// answers true within a quarter of it, until ctx ends. Without WatchdogSec
// it returns at once.
func runWatchdog(ctx context.Context, healthy func(ctx context.Context, within time.Duration) bool, log *slog.Logger) error {
	iv, err := daemon.SdWatchdogEnabled(false)
	if err != nil || iv == 0 {
		return nil
	}
	t := time.NewTicker(iv / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if healthy(ctx, iv/4) {
				_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			} else {
				log.Warn("unhealthy: not petting the watchdog")
			}
		}
	}
}
