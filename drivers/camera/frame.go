package camera

import "time"

// Frame is one image from the camera. Data is owned by the Frame: the driver
// copies it out of the kernel's mmap buffer before the buffer is re-queued.
type Frame struct {
	// Data is a complete JPEG image (MJPEG from the camera, or YUYV encoded
	// in software by the fallback path).
	Data []byte
	// Seq counts frames delivered by this driver since Open, starting at 0.
	// The driver counts it itself: blackjack/webcam does not expose the
	// kernel's sequence number. A Reconnector continues the count across
	// reopenings, so it stays strictly increasing for the whole run.
	Seq uint64
	// Time is the monotonic time at which the frame was dequeued.
	Time time.Time
	// Width and Height are read from the JPEG SOF marker, not from the
	// format the driver asked for.
	Width, Height int
}
