package camera

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		b        Backoff
		failures int
		want     time.Duration
	}{
		{Backoff{}, 0, 250 * time.Millisecond},
		{Backoff{}, 1, 250 * time.Millisecond},
		{Backoff{}, 2, 500 * time.Millisecond},
		{Backoff{}, 3, time.Second},
		{Backoff{}, 5, 4 * time.Second},
		{Backoff{}, 6, 5 * time.Second},
		{Backoff{}, 1000, 5 * time.Second},
		{Backoff{Min: time.Second, Max: 3 * time.Second}, 2, 2 * time.Second},
		{Backoff{Min: time.Second, Max: 3 * time.Second}, 3, 3 * time.Second},
		{Backoff{Min: time.Second, Max: time.Millisecond}, 4, time.Second},
	}
	for _, tt := range tests {
		if got := tt.b.Delay(tt.failures); got != tt.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, tt.failures, got, tt.want)
		}
	}
}

// scriptSource delivers n frames, one per interval, then fails with err.
type scriptSource struct {
	n        int
	interval time.Duration
	err      error
	sent     int
	closed   *int
}

func (s *scriptSource) Next(ctx context.Context) (Frame, error) {
	if s.sent == s.n {
		return Frame{}, s.err
	}
	select {
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case <-time.After(s.interval):
	}
	s.sent++
	return Frame{Data: []byte{byte(s.sent)}, Seq: uint64(s.sent - 1), Time: time.Now(), Width: 8, Height: 8}, nil
}

func (s *scriptSource) Close() error { *s.closed++; return nil }

func TestReconnectorBackoffAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			opens   []time.Time
			closed  int
			results = []any{
				errors.New("no such file"), // t=0: fails; retry in 100 ms
				errors.New("no such file"), // t=100ms: fails; retry in 200 ms
				// t=300ms: opens; 3 frames at 310, 320, 330 ms; unplug.
				&scriptSource{n: 3, interval: 10 * time.Millisecond, err: fmt.Errorf("%w: test", ErrUnplugged)},
				// 100 ms after the loss (failures reset by the frames): opens at 430 ms,
				// 2 frames at 440, 450 ms, then blocks.
				&scriptSource{n: 2, interval: 10 * time.Millisecond, err: nil},
			}
		)
		start := time.Now()
		r := &Reconnector{
			Backoff: Backoff{Min: 100 * time.Millisecond, Max: 800 * time.Millisecond},
			Open: func(ctx context.Context) (Source, error) {
				mu.Lock()
				defer mu.Unlock()
				opens = append(opens, time.Now())
				next := results[0]
				if len(results) > 1 {
					results = results[1:]
				}
				switch v := next.(type) {
				case error:
					return nil, v
				case *scriptSource:
					if v.err == nil {
						v.n = 1 << 30 // last source: runs until cancelled
					}
					v.closed = &closed
					return v, nil
				}
				panic("bad script")
			},
		}
		ctx, cancel := context.WithCancel(t.Context())
		var frames []Frame
		done := make(chan error)
		go func() {
			done <- r.Run(ctx, func(f Frame) {
				frames = append(frames, f)
				if len(frames) == 5 {
					cancel()
				}
			})
		}()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		var got []time.Duration
		for _, o := range opens {
			got = append(got, o.Sub(start))
		}
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 430 * time.Millisecond}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("opens at %v, want %v", got, want)
		}
		for i, f := range frames {
			if f.Seq != uint64(i) {
				t.Errorf("frame %d has seq %d: the count must continue across reopenings", i, f.Seq)
			}
		}
		if gap := frames[3].Time.Sub(frames[2].Time); gap != 110*time.Millisecond {
			t.Errorf("gap across the replug %v, want 110ms", gap)
		}
		st := r.Stats()
		if st.Frames != 5 || st.Opens != 2 || st.Failures != 2 || st.Losses != 1 || closed != 2 {
			t.Errorf("stats %+v, closed %d; want 5 frames, 2 opens, 2 failures, 1 loss, 2 closed", st, closed)
		}
		if !errors.Is(st.LastErr, ErrUnplugged) || st.LastLoss.Sub(start) != 330*time.Millisecond || st.LastResume.Sub(start) != 440*time.Millisecond {
			t.Errorf("last error %v, loss at %v, resume at %v", st.LastErr, st.LastLoss.Sub(start), st.LastResume.Sub(start))
		}
	})
}

func TestReconnectorStopsWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		attempts := 0
		r := &Reconnector{Open: func(context.Context) (Source, error) {
			attempts++
			return nil, errors.New("gone")
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := r.Run(ctx, func(Frame) {}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("Run returned after %v, want at the 10 s deadline", d)
		}
		// 0, 0.25, 0.75, 1.75, 3.75, 7.75 s; the next (12.75 s) is after the deadline.
		if attempts != 6 {
			t.Errorf("%d attempts in 10 s, want 6", attempts)
		}
	})
}

func TestReconnectorWithoutOpen(t *testing.T) {
	if err := (&Reconnector{}).Run(t.Context(), func(Frame) {}); err == nil {
		t.Error("Run without Open returned nil")
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Opts
		want string
	}{
		{"no such device", Opts{Device: "/dev/weighin-no-such-camera"}, "no such file"},
		{"bad format", Opts{Format: "h264"}, "format \"h264\""},
		{"too many buffers", Opts{Buffers: 9}, "buffers 9"},
		{"bad quality", Opts{JPEGQuality: 101}, "JPEG quality 101"},
		{"negative size", Opts{Width: -1, FrameTimeout: -time.Second}, "width -1"},
		{"not a camera", Opts{Device: "/dev/null"}, "/dev/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(tt.opts)
			if err == nil {
				d.Close()
				t.Fatalf("Open(%+v) succeeded", tt.opts)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%+v) = %v, want it to mention %q", tt.opts, err, tt.want)
			}
		})
	}
}
