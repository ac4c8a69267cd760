// Package audio captures PCM sound from a microphone (a USB webcam's own
// USB Audio Class microphone by default) through ALSA's kernel PCM
// interface, and defines the block type the recorder consumes.
//
// This file is the contract between the capture side (the ALSA driver and
// the simulated source) and the recorder; the driver itself lives beside it.
package audio

import (
	"context"
	"time"
)

// Format is the sample format of a stream: always signed 16-bit
// little-endian (S16_LE), interleaved when Channels > 1.
type Format struct {
	Rate     int // samples per second per channel, 8000..48000
	Channels int // 1 (mono) unless configured otherwise
}

// Block is a run of consecutive samples as captured.
type Block struct {
	// At is the capture time of the block's first sample, on the same
	// monotonic clock as the camera frames' timestamps (time.Now() with its
	// monotonic reading, corrected for the samples already in the kernel
	// buffer when the block was read).
	At time.Time
	// Data holds S16_LE samples, len(Data) = frames × Channels × 2.
	Data []byte
	// Format of Data.
	Format Format
	// Lost counts the sample frames the capture side knows were lost just
	// before this block (an ALSA overrun/xrun, a device replug); 0 normally.
	Lost int
}

// Frames is the number of sample frames in the block.
func (b Block) Frames() int {
	if b.Format.Channels <= 0 {
		return 0
	}
	return len(b.Data) / (2 * b.Format.Channels)
}

// Duration is the block's length in time.
func (b Block) Duration() time.Duration {
	if b.Format.Rate <= 0 {
		return 0
	}
	return time.Duration(b.Frames()) * time.Second / time.Duration(b.Format.Rate)
}

// Source yields blocks until ctx ends or the device fails. Read blocks until
// the next block is ready (typically 20–50 ms of sound).
type Source interface {
	Read(ctx context.Context) (Block, error)
}
