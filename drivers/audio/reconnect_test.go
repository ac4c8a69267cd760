package audio

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/drivers/camera"
)

// fakeMic delivers n blocks of 20 ms at 16 kHz from start, then fails.
type fakeMic struct {
	start  time.Time
	n, got int
	closed bool
}

func (m *fakeMic) Read(ctx context.Context) (Block, error) {
	if m.got == m.n {
		return Block{}, ErrUnplugged
	}
	b := Block{At: m.start.Add(time.Duration(m.got) * 20 * time.Millisecond), Data: make([]byte, 640), Format: Format{Rate: 16000, Channels: 1}}
	m.got++
	return b, nil
}

func (m *fakeMic) Close() error { m.closed = true; return nil }

func TestReconnector(t *testing.T) {
	t0 := time.Now()
	// Two failed opens (no microphone yet), 3 blocks, an unplug, a failed
	// open, then the microphone again 1 s after its last block ended.
	var mics []*fakeMic
	opens := 0
	open := func(context.Context) (Capturer, error) {
		opens++
		switch opens {
		case 1, 2, 4:
			return nil, ErrNoDevice
		case 3:
			mics = append(mics, &fakeMic{start: t0, n: 3})
		default:
			mics = append(mics, &fakeMic{start: t0.Add(60*time.Millisecond + time.Second), n: 100})
		}
		return mics[len(mics)-1], nil
	}
	var logs bytes.Buffer
	r := &Reconnector{Open: open, Backoff: camera.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	var lost []int
	for range 6 {
		b, err := r.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lost = append(lost, b.Lost)
	}
	if want := []int{0, 0, 0, 16000, 0, 0}; !slices.Equal(lost, want) {
		t.Errorf("Lost per block %v, want %v", lost, want)
	}
	st := r.Stats()
	if st.Blocks != 6 || st.Lost != 16000 || st.Opens != 2 || st.Failures != 3 || st.Losses != 1 || !st.Open || st.Format.Rate != 16000 {
		t.Errorf("stats %+v", st)
	}
	if !mics[0].closed {
		t.Error("the unplugged microphone was not closed")
	}
	// One warning while none is found, one per loss: not one per retry.
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, logs.String())
	}
	if err := r.Close(); err != nil || !mics[1].closed || r.Stats().Open {
		t.Errorf("Close: %v, closed %v, stats %+v", err, mics[1].closed, r.Stats())
	}
	// Without a microphone Read waits until its context ends.
	r = &Reconnector{Open: func(context.Context) (Capturer, error) { return nil, ErrNoDevice }, Backoff: camera.Backoff{Min: time.Millisecond, Max: time.Millisecond}}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := r.Read(cctx); !errors.Is(err, context.DeadlineExceeded) || r.Stats().Failures == 0 {
		t.Errorf("Read without a microphone: %v, stats %+v", err, r.Stats())
	}
}
