package cameratest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"weighin/drivers/camera"
)

// Replay plays back the JPEG frames of an MJPEG stream (concatenated JPEGs,
// as `ffmpeg -f mjpeg` writes and cameras send), paced at a frame rate.
type Replay struct {
	name   string
	frames [][]byte
	sizes  []camera.SOF
	loop   bool
	pace   pacer
	next   int
	seq    uint64
	closed bool
}

// SplitMJPEG splits a stream of concatenated JPEGs into frames. Bytes
// between frames (padding) are not allowed: the error names the offset.
func SplitMJPEG(data []byte) ([][]byte, error) {
	var frames [][]byte
	for off := 0; off < len(data); {
		n, err := camera.JPEGLen(data[off:])
		if err != nil {
			return nil, fmt.Errorf("frame %d at byte %d: %w", len(frames), off, err)
		}
		frames = append(frames, data[off:off+n])
		off += n
	}
	if len(frames) == 0 {
		return nil, errors.New("no JPEG frames")
	}
	return frames, nil
}

// NewReplay makes a source of the frames in an MJPEG stream; name is used in
// errors. With loop it starts over at the end, else Next returns io.EOF.
func NewReplay(name string, data []byte, fps int, loop bool) (*Replay, error) {
	if fps < 1 || fps > 240 {
		return nil, fmt.Errorf("cameratest: replay %s: fps %d: want 1–240", name, fps)
	}
	frames, err := SplitMJPEG(data)
	if err != nil {
		return nil, fmt.Errorf("cameratest: replay %s: %w", name, err)
	}
	r := &Replay{name: name, frames: frames, loop: loop}
	for i, f := range frames {
		sof, err := camera.ParseSOF(f)
		if err != nil {
			return nil, fmt.Errorf("cameratest: replay %s: frame %d: %w", name, i, err)
		}
		r.sizes = append(r.sizes, sof)
	}
	r.pace = pacer{start: time.Now(), interval: time.Second / time.Duration(fps)}
	return r, nil
}

// OpenMJPEG reads an MJPEG stream file and makes a Replay of it.
func OpenMJPEG(path string, fps int, loop bool) (*Replay, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cameratest: %w", err)
	}
	return NewReplay(path, data, fps, loop)
}

// Len returns the number of frames in the stream.
func (r *Replay) Len() int { return len(r.frames) }

// Next returns the next frame when it is due, copied (the caller owns it),
// with Huffman tables as in the file. At the end of a stream that does not
// loop it returns io.EOF.
func (r *Replay) Next(ctx context.Context) (camera.Frame, error) {
	if r.closed {
		return camera.Frame{}, camera.ErrClosed
	}
	if r.next >= len(r.frames) {
		if !r.loop {
			return camera.Frame{}, io.EOF
		}
		r.next = 0
	}
	if _, _, err := r.pace.wait(ctx); err != nil {
		return camera.Frame{}, err
	}
	i := r.next
	r.next++
	f := camera.Frame{Data: bytes.Clone(r.frames[i]), Seq: r.seq, Time: time.Now(), Width: r.sizes[i].Width, Height: r.sizes[i].Height}
	r.seq++
	return f, nil
}

// Close ends the source; Next then returns camera.ErrClosed.
func (r *Replay) Close() error {
	r.closed = true
	return nil
}
