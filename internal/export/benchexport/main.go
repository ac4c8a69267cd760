// Command benchexport measures the MP4 export (`make bench-export`): on one
// sealed 60 s 720p30 recording made by the station's own recorder it runs,
// for each preset, our whole export (verification, probing, subtitle
// extraction, overlay, encode, ffprobe checks) as a separate process, and
// the same bare ffmpeg command line (same encoder, filters and overlay
// script), side by side in one run. It prints wall and CPU time and their
// ratio, the size against the cap, the realtime factor and the peak
// memory of the export including ffmpeg.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"weighin/internal/export"
	"weighin/internal/export/exporttest"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-child" {
		os.Exit(child(os.Args[2:]))
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchexport:", err)
		os.Exit(1)
	}
}

// childOut is what the export process reports.
type childOut struct {
	Record  export.Record `json:"record"`
	WorkDir string        `json:"work_dir"`
}

// child runs one export: -child BUNDLE PRESET WORKDIR.
func child(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "child: want BUNDLE PRESET WORKDIR")
		return 2
	}
	ctx := context.Background()
	tl, err := export.FindTools("", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	src, err := export.OpenSource(ctx, tl, args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The same priority as the bare ffmpeg it is compared with; the station
	// itself exports at idle priority.
	res, err := export.Export(ctx, tl, src, export.Options{Preset: args[1], WorkDir: args[2], Encoder: "auto", Zone: time.UTC, NormalPriority: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(childOut{Record: res.Record, WorkDir: res.WorkDir})
	return 0
}

type timing struct {
	wall, cpu time.Duration
	maxRSSKB  int64
}

// timed runs cmd and returns its wall time, the CPU time of its whole
// process tree, and the peak of the tree's summed resident memory, sampled
// every 20 ms (the process and its children: our export and its ffmpeg).
func timed(cmd *exec.Cmd) (timing, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timing{}, err
	}
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var p int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			p = max(p, treeRSSKB(cmd.Process.Pid))
			select {
			case <-stop:
				peak <- p
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	p := <-peak
	if err != nil {
		return timing{}, err
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return timing{wall: wall, cpu: cpu, maxRSSKB: max(p, int64(ru.Maxrss))}, nil
}

// treeRSSKB sums VmRSS of pid and its direct children.
func treeRSSKB(pid int) int64 {
	sum := rssKB(strconv.Itoa(pid))
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			sum += rssKB(e.Name())
		}
	}
	return sum
}

func rssKB(pid string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchexport", flag.ContinueOnError)
	dur := fs.Duration("duration", 60*time.Second, "recording length")
	reps := fs.Int("reps", 1, "repetitions of each timed run (the median is printed)")
	presets := fs.String("presets", "chat,phone,full", "presets to run")
	where := fs.String("dir", "", "directory for the bundle and outputs (default: the system's temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tl, err := export.FindTools("", "")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(*where, "benchexport")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(out, "benchexport: %s/%s, %d CPUs, %s, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), tl.Version)
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(out, "load average at start: %s", data)
	}
	b, err := exporttest.Make(filepath.Join(tmp, "state"), exporttest.Spec{
		Duration: *dur, Distinct: 24, Quality: 80, ClockSynced: true, OrderRef: "12345", Tracking: "LX123456785CN",
		Marks: []exporttest.MarkSpec{{At: *dur / 2, Label: "torn sleeve"}},
	})
	if err != nil {
		return err
	}
	var srcBytes int64
	for _, f := range must(filepath.Glob(filepath.Join(b.Dir, "video-*.mkv"))) {
		st, _ := os.Stat(f)
		srcBytes += st.Size()
	}
	fmt.Fprintf(out, "source: %v of 1280x720 at 30 fps, MJPEG %.1f MB (recorder, sealed)\n\n", *dur, float64(srcBytes)/1e6)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-6s %9s %9s %6s %9s %9s %6s %11s %11s %6s %8s %9s\n",
		"preset", "ours s", "bare s", "wall×", "ours cpu", "bare cpu", "cpu×", "bytes", "cap", "/cap", "realtime", "peak MB")
	for _, preset := range strings.Split(*presets, ",") {
		var ours, bare []timing
		var rec childOut
		for r := range *reps {
			wd := filepath.Join(tmp, fmt.Sprintf("work-%s-%d", preset, r))
			cmd := exec.Command(self, "-child", b.Dir, preset, wd)
			var so strings.Builder
			cmd.Stdout, cmd.Stderr = &so, os.Stderr
			tm, err := timed(cmd)
			if err != nil {
				return fmt.Errorf("%s: our export: %w", preset, err)
			}
			if err := json.Unmarshal([]byte(so.String()), &rec); err != nil {
				return fmt.Errorf("%s: child output: %w", preset, err)
			}
			ours = append(ours, tm)

			// The bare command: exactly the one the export ran, without
			// the progress pipe, on the same inputs.
			bd := filepath.Join(tmp, fmt.Sprintf("bare-%s-%d", preset, r))
			if err := os.MkdirAll(bd, 0o750); err != nil {
				return err
			}
			var bt timing
			for _, c := range rec.Record.Commands {
				if err := os.WriteFile(filepath.Join(bd, "input.ffconcat"), []byte(c.Concat), 0o640); err != nil {
					return err
				}
				ass := strings.TrimSuffix(c.Output, ".mp4") + ".ass"
				if err := copyFile(filepath.Join(rec.WorkDir, ass), filepath.Join(bd, ass)); err != nil {
					return err
				}
				a := slices.Clone(c.Args)
				if i := slices.Index(a, "-progress"); i >= 0 {
					a = slices.Delete(a, i, i+2)
				}
				bc := exec.Command(a[0], a[1:]...)
				bc.Dir, bc.Stderr = bd, os.Stderr
				tm, err := timed(bc)
				if err != nil {
					return fmt.Errorf("%s: bare ffmpeg: %w", preset, err)
				}
				bt.wall += tm.wall
				bt.cpu += tm.cpu
				bt.maxRSSKB = max(bt.maxRSSKB, tm.maxRSSKB)
			}
			bare = append(bare, bt)
			os.RemoveAll(bd)
		}
		o, bb := median(ours), median(bare)
		var size int64
		for _, f := range rec.Record.Files {
			if f.Role == "video" {
				size = max(size, f.Bytes)
			}
		}
		capS, ratio := "-", "-"
		if rec.Record.CapBytes > 0 {
			capS = fmt.Sprint(rec.Record.CapBytes)
			ratio = fmt.Sprintf("%.2f", float64(size)/float64(rec.Record.CapBytes))
		}
		fmt.Fprintf(out, "%-6s %9.1f %9.1f %6.2f %9.1f %9.1f %6.2f %11d %11s %6s %7.2fx %9.1f\n",
			preset, o.wall.Seconds(), bb.wall.Seconds(), o.wall.Seconds()/bb.wall.Seconds(),
			o.cpu.Seconds(), bb.cpu.Seconds(), o.cpu.Seconds()/bb.cpu.Seconds(),
			size, capS, ratio, dur.Seconds()/o.wall.Seconds(), float64(o.maxRSSKB)/1024)
		fmt.Fprintf(out, "       %s, %d part(s), encoder %s; bare ffmpeg alone peaks at %.1f MB\n",
			rec.Record.Plan.Rung, len(rec.Record.Plan.Parts), rec.Record.Encoder, float64(bb.maxRSSKB)/1024)
	}
	fmt.Fprintln(out, "\nwall× and cpu×: our whole export (verify, probe, subtitles, overlay, encode, ffprobe checks) over the bare ffmpeg encode;")
	fmt.Fprintln(out, "peak MB: the largest sum of resident memory of our export process and its ffmpeg/ffprobe children, sampled every 20 ms.")
	return nil
}

func median(ts []timing) timing {
	slices.SortFunc(ts, func(a, b timing) int { return int(a.wall - b.wall) })
	return ts[len(ts)/2]
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o640)
}
