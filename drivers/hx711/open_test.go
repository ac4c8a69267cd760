package hx711_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"weighin/drivers/hx711"
	"weighin/drivers/hx711/hx711test"
)

// TestDisconnectedDOUT: with the default bias a cut DOUT wire reads high
// and every read times out; with the bias disabled the floating input
// reads low and the "conversions" are zeros, which look like an empty
// platform. Every program opens the chip with the default.
func TestDisconnectedDOUT(t *testing.T) {
	tests := []struct {
		name string
		pull gpio.Pull
		want func(v int32, err error) bool
	}{
		{"default bias: timeout", gpio.PullNoChange, func(_ int32, err error) bool { return errors.Is(err, hx711.ErrTimeout) }},
		{"no bias: zeros", gpio.Float, func(v int32, err error) bool { return err == nil && v == 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chip, _ := newSim(t, hx711test.Opts{Faults: hx711test.Faults{Disconnected: true}})
			chip.Load().Set(1000)
			o, err := hx711.OptsFor(128, 10, 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			o.Pull = tc.pull
			d := newDev(t, chip, o)
			v, err := d.Read(context.Background())
			if !tc.want(v, err) {
				t.Errorf("Read on a cut DOUT wire = %d, %v", v, err)
			}
		})
	}
}

func TestOptsFor(t *testing.T) {
	o, err := hx711.OptsFor(64, 80, time.Second)
	if err != nil || o.Gain != hx711.A64 || o.Rate != 80 || o.Timeout != time.Second || o.Pull != gpio.PullNoChange {
		t.Errorf("OptsFor(64, 80, 1s) = %+v, %v", o, err)
	}
	if _, err := hx711.OptsFor(100, 10, 0); err == nil {
		t.Error("OptsFor accepted gain 100")
	}
	if _, err := hx711.Open("NO_SUCH_PIN", "GPIO5", nil); !errors.Is(err, hx711.ErrNoPin) {
		t.Error("Open found a pin that does not exist")
	}
}
