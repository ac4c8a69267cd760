package recorder

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"weighin/drivers/audio"
)

// File is where a recording goes: an *os.File in production, a
// fault-injecting writer in tests.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// hashWriter passes bytes to the file and hashes and counts exactly the bytes
// the file accepted, so the digest is that of the file on disk without
// reading it back.
type hashWriter struct {
	f File
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if n > 0 {
		w.h.Write(p[:n])
		w.n += int64(n)
	}
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// cuePoint is one Cues entry: a cluster's timestamp and its position
// relative to the Segment's data.
type cuePoint struct{ ms, pos int64 }

// matroskaEpoch is Matroska's DateUTC origin.
var matroskaEpoch = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	// smallWrite: payloads up to this size are copied into the pending
	// buffer; larger ones (frames) are written straight from their buffer.
	smallWrite = 16 << 10
	// pendingCap is the size of the buffer that gathers headers and small
	// elements between writes.
	pendingCap = 64 << 10
	// maxRelMS bounds a block's timestamp relative to its cluster (a signed
	// 16-bit field in milliseconds), with margin.
	maxRelMS = 30000
)

// mkvFile writes one Matroska file: header on the first frame, clusters of
// unknown size, Cues/Chapters/Tags at the end. Not safe for concurrent use;
// the recorder's writer goroutine owns it.
type mkvFile struct {
	name     string
	f        File
	hw       hashWriter
	pend     []byte
	uuid     [16]byte
	prevUUID *[16]byte
	wall     time.Time

	headerDone    bool
	segData       int64 // file offset of the Segment's data
	base          time.Time
	width, height int

	clusterOpen bool
	clusterMS   int64
	lastMS      int64
	diskMS      int64 // video time of the last frame known to be on disk
	frames      int64
	firstMS     int64 // video time of the first frame
	cues        []cuePoint
	marks       []Mark
	subs        int64

	// The audio track: its format, blocks and sample frames written.
	hasAudio bool
	afmt     audio.Format
	aBlocks  int64
	aSamples int64

	// unflushed lists frames and audio blocks whose bytes are (partly) in pend: after a
	// failed flush they are not on disk.
	unflushed []frameEnd

	closed bool
	err    error // first failure; sticky
}

// frameEnd is where a frame's or audio block's SimpleBlock ends in the
// file, and its video time; samples is an audio block's sample frames (0
// for a frame).
type frameEnd struct{ end, ms, samples int64 }

func newMKVFile(name string, f File, uuid [16]byte, prev *[16]byte) *mkvFile {
	return &mkvFile{
		name: name, f: f, uuid: uuid, prevUUID: prev,
		hw:   hashWriter{f: f, h: sha256.New()},
		pend: make([]byte, 0, pendingCap),
	}
}

// pos is the file offset the next byte goes to.
func (m *mkvFile) pos() int64 { return m.hw.n + int64(len(m.pend)) }

func (m *mkvFile) fail(err error) error {
	if m.err == nil {
		m.err = fmt.Errorf("recorder: write %s: %w", m.name, err)
	}
	return m.err
}

// flush hands the pending bytes to the file.
func (m *mkvFile) flush() error {
	if m.err != nil {
		return m.err
	}
	if len(m.pend) == 0 {
		return nil
	}
	n, err := m.hw.Write(m.pend)
	if err != nil {
		// Keep the bytes the file did not take out of the count: they are
		// not on disk.
		m.pend = m.pend[:copy(m.pend, m.pend[n:])]
		return m.fail(err)
	}
	m.pend = m.pend[:0]
	m.unflushed = m.unflushed[:0]
	return nil
}

// lost removes from the counts the frames and audio blocks that did not
// reach the file before a failure and returns how many frames and sample
// frames they were.
func (m *mkvFile) lost() (frames, samples int64) {
	lastMS := m.diskMS
	cut := false
	for _, fe := range m.unflushed {
		if !cut && fe.end > m.hw.n {
			cut = true
			m.lastMS = lastMS
		}
		switch {
		case !cut && fe.samples == 0:
			lastMS = fe.ms
		case cut && fe.samples == 0:
			frames++
		case cut:
			samples += fe.samples
			m.aBlocks--
		}
	}
	m.frames -= frames
	m.aSamples -= samples
	m.unflushed = m.unflushed[:0]
	return frames, samples
}

// put writes hdr and then data, copying data only when it is small.
func (m *mkvFile) put(hdr, data []byte) error {
	if m.err != nil {
		return m.err
	}
	if len(m.pend)+len(hdr)+len(data) <= cap(m.pend) && len(data) <= smallWrite {
		m.pend = append(m.pend, hdr...)
		m.pend = append(m.pend, data...)
		return nil
	}
	if len(m.pend)+len(hdr) > cap(m.pend) {
		if err := m.flush(); err != nil {
			return err
		}
	}
	m.pend = append(m.pend, hdr...)
	if len(data) <= smallWrite && len(m.pend)+len(data) <= cap(m.pend) {
		m.pend = append(m.pend, data...)
		return nil
	}
	if err := m.flush(); err != nil {
		return err
	}
	if _, err := m.hw.Write(data); err != nil {
		return m.fail(err)
	}
	return nil
}

// sync flushes pending bytes and fsyncs the file.
func (m *mkvFile) sync() error {
	if err := m.flush(); err != nil {
		return err
	}
	if err := m.f.Sync(); err != nil {
		return m.fail(fmt.Errorf("fsync: %w", err))
	}
	return nil
}

// writeHeader writes the EBML header, the Segment (size unknown), Info and
// Tracks.
func (m *mkvFile) writeHeader(width, height int) error {
	if width <= 0 || height <= 0 {
		width, height = 1, 1
	}
	m.width, m.height = width, height
	var e []byte
	e = appendUint(e, idEBMLVersion, 1)
	e = appendUint(e, idEBMLReadVersion, 1)
	e = appendUint(e, idEBMLMaxIDLength, 4)
	e = appendUint(e, idEBMLMaxSizeLength, 8)
	e = appendString(e, idDocType, "matroska")
	e = appendUint(e, idDocTypeVersion, 4)
	e = appendUint(e, idDocTypeReadVersion, 2)
	b := appendMaster(nil, idEBML, e)
	b = appendID(b, idSegment)
	b = append(b, unknownSize8[:]...)
	m.segData = m.pos() + int64(len(b))

	var info []byte
	info = appendUint(info, idTimestampScale, uint64(time.Millisecond))
	info = appendString(info, idMuxingApp, "weighin recorder")
	info = appendString(info, idWritingApp, "weighin")
	info = appendBytes(info, idSegmentUUID, m.uuid[:])
	if m.prevUUID != nil {
		info = appendBytes(info, idPrevUUID, m.prevUUID[:])
	}
	if !m.wall.IsZero() {
		info = appendInt(info, idDateUTC, m.wall.Sub(matroskaEpoch).Nanoseconds())
	}
	b = appendMaster(b, idInfo, info)

	var v []byte
	v = appendUint(v, idTrackNumber, trackVideo)
	v = appendUint(v, idTrackUID, trackVideo)
	v = appendUint(v, idTrackType, trackTypeVideo)
	v = appendUint(v, idFlagLacing, 0)
	v = appendString(v, idCodecID, "V_MJPEG")
	v = appendString(v, idLanguage, "und")
	v = appendString(v, idTrackName, "camera")
	var vid []byte
	vid = appendUint(vid, idPixelWidth, uint64(width))
	vid = appendUint(vid, idPixelHeight, uint64(height))
	v = appendMaster(v, idVideo, vid)
	var s []byte
	s = appendUint(s, idTrackNumber, trackSubtitle)
	s = appendUint(s, idTrackUID, trackSubtitle)
	s = appendUint(s, idTrackType, trackTypeSubtitle)
	s = appendUint(s, idFlagLacing, 0)
	s = appendUint(s, idFlagDefault, 1)
	s = appendUint(s, 0x55AA, 1) // FlagForced: shown by players that hide optional subtitles
	s = appendString(s, idCodecID, "S_TEXT/UTF8")
	s = appendString(s, idLanguage, "eng")
	s = appendString(s, idTrackName, "weigh-in")
	tracks := appendMaster(nil, idTrackEntry, v)
	tracks = appendMaster(tracks, idTrackEntry, s)
	if m.hasAudio {
		tracks = appendAudioTrack(tracks, m.afmt)
	}
	b = appendMaster(b, idTracks, tracks)
	m.headerDone = true
	return m.put(b, nil)
}

// openCluster starts a cluster (size unknown) at video time ms.
func (m *mkvFile) openCluster(ms int64) error {
	m.cues = append(m.cues, cuePoint{ms: ms, pos: m.pos() - m.segData})
	var b [24]byte
	h := appendID(b[:0], idCluster)
	h = append(h, unknownSize8[:]...)
	h = appendUint(h, idTimestamp, uint64(ms))
	m.clusterOpen, m.clusterMS = true, ms
	return m.put(h, nil)
}

// ensureCluster opens a cluster at ms unless the open one can hold a block
// at ms.
func (m *mkvFile) ensureCluster(ms int64) error {
	if m.clusterOpen && ms >= m.clusterMS && ms-m.clusterMS <= maxRelMS {
		return nil
	}
	return m.openCluster(ms)
}

// writeFrame writes a JPEG as a key-frame SimpleBlock at video time ms,
// starting a new cluster when the open one reaches clusterMS.
func (m *mkvFile) writeFrame(ms, clusterLen int64, data []byte) error {
	if !m.clusterOpen || ms-m.clusterMS >= clusterLen || ms-m.clusterMS > maxRelMS || ms < m.clusterMS {
		if err := m.openCluster(ms); err != nil {
			return err
		}
	}
	var b [16]byte
	h := appendID(b[:0], idSimpleBlock)
	h = appendSize(h, uint64(4+len(data)))
	h = append(h, 0x80|trackVideo)
	h = binary.BigEndian.AppendUint16(h, uint16(int16(ms-m.clusterMS)))
	h = append(h, 0x80) // key frame
	if err := m.put(h, data); err != nil {
		return err
	}
	if len(m.unflushed) == 0 {
		m.diskMS = m.lastMS // the frame before: written out already
	}
	if len(m.pend) > 0 {
		m.unflushed = append(m.unflushed, frameEnd{end: m.pos(), ms: ms})
	}
	if m.frames == 0 {
		m.firstMS = ms
	}
	m.frames++
	m.lastMS = ms
	return nil
}

// writeSub writes a subtitle BlockGroup at ms lasting durMS.
func (m *mkvFile) writeSub(ms, durMS int64, text []byte) error {
	if err := m.ensureCluster(ms); err != nil {
		return err
	}
	var b [40]byte
	var d [8]byte
	dur := appendUint(d[:0], idBlockDur, uint64(durMS))
	blockLen := 4 + len(text)
	blockHdr := 1 + sizeLen(uint64(blockLen))
	h := appendID(b[:0], idBlockGroup)
	h = appendSize(h, uint64(blockHdr+blockLen+len(dur)))
	h = appendID(h, idBlock)
	h = appendSize(h, uint64(blockLen))
	h = append(h, 0x80|trackSubtitle)
	h = binary.BigEndian.AppendUint16(h, uint16(int16(ms-m.clusterMS)))
	h = append(h, 0)
	if err := m.put(h, text); err != nil {
		return err
	}
	m.subs++
	return m.put(dur, nil)
}

// tailReserve estimates the bytes finish will add, for the size limit.
func (m *mkvFile) tailReserve() int64 {
	n := int64(512) + 24*int64(len(m.cues))
	for _, mk := range m.marks {
		n += 96 + int64(len(mk.Label))
	}
	return n
}

// durationString formats d as the Matroska DURATION tag does
// (HH:MM:SS.nnnnnnnnn).
func durationString(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := d / time.Hour
	d -= h * time.Hour
	mi := d / time.Minute
	d -= mi * time.Minute
	s := d / time.Second
	d -= s * time.Second
	return fmt.Sprintf("%02d:%02d:%02d.%09d", h, mi, s, d)
}

// finish writes Cues, Chapters (one per mark), Tags (DURATION and the frame
// count) and a closing SeekHead, then fsyncs and closes the file. durMS is
// the file's duration: the last frame's time plus its display time.
func (m *mkvFile) finish(durMS int64) error {
	if m.closed {
		return m.err
	}
	if !m.headerDone {
		if err := m.writeHeader(m.width, m.height); err != nil {
			return m.closeAfterError()
		}
	}
	segPos := func() int64 { return m.pos() - m.segData }
	var seek []byte
	addSeek := func(id uint32, pos int64) {
		var s, idb []byte
		idb = appendID(idb, id)
		s = appendBytes(s, idSeekID, idb)
		s = appendUint(s, idSeekPosition, uint64(pos))
		seek = appendMaster(seek, idSeek, s)
	}

	if len(m.cues) > 0 {
		var cues []byte
		for _, c := range m.cues {
			var tp, cp []byte
			tp = appendUint(tp, idCueTrack, trackVideo)
			tp = appendUint(tp, idCueClusterPs, uint64(c.pos))
			cp = appendUint(cp, idCueTime, uint64(c.ms))
			cp = appendMaster(cp, idCueTrackPos, tp)
			cues = appendMaster(cues, idCuePoint, cp)
		}
		addSeek(idCues, segPos())
		if err := m.put(appendMaster(nil, idCues, cues), nil); err != nil {
			return m.closeAfterError()
		}
	}
	if len(m.marks) > 0 {
		var ed []byte
		ed = appendUint(ed, idEditionUID, 1)
		for i, mk := range m.marks {
			var disp, atom []byte
			disp = appendString(disp, idChapString, mk.Label)
			disp = appendString(disp, idChapLanguage, "eng")
			atom = appendUint(atom, idChapterUID, uint64(i+1))
			atom = appendUint(atom, idChapterStart, uint64(mk.At.Nanoseconds()))
			atom = appendMaster(atom, idChapDisplay, disp)
			ed = appendMaster(ed, idChapterAtom, atom)
		}
		addSeek(idChapters, segPos())
		if err := m.put(appendMaster(nil, idChapters, appendMaster(nil, idEditionEntry, ed)), nil); err != nil {
			return m.closeAfterError()
		}
	}
	var tags []byte
	dur := durationString(time.Duration(durMS) * time.Millisecond)
	trs := []struct {
		uid   uint64
		count int64
	}{{trackVideo, m.frames}, {trackSubtitle, m.subs}}
	if m.hasAudio {
		trs = append(trs, struct {
			uid   uint64
			count int64
		}{trackAudio, m.aBlocks})
	}
	for _, tr := range trs {
		var tgt, st1, st2, tag []byte
		tgt = appendUint(tgt, idTargetType, 50)
		tgt = appendUint(tgt, idTagTrackUID, tr.uid)
		st1 = appendString(st1, idTagName, "DURATION")
		st1 = appendString(st1, idTagString, dur)
		st2 = appendString(st2, idTagName, "NUMBER_OF_FRAMES")
		st2 = appendString(st2, idTagString, strconv.FormatInt(tr.count, 10))
		tag = appendMaster(tag, idTargets, tgt)
		tag = appendMaster(tag, idSimpleTag, st1)
		tag = appendMaster(tag, idSimpleTag, st2)
		tags = appendMaster(tags, idTag, tag)
	}
	addSeek(idTags, segPos())
	if err := m.put(appendMaster(nil, idTags, tags), nil); err != nil {
		return m.closeAfterError()
	}
	if err := m.put(appendMaster(nil, idSeekHead, seek), nil); err != nil {
		return m.closeAfterError()
	}
	if err := m.sync(); err != nil {
		return m.closeAfterError()
	}
	m.closed = true
	if err := m.f.Close(); err != nil {
		return m.fail(fmt.Errorf("close: %w", err))
	}
	return nil
}

// closeAfterError keeps what reached the file: it tries to flush and fsync
// (either may fail again on a full disk) and closes the file. It returns
// the first error.
func (m *mkvFile) closeAfterError() error {
	if m.closed {
		return m.err
	}
	m.closed = true
	if len(m.pend) > 0 && m.err == nil {
		_ = m.flush()
	}
	syncErr := m.f.Sync()
	closeErr := m.f.Close()
	if m.err == nil {
		// Called without an earlier failure (Run's context ended): report
		// the close path's own errors.
		if err := errors.Join(syncErr, closeErr); err != nil {
			return m.fail(err)
		}
	}
	return m.err
}

// sum is the hex SHA-256 of the bytes the file accepted.
func (m *mkvFile) sum() string { return hex.EncodeToString(m.hw.h.Sum(nil)) }

// roundMS converts a duration to whole milliseconds, rounding to nearest.
func roundMS(d time.Duration) int64 {
	return int64(d.Round(time.Millisecond) / time.Millisecond)
}
