package calib_test

import (
	"fmt"
	"os"
	"time"

	"weighin/internal/calib"
)

func Example() {
	p := calib.NewProcedure(calib.Options{})
	// The empty platform: 20 conversions around 8000 counts.
	for i := range 20 {
		p.Add(int32(8000 + i%5 - 2))
	}
	fmt.Println(p.Phase())
	// A 1 kg reference mass goes on.
	if err := p.PlaceMass(1000); err != nil {
		fmt.Println(err)
		return
	}
	for i := range 20 {
		p.Add(int32(428000 + i%3 - 1))
	}
	c, err := p.Result(time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: offset %.1f counts, %.3f counts/g\n", p.Phase(), c.Offset, c.Scale)

	dir, _ := os.MkdirTemp("", "calib")
	defer os.RemoveAll(dir)
	path := calib.Path(dir, "calibration.json")
	if err := calib.Save(path, c); err != nil {
		fmt.Println(err)
		return
	}
	back, _ := calib.Load(path)
	fmt.Println(back.Scale == c.Scale, back.At.Format(time.RFC3339))
	// Output:
	// await_mass
	// done: offset 8000.0 counts, 420.000 counts/g
	// true 2026-11-26T06:00:00Z
}
