package recorder

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/recorder/recordertest"
)

var (
	jpegOnce sync.Once
	jpegs    [][]byte
	jpegErr  error
)

// smallJPEGs are 320×240 test frames (quick to make, real JPEGs).
func smallJPEGs(t testing.TB) [][]byte {
	t.Helper()
	jpegOnce.Do(func() { jpegs, jpegErr = recordertest.JPEGs(4, 320, 240, 75, 7) })
	if jpegErr != nil {
		t.Fatal(jpegErr)
	}
	return jpegs
}

// tool finds a Debian tool the tests need.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("internal/recorder tests need %s (Debian: ffmpeg / mkvtoolnix; `make deps`): %v", name, err)
	}
	return p
}

func testConfig() config.Recorder {
	c := config.Default().Recorder
	c.PreRoll = 2 * time.Second
	return c
}

// runRecorder starts Run and stops it at the end of the test.
func runRecorder(t testing.TB, cfg config.Recorder, opt Options) *Recorder {
	t.Helper()
	r, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

func stop(t testing.TB, r *Recorder) (Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Stop(ctx)
}

type probeStream struct {
	CodecType    string            `json:"codec_type"`
	CodecName    string            `json:"codec_name"`
	Width        int               `json:"width"`
	Height       int               `json:"height"`
	NbReadFrames string            `json:"nb_read_frames"`
	Tags         map[string]string `json:"tags"`
}

type probe struct {
	Streams []probeStream `json:"streams"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe runs `ffprobe -v error -count_frames -show_streams -show_format`
// and fails the test on any message ffprobe prints.
func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	cmd := exec.Command(tool(t, "ffprobe"), "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("ffprobe %s complained:\n%s", path, stderr.String())
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return p
}

func (p probe) video(t testing.TB) probeStream {
	t.Helper()
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			return s
		}
	}
	t.Fatalf("no video stream in %+v", p)
	return probeStream{}
}

func (p probe) frames(t testing.TB) int64 {
	t.Helper()
	n, err := strconv.ParseInt(p.video(t).NbReadFrames, 10, 64)
	if err != nil {
		t.Fatalf("nb_read_frames: %v", err)
	}
	return n
}

// mkvinfo runs mkvinfo -v (every element) and returns its output; it fails the test if
// mkvinfo reports an error.
func mkvinfo(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command(tool(t, "mkvinfo"), "-v", path).CombinedOutput()
	if err != nil {
		t.Fatalf("mkvinfo %s: %v\n%s", path, err, out)
	}
	if strings.Contains(strings.ToLower(string(out)), "error") {
		t.Errorf("mkvinfo %s reported an error:\n%s", path, out)
	}
	return string(out)
}

// srt extracts the subtitle track with ffmpeg.
func srt(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command(tool(t, "ffmpeg"), "-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg srt %s: %v", path, err)
	}
	return string(out)
}

// ffprobeLoose counts decoded video frames, tolerating messages (cut files).
func ffprobeLoose(t testing.TB, path string) int64 {
	t.Helper()
	out, err := exec.Command(tool(t, "ffprobe"), "-v", "quiet", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimRight(string(out), ",\n")), 10, 64)
	if err != nil {
		t.Fatalf("ffprobe %s: nb_read_frames %q: %v", path, out, err)
	}
	return n
}

// pushFrames pushes frames i in [from, to) of a 30 fps stream.
func pushFrames(r *Recorder, js [][]byte, base time.Time, from, to int, ivl time.Duration) {
	for i := from; i < to; i++ {
		r.Push(camera.Frame{Data: js[i%len(js)], Seq: uint64(i), Time: base.Add(time.Duration(i) * ivl), Width: 320, Height: 240})
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// packet is one video packet as ffprobe reports it.
type packet struct {
	pts, dur  time.Duration
	pos, size int64
}

// packets lists the video packets of a file with ffprobe.
func packets(t testing.TB, path string) []packet {
	t.Helper()
	out, err := exec.Command(tool(t, "ffprobe"), "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts_time,duration_time,pos,size", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe packets %s: %v", path, err)
	}
	return parsePackets(t, string(out))
}

// parsePackets parses ffprobe's packet=pts_time,duration_time,size,pos
// lines.
func parsePackets(t testing.TB, out string) []packet {
	t.Helper()
	var ps []packet
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 4 {
			t.Fatalf("ffprobe packet line %q", line)
		}
		sec := func(s string) time.Duration {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0
			}
			return time.Duration(v * float64(time.Second)).Round(time.Millisecond)
		}
		size, _ := strconv.ParseInt(f[2], 10, 64)
		pos, _ := strconv.ParseInt(f[3], 10, 64)
		ps = append(ps, packet{pts: sec(f[0]), dur: sec(f[1]), size: size, pos: pos})
	}
	return ps
}

func cameraFrame(data []byte, i int, t time.Time) camera.Frame {
	return camera.Frame{Data: data, Seq: uint64(i), Time: t, Width: 320, Height: 240}
}
