package recorder

import (
	"encoding/binary"
	"math"
)

// Matroska element IDs used by the writer and the parser (Matroska
// specification, RFC 9559; EBML, RFC 8794).
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285
	idVoid               = 0xEC
	idCRC32              = 0xBF

	idSegment = 0x18538067

	idSeekHead     = 0x114D9B74
	idSeek         = 0x4DBB
	idSeekID       = 0x53AB
	idSeekPosition = 0x53AC

	idInfo           = 0x1549A966
	idTimestampScale = 0x2AD7B1
	idDuration       = 0x4489
	idDateUTC        = 0x4461
	idMuxingApp      = 0x4D80
	idWritingApp     = 0x5741
	idSegmentUUID    = 0x73A4
	idPrevUUID       = 0x3CB923
	idTitle          = 0x7BA9

	idTracks       = 0x1654AE6B
	idTrackEntry   = 0xAE
	idTrackNumber  = 0xD7
	idTrackUID     = 0x73C5
	idTrackType    = 0x83
	idFlagLacing   = 0x9C
	idFlagDefault  = 0x88
	idCodecID      = 0x86
	idLanguage     = 0x22B59C
	idTrackName    = 0x536E
	idVideo        = 0xE0
	idPixelWidth   = 0xB0
	idPixelHeight  = 0xBA
	idCluster      = 0x1F43B675
	idTimestamp    = 0xE7
	idSimpleBlock  = 0xA3
	idBlockGroup   = 0xA0
	idBlock        = 0xA1
	idBlockDur     = 0x9B
	idCues         = 0x1C53BB6B
	idCuePoint     = 0xBB
	idCueTime      = 0xB3
	idCueTrackPos  = 0xB7
	idCueTrack     = 0xF7
	idCueClusterPs = 0xF1
	idChapters     = 0x1043A770
	idEditionEntry = 0x45B9
	idEditionUID   = 0x45BC
	idChapterAtom  = 0xB6
	idChapterUID   = 0x73C4
	idChapterStart = 0x91
	idChapterEnd   = 0x92
	idChapDisplay  = 0x80
	idChapString   = 0x85
	idChapLanguage = 0x437C
	idTags         = 0x1254C367
	idTag          = 0x7373
	idTargets      = 0x63C0
	idTargetType   = 0x68CA
	idTagTrackUID  = 0x63C5
	idSimpleTag    = 0x67C8
	idTagName      = 0x45A3
	idTagString    = 0x4487
)

// Track types and numbers of the files this package writes.
const (
	trackTypeVideo    = 1
	trackTypeSubtitle = 0x11

	trackVideo    = 1
	trackSubtitle = 2
)

// unknownSize8 is the 8-byte EBML size whose value bits are all ones: "size
// unknown". The Segment and every Cluster are written with it, so a file cut
// anywhere still parses up to the cut.
var unknownSize8 = [8]byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// appendID appends an element ID; IDs carry their own length marker.
func appendID(b []byte, id uint32) []byte {
	switch {
	case id > 0xFFFFFF:
		return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFFFF:
		return append(b, byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFF:
		return append(b, byte(id>>8), byte(id))
	}
	return append(b, byte(id))
}

// sizeLen is the length of the shortest EBML size encoding of n (the
// all-ones value of each length is reserved for "unknown").
func sizeLen(n uint64) int {
	for l := 1; l < 8; l++ {
		if n < 1<<(7*l)-1 {
			return l
		}
	}
	return 8
}

// appendSize appends n as the shortest EBML variable-size integer. Sizes of
// 2^56-1 and more cannot be encoded; the writer never produces them.
func appendSize(b []byte, n uint64) []byte {
	l := sizeLen(n)
	v := n | 1<<(7*l)
	for i := l - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendUint appends an unsigned-integer element in the fewest bytes.
func appendUint(b []byte, id uint32, v uint64) []byte {
	n := 1
	for x := v >> 8; x != 0; x >>= 8 {
		n++
	}
	b = appendID(b, id)
	b = append(b, byte(0x80|n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendInt appends a signed-integer element (8 bytes, big-endian).
func appendInt(b []byte, id uint32, v int64) []byte {
	b = appendID(b, id)
	b = append(b, 0x88)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// appendFloat appends a 64-bit float element.
func appendFloat(b []byte, id uint32, f float64) []byte {
	b = appendID(b, id)
	b = append(b, 0x88)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// appendBytes appends a string, UTF-8 or binary element.
func appendBytes(b []byte, id uint32, p []byte) []byte {
	b = appendID(b, id)
	b = appendSize(b, uint64(len(p)))
	return append(b, p...)
}

// appendString is appendBytes for a string.
func appendString(b []byte, id uint32, s string) []byte {
	b = appendID(b, id)
	b = appendSize(b, uint64(len(s)))
	return append(b, s...)
}

// appendMaster appends a master element whose children are body.
func appendMaster(b []byte, id uint32, body []byte) []byte {
	b = appendID(b, id)
	b = appendSize(b, uint64(len(body)))
	return append(b, body...)
}
