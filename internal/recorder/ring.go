package recorder

import (
	"math/bits"
	"time"
)

// frameRec is a frame the recorder owns: Data is a copy in a pooled buffer.
type frameRec struct {
	data          []byte
	seq           uint64
	t             time.Time
	width, height int
	info          subInfo
}

// bufPool recycles frame buffers by size class. A class is a size with four
// significant bits (…, 96 Ki, 104 Ki, 112 Ki, 120 Ki, 128 Ki, …), so a
// buffer is at most 1/8 larger than the frame it holds and frames of similar
// size share buffers. Not safe for concurrent use: only the goroutine that
// calls Push touches it.
type bufPool struct {
	free  [128][][]byte
	count int
	// max is the number of spare buffers kept; more are left to the GC.
	max int
}

// sizeClass returns the class index and capacity for n bytes.
func sizeClass(n int) (int, int) {
	if n <= 4096 {
		return 0, 4096
	}
	e := bits.Len(uint(n-1)) - 4 // keep 4 significant bits
	c := (n - 1) >> e
	cls := (e-8)<<3 | (c - 8)
	return cls, (c + 1) << e
}

// get returns a buffer of length n, recycled when one of n's class is free.
func (p *bufPool) get(n int) []byte {
	if b, ok := p.take(n); ok {
		return b
	}
	_, c := sizeClass(n)
	return make([]byte, n, c)
}

// take returns a spare buffer of n's class, if there is one.
func (p *bufPool) take(n int) ([]byte, bool) {
	cls, _ := sizeClass(n)
	if cls < len(p.free) {
		if l := len(p.free[cls]); l > 0 {
			b := p.free[cls][l-1]
			p.free[cls][l-1] = nil
			p.free[cls] = p.free[cls][:l-1]
			p.count--
			return b[:n], true
		}
	}
	return nil, false
}

// put returns a buffer to its class, or drops it when the pool is full.
func (p *bufPool) put(b []byte) {
	if b == nil {
		return
	}
	cls, c := sizeClass(cap(b))
	if c != cap(b) || cls >= len(p.free) || p.count >= p.max {
		return // not one of ours, or enough spares
	}
	p.free[cls] = append(p.free[cls], b[:0])
	p.count++
}

// bytes is the capacity held by spare buffers.
func (p *bufPool) bytes() int64 {
	var n int64
	for _, l := range p.free {
		for _, b := range l {
			n += int64(cap(b))
		}
	}
	return n
}

// ring holds the frames of the last span (the pre-roll), oldest first, in a
// circular slice that grows only when the span holds more frames than ever
// before.
type ring struct {
	span  time.Duration
	buf   []frameRec
	head  int // index of the oldest frame
	n     int
	bytes int64 // capacity of the buffers held
}

// push adds f (owned) and evicts frames older than span before the newest,
// handing their buffers to release.
func (r *ring) push(f frameRec, release func([]byte)) {
	if r.span <= 0 {
		release(f.data)
		return
	}
	for r.n > 0 && f.t.Sub(r.buf[r.head].t) > r.span {
		r.popOldest(release)
	}
	if r.n == len(r.buf) {
		nb := make([]frameRec, max(16, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = f
	r.n++
	r.bytes += int64(cap(f.data))
}

func (r *ring) popOldest(release func([]byte)) {
	old := r.buf[r.head]
	r.buf[r.head] = frameRec{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.bytes -= int64(cap(old.data))
	release(old.data)
}

// take moves every frame out of the ring, oldest first, and empties it.
func (r *ring) take() []frameRec {
	out := make([]frameRec, r.n)
	for i := range r.n {
		j := (r.head + i) % len(r.buf)
		out[i] = r.buf[j]
		r.buf[j] = frameRec{}
	}
	r.head, r.n, r.bytes = 0, 0, 0
	return out
}
