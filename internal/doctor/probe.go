package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/blackjack/webcam"

	"weighin/drivers/camera"
	"weighin/drivers/hx711"
	"weighin/internal/config"
)

// scaleReadTimeout bounds the probe's one conversion.
const scaleReadTimeout = 2 * time.Second

// ProbeScale is Deps.Scale for the real pins: open opens the HX711 as
// weighd does (host drivers initialised by the command), and one
// conversion is read. The gpio detail is empty when the pins could not be
// had.
func ProbeScale(open func(config.Scale) (*hx711.Dev, error)) func(context.Context, config.Scale) (int32, string, error) {
	return func(ctx context.Context, sc config.Scale) (int32, string, error) {
		dev, err := open(sc)
		if err != nil {
			return 0, "", err
		}
		defer dev.Halt()
		gpioDetail := fmt.Sprintf("%s and %s usable", sc.SCKPin, sc.DOUTPin)
		ctx, cancel := context.WithTimeout(ctx, scaleReadTimeout)
		defer cancel()
		raw, err := dev.Read(ctx)
		if err != nil {
			return 0, gpioDetail, fmt.Errorf("%s: %w", dev, err)
		}
		return raw, gpioDetail, nil
	}
}

// ProbeCamera is Deps.Camera for the real camera: it opens the device,
// lists its MJPEG and YUYV sizes (four at most each) and names the mode
// weighd would choose.
func ProbeCamera(c config.Camera) (string, bool, error) {
	cam, err := webcam.Open(c.Device)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", c.Device, err)
	}
	defer cam.Close()
	want := camera.Want{Format: c.Format, Width: c.Width, Height: c.Height, FPS: c.FPS,
		FallbackWidth: c.FallbackWidth, FallbackHeight: c.FallbackHeight, FallbackFPS: c.FallbackFPS}
	caps := camera.ListCaps(cam, want)
	var parts []string
	for _, f := range []webcam.PixelFormat{camera.FormatMJPEG, camera.FormatYUYV} {
		sizes, ok := caps.Sizes[f]
		if !ok {
			continue
		}
		var ss []string
		for i, s := range sizes {
			if i == 4 {
				ss = append(ss, "…")
				break
			}
			ss = append(ss, s.GetString())
		}
		parts = append(parts, camera.FourCC(f)+" "+strings.Join(ss, " "))
	}
	if len(parts) == 0 {
		return "", false, fmt.Errorf("%s offers neither MJPEG nor YUYV", c.Device)
	}
	m, err := camera.Choose(want, caps)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s: %w", c.Device, strings.Join(parts, "; "), err)
	}
	_, mjpeg := caps.Sizes[camera.FormatMJPEG]
	return fmt.Sprintf("%s: %s; would use %s", c.Device, strings.Join(parts, "; "), m), mjpeg, nil
}
