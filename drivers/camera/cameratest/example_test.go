package cameratest_test

import (
	"context"
	"fmt"

	"weighin/drivers/camera"
	"weighin/drivers/camera/cameratest"
)

// The simulated camera has the real driver's shape: Next blocks until the
// next frame is due.
func ExampleNewSynthetic() {
	src, err := cameratest.NewSynthetic(cameratest.Opts{Width: 320, Height: 240, FPS: 15})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	f, err := src.Next(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	sof, _ := camera.ParseSOF(f.Data)
	fmt.Println(f.Seq, f.Width, f.Height, sof.Width, sof.Height)
	// Output: 0 320 240 320 240
}
