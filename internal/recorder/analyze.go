package recorder

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"weighin/drivers/audio"
)

// ErrNotMatroska is returned by Analyze for a file that does not start with
// an EBML header of DocType matroska or webm.
var ErrNotMatroska = errors.New("recorder: not a Matroska file")

// errTruncated marks the end of a cut file inside the parser.
var errTruncated = errors.New("truncated")

const maxText = 64 << 10 // longest string or subtitle payload read

// ebmlReader reads EBML from a seekable source, tracking the offset.
type ebmlReader struct {
	br   *bufio.Reader
	src  io.ReadSeeker
	pos  int64
	size int64
}

func (e *ebmlReader) byte() (byte, error) {
	b, err := e.br.ReadByte()
	if err != nil {
		return 0, err
	}
	e.pos++
	return b, nil
}

// vint reads an EBML variable-length integer. For an ID the marker bit is
// kept; for a size it is removed and all-ones means unknown.
func (e *ebmlReader) vint(id bool) (v uint64, unknown bool, err error) {
	b, err := e.byte()
	if err != nil {
		return 0, false, err
	}
	l := 1
	for mask := byte(0x80); l <= 8 && b&mask == 0; mask >>= 1 {
		l++
	}
	if l > 8 || (id && l > 4) {
		return 0, false, fmt.Errorf("invalid EBML %s at offset %d", map[bool]string{true: "ID", false: "size"}[id], e.pos-1)
	}
	if id {
		v = uint64(b)
	} else {
		v = uint64(b) & (0xFF >> l)
	}
	ones := v == uint64(0xFF>>l)
	for range l - 1 {
		c, err := e.byte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, false, err
		}
		v = v<<8 | uint64(c)
		ones = ones && c == 0xFF
	}
	return v, !id && ones, nil
}

// skip moves forward n bytes; past the end of the file is a truncation.
func (e *ebmlReader) skip(n uint64) error {
	if n > uint64(e.size-e.pos) {
		return errTruncated
	}
	if n <= uint64(e.br.Buffered()) || n < 64<<10 {
		d, err := e.br.Discard(int(n))
		e.pos += int64(d)
		if err != nil {
			return errTruncated
		}
		return nil
	}
	target := e.pos + int64(n)
	if _, err := e.src.Seek(target, io.SeekStart); err != nil {
		return err
	}
	e.br.Reset(e.src)
	e.pos = target
	return nil
}

// read reads n bytes (n ≤ maxText) into a new slice.
func (e *ebmlReader) read(n uint64) ([]byte, error) {
	if n > uint64(e.size-e.pos) {
		return nil, errTruncated
	}
	p := make([]byte, n)
	k, err := io.ReadFull(e.br, p)
	e.pos += int64(k)
	if err != nil {
		return nil, errTruncated
	}
	return p, nil
}

func (e *ebmlReader) uint(n uint64) (uint64, error) {
	if n > 8 {
		return 0, fmt.Errorf("integer of %d bytes at offset %d", n, e.pos)
	}
	p, err := e.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (e *ebmlReader) float(n uint64) (float64, error) {
	p, err := e.read(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(p))), nil
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	case 0:
		return 0, nil
	}
	return 0, fmt.Errorf("float of %d bytes at offset %d", n, e.pos)
}

// Analyze recomputes the continuity statistics of one Matroska file,
// complete or cut (a cut file counts every frame wholly before the cut).
// gapThreshold selects the gaps listed. Dropped and Duplicated cannot be
// seen in a file and stay empty; SHA256 is left empty.
func Analyze(path string, gapThreshold time.Duration) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("recorder: analyze: %w", err)
	}
	defer f.Close()
	s, err := AnalyzeReader(f, filepath.Base(path), gapThreshold)
	if err != nil {
		return Stats{}, fmt.Errorf("recorder: analyze %s: %w", path, err)
	}
	return s, nil
}

// AnalyzeFiles analyses the files of one recording in order and sums them.
// The interval between two files is not in either file and is not counted
// as a gap.
func AnalyzeFiles(paths []string, gapThreshold time.Duration) (Stats, error) {
	var all Stats
	for _, p := range paths {
		s, err := Analyze(p, gapThreshold)
		if err != nil {
			return Stats{}, err
		}
		all.Append(s)
	}
	return all, nil
}

type chapter struct {
	start uint64
	label string
}

// AnalyzeReader is Analyze on an open file; name is the file's base name
// in the statistics.
func AnalyzeReader(src io.ReadSeeker, name string, gapThreshold time.Duration) (Stats, error) {
	size, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return Stats{}, err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return Stats{}, err
	}
	e := &ebmlReader{br: bufio.NewReaderSize(src, 256<<10), src: src, size: size}
	if err := e.header(); err != nil {
		return Stats{}, err
	}
	v := newStatsVisitor(name, gapThreshold)
	truncated := walk(e, v)
	return v.stats(size, truncated), nil
}

// header reads the EBML header: DocType matroska or webm.
func (e *ebmlReader) header() error {
	id, _, err := e.vint(true)
	if err != nil || id != idEBML {
		return ErrNotMatroska
	}
	n, unknown, err := e.vint(false)
	if err != nil || unknown || n > 4096 {
		return ErrNotMatroska
	}
	hdr, err := e.read(n)
	if err != nil || !strings.Contains(string(hdr), "matroska") && !strings.Contains(string(hdr), "webm") {
		return ErrNotMatroska
	}
	return nil
}

// element is the header of one EBML element: its ID and its data size
// (meaningless for a Segment or Cluster of unknown size: they are
// entered).
type element struct {
	id   uint64
	size uint64
}

// visitor handles the elements walk meets, in file order. For a master
// element it wants the children of, it returns without reading (the
// children follow in the stream); for any other it reads or skips the
// element's data. An error (errTruncated, or any other) ends the walk as
// a cut file.
type visitor interface {
	visit(el element, e *ebmlReader) error
}

// walk is the element iterator: it reads element headers one after the
// other and hands each to v. It reports whether the file ended inside an
// element (a cut file).
func walk(e *ebmlReader, v visitor) (truncated bool) {
	for {
		id, _, err := e.vint(true)
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		n, unknown, err := e.vint(false)
		if err != nil {
			return true
		}
		if unknown && id != idSegment && id != idCluster {
			return false // unknown size is only legal for those two
		}
		if err := v.visit(element{id: id, size: n}, e); err != nil {
			return true
		}
	}
}

// statsVisitor computes the continuity statistics: frames and gaps of the
// video track, the duration (Info, else the DURATION tag, else the frames)
// and the marks (chapters, else the subtitle track's marks).
type statsVisitor struct {
	name         string
	gapThreshold time.Duration

	scale                uint64
	infoDur              float64
	videoTrack, subTrack uint64
	curTrack, curType    uint64
	clusterTC            uint64
	frames               int64
	first, last, prevIvl int64 // ns
	maxGap               time.Duration
	gaps                 []Gap
	chapters             []chapter
	subMarks             []Mark
	tagName, tagDur      string
	sawCues              bool

	// The audio track (A_PCM/INT/LIT only: its samples can be counted).
	curCodec     string
	curRate      float64
	curChannels  uint64
	audioTrack   uint64
	audio        AudioStats
	aLast        time.Duration
	aLastN       int64
	inBlockGroup bool
	inChapters   bool
}

func newStatsVisitor(name string, gapThreshold time.Duration) *statsVisitor {
	return &statsVisitor{name: name, gapThreshold: gapThreshold, scale: uint64(time.Millisecond), videoTrack: 1, subTrack: 2, curChannels: 1}
}

// commitTrack takes the track entry just read as the video or subtitle
// track.
func (v *statsVisitor) commitTrack() {
	switch v.curType {
	case trackTypeAudio:
		if v.curCodec == audioCodecPCM && v.curChannels > 0 && v.curChannels <= 8 && v.curRate >= 1 && v.curRate <= 384000 && v.audioTrack == 0 {
			v.audioTrack = v.curTrack
			v.audio.Format = audio.Format{Rate: int(v.curRate), Channels: int(v.curChannels)}
		}
	case trackTypeVideo:
		v.videoTrack = v.curTrack
	case trackTypeSubtitle:
		v.subTrack = v.curTrack
	}
	v.curTrack, v.curType, v.curCodec, v.curRate, v.curChannels = 0, 0, "", 0, 1
}

func (v *statsVisitor) visit(el element, e *ebmlReader) error {
	switch el.id {
	case idSegment, idInfo, idTracks, idTags, idVideo, idAudio, idEditionEntry, idChapDisplay, idTag, idTargets, idSimpleTag:
		return nil // enter
	case idCluster:
		if v.curType != 0 { // the last TrackEntry
			v.commitTrack()
		}
		return nil
	case idSamplingFreq:
		if el.size <= 8 {
			var err error
			v.curRate, err = e.float(el.size)
			return err
		}
	case idCodecID:
		if el.size <= 64 {
			p, err := e.read(el.size)
			v.curCodec = string(p)
			return err
		}
	case idChapters:
		v.inChapters = true
		return nil
	case idTrackEntry:
		v.commitTrack()
		return nil
	case idBlockGroup:
		v.inBlockGroup = true
		return nil
	case idChapterAtom:
		v.chapters = append(v.chapters, chapter{})
		return nil
	case idCues:
		v.sawCues = true
	case idTimestampScale, idTimestamp, idTrackNumber, idTrackType, idChapterStart, idChannels:
		return v.number(el, e)
	case idDuration:
		if el.size <= 8 {
			var err error
			v.infoDur, err = e.float(el.size)
			return err
		}
	case idChapString, idTagName, idTagString:
		if el.size <= maxText {
			return v.text(el, e)
		}
	case idSimpleBlock, idBlock:
		if el.id == idSimpleBlock || v.inBlockGroup {
			v.inBlockGroup = false
			return v.block(el, e)
		}
	}
	return e.skip(el.size)
}

// number reads an unsigned integer element.
func (v *statsVisitor) number(el element, e *ebmlReader) error {
	n, err := e.uint(el.size)
	if err != nil {
		return err
	}
	switch el.id {
	case idTimestampScale:
		if n > 0 {
			v.scale = n
		}
	case idTimestamp:
		v.clusterTC = n
	case idTrackNumber:
		v.curTrack = n
	case idTrackType:
		v.curType = n
	case idChannels:
		v.curChannels = n
	case idChapterStart:
		if len(v.chapters) > 0 {
			v.chapters[len(v.chapters)-1].start = n
		}
	}
	return nil
}

// text reads a string element: a chapter's label or a tag.
func (v *statsVisitor) text(el element, e *ebmlReader) error {
	p, err := e.read(el.size)
	if err != nil {
		return err
	}
	switch el.id {
	case idChapString:
		if v.inChapters && len(v.chapters) > 0 {
			v.chapters[len(v.chapters)-1].label = string(p)
		}
	case idTagName:
		v.tagName = string(p)
	case idTagString:
		if v.tagName == "DURATION" && v.tagDur == "" {
			v.tagDur = string(p)
		}
	}
	return nil
}

// block reads a SimpleBlock or Block: a video frame's time, or a
// subtitle (a mark, when it carries MarkPrefix).
func (v *statsVisitor) block(el element, e *ebmlReader) error {
	n := el.size
	if n > uint64(e.size-e.pos) {
		return errTruncated
	}
	start := e.pos
	track, _, err := e.vint(false)
	if err != nil {
		return errTruncated
	}
	tc, err := e.read(3)
	if err != nil || e.pos-start > int64(n) {
		return errTruncated
	}
	t := (int64(v.clusterTC) + int64(int16(binary.BigEndian.Uint16(tc)))) * int64(v.scale)
	rest := n - uint64(e.pos-start)
	switch track {
	case v.videoTrack:
		if err := e.skip(rest); err != nil {
			return err
		}
		v.frame(t)
		return nil
	case v.audioTrack:
		if v.audioTrack == 0 {
			break
		}
		if rest > uint64(e.size-e.pos) {
			return errTruncated
		}
		if err := e.skip(rest); err != nil {
			return err
		}
		v.audioBlock(time.Duration(t), int64(rest)/int64(audioBytesPerSmp*v.audio.Format.Channels))
		return nil
	case v.subTrack:
		if rest > maxText {
			return e.skip(rest)
		}
		p, err := e.read(rest)
		if err == nil && strings.HasPrefix(string(p), MarkPrefix) {
			v.subMarks = append(v.subMarks, Mark{File: v.name, At: time.Duration(t), Label: strings.TrimPrefix(string(p), MarkPrefix)})
		}
		return err
	}
	return e.skip(rest)
}

// frame counts a video frame at t (ns) and the interval before it.
func (v *statsVisitor) frame(t int64) {
	if v.frames == 0 {
		v.first = t
	} else {
		ivl := max(t-v.last, 0) // a damaged file may go back in time
		v.maxGap = max(v.maxGap, time.Duration(ivl))
		if time.Duration(ivl) > v.gapThreshold {
			v.gaps = append(v.gaps, Gap{File: v.name, At: max(time.Duration(v.last-v.first), 0), Gap: time.Duration(ivl)})
		}
		v.prevIvl = ivl
	}
	v.frames++
	v.last = t
}

// audioBlock counts an audio block of n sample frames at t and the time
// missing before it.
func (v *statsVisitor) audioBlock(t time.Duration, n int64) {
	a := &v.audio
	if a.Blocks > 0 {
		if g := audioGap(v.aLast, v.aLastN, t, a.Format.Rate); g > AudioGapThreshold {
			a.Missing += g
			a.MaxGap = max(a.MaxGap, g)
			a.Gaps = append(a.Gaps, Gap{File: v.name, At: v.aLast + samplesDuration(v.aLastN, a.Format.Rate), Gap: g})
		}
	}
	a.Blocks++
	a.Samples += n
	v.aLast, v.aLastN = t, n
}

// stats is what the visit found, for a file of size bytes.
func (v *statsVisitor) stats(size int64, truncated bool) Stats {
	s := Stats{Frames: v.frames, MaxGap: v.maxGap, Gaps: v.gaps, Audio: v.audio}
	s.Audio.Duration = samplesDuration(s.Audio.Samples, s.Audio.Format.Rate)
	if v.frames > 0 {
		s.Duration = max(time.Duration(v.last-v.first)+time.Duration(v.prevIvl), 0)
	}
	switch {
	case v.infoDur > 0 && v.infoDur < float64(math.MaxInt64)/float64(v.scale):
		s.Duration = time.Duration(v.infoDur * float64(v.scale))
	case v.tagDur != "":
		if d, ok := parseDurationTag(v.tagDur); ok {
			s.Duration = d
		}
	}
	if len(v.chapters) > 0 {
		for _, c := range v.chapters {
			s.Marks = append(s.Marks, Mark{File: v.name, At: time.Duration(min(c.start, math.MaxInt64)), Label: c.label})
		}
	} else {
		for _, m := range v.subMarks {
			m.At = max(m.At-time.Duration(v.first), 0)
			s.Marks = append(s.Marks, m)
		}
	}
	s.Files = []FileInfo{{Name: v.name, Bytes: size, Frames: v.frames, Duration: s.Duration, AudioSamples: v.audio.Samples, Complete: v.sawCues && !truncated}}
	return s
}

// parseDurationTag parses HH:MM:SS.nnnnnnnnn.
func parseDurationTag(v string) (time.Duration, bool) {
	var h, m int64
	var sec float64
	if _, err := fmt.Sscanf(v, "%d:%d:%f", &h, &m, &sec); err != nil {
		return 0, false
	}
	if h < 0 || m < 0 || sec < 0 || h > 1e6 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(math.Round(sec*1e9)), true
}
