package station

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"weighin/internal/sysclock"
)

// clockSynced reports whether timestamps can be trusted; see sysclock.
var clockSynced = sysclock.Synced

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
