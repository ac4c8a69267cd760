package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/drivers/hx711"
	"weighin/drivers/led"
	"weighin/internal/config"
	"weighin/internal/session"
)

// Hardware is what the station reads and drives. cmd/weighd chooses it:
// OpenHardware for the real devices on periph pins, internal/sim for
// weighd --sim. Run owns it from then on and calls Halt when it returns.
type Hardware struct {
	// ReadRaw blocks for the next HX711 conversion.
	ReadRaw func(ctx context.Context) (int32, error)
	// ScaleStats reports the driver's counters.
	ScaleStats func() hx711.Stats
	// OpenCamera opens the camera once (the reconnector retries it).
	OpenCamera camera.OpenFunc
	// CameraName is shown as the status' camera device ("" = camera.device).
	CameraName string
	// Audio is the microphone, kept open across unplugs (its Read fails
	// only when ctx ends); nil: no sound is recorded (audio.enabled false,
	// or no microphone driver).
	Audio audio.Source
	// AudioName is shown as the status' audio device ("" = audio.device).
	AudioName string
	// NextPress blocks for the next button press; nil: no button.
	NextPress func(ctx context.Context) (session.PressKind, error)
	// LED shows a pattern; nil: no LED.
	LED LED
	// Sim carries out the local API's sim_* commands; nil on real hardware.
	Sim Simulator
	// Halt powers the devices down, in reverse order of opening.
	Halt func()
	// FactoryOffset and FactoryScale are the calibration used when none is
	// saved (the simulator's reference cell) when FactoryOK.
	FactoryOffset, FactoryScale float64
	FactoryOK                   bool
}

// LED is the status LED.
type LED interface {
	Run(ctx context.Context) error
	Set(p led.Pattern)
	Off()
}

// Simulator carries out the local API's sim_* commands (weighd --sim).
type Simulator interface {
	Command(ctx context.Context, name, value string) error
}

// hardware is the station's own view of Hardware.
type hardware struct {
	readRaw                     func(ctx context.Context) (int32, error)
	scaleStats                  func() hx711.Stats
	openCamera                  camera.OpenFunc
	cameraName                  string
	audio                       audio.Source
	audioName                   string
	nextPress                   func(ctx context.Context) (session.PressKind, error)
	led                         LED
	sim                         Simulator
	halt                        func()
	factoryOffset, factoryScale float64
	factoryOK                   bool
}

func newHardware(h Hardware) *hardware {
	hw := &hardware{
		readRaw: h.ReadRaw, scaleStats: h.ScaleStats, openCamera: h.OpenCamera, cameraName: h.CameraName, nextPress: h.NextPress,
		audio: h.Audio, audioName: h.AudioName,
		led: h.LED, sim: h.Sim, halt: h.Halt,
		factoryOffset: h.FactoryOffset, factoryScale: h.FactoryScale, factoryOK: h.FactoryOK,
	}
	if hw.halt == nil {
		hw.halt = func() {}
	}
	if hw.scaleStats == nil {
		hw.scaleStats = func() hx711.Stats { return hx711.Stats{} }
	}
	return hw
}

// OpenHardware opens the real devices: the HX711 on scale.sck_pin and
// scale.dout_pin (hx711.Open: the same opener as weighctl record and
// doctor), the V4L2 camera, the button and the LED. A pin the board does not
// have is a configuration error (config.ErrInvalid).
func OpenHardware(cfg config.Config, log *slog.Logger) (Hardware, error) {
	if _, err := hx711.GainFor(cfg.Scale.Gain); err != nil {
		return Hardware{}, fmt.Errorf("%w: scale.gain: %v", config.ErrInvalid, err)
	}
	state, err := host.Init()
	if err != nil {
		return Hardware{}, fmt.Errorf("periph host.Init: %w", err)
	}
	for _, f := range state.Failed {
		log.Debug("periph driver failed to load", "driver", f.D.String(), "err", f.Err)
	}
	o, err := hx711.OptsFor(cfg.Scale.Gain, cfg.Scale.Rate, cfg.Scale.ReadTimeout)
	if err != nil {
		return Hardware{}, err
	}
	dev, err := hx711.Open(cfg.Scale.SCKPin, cfg.Scale.DOUTPin, &o)
	if errors.Is(err, hx711.ErrNoPin) {
		return Hardware{}, fmt.Errorf("%w: scale.sck_pin, scale.dout_pin: %v", config.ErrInvalid, err)
	}
	if err != nil {
		return Hardware{}, err
	}
	hw := Hardware{
		ReadRaw:    dev.Read,
		ScaleStats: dev.Stats,
		OpenCamera: camera.DevOpener(CameraOpts(cfg.Camera)),
	}
	halts := []func(){func() { _ = dev.Halt() }}
	halt := func() {
		for i := len(halts) - 1; i >= 0; i-- {
			halts[i]()
		}
	}
	if hw.NextPress, err = realButton(cfg.Button); err != nil {
		halt()
		return Hardware{}, err
	}
	if cfg.LED.Pin != "" {
		p, err := outPin(cfg.LED.Pin, "led.pin")
		if err != nil {
			halt()
			return Hardware{}, err
		}
		if hw.LED, err = newLED(p); err != nil {
			halt()
			return Hardware{}, err
		}
		halts = append(halts, hw.LED.Off)
	}
	// AUDIO (issue 25) — the one call site of the microphone driver: the
	// camera's own microphone (or audio.device), reopened after an unplug
	// like the camera; a missing one is the Reconnector's warning.
	if cfg.Audio.Enabled {
		hw.Audio = &audio.Reconnector{
			Open:    audio.DevOpener(cfg.Audio.Device, cfg.Camera.Device, audio.Opts{Rate: cfg.Audio.Rate}),
			Backoff: camera.Backoff{Min: 500 * time.Millisecond, Max: 10 * time.Second},
			Log:     log.With("component", "audio"),
		}
	}
	hw.Halt = halt
	return hw, nil
}

// CameraOpts are the camera driver's options from the camera section (the
// driver knows nothing of internal/config).
func CameraOpts(c config.Camera) camera.Opts {
	return camera.Opts{Device: c.Device, Format: c.Format, Width: c.Width, Height: c.Height, FPS: c.FPS,
		FallbackWidth: c.FallbackWidth, FallbackHeight: c.FallbackHeight, FallbackFPS: c.FallbackFPS,
		JPEGQuality: c.JPEGQuality, Buffers: c.Buffers, FrameTimeout: c.FrameTimeout}
}

func outPin(name, key string) (gpio.PinOut, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%w: %s: no GPIO pin %q on this board", config.ErrInvalid, key, name)
	}
	return p, nil
}

// ErrNotSim: a sim_* command on real hardware.
var ErrNotSim = errors.New("only under weighd --sim")

func inPin(name, key string) (gpio.PinIO, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%w: %s: no GPIO pin %q on this board", config.ErrInvalid, key, name)
	}
	return p, nil
}
