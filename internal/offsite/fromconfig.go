package offsite

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"weighin/internal/config"
	"weighin/internal/evidence"
)

// StoreFromConfig makes the Store that cfg.Offsite describes, reading the
// credentials file (refused unless mode 0600 or stricter). It contacts
// nothing; call Check for that. It is an error when replication is off.
func StoreFromConfig(cfg config.Config) (*Store, error) {
	o := cfg.Offsite
	if !o.Enabled() {
		return nil, fmt.Errorf("offsite: replication is off (offsite.endpoint is empty)")
	}
	creds, err := LoadCredentials(o.CredentialsPath(cfg.StateDir))
	if err != nil {
		return nil, fmt.Errorf("offsite.credentials_file: %w", err)
	}
	return NewStore(StoreOptions{
		Endpoint: o.Endpoint, Bucket: o.Bucket, Prefix: o.Prefix, Region: o.Region,
		Credentials: creds, CAFile: o.CAFile, MaxBytesPerS: o.MaxBytesPerS,
	})
}

// Start is weighd's start-up in one call: the Store of cfg.Offsite, the
// Replicator on cfg.StateDir for stationID (the effective id, package
// identity), every sealed bundle already on disk queued, and a first
// Check of the store whose failure is logged (with the store's words) but
// not fatal: copies wait and Status reports it. onVerified (may be nil) is
// Options.OnVerified. The caller runs Run, calls
// Enqueue after every seal and addendum, and Close at the end. An error
// means a credentials file or journal that cannot be used.
func Start(ctx context.Context, cfg config.Config, stationID string, log *slog.Logger, onVerified func(session string)) (*Replicator, error) {
	store, err := StoreFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	r, err := New(Options{Store: store, StationID: stationID, StateDir: cfg.StateDir, Log: log, OnVerified: onVerified})
	if err != nil {
		return nil, err
	}
	n, err := r.EnqueueAll()
	if err != nil {
		r.Close()
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.Check(cctx); err != nil {
		r.log.Warn("off-site store not usable yet; copies wait", "err", err, "endpoint", cfg.Offsite.Endpoint, "bucket", cfg.Offsite.Bucket)
	} else {
		r.log.Info("off-site replication on", "endpoint", cfg.Offsite.Endpoint, "bucket", cfg.Offsite.Bucket, "prefix", cfg.Offsite.Prefix, "station_id", stationID, "bundles", n)
	}
	return r, nil
}

// VerifyFromConfig is `weighctl verify --offsite SESSION`: VerifyFromStore
// on the store of cfg.Offsite for the station stationID (identity.Peek).
func VerifyFromConfig(ctx context.Context, cfg config.Config, stationID, session string, opts evidence.VerifyOptions) (*evidence.Report, error) {
	store, err := StoreFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return VerifyFromStore(ctx, store, stationID, session, opts)
}
