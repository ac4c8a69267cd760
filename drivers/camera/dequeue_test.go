package camera

import (
	"bytes"
	"errors"
	"image/jpeg"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeQueue plays the kernel's buffer queue: each GetFrame hands out the
// next scripted buffer (aliasing a shared "mmap" slice), and ReleaseFrame
// lets the kernel scribble over that slice, as a real driver would refill
// it.
type fakeQueue struct {
	mmap     []byte
	script   []fakeBuf
	released []uint32
	closed   int
}

type fakeBuf struct {
	data       []byte
	getErr     error
	releaseErr error
}

func (q *fakeQueue) GetFrame() ([]byte, uint32, error) {
	if len(q.script) == 0 {
		return nil, 0, unix.EAGAIN
	}
	b := q.script[0]
	if b.getErr != nil {
		q.script = q.script[1:]
		return nil, 0, b.getErr
	}
	n := copy(q.mmap, b.data)
	return q.mmap[:n], uint32(len(q.released)), nil
}

func (q *fakeQueue) ReleaseFrame(i uint32) error {
	b := q.script[0]
	q.script = q.script[1:]
	q.released = append(q.released, i)
	for j := range q.mmap {
		q.mmap[j] = 0xAA // the kernel refills the buffer
	}
	return b.releaseErr
}

func (q *fakeQueue) Close() error { q.closed++; return nil }

func testDev(q *fakeQueue, m Mode) *Dev {
	return &Dev{q: q, mode: m, stride: 2 * m.Width, opts: Opts{Device: "/dev/fake", JPEGQuality: 80}}
}

func TestDequeueCopiesBeforeRelease(t *testing.T) {
	jpg := testJPEG(t, 32, 24)
	bare := stripDHT(t, jpg)
	q := &fakeQueue{mmap: make([]byte, 1<<16), script: []fakeBuf{
		{data: bare},
		{data: nil},               // empty buffer: skipped
		{data: []byte("garbage")}, // a cut frame: skipped
		{data: jpg},
	}}
	d := testDev(q, Mode{Format: FormatMJPEG, Size: Size{32, 24}})
	var got []Frame
	for range 4 {
		f, ok, err := d.dequeue()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = append(got, f)
		}
	}
	if len(got) != 2 || len(q.released) != 4 {
		t.Fatalf("%d frames, %d buffers released; want 2 and 4", len(got), len(q.released))
	}
	if !bytes.Equal(got[0].Data, bare) || !bytes.Equal(got[1].Data, jpg) {
		t.Error("frame data changed after the buffer went back to the kernel")
	}
	if got[0].Seq != 0 || got[1].Seq != 1 || got[0].Width != 32 || got[0].Height != 24 || !got[1].Time.After(got[0].Time) {
		t.Errorf("frames %+v / %+v", got[0].Seq, got[1].Seq)
	}
	if s := d.Stats(); s.Frames != 2 || s.Skipped != 2 {
		t.Errorf("stats %+v, want 2 frames and 2 skipped", s)
	}
	// MJPEG is passed through as the camera sent it; EnsureHuffman makes
	// the DHT-less one decodable.
	if _, err := jpeg.Decode(bytes.NewReader(EnsureHuffman(got[0].Data))); err != nil {
		t.Errorf("decode: %v", err)
	}
}

func TestDequeueYUYVEncodes(t *testing.T) {
	q := &fakeQueue{mmap: make([]byte, 64*32*2), script: []fakeBuf{{data: yuyvFrame(64, 32, 0)}}}
	d := testDev(q, Mode{Format: FormatYUYV, Size: Size{64, 32}})
	f, ok, err := d.dequeue()
	if err != nil || !ok {
		t.Fatalf("dequeue: %v %v", ok, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(f.Data))
	if err != nil || img.Bounds().Dx() != 64 || f.Width != 64 || f.Height != 32 {
		t.Fatalf("YUYV frame: %v, %v, %dx%d", img.Bounds(), err, f.Width, f.Height)
	}
	// A buffer too short for the size is skipped, not delivered.
	q.script = []fakeBuf{{data: make([]byte, 100)}}
	if _, ok, err := d.dequeue(); ok || err != nil || d.Stats().Skipped != 1 {
		t.Errorf("short YUYV buffer: ok %v err %v stats %+v", ok, err, d.Stats())
	}
}

func TestDequeueUnplug(t *testing.T) {
	jpg := testJPEG(t, 16, 16)
	tests := []struct {
		name      string
		script    []fakeBuf
		frames    int
		unplugged bool
	}{
		{"ENODEV on dequeue", []fakeBuf{{data: jpg}, {getErr: unix.ENODEV}}, 1, true},
		{"EIO on dequeue", []fakeBuf{{getErr: unix.EIO}}, 0, true},
		{"ENODEV on requeue: frame kept, then unplug", []fakeBuf{{data: jpg, releaseErr: unix.ENODEV}}, 1, true},
		{"other error", []fakeBuf{{getErr: unix.EINVAL}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{mmap: make([]byte, 4096), script: tt.script}
			d := testDev(q, Mode{Format: FormatMJPEG, Size: Size{16, 16}})
			frames := 0
			var err error
			for range 3 {
				if d.q == nil {
					break
				}
				if d.pending != nil {
					// Next reports a pending requeue failure before polling.
					_, err = d.Next(t.Context())
					break
				}
				var ok bool
				var f Frame
				f, ok, err = d.dequeue()
				if err != nil {
					d.close()
					break
				}
				if ok && len(f.Data) > 0 {
					frames++
				}
			}
			if frames != tt.frames {
				t.Errorf("%d frames, want %d", frames, tt.frames)
			}
			if errors.Is(err, ErrUnplugged) != tt.unplugged || err == nil {
				t.Errorf("err %v, unplugged want %v", err, tt.unplugged)
			}
			if q.closed != 1 {
				t.Errorf("device closed %d times, want 1", q.closed)
			}
			if _, err := d.Next(t.Context()); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after the error: %v, want ErrClosed", err)
			}
			if err := d.Close(); err != nil || q.closed != 1 {
				t.Errorf("Close after close: %v, closed %d", err, q.closed)
			}
		})
	}
}
