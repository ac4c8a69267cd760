package offsite

import (
	"fmt"

	"weighin/internal/config"
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
