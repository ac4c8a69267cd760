package doctor

import (
	"context"

	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/export"
	"weighin/internal/publish"
	"weighin/internal/sysclock"
)

// Local are the doctor's contacts with this machine that weighctl doctor
// and weighd (for the web app's station page) share: status asks weighd,
// the broker is tried with clientID, free space, the clock and ffmpeg are
// this machine's, web is the web app's check (web.Doctor, which imports
// this package). Scale and Camera are left to the caller: weighctl probes
// the hardware, weighd owns it.
func Local(status func(ctx context.Context) (api.Status, error), clientID string,
	web func(c config.Web, stateDir string, running bool, st api.WebStatus) (status, name, detail, fix string)) Deps {
	return Deps{
		Status: status,
		Broker: func(ctx context.Context, m config.MQTT) error { return publish.Check(ctx, m, clientID) },
		Free:   evidence.FreeBytes,
		Clock:  sysclock.Synced,
		Tools: func(ffmpeg, ffprobe string) error {
			_, err := export.FindTools(ffmpeg, ffprobe)
			return err
		},
		Web: web,
	}
}
