// Package sim is weighd --sim's hardware: a simulated HX711 chip behind fake
// pins, read by the real driver, with the reference cell's load model; a
// synthetic camera that can be unplugged and shown a label; a virtual
// button. Open returns it as a station.Hardware, so the station runs the
// same code on it as on a Raspberry Pi; cmd/weighd chooses it. Its Command
// carries out the local API's sim_* commands.
package sim

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/session"
	"weighin/internal/station"
)

// Sim is the simulated station hardware and its controls.
type Sim struct {
	cfg     config.Config
	log     *slog.Logger
	load    *hx711test.Load
	presses chan session.PressKind
	// scaleDown makes every HX711 read time out, as a chip whose DOUT
	// wire came loose.
	scaleDown atomic.Bool
	camera    *unpluggable
	label     *labelCamera
	mic       *mic // nil with audio.enabled false
}

// Open builds the simulated hardware for cfg: the chip at scale.rate, the
// camera at camera.width × height and fps.
func Open(cfg config.Config, log *slog.Logger) (station.Hardware, error) {
	o, err := hx711.OptsFor(cfg.Scale.Gain, cfg.Scale.Rate, cfg.Scale.ReadTimeout)
	if err != nil {
		return station.Hardware{}, fmt.Errorf("%w: scale.gain: %v", config.ErrInvalid, err)
	}
	clk := hx711test.SystemClock{}
	load, err := hx711test.NewLoad(clk, nil)
	if err != nil {
		return station.Hardware{}, err
	}
	chip, err := hx711test.New(hx711test.Opts{
		Clock: clk, Rate: cfg.Scale.Rate, Source: load.Source(),
		Noise: hx711test.RefNoise(cfg.Scale.Rate), Seed: uint64(time.Now().UnixNano()),
	})
	if err != nil {
		return station.Hardware{}, err
	}
	o.Clock = clk
	dev, err := hx711.New(chip.SCK(), chip.DOUT(), &o)
	if err != nil {
		return station.Hardware{}, err
	}
	lbl := &labelCamera{opts: cameratest.Opts{Width: cfg.Camera.Width, Height: cfg.Camera.Height, FPS: cfg.Camera.FPS, Quality: cfg.Camera.JPEGQuality}}
	s := &Sim{cfg: cfg, log: log, load: load, presses: make(chan session.PressKind, 4), camera: &unpluggable{open: lbl.open}, label: lbl}
	var mic audio.Source
	if cfg.Audio.Enabled {
		s.mic = newMic(cfg.Audio.Rate)
		mic = s.mic
	}
	log.Info("simulated hardware", "rate", cfg.Scale.Rate, "camera", fmt.Sprintf("%dx%d@%d", cfg.Camera.Width, cfg.Camera.Height, cfg.Camera.FPS))
	return station.Hardware{
		ReadRaw: func(ctx context.Context) (int32, error) {
			// sim_scale fail cuts the simulated DOUT wire: the driver
			// sees it as on the Pi (and as weighctl record does).
			if down := s.scaleDown.Load(); down != chip.Faults().Disconnected {
				if err := chip.SetFaults(hx711test.Faults{Disconnected: down}); err != nil {
					return 0, err
				}
			}
			return dev.Read(ctx)
		},
		ScaleStats: dev.Stats,
		OpenCamera: s.camera.Open,
		CameraName: "synthetic",
		Audio:      mic,
		AudioName:  "synthetic",
		NextPress: func(ctx context.Context) (session.PressKind, error) {
			select {
			case k := <-s.presses:
				return k, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		},
		Sim:           s,
		Halt:          func() { _ = dev.Halt() },
		FactoryOffset: hx711test.RefOffset, FactoryScale: hx711test.RefCountsPerGram, FactoryOK: true,
	}, nil
}

// Command carries out a sim_* command of the local API: sim_place (grams),
// sim_remove, sim_press (short, long or double), sim_hand (grams, 0 to
// end it), sim_unplug (a duration up to 1m),
// sim_scale (fail or ok), sim_label (a tracking number).
func (s *Sim) Command(ctx context.Context, name, value string) error {
	switch name {
	case api.CmdSimPlace:
		g, err := strconv.ParseFloat(value, 64)
		if err != nil || g < 0 || g > 100000 {
			return fmt.Errorf("sim_place: value must be grams between 0 and 100000 (beyond 20 kg the 5 kg cell is over capacity), got %q", value)
		}
		s.load.PlaceTotal(g) // the total load: items come out as a lower total
	case api.CmdSimRemove:
		s.load.Remove()
	case api.CmdSimPress:
		kind := session.PressShort
		switch value {
		case "", "short":
		case "long":
			kind = session.PressLong
		case "double":
			kind = session.PressDouble
		default:
			return fmt.Errorf("sim_press: value must be short, long or double, got %q", value)
		}
		if s.mic != nil {
			s.mic.press() // the button's click, in the sound
		}
		select {
		case s.presses <- kind:
		case <-ctx.Done():
			return ctx.Err()
		}
	case api.CmdSimHand:
		g, err := strconv.ParseFloat(value, 64)
		if err != nil || g < 0 || g > 20000 {
			return fmt.Errorf("sim_hand: value must be the hand's force in grams between 0 and 20000 (0 takes the hand away), got %q", value)
		}
		s.load.SetHand(g)
		s.label.setHand(g > 0)
		s.log.Info("simulated hand on the parcel", "grams", g)
	case station.CmdSimUnplug:
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 || d > time.Minute {
			return fmt.Errorf("sim_unplug: value must be a duration up to 1m, got %q", value)
		}
		s.camera.unplug(d)
	case station.CmdSimScale:
		switch value {
		case "fail":
			s.scaleDown.Store(true)
		case "ok":
			s.scaleDown.Store(false)
		default:
			return fmt.Errorf("sim_scale: value must be fail or ok, got %q", value)
		}
	case station.CmdSimLabel:
		return s.showLabel(value)
	default:
		return fmt.Errorf("%w: %q", api.ErrUnknownCommand, name)
	}
	return nil
}

// unpluggable wraps the synthetic camera so that it can be unplugged on
// demand: the open source fails with camera.ErrUnplugged and opens fail
// until the unplug's end.
type unpluggable struct {
	open camera.OpenFunc

	mu    sync.Mutex
	gen   uint64    // counts unplugs; a source from an earlier one is gone
	until time.Time // opens fail before this
}

func (c *unpluggable) state() (uint64, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, c.until
}

// unplug pulls the camera out for d.
func (c *unpluggable) unplug(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.until = time.Now().Add(d)
}

// Open is the camera.OpenFunc of the simulated camera.
func (c *unpluggable) Open(ctx context.Context) (camera.Source, error) {
	gen, until := c.state()
	if time.Now().Before(until) {
		return nil, fmt.Errorf("%w: simulated camera unplugged", camera.ErrUnplugged)
	}
	src, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	return &source{Source: src, cam: c, gen: gen}, nil
}

type source struct {
	camera.Source
	cam *unpluggable
	gen uint64
}

func (s *source) Next(ctx context.Context) (camera.Frame, error) {
	if gen, _ := s.cam.state(); gen != s.gen {
		return camera.Frame{}, fmt.Errorf("%w: simulated camera pulled out", camera.ErrUnplugged)
	}
	return s.Source.Next(ctx)
}
