package hx711

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// OptsFor builds Opts from the values a configuration holds: the gain as
// the datasheet numbers it (128, 64 or 32), the RATE pin's samples per
// second and the read timeout. Pull is left to New's default (DOUT pulled
// up), so every program that opens the chip sees a broken wire the same
// way.
func OptsFor(gain, rate int, timeout time.Duration) (Opts, error) {
	g, err := GainFor(gain)
	if err != nil {
		return Opts{}, err
	}
	return Opts{Gain: g, Rate: rate, Timeout: timeout}, nil
}

// ErrNoPin: Open was given a pin name the registry does not know.
var ErrNoPin = errors.New("hx711: no such GPIO pin")

// Open opens the chip on two pins named as periph's registry names them
// ("GPIO6", "GPIO5"); the caller has run host.Init. It is New on the
// looked-up pins.
func Open(sckName, doutName string, o *Opts) (*Dev, error) {
	var pins [2]gpio.PinIO
	for i, name := range []string{sckName, doutName} {
		if pins[i] = gpioreg.ByName(name); pins[i] == nil {
			return nil, fmt.Errorf("%w: %q on this machine (is /dev/gpiochip0 there, and are you in group gpio?)", ErrNoPin, name)
		}
	}
	return New(pins[0], pins[1], o)
}
