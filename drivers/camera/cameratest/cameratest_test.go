package cameratest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"weighin/drivers/camera"
)

func TestSyntheticPacingAndContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSynthetic(Opts{Width: 160, Height: 120, FPS: 10, Loop: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		var frames []camera.Frame
		for range 9 {
			f, err := s.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, f)
		}
		for i, f := range frames {
			if at := f.Time.Sub(start); at != time.Duration(i)*100*time.Millisecond {
				t.Errorf("frame %d at %v, want %v", i, at, time.Duration(i)*100*time.Millisecond)
			}
			if f.Seq != uint64(i) || f.Width != 160 || f.Height != 120 {
				t.Errorf("frame %d: seq %d size %dx%d", i, f.Seq, f.Width, f.Height)
			}
			img, err := jpeg.Decode(bytes.NewReader(f.Data))
			if err != nil {
				t.Fatalf("frame %d does not decode: %v", i, err)
			}
			if b := img.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
				t.Errorf("frame %d decodes to %v", i, b)
			}
		}
		if bytes.Equal(frames[0].Data, frames[1].Data) {
			t.Error("frames 0 and 1 are the same: the pattern does not move")
		}
		if !bytes.Equal(frames[0].Data, frames[4].Data) || !bytes.Equal(frames[1].Data, frames[5].Data) {
			t.Error("the loop of 4 does not repeat")
		}
		frames[4].Data[10] ^= 0xFF
		if bytes.Equal(frames[0].Data, frames[4].Data) {
			t.Error("frames share their bytes")
		}
		// Frame 9 is due at 900 ms; a caller back at 1150 ms has missed the
		// ticks at 900 and 1000 ms and gets the 1100 ms one at once, as a
		// camera drops what nobody dequeues.
		time.Sleep(350 * time.Millisecond)
		f, err := s.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if s.Dropped() != 2 || f.Seq != 9 || f.Time.Sub(start) != 1150*time.Millisecond {
			t.Errorf("after a late call: dropped %d, seq %d at %v; want 2, 9 at 1.15s", s.Dropped(), f.Seq, f.Time.Sub(start))
		}
	})
}

func TestSyntheticLiveAndUnplug(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSynthetic(Opts{Width: 64, Height: 32, FPS: 30, Live: true, UnplugAfter: 3})
		if err != nil {
			t.Fatal(err)
		}
		var prev []byte
		for i := range 3 {
			f, err := s.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(f.Data, prev) {
				t.Errorf("live frame %d repeats the previous one", i)
			}
			prev = f.Data
		}
		if _, err := s.Next(t.Context()); !errors.Is(err, camera.ErrUnplugged) {
			t.Fatalf("after UnplugAfter frames: %v, want ErrUnplugged", err)
		}
		if _, err := s.Next(t.Context()); !errors.Is(err, camera.ErrClosed) {
			t.Fatalf("after unplug: %v, want ErrClosed", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		s2, _ := NewSynthetic(Opts{Width: 64, Height: 32})
		s2.Next(t.Context())
		if _, err := s2.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	})
}

func TestSyntheticUnderReconnector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &camera.Reconnector{Open: Opener(Opts{Width: 64, Height: 48, FPS: 20, Loop: 2, UnplugAfter: 5}),
			Backoff: camera.Backoff{Min: 300 * time.Millisecond}}
		ctx, cancel := context.WithCancel(t.Context())
		var got []camera.Frame
		if err := r.Run(ctx, func(f camera.Frame) {
			got = append(got, f)
			if len(got) == 12 {
				cancel()
			}
		}); err != nil {
			t.Fatal(err)
		}
		st := r.Stats()
		if st.Opens != 3 || st.Losses != 2 {
			t.Errorf("stats %+v: want 3 opens, 2 losses", st)
		}
		if gap := got[5].Time.Sub(got[4].Time); gap != 300*time.Millisecond {
			t.Errorf("gap across reopen %v, want the 300 ms backoff", gap)
		}
		for i, f := range got {
			if f.Seq != uint64(i) {
				t.Errorf("frame %d seq %d", i, f.Seq)
			}
		}
	})
}

func TestOptsErrors(t *testing.T) {
	for _, o := range []Opts{{Width: 15}, {Height: 33}, {FPS: 500}, {Quality: -1}, {Loop: 5000}, {UnplugAfter: -1}} {
		if _, err := NewSynthetic(o); err == nil || !strings.Contains(err.Error(), "cameratest:") {
			t.Errorf("NewSynthetic(%+v) = %v, want an error", o, err)
		}
	}
}

// stream writes n synthetic frames as an MJPEG stream file.
func stream(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	s, err := NewSynthetic(Opts{Width: 96, Height: 64, FPS: 240, Loop: n})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range s.loop {
		all = append(all, f...)
	}
	p := filepath.Join(t.TempDir(), "loop.mjpeg")
	if err := os.WriteFile(p, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, s.loop
}

func TestReplay(t *testing.T) {
	p, want := stream(t, 5)
	synctest.Test(t, func(t *testing.T) {
		r, err := OpenMJPEG(p, 25, false)
		if err != nil {
			t.Fatal(err)
		}
		if r.Len() != 5 {
			t.Fatalf("Len %d, want 5", r.Len())
		}
		start := time.Now()
		for i := range 5 {
			f, err := r.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Data, want[i]) || f.Width != 96 || f.Height != 64 || f.Seq != uint64(i) {
				t.Errorf("frame %d: %d bytes %dx%d seq %d", i, len(f.Data), f.Width, f.Height, f.Seq)
			}
			if at := f.Time.Sub(start); at != time.Duration(i)*40*time.Millisecond {
				t.Errorf("frame %d at %v", i, at)
			}
		}
		if _, err := r.Next(t.Context()); err != io.EOF {
			t.Errorf("at the end: %v, want io.EOF", err)
		}
		loop, _ := OpenMJPEG(p, 25, true)
		for i := range 7 {
			f, err := loop.Next(t.Context())
			if err != nil || !bytes.Equal(f.Data, want[i%5]) {
				t.Fatalf("looped frame %d: %v", i, err)
			}
		}
	})
}

func TestReplayErrors(t *testing.T) {
	p, frames := stream(t, 2)
	bad := append(append(bytes.Clone(frames[0]), "junk"...), frames[1]...)
	tests := []struct {
		name string
		data []byte
		fps  int
		want string
	}{
		{"junk between frames", bad, 10, fmt.Sprintf("frame 1 at byte %d", len(frames[0]))},
		{"cut last frame", append(bytes.Clone(frames[0]), frames[1][:50]...), 10, "frame 1 at byte"},
		{"empty", nil, 10, "no JPEG frames"},
		{"bad fps", frames[0], 0, "fps 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReplay("x.mjpeg", tt.data, tt.fps, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x.mjpeg") {
				t.Errorf("NewReplay = %v, want an error naming the file and %q", err, tt.want)
			}
		})
	}
	if _, err := OpenMJPEG(p+".missing", 10, false); err == nil {
		t.Error("OpenMJPEG of a missing file succeeded")
	}
}

// TestSyntheticStreamFFprobe has ffmpeg judge the synthetic frames.
func TestSyntheticStreamFFprobe(t *testing.T) {
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe not found: install Debian package ffmpeg (make deps)")
	}
	p, _ := stream(t, 12)
	out, err := exec.Command(ffprobe, "-v", "error", "-f", "mjpeg", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "mjpeg,96,64,12" {
		t.Errorf("ffprobe says %q, want mjpeg,96,64,12", got)
	}
}

func TestYUYVPattern(t *testing.T) {
	a, b := YUYVPattern(64, 32, 0), YUYVPattern(64, 32, 1)
	if len(a) != 64*32*2 || bytes.Equal(a, b) {
		t.Fatalf("pattern: %d bytes, frames differ: %v", len(a), !bytes.Equal(a, b))
	}
	var out bytes.Buffer
	if err := camera.EncodeYUYV(&out, a, 64, 32, 80); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSyntheticNext is the per-frame cost of the simulated camera with
// pacing taken out: the pre-encoded loop against drawing and encoding.
func BenchmarkSyntheticNext(b *testing.B) {
	for _, live := range []bool{false, true} {
		name := "loop"
		if live {
			name = "live"
		}
		b.Run(name+"-640x480", func(b *testing.B) {
			s, err := NewSynthetic(Opts{Live: live, Loop: 4})
			if err != nil {
				b.Fatal(err)
			}
			s.pace.interval = time.Nanosecond
			for b.Loop() {
				if _, err := s.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
