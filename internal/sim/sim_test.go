package sim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/drivers/hx711/hx711test"
	"weighin/internal/api"
	"weighin/internal/config"
	"weighin/internal/label"
	"weighin/internal/motion"
	"weighin/internal/session"
	"weighin/internal/station"
)

func openSim(t *testing.T) (station.Hardware, *Sim) {
	t.Helper()
	cfg := config.Default()
	cfg.Camera.Width, cfg.Camera.Height, cfg.Camera.FPS = 320, 240, 15
	hw, err := Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hw.Halt)
	return hw, hw.Sim.(*Sim)
}

// settledGrams reads the simulated cell through the real driver until
// twelve conversions have come (the load settles within a second at 10
// SPS) and returns the last in the reference cell's grams. A read that finds
// no valid conversion in time (every frame disturbed by preemption on a
// loaded or emulated machine: the driver's timing check) is tried again, as
// the station does; the context bounds the whole.
func settledGrams(ctx context.Context, t *testing.T, hw station.Hardware) float64 {
	t.Helper()
	var raw int32
	for good := 0; good < 12; {
		r, err := hw.ReadRaw(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			t.Logf("read: %v (tried again)", err)
			continue
		}
		raw, good = r, good+1
	}
	return (float64(raw) - hx711test.RefOffset) / hx711test.RefCountsPerGram
}

// TestScaleAndButton: a placed load reads, through the real HX711 driver on
// the simulated chip, as its grams in the reference cell's counts; presses
// come out of NextPress.
func TestScaleAndButton(t *testing.T) {
	hw, s := openSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Command(ctx, api.CmdSimPlace, "1200"); err != nil {
		t.Fatal(err)
	}
	if g := settledGrams(ctx, t, hw); math.Abs(g-1200) > 2 {
		t.Errorf("1200 g placed reads %.1f g", g)
	}
	if !hw.FactoryOK || hw.FactoryScale != hx711test.RefCountsPerGram {
		t.Errorf("factory calibration %+v", hw)
	}
	if err := s.Command(ctx, api.CmdSimPress, "long"); err != nil {
		t.Fatal(err)
	}
	if k, err := hw.NextPress(ctx); err != nil || k != session.PressLong {
		t.Errorf("press: %v %v", k, err)
	}
	if err := s.Command(ctx, station.CmdSimScale, "fail"); err != nil {
		t.Fatal(err)
	}
	if _, err := hw.ReadRaw(ctx); err == nil || !strings.Contains(err.Error(), "DOUT stayed high") { // the cut DOUT wire, as on the Pi
		t.Errorf("read with the scale failing: %v", err)
	}
}

// TestCameraLabelAndUnplug: sim_label puts a decodable barcode of the
// tracking number in front of the synthetic camera; sim_unplug cuts the
// open source and refuses opens for its duration.
func TestCameraLabelAndUnplug(t *testing.T) {
	hw, s := openSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src, err := hw.OpenCamera(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := s.Command(ctx, station.CmdSimLabel, "LB123456789CN"); err != nil {
		t.Fatal(err)
	}
	f, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := label.DecodeLuma(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	if codes := label.Decode(g); len(codes) != 1 || codes[0].Text != "LB123456789CN" {
		t.Errorf("frame shows %+v", codes)
	}
	if err := s.Command(ctx, station.CmdSimUnplug, "300ms"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Next after unplug: %v", err)
	}
	if _, err := hw.OpenCamera(ctx); !errors.Is(err, camera.ErrUnplugged) {
		t.Errorf("Open while unplugged: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	src2, err := hw.OpenCamera(ctx)
	if err != nil {
		t.Fatalf("Open after the unplug: %v", err)
	}
	src2.Close()
}

// TestCommandErrors: bad values are refused with the reason.
func TestCommandErrors(t *testing.T) {
	_, s := openSim(t)
	for _, tc := range []struct{ name, value, want string }{
		{api.CmdSimPlace, "-5", "grams between 0 and 100000"},
		{api.CmdSimPlace, "heavy", "grams between 0 and 100000"},
		{api.CmdSimPress, "triple", "short, long or double"},
		{api.CmdSimHand, "-1", "between 0 and 20000"},
		{station.CmdSimUnplug, "2h", "up to 1m"},
		{station.CmdSimScale, "maybe", "fail or ok"},
		{station.CmdSimLabel, "LB\x01", "not printable"},
		{"sim_fly", "", "unknown command"},
	} {
		if err := s.Command(context.Background(), tc.name, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
}

// TestHand: sim_hand puts its force on the simulated cell and a swaying
// hand over the synthetic camera's platform region, also on a camera
// opened after it (a reopen); sim_hand 0 takes both away.
func TestHand(t *testing.T) {
	hw, s := openSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	grams := func() float64 { t.Helper(); return settledGrams(ctx, t, hw) }
	// handSeen reports whether two frames 0.4 s apart differ on the
	// platform as a hand does.
	handSeen := func() bool {
		t.Helper()
		src, err := hw.OpenCamera(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var grids []motion.Grid
		for i := range 7 {
			f, err := src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				g, err := motion.Blocks(f.Data)
				if err != nil {
					t.Fatal(err)
				}
				grids = append(grids, g)
			}
		}
		for i := 1; i < len(grids); i++ {
			c, err := motion.Compare(grids[i-1], grids[i], motion.DefaultRegion, 12)
			if err != nil {
				t.Fatal(err)
			}
			if c.Hand(0.03) {
				return true
			}
		}
		return false
	}
	if err := s.Command(ctx, api.CmdSimPlace, "1000"); err != nil {
		t.Fatal(err)
	}
	if handSeen() {
		t.Error("the untouched synthetic camera shows motion on the platform")
	}
	if err := s.Command(ctx, api.CmdSimHand, "150"); err != nil {
		t.Fatal(err)
	}
	if g := grams(); math.Abs(g-1150) > 3 {
		t.Errorf("1000 g and a 150 g hand read %.1f g", g)
	}
	if !handSeen() { // a camera opened after the command
		t.Error("no hand over the platform region")
	}
	if err := s.Command(ctx, api.CmdSimHand, "0"); err != nil {
		t.Fatal(err)
	}
	if g := grams(); math.Abs(g-1000) > 3 {
		t.Errorf("after sim_hand 0: %.1f g", g)
	}
	if handSeen() {
		t.Error("the hand is still over the platform after sim_hand 0")
	}
}
