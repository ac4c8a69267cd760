package station

import (
	"context"
	"fmt"

	"periph.io/x/conn/v3/gpio"

	"weighin/drivers/button"
	"weighin/drivers/led"
	"weighin/internal/config"
	"weighin/internal/session"
)

// realButton opens the push button on its pin. Double presses are off:
// short presses are reported at release, without waiting for a second.
func realButton(cfg config.Button) (func(ctx context.Context) (session.PressKind, error), error) {
	p, err := inPin(cfg.Pin, "button.pin")
	if err != nil {
		return nil, err
	}
	dev, err := button.New(p, &button.Opts{ActiveLow: cfg.ActiveLow, Debounce: cfg.Debounce, LongPress: cfg.LongPress, DoubleWindow: -1})
	if err != nil {
		return nil, fmt.Errorf("button: %w", err)
	}
	return func(ctx context.Context) (session.PressKind, error) {
		for {
			pr, err := dev.Next(ctx)
			if err != nil {
				return 0, err
			}
			switch pr.Kind {
			case button.Short:
				return session.PressShort, nil
			case button.Long:
				return session.PressLong, nil
			}
		}
	}, nil
}

// ledDev adapts drivers/led to the station.
type ledDev struct{ d *led.Dev }

func newLED(p gpio.PinOut) (LED, error) {
	d, err := led.New(p, nil)
	if err != nil {
		return nil, fmt.Errorf("led: %w", err)
	}
	return ledDev{d}, nil
}

func (l ledDev) Run(ctx context.Context) error { return l.d.Run(ctx) }
func (l ledDev) Set(p led.Pattern)             { l.d.Set(p) }
func (l ledDev) Off()                          { _ = l.d.Halt() }
