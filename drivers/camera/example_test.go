package camera_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"time"

	"github.com/blackjack/webcam"

	"weighin/drivers/camera"
)

// A YUYV frame encoded in software: the size comes back from the SOF marker.
func ExampleEncodeYUYV() {
	yuyv := make([]byte, 64*48*2) // 64x48, all zero samples
	var b bytes.Buffer
	if err := camera.EncodeYUYV(&b, yuyv, 64, 48, 80); err != nil {
		fmt.Println(err)
		return
	}
	sof, err := camera.ParseSOF(b.Bytes())
	fmt.Println(sof.Width, sof.Height, sof.Components, err)
	// Output: 64 48 3 <nil>
}

// A camera that offers only YUYV gets the fallback mode.
func ExampleChoose() {
	size := func(w, h uint32) webcam.FrameSize {
		return webcam.FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}
	}
	caps := camera.Caps{Sizes: map[webcam.PixelFormat][]webcam.FrameSize{
		camera.FormatYUYV: {size(320, 180), size(640, 480), size(1280, 720)},
	}}
	m, err := camera.Choose(camera.Want{
		Format: "auto", Width: 1280, Height: 720, FPS: 30,
		FallbackWidth: 640, FallbackHeight: 480, FallbackFPS: 15,
	}, caps)
	fmt.Println(m, err)
	// Output: YUYV 640x480 @ 15 fps <nil>
}

// MJPEG from a UVC camera often lacks Huffman tables; EnsureHuffman makes it
// decodable.
func ExampleEnsureHuffman() {
	var b bytes.Buffer
	camera.EncodeYUYV(&b, make([]byte, 16*16*2), 16, 16, 80)
	frame := b.Bytes() // has tables: returned as is
	fixed := camera.EnsureHuffman(frame)
	_, err := jpeg.Decode(bytes.NewReader(fixed))
	fmt.Println(len(fixed) == len(frame), err)
	// Output: true <nil>
}

func ExampleBackoff_Delay() {
	var b camera.Backoff // 250 ms doubling up to 5 s
	var ds []time.Duration
	for n := 1; n <= 6; n++ {
		ds = append(ds, b.Delay(n))
	}
	fmt.Println(ds)
	fmt.Println(camera.Backoff{Min: time.Second, Max: 2 * time.Second}.Delay(5))
	// Output:
	// [250ms 500ms 1s 2s 4s 5s]
	// 2s
}
