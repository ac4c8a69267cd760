package recorder

import (
	"time"

	"weighin/drivers/audio"
)

// Audio in the recording (issue 25). The microphone's blocks travel the
// same way as the frames: PushAudio copies them into pooled buffers, keeps
// them in the pre-roll ring while idle and queues them for the writer while
// recording, never waiting for the disk. The writer places each block at
// its capture time (Block.At) on the video time axis of the file, as a
// SimpleBlock of track 3 (A_PCM/INT/LIT: the samples as captured,
// S16_LE) in the same clusters as the frames.

// Reasons for which audio samples are dropped, as keys of
// AudioStats.Dropped (besides DropQueueFull, DropWriteFailed and
// DropTimeBackwards, which apply to audio as to frames).
const (
	// DropAudioFormat: the block's rate or channel count differs from the
	// file's audio track (a replugged microphone at another rate); the
	// next file takes the new format.
	DropAudioFormat = "audio format changed"
	// DropNoAudioTrack: the file was opened before any audio arrived, so
	// it has no audio track; the next file has one.
	DropNoAudioTrack = "no audio track"
)

const (
	// AudioGapThreshold is the missing time between two audio blocks above
	// which it is listed as a gap: the blocks' timestamps are in whole
	// milliseconds and the capture time of a block jitters by a few.
	AudioGapThreshold = 20 * time.Millisecond
	// DefaultQueueAudio is the writer queue's room for audio blocks when
	// Options leaves it 0: 4 s of 20 ms blocks.
	DefaultQueueAudio = 200
	// maxPendingAudio bounds the blocks held before a file's first frame.
	maxPendingAudio = 256
	// trackAudio is the audio track's number.
	trackAudio       = 3
	trackTypeAudio   = 2
	audioCodecPCM    = "A_PCM/INT/LIT"
	idAudio          = 0xE1
	idSamplingFreq   = 0xB5
	idChannels       = 0x9F
	idBitDepth       = 0x6264
	audioBytesPerSmp = 2
)

// AudioStats are the audio track's continuity statistics.
type AudioStats struct {
	// Format is the track's format; the zero Format means no audio track.
	Format audio.Format
	// Blocks and Samples (sample frames) are what the files hold;
	// Duration is Samples at Format.Rate.
	Blocks   int64
	Samples  int64
	Duration time.Duration
	// Missing is the total time between blocks not covered by samples
	// (gaps of more than AudioGapThreshold, listed in Gaps; MaxGap is the
	// largest). A gap's At is the video time where the sound stops.
	Missing time.Duration
	MaxGap  time.Duration
	Gaps    []Gap
	// Lost counts sample frames the capture side reported lost (ALSA
	// overruns, a replug: audio.Block.Lost). Analyze cannot see it (the
	// time they covered is in Missing).
	Lost int64
	// Dropped counts sample frames the recorder discarded, by reason.
	// Analyze cannot see them.
	Dropped map[string]int64
}

func (a *AudioStats) drop(reason string, n int64) {
	if n <= 0 {
		return
	}
	if a.Dropped == nil {
		a.Dropped = map[string]int64{}
	}
	a.Dropped[reason] += n
}

// add sums b (the next file's statistics) into a.
func (a *AudioStats) add(b AudioStats) {
	if a.Format == (audio.Format{}) {
		a.Format = b.Format
	}
	a.Blocks += b.Blocks
	a.Samples += b.Samples
	a.Duration += b.Duration
	a.Missing += b.Missing
	a.MaxGap = max(a.MaxGap, b.MaxGap)
	a.Gaps = append(a.Gaps, b.Gaps...)
	a.Lost += b.Lost
	for k, v := range b.Dropped {
		a.drop(k, v)
	}
}

// samplesDuration is n sample frames at rate.
func samplesDuration(n int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(n * int64(time.Second) / int64(rate))
}

// audioGap is the one computation of missing time, shared by the writer
// and Analyze so both find the same gaps: the previous block started at
// prev (video time as written, whole ms) and held prevSamples; the next
// starts at at.
func audioGap(prev time.Duration, prevSamples int64, at time.Duration, rate int) time.Duration {
	return at - prev - samplesDuration(prevSamples, rate)
}

// audioRec is an audio block the recorder owns: data is a copy in a pooled
// buffer, whole sample frames.
type audioRec struct {
	data   []byte
	t      time.Time
	format audio.Format
	lost   int
}

func (a audioRec) frames() int64 {
	return int64(len(a.data) / (audioBytesPerSmp * a.format.Channels))
}

func (a audioRec) end() time.Time {
	return a.t.Add(samplesDuration(a.frames(), a.format.Rate))
}

// audioRing holds the audio blocks of the last span, oldest first.
type audioRing struct {
	span  time.Duration
	buf   []audioRec
	bytes int64
}

func (r *audioRing) push(a audioRec, release func([]byte)) {
	if r.span <= 0 {
		release(a.data)
		return
	}
	i := 0
	for i < len(r.buf) && a.t.Sub(r.buf[i].end()) > r.span {
		r.bytes -= int64(cap(r.buf[i].data))
		release(r.buf[i].data)
		r.buf[i] = audioRec{}
		i++
	}
	if i > 0 {
		r.buf = r.buf[:copy(r.buf, r.buf[i:])]
	}
	r.buf = append(r.buf, a)
	r.bytes += int64(cap(a.data))
}

func (r *audioRing) take() []audioRec {
	out := make([]audioRec, len(r.buf))
	copy(out, r.buf)
	clear(r.buf)
	r.buf, r.bytes = r.buf[:0], 0
	return out
}

func (r *Recorder) audioDropped(reason string, n int64) {
	if r.state == stateRecording {
		r.adrops.drop(reason, n)
	}
}

// PushAudio takes a block from the microphone, like Push a frame: it
// copies the data, keeps the block in the pre-roll ring, or while
// recording queues it for the writer, never waiting for the disk (unless
// Options.BlockWhenFull). The block is placed in the file at b.At, on
// the clock of camera.Frame.Time; samples before the file's first frame
// are left out (they precede video time 0). A block going back in time,
// or with no whole sample frame, is dropped (the former counted).
func (r *Recorder) PushAudio(b audio.Block) {
	if r.state != stateRecording {
		r.reclaim()
	}
	n := b.Frames()
	if n == 0 || b.Format.Rate <= 0 {
		return
	}
	if r.alast.ok && b.At.Before(r.alast.t) {
		r.audioDropped(DropTimeBackwards, int64(n))
		return
	}
	r.alast.ok, r.alast.t, r.alast.format = true, b.At, b.Format
	if r.state == stateRecording {
		if r.failed.Load() {
			r.adrops.Lost += int64(b.Lost)
			r.audioDropped(DropWriteFailed, int64(n))
			return
		}
		for r.qAudio.Load() >= int64(r.opt.QueueAudio) {
			if !r.opt.BlockWhenFull {
				r.adrops.Lost += int64(b.Lost)
				r.audioDropped(DropQueueFull, int64(n))
				return
			}
			<-r.room
		}
	}
	size := n * audioBytesPerSmp * b.Format.Channels
	buf := r.buffer(size)
	copy(buf, b.Data[:size])
	rec := audioRec{data: buf, t: b.At, format: b.Format, lost: b.Lost}
	if r.state == stateRecording {
		r.qAudio.Add(1)
		r.q <- op{kind: opAudio, au: rec}
		return
	}
	r.aring.push(rec, r.pool.put)
}

// audio writes one block (called by the writer).
func (s *session) audio(a audioRec) {
	s.astats.Lost += int64(a.lost)
	n := a.frames()
	if s.err != nil {
		s.astats.drop(DropWriteFailed, n)
		return
	}
	m := s.cur
	if !m.headerDone {
		if s.afmt == (audio.Format{}) {
			s.afmt = a.format
		}
		if len(s.apending) >= maxPendingAudio {
			s.r.release(s.apending[0].data)
			s.apending = s.apending[1:]
		}
		d := s.r.buffer2(len(a.data))
		copy(d, a.data)
		a.data = d
		s.apending = append(s.apending, a)
		return
	}
	switch {
	case !m.hasAudio:
		s.astats.drop(DropNoAudioTrack, n)
		return
	case a.format != m.afmt:
		s.astats.drop(DropAudioFormat, n)
		return
	}
	s.writeAudio(a)
}

// writeAudio places a block in the open file (whose header is written).
func (s *session) writeAudio(a audioRec) {
	m := s.cur
	data := a.data
	at := a.t.Sub(m.base)
	if at < 0 { // before video time 0: keep only the samples from there
		skip := (int64(-at)*int64(a.format.Rate) + int64(time.Second) - 1) / int64(time.Second)
		if skip >= a.frames() {
			return
		}
		data = data[skip*int64(audioBytesPerSmp*a.format.Channels):]
		at += samplesDuration(skip, a.format.Rate)
	}
	n := int64(len(data) / (audioBytesPerSmp * a.format.Channels))
	ms := roundMS(at)
	if m.pos()+int64(len(data))+32+m.tailReserve() > s.r.cfg.MaxFileBytes {
		// No frame came to rotate the file in time: rotate here; the
		// block waits for the next file's first frame.
		s.rotate(s.lastIvl)
		if s.err != nil {
			s.astats.drop(DropWriteFailed, n)
			return
		}
		a.lost = 0 // counted already
		s.audio(a)
		return
	}
	if err := m.writeAudio(ms, int64(s.r.cfg.Cluster/time.Millisecond), data, n); err != nil {
		s.fail(err)
		s.astats.drop(DropWriteFailed, n)
		return
	}
	s.dirty = true
	if m.aBlocks > 1 {
		if g := audioGap(time.Duration(s.aLastMS)*time.Millisecond, s.aLastN, time.Duration(ms)*time.Millisecond, a.format.Rate); g > AudioGapThreshold {
			s.astats.Missing += g
			s.astats.MaxGap = max(s.astats.MaxGap, g)
			s.astats.Gaps = append(s.astats.Gaps, Gap{File: m.name, At: samplesDuration(s.aLastN, a.format.Rate) + time.Duration(s.aLastMS)*time.Millisecond, Gap: g})
		}
	}
	s.aLastMS, s.aLastN = ms, n
	s.aNext, s.aHave = a.t.Add(samplesDuration(a.frames(), a.format.Rate)), true
}

// flushPendingAudio writes the blocks that came before the file's first
// frame, once its header is written.
func (s *session) flushPendingAudio() {
	p := s.apending
	s.apending = nil
	for _, a := range p {
		if s.err == nil && s.cur.hasAudio && a.format == s.cur.afmt {
			s.writeAudio(a)
		} else if s.err != nil {
			s.astats.drop(DropWriteFailed, a.frames())
		}
		s.r.release(a.data)
	}
}

// buffer2 is a buffer for the writer's own copies (pending audio): not
// from the caller's pool, which belongs to the other goroutine.
func (r *Recorder) buffer2(n int) []byte {
	_, c := sizeClass(n)
	return make([]byte, n, c)
}

// writeAudio writes a PCM block of n sample frames at video time ms. A
// block may lie before the open cluster's timestamp (audio arrives a
// block's length after its first sample): the block's relative timestamp
// is signed.
func (m *mkvFile) writeAudio(ms, clusterLen int64, data []byte, n int64) error {
	if !m.clusterOpen || ms-m.clusterMS >= clusterLen || ms-m.clusterMS > maxRelMS || ms < m.clusterMS-maxRelMS {
		if err := m.openCluster(ms); err != nil {
			return err
		}
	}
	var b [16]byte
	h := appendID(b[:0], idSimpleBlock)
	h = appendSize(h, uint64(4+len(data)))
	h = append(h, 0x80|trackAudio)
	h = append(h, byte(uint16(int16(ms-m.clusterMS))>>8), byte(uint16(int16(ms-m.clusterMS))))
	h = append(h, 0x80) // key frame
	if err := m.put(h, data); err != nil {
		return err
	}
	if len(m.unflushed) == 0 {
		m.diskMS = m.lastMS
	}
	if len(m.pend) > 0 {
		m.unflushed = append(m.unflushed, frameEnd{end: m.pos(), ms: ms, samples: n})
	}
	m.aBlocks++
	m.aSamples += n
	return nil
}

// appendAudioTrack appends the audio TrackEntry for format f.
func appendAudioTrack(b []byte, f audio.Format) []byte {
	var a []byte
	a = appendUint(a, idTrackNumber, trackAudio)
	a = appendUint(a, idTrackUID, trackAudio)
	a = appendUint(a, idTrackType, trackTypeAudio)
	a = appendUint(a, idFlagLacing, 0)
	a = appendString(a, idCodecID, audioCodecPCM)
	a = appendString(a, idLanguage, "und")
	a = appendString(a, idTrackName, "microphone")
	var au []byte
	au = appendFloat(au, idSamplingFreq, float64(f.Rate))
	au = appendUint(au, idChannels, uint64(f.Channels))
	au = appendUint(au, idBitDepth, 16)
	a = appendMaster(a, idAudio, au)
	return appendMaster(b, idTrackEntry, a)
}
