// Command benchstation measures weighd --sim as issue 5 asks: CPU share
// while capturing (pre-roll only) and while recording, at 720p30 with ≈120 KB
// frames and a 5 s pre-roll; peak RSS; time from exec to the API answering;
// and the size of the linux/arm64 binary. `make bench-weighd` runs it.
//
// CPU is read from /proc/PID/stat (utime+stime) over a fixed wall-clock
// window, after a warm-up; it includes the simulated HX711 chip and the
// synthetic camera, which a real station does not pay for.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"weighin/internal/api"
)

func main() {
	window := flag.Duration("window", 15*time.Second, "measurement window per phase")
	runs := flag.Int("runs", 3, "start-up measurements (median reported)")
	flag.Parse()
	if err := run(*window, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchstation:", err)
		os.Exit(1)
	}
}

func run(window time.Duration, runs int) error {
	dir, err := os.MkdirTemp("", "benchstation")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "weighd")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/weighd").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	arm := filepath.Join(dir, "weighd-arm64")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", arm, "./cmd/weighd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build arm64: %v\n%s", err, out)
	}
	fi, err := os.Stat(arm)
	if err != nil {
		return err
	}

	var startups []time.Duration
	for i := range runs {
		d, err := startDaemon(dir, bin, fmt.Sprint(i))
		if err != nil {
			return err
		}
		startups = append(startups, d.ready)
		if i < runs-1 {
			d.stop()
			continue
		}
		// The last one is measured at length.
		defer d.stop()
		time.Sleep(7 * time.Second) // fill the 5 s pre-roll
		idle := d.cpuShare(window)
		c := api.NewClient(d.sock)
		ctx := context.Background()
		for _, cmd := range [][2]string{{"sim_place", "1500"}} {
			if err := c.Command(ctx, cmd[0], cmd[1], nil); err != nil {
				return err
			}
		}
		time.Sleep(3 * time.Second)
		if err := c.Command(ctx, "sim_press", "short", nil); err != nil {
			return err
		}
		time.Sleep(7 * time.Second) // past the label window
		recording := d.cpuShare(window)
		var st api.Status
		if err := c.Status(ctx, &st); err != nil {
			return err
		}
		if !st.Recording {
			return fmt.Errorf("not recording during the measurement: %+v", st)
		}
		frameKB := 0.0
		if err := c.Command(ctx, "sim_press", "long", nil); err != nil {
			return err
		}
		for range 100 {
			if err := c.Status(ctx, &st); err == nil && st.LastResult != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st.LastResult != nil {
			var bytes int64
			entries, _ := os.ReadDir(filepath.Join(d.state, st.LastResult.Bundle))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "video-") {
					info, _ := e.Info()
					bytes += info.Size()
				}
			}
			if st.LastResult.Continuity.Frames > 0 {
				frameKB = float64(bytes) / float64(st.LastResult.Continuity.Frames) / 1000
			}
		}
		rss := d.peakRSS()
		sort.Slice(startups, func(i, j int) bool { return startups[i] < startups[j] })
		fmt.Printf("weighd --sim, 1280x720 @ 30 fps, pre-roll 5 s, mean frame %.0f KB, %d-s windows\n", frameKB, int(window.Seconds()))
		fmt.Printf("%-34s %10s %10s\n", "figure", "measured", "target")
		fmt.Printf("%-34s %9.2f%% %10s\n", "CPU, capturing (not recording)", idle*100, "<= 2 %")
		fmt.Printf("%-34s %9.2f%% %10s\n", "CPU, recording", recording*100, "<= 5 %")
		fmt.Printf("%-34s %8.1f MB %10s\n", "peak RSS (VmHWM)", float64(rss)/1024, "<= 60 MB")
		fmt.Printf("%-34s %7.0f ms %10s\n", fmt.Sprintf("exec to API ready (median of %d)", runs), float64(startups[len(startups)/2].Microseconds())/1000, "<= 300 ms")
		fmt.Printf("%-34s %8.1f MB\n", "linux/arm64 binary (-s -w)", float64(fi.Size())/1e6)
	}
	return nil
}

type daemon struct {
	cmd   *exec.Cmd
	sock  string
	state string
	ready time.Duration
}

// quality makes the synthetic camera's 720p frames weigh about 120 KB, as
// a USB camera's MJPEG frames do.
const quality = 93

func startDaemon(dir, bin, name string) (*daemon, error) {
	d := &daemon{sock: filepath.Join(dir, name+".sock"), state: filepath.Join(dir, name+"-state")}
	conf := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("state_dir: %s\nlog_level: warn\napi:\n  socket: %s\nmqtt:\n  embedded_listen: 127.0.0.1:0\ncamera:\n  jpeg_quality: %d\n", d.state, d.sock, quality)), 0o600); err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "--sim", "--config", conf)
	d.cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	c := api.NewClient(d.sock)
	for {
		var st api.Status
		if err := c.Status(context.Background(), &st); err == nil {
			d.ready = time.Since(t0)
			return d, nil
		}
		if time.Since(t0) > 20*time.Second {
			d.stop()
			return nil, fmt.Errorf("weighd did not answer within 20 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}

// cpuTicks is utime+stime of the process, in clock ticks.
func (d *daemon) cpuTicks() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, nil
}

// cpuShare is the share of one core used over window.
func (d *daemon) cpuShare(window time.Duration) float64 {
	a, _ := d.cpuTicks()
	t0 := time.Now()
	time.Sleep(window)
	b, _ := d.cpuTicks()
	const hz = 100 // USER_HZ on Linux
	return float64(b-a) / hz / time.Since(t0).Seconds()
}

// peakRSS is VmHWM in KiB.
func (d *daemon) peakRSS() int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}
