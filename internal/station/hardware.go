package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
	"weighin/internal/config"
	"weighin/internal/session"
)

// hardware is what the station reads and drives, real or simulated.
type hardware struct {
	// readRaw blocks for the next HX711 conversion.
	readRaw func(ctx context.Context) (int32, error)
	// scaleStats reports the driver's counters.
	scaleStats func() hx711.Stats
	// openCamera opens the camera once (the reconnector retries it).
	openCamera camera.OpenFunc
	// nextPress blocks for the next button press.
	nextPress func(ctx context.Context) (session.PressKind, error)
	// led shows a pattern; nil when there is no LED.
	led ledDriver
	// sim is set under --sim.
	sim *simHW
	// halt powers devices down, in reverse order of opening.
	halt func()
	// factory is the calibration used when none is saved (the simulator's
	// reference cell); ok is false on real hardware.
	factoryOffset, factoryScale float64
	factoryOK                   bool
}

// simHW are the simulator's controls, for the sim_* API commands.
type simHW struct {
	load    *hx711test.Load
	presses chan session.PressKind
	// scaleDown makes every HX711 read time out, as a chip whose DOUT
	// wire came loose.
	scaleDown atomic.Bool
	camera    *simCamera
	// label opens the synthetic cameras and shows labels on them.
	label *simLabel
}

// simCamera wraps the synthetic camera so that it can be unplugged on
// demand: the open source fails with camera.ErrUnplugged and opens fail
// until the unplug's end.
type simCamera struct {
	open camera.OpenFunc

	mu    sync.Mutex
	gen   uint64    // counts unplugs; a source from an earlier one is gone
	until time.Time // opens fail before this
}

func (c *simCamera) state() (uint64, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.until
}

// unplug pulls the camera out for d.
func (c *simCamera) unplug(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.until = time.Now().Add(d)
}

func (c *simCamera) Open(ctx context.Context) (camera.Source, error) {
	gen, until := c.state()
	if time.Now().Before(until) {
		return nil, fmt.Errorf("%w: simulated camera unplugged", camera.ErrUnplugged)
	}
	src, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	return &simSource{Source: src, cam: c, gen: gen}, nil
}

type simSource struct {
	camera.Source
	cam *simCamera
	gen uint64
}

func (s *simSource) Next(ctx context.Context) (camera.Frame, error) {
	if gen, _ := s.cam.state(); gen != s.gen {
		return camera.Frame{}, fmt.Errorf("%w: simulated camera pulled out", camera.ErrUnplugged)
	}
	return s.Source.Next(ctx)
}

func openHardware(cfg config.Config, sim bool, log *slog.Logger) (*hardware, error) {
	gain, err := hx711.GainFor(cfg.Scale.Gain)
	if err != nil {
		return nil, fmt.Errorf("%w: scale.gain: %v", config.ErrInvalid, err)
	}
	c := cfg.Camera
	camOpts := camera.Opts{Device: c.Device, Format: c.Format, Width: c.Width, Height: c.Height, FPS: c.FPS,
		FallbackWidth: c.FallbackWidth, FallbackHeight: c.FallbackHeight, FallbackFPS: c.FallbackFPS,
		JPEGQuality: c.JPEGQuality, Buffers: c.Buffers, FrameTimeout: c.FrameTimeout}
	if sim {
		return openSim(cfg, gain, log)
	}

	state, err := host.Init()
	if err != nil {
		return nil, fmt.Errorf("periph host.Init: %w", err)
	}
	for _, f := range state.Failed {
		log.Debug("periph driver failed to load", "driver", f.D.String(), "err", f.Err)
	}
	o, err := hx711.OptsFor(cfg.Scale.Gain, cfg.Scale.Rate, cfg.Scale.ReadTimeout)
	if err != nil {
		return nil, err
	}
	dev, err := hx711.Open(cfg.Scale.SCKPin, cfg.Scale.DOUTPin, &o)
	if errors.Is(err, hx711.ErrNoPin) {
		return nil, fmt.Errorf("%w: scale.sck_pin, scale.dout_pin: %v", config.ErrInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	hw := &hardware{
		readRaw:    dev.Read,
		scaleStats: dev.Stats,
		openCamera: camera.DevOpener(camOpts),
	}
	halts := []func(){func() { _ = dev.Halt() }}
	if err := realButton(cfg.Button, hw); err != nil {
		return nil, err
	}
	if cfg.LED.Pin != "" {
		p, err := outPin(cfg.LED.Pin, "led.pin")
		if err != nil {
			return nil, err
		}
		if hw.led, err = newLED(p); err != nil {
			return nil, err
		}
		halts = append(halts, func() { hw.led.off() })
	}
	hw.halt = func() {
		for i := len(halts) - 1; i >= 0; i-- {
			halts[i]()
		}
	}
	return hw, nil
}

func outPin(name, key string) (gpio.PinOut, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%w: %s: no GPIO pin %q on this board", config.ErrInvalid, key, name)
	}
	return p, nil
}

func inPin(name, key string) (gpio.PinIO, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%w: %s: no GPIO pin %q on this board", config.ErrInvalid, key, name)
	}
	return p, nil
}

// openSim builds the simulated station: an HX711 chip behind fake pins with
// the reference cell's load model, read by our real driver; a synthetic
// camera at the configured size and rate; a virtual button.
func openSim(cfg config.Config, gain hx711.Gain, log *slog.Logger) (*hardware, error) {
	clk := hx711test.SystemClock{}
	load, err := hx711test.NewLoad(clk, nil)
	if err != nil {
		return nil, err
	}
	chip, err := hx711test.New(hx711test.Opts{
		Clock: clk, Rate: cfg.Scale.Rate, Source: load.Source(),
		Noise: hx711test.RefNoise(cfg.Scale.Rate), Seed: uint64(time.Now().UnixNano()),
	})
	if err != nil {
		return nil, err
	}
	o, err := hx711.OptsFor(cfg.Scale.Gain, cfg.Scale.Rate, cfg.Scale.ReadTimeout)
	if err != nil {
		return nil, err
	}
	o.Clock = clk
	dev, err := hx711.New(chip.SCK(), chip.DOUT(), &o)
	if err != nil {
		return nil, err
	}
	presses := make(chan session.PressKind, 4)
	lbl := &simLabel{opts: cameratest.Opts{Width: cfg.Camera.Width, Height: cfg.Camera.Height, FPS: cfg.Camera.FPS, Quality: cfg.Camera.JPEGQuality}}
	sim := &simHW{load: load, presses: presses, camera: &simCamera{open: lbl.open}, label: lbl}
	hw := &hardware{
		readRaw: func(ctx context.Context) (int32, error) {
			// sim_scale fail cuts the simulated DOUT wire: the driver
			// sees it as on the Pi (and as weighctl record does).
			if down := sim.scaleDown.Load(); down != chip.Faults().Disconnected {
				if err := chip.SetFaults(hx711test.Faults{Disconnected: down}); err != nil {
					return 0, err
				}
			}
			return dev.Read(ctx)
		},
		scaleStats: dev.Stats,
		openCamera: sim.camera.Open,
		nextPress: func(ctx context.Context) (session.PressKind, error) {
			select {
			case k := <-presses:
				return k, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		},
		sim:           sim,
		halt:          func() { _ = dev.Halt() },
		factoryOffset: hx711test.RefOffset, factoryScale: hx711test.RefCountsPerGram, factoryOK: true,
	}
	log.Info("simulated hardware", "rate", cfg.Scale.Rate, "camera", fmt.Sprintf("%dx%d@%d", cfg.Camera.Width, cfg.Camera.Height, cfg.Camera.FPS))
	return hw, nil
}

var errNotSim = errors.New("only under weighd --sim")
