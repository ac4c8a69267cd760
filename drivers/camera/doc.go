// Package camera captures JPEG frames from a USB camera over V4L2, using
// github.com/blackjack/webcam.
//
// The driver opens a device (/dev/video0 or a stable /dev/v4l/by-id/… path),
// lists the formats, sizes and frame rates it offers and picks a mode with
// [Choose]: MJPEG at the configured size and rate, or — for cameras without
// MJPEG — YUYV at a smaller fallback size and rate, encoded to JPEG in
// software by [EncodeYUYV]. It asks for 2–4 kernel buffers and copies every
// frame out of its mmap buffer before the buffer goes back to the kernel, so
// a [Frame] owns its bytes. Frames carry a monotonic timestamp taken at
// dequeue and a sequence number counted by the driver (the library exposes
// neither the kernel's timestamp nor its sequence).
//
// [Dev.Next] blocks for one frame. An unplugged camera (ENODEV or EIO from
// the kernel, or no frame within the frame timeout) is reported as
// [ErrUnplugged] and the device is closed; [Reconnector] reopens it with
// backoff and keeps frames flowing to a callback, under the caller's
// errgroup. The driver starts no goroutines and does not log.
//
// MJPEG from many UVC cameras has no Huffman tables; [EnsureHuffman] inserts
// the standard ones (ISO/IEC 10918-1 Annex K.3) so that image/jpeg and
// browsers can decode a still. Frame sizes are read from the JPEG SOF marker
// ([ParseSOF]), never from what the driver was asked for.
package camera
