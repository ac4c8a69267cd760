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
		all.Files = append(all.Files, s.Files...)
		all.Frames += s.Frames
		all.Duration += s.Duration
		all.MaxGap = max(all.MaxGap, s.MaxGap)
		all.Gaps = append(all.Gaps, s.Gaps...)
		all.Marks = append(all.Marks, s.Marks...)
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
	s, _, err := analyze(src, name, gapThreshold)
	return s, err
}

// layout records where a file's level-1 elements and reserved Voids are:
// file offsets of Voids, positions relative to the Segment's data for the
// SeekHead. -1 means absent.
type layout struct {
	segData                      int64
	seekVoid, seekVoidLen        int64 // the Void before Info
	durVoid, durVoidLen          int64 // the Void inside Info
	info, tracks, cues, chapters int64
	tags                         int64
	hasDuration                  bool
	scale                        uint64
}

func analyze(src io.ReadSeeker, name string, gapThreshold time.Duration) (Stats, layout, error) {
	lay := layout{segData: -1, seekVoid: -1, durVoid: -1, info: -1, tracks: -1, cues: -1, chapters: -1, tags: -1}
	size, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return Stats{}, lay, err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return Stats{}, lay, err
	}
	e := &ebmlReader{br: bufio.NewReaderSize(src, 256<<10), src: src, size: size}

	// The EBML header.
	id, _, err := e.vint(true)
	if err != nil || id != idEBML {
		return Stats{}, lay, ErrNotMatroska
	}
	hsize, unknown, err := e.vint(false)
	if err != nil || unknown || hsize > 4096 {
		return Stats{}, lay, ErrNotMatroska
	}
	hdr, err := e.read(hsize)
	if err != nil {
		return Stats{}, lay, ErrNotMatroska
	}
	if !strings.Contains(string(hdr), "matroska") && !strings.Contains(string(hdr), "webm") {
		return Stats{}, lay, ErrNotMatroska
	}

	var (
		scale                 uint64 = uint64(time.Millisecond)
		infoDur               float64
		videoTrack            uint64 = 1
		subTrack              uint64 = 2
		curTrackNum, curType  uint64
		clusterTC             uint64
		frames                int64
		first, last, prevIvl  int64 // ns
		maxGap                time.Duration
		gaps                  []Gap
		chapters              []chapter
		subMarks              []Mark
		tagName, tagDur       string
		sawCues, truncated    bool
		inBlockGroup, inChaps bool
	)
	commitTrack := func() {
		switch curType {
		case trackTypeVideo:
			videoTrack = curTrackNum
		case trackTypeSubtitle:
			subTrack = curTrackNum
		}
		curTrackNum, curType = 0, 0
	}

	inInfo := false
loop:
	for {
		at := e.pos
		id, _, err := e.vint(true)
		if err == io.EOF {
			break
		}
		if err != nil {
			truncated = true
			break
		}
		n, unknown, err := e.vint(false)
		if err != nil {
			truncated = true
			break
		}
		if unknown {
			switch id {
			case idSegment:
				if lay.segData < 0 {
					lay.segData = e.pos
				}
				continue
			case idCluster:
				inInfo = false
				continue
			}
			break loop // unknown size is only legal for the elements above
		}
		rel := at - lay.segData
		switch id {
		case idSegment:
			if lay.segData < 0 {
				lay.segData = e.pos
			}
			continue
		case idInfo:
			if lay.info < 0 {
				lay.info, inInfo = rel, true
			}
			continue
		case idTracks:
			if lay.tracks < 0 {
				lay.tracks = rel
			}
			inInfo = false
			continue
		case idChapters:
			if lay.chapters < 0 {
				lay.chapters = rel
			}
			inChaps = true
			continue
		case idTags:
			if lay.tags < 0 {
				lay.tags = rel
			}
			continue
		case idCluster:
			inInfo = false
			continue
		case idVoid:
			total := e.pos - at + int64(n)
			switch {
			case lay.info < 0 && lay.seekVoid < 0 && lay.segData >= 0:
				lay.seekVoid, lay.seekVoidLen = at, total
			case inInfo && lay.durVoid < 0:
				lay.durVoid, lay.durVoidLen = at, total
			}
			err = e.skip(n)
		case idVideo, idEditionEntry, idChapDisplay, idTag, idTargets, idSimpleTag:
			continue // enter
		case idTrackEntry:
			commitTrack()
			continue
		case idBlockGroup:
			inBlockGroup = true
			continue
		case idChapterAtom:
			chapters = append(chapters, chapter{})
			continue
		case idCues:
			sawCues = true
			if lay.cues < 0 {
				lay.cues = rel
			}
			err = e.skip(n)
		case idTimestampScale, idTimestamp, idTrackNumber, idTrackType, idChapterStart:
			var v uint64
			v, err = e.uint(n)
			if err != nil {
				break
			}
			switch id {
			case idTimestampScale:
				if v > 0 {
					scale = v
				}
			case idTimestamp:
				clusterTC = v
			case idTrackNumber:
				curTrackNum = v
			case idTrackType:
				curType = v
			case idChapterStart:
				if len(chapters) > 0 {
					chapters[len(chapters)-1].start = v
				}
			}
		case idDuration:
			if n > 8 {
				err = e.skip(n)
				break
			}
			infoDur, err = e.float(n)
		case idChapString, idTagName, idTagString:
			if n > maxText {
				err = e.skip(n)
				break
			}
			var p []byte
			p, err = e.read(n)
			if err != nil {
				break
			}
			switch id {
			case idChapString:
				if inChaps && len(chapters) > 0 {
					chapters[len(chapters)-1].label = string(p)
				}
			case idTagName:
				tagName = string(p)
			case idTagString:
				if tagName == "DURATION" && tagDur == "" {
					tagDur = string(p)
				}
			}
		case idSimpleBlock, idBlock:
			if id == idBlock && !inBlockGroup {
				err = e.skip(n)
				break
			}
			inBlockGroup = false
			if n > uint64(e.size-e.pos) {
				truncated = true
				break loop
			}
			start := e.pos
			var track uint64
			track, _, err = e.vint(false)
			if err != nil {
				truncated = true
				break loop
			}
			var tc []byte
			tc, err = e.read(3)
			if err != nil || e.pos-start > int64(n) {
				truncated = true
				break loop
			}
			rel := int64(int16(binary.BigEndian.Uint16(tc)))
			t := (int64(clusterTC) + rel) * int64(scale)
			rest := n - uint64(e.pos-start)
			switch track {
			case videoTrack:
				err = e.skip(rest)
				if err != nil {
					break
				}
				if frames == 0 {
					first = t
				} else {
					ivl := max(t-last, 0) // a damaged file may go back in time
					if g := time.Duration(ivl); g > maxGap {
						maxGap = g
					}
					if time.Duration(ivl) > gapThreshold {
						gaps = append(gaps, Gap{File: name, At: max(time.Duration(last-first), 0), Gap: time.Duration(ivl)})
					}
					prevIvl = ivl
				}
				frames++
				last = t
			case subTrack:
				if rest > maxText {
					err = e.skip(rest)
					break
				}
				var p []byte
				p, err = e.read(rest)
				if err == nil && strings.HasPrefix(string(p), MarkPrefix) {
					subMarks = append(subMarks, Mark{File: name, At: time.Duration(t), Label: strings.TrimPrefix(string(p), MarkPrefix)})
				}
			default:
				err = e.skip(rest)
			}
		default:
			err = e.skip(n)
		}
		if err != nil {
			truncated = true
			break
		}
	}

	s := Stats{Frames: frames, MaxGap: maxGap, Gaps: gaps}
	if frames > 0 {
		s.Duration = max(time.Duration(last-first)+time.Duration(prevIvl), 0)
	}
	switch {
	case infoDur > 0 && infoDur < float64(math.MaxInt64)/float64(scale):
		s.Duration = time.Duration(infoDur * float64(scale))
	case tagDur != "":
		if d, ok := parseDurationTag(tagDur); ok {
			s.Duration = d
		}
	}
	if len(chapters) > 0 {
		for _, c := range chapters {
			s.Marks = append(s.Marks, Mark{File: name, At: time.Duration(min(c.start, math.MaxInt64)), Label: c.label})
		}
	} else {
		for _, m := range subMarks {
			m.At = max(m.At-time.Duration(first), 0)
			s.Marks = append(s.Marks, m)
		}
	}
	s.Files = []FileInfo{{Name: name, Bytes: size, Frames: frames, Duration: s.Duration, Complete: sawCues && !truncated}}
	lay.hasDuration, lay.scale = infoDur > 0, scale
	return s, lay, nil
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
