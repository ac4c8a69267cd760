package station

import (
	"context"
	"errors"
	"fmt"
	"os"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/doctor"
	"weighin/internal/web"
)

// errOwned: weighd never probes its own hardware for the doctor (it owns
// the pins and the camera; its status reports them).
var errOwned = errors.New("not probed: weighd owns the hardware")

// doctorChecks are weighctl doctor's checks (internal/doctor) run inside
// weighd for the web app's station page: weighd's own status instead of
// the socket's, so the scale and camera come from it and are never opened.
func (s *Station) doctorChecks(cfg config.Config) func(ctx context.Context) []doctor.Check {
	status := func(ctx context.Context) (api.Status, error) {
		v, err := s.Status(ctx)
		if err != nil {
			return api.Status{}, err
		}
		st, ok := v.(api.Status)
		if !ok {
			return api.Status{}, fmt.Errorf("status: %T", v)
		}
		return st, nil
	}
	d := doctor.Local(status, fmt.Sprintf("weighd-doctor-%d", os.Getpid()), web.Doctor)
	d.Clock = clockSynced
	d.Scale = func(context.Context, config.Scale) (int32, string, error) { return 0, "", errOwned }
	d.Camera = func(config.Camera) (string, bool, error) { return "", false, errOwned }
	return func(ctx context.Context) []doctor.Check { return doctor.Run(ctx, cfg, d) }
}
