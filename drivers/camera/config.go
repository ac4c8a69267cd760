package camera

import "weighin/internal/config"

// OptsFromConfig maps the configuration's camera section to Opts.
func OptsFromConfig(c config.Camera) Opts {
	return Opts{
		Device: c.Device, Format: c.Format,
		Width: c.Width, Height: c.Height, FPS: c.FPS,
		FallbackWidth: c.FallbackWidth, FallbackHeight: c.FallbackHeight, FallbackFPS: c.FallbackFPS,
		JPEGQuality: c.JPEGQuality, Buffers: c.Buffers, FrameTimeout: c.FrameTimeout,
	}
}
