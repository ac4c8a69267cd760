//go:build aloopguest

package audio

import "time"

// Playback is the guest test's way into the loopback's playback side:
// the same PCM code, the other direction.
type Playback struct{ p *pcm }

// OpenPlayback opens a playback PCM, mono S16_LE, with a ring of at least
// buffer.
func OpenPlayback(path string, rate int, buffer time.Duration) (*Playback, error) {
	p, err := openPCM(path, streamPlayback, pcmParams{rate: rate, channels: 1, period: 20 * time.Millisecond, buffer: buffer})
	if err != nil {
		return nil, err
	}
	return &Playback{p}, nil
}

func (pb *Playback) Rate() int                      { return pb.p.rate }
func (pb *Playback) Ring() int                      { return pb.p.buffer }
func (pb *Playback) Write(data []byte) (int, error) { return pb.p.transfer(data) }
func (pb *Playback) Start() error                   { return pb.p.start() }
func (pb *Playback) Close() error                   { return pb.p.close() }
