package recorder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/recorder"
	"weighin/internal/recorder/recordertest"
)

// A recording: frames flow into Push all the time; Start opens the file
// with the pre-roll; Stop returns the continuity statistics that go into
// the session result.
func Example() {
	dir, err := os.MkdirTemp("", "recorder-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	cfg := config.Default().Recorder // 5 s pre-roll, 1 s clusters, fsync every 1 s
	rec, err := recorder.New(cfg, recorder.Options{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx) // the writer goroutine

	jpegs, err := recordertest.JPEGs(2, 320, 240, 75, 1)
	if err != nil {
		panic(err)
	}
	t0 := time.Now()
	frame := func(i int) camera.Frame {
		// 10 fps, with a 500 ms hole after frame 40.
		d := time.Duration(i) * 100 * time.Millisecond
		if i > 40 {
			d += 400 * time.Millisecond
		}
		return camera.Frame{Data: jpegs[i%2], Seq: uint64(i), Time: t0.Add(d), Width: 320, Height: 240}
	}
	wall := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	for i := range 30 { // before the press: all within the 5 s pre-roll
		rec.SetInfo(wall, 1840.2, true, "ORD-1")
		rec.Push(frame(i))
	}
	if err := rec.Start(dir); err != nil {
		panic(err)
	}
	for i := 30; i < 60; i++ {
		rec.SetInfo(wall, 1840.2, true, "ORD-1")
		rec.Push(frame(i))
		if i == 45 {
			rec.Mark(time.Time{}, "torn sleeve")
		}
	}
	stats, err := rec.Stop(ctx)
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(struct {
		Marks      any `json:"marks"`
		Continuity any `json:"continuity"`
	}{stats.ResultMarks(), stats.Continuity()})
	fmt.Println(string(out))
	_, err = os.Stat(filepath.Join(dir, "video-000.mkv"))
	fmt.Println("file written:", err == nil)
	// Output:
	// {"marks":[{"t_s":4.9,"file":"video-000.mkv","label":"torn sleeve"}],"continuity":{"frames":60,"duration_s":6.4,"mean_fps":9.375,"max_gap_ms":500,"gaps":[{"at_s":4,"file":"video-000.mkv","gap_ms":500}],"duplicated":0}}
	// file written: true
}
