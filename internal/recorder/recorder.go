package recorder

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/config"
)

// Errors returned by the Recorder.
var (
	// ErrRecording: Start while a recording runs.
	ErrRecording = errors.New("recorder: already recording")
	// ErrNotRecording: Stop or Mark without a recording.
	ErrNotRecording = errors.New("recorder: not recording")
	// ErrStopping: Start while an earlier Stop has not collected its result;
	// call Stop again.
	ErrStopping = errors.New("recorder: previous recording still stopping")
	// ErrQueueFull: a Mark or Start found the writer queue full.
	ErrQueueFull = errors.New("recorder: writer queue full")
	// ErrRunning: Run called while another Run is active.
	ErrRunning = errors.New("recorder: Run already active")
	// ErrRunEnded: Run's context ended during a recording; the files were
	// finalised and are complete.
	ErrRunEnded = errors.New("recorder: Run ended during a recording")
)

const (
	// SubtitleInterval is the spacing of subtitle updates in video time.
	SubtitleInterval = 250 * time.Millisecond
	// markShown is how long a mark's subtitle stays on screen.
	markShown = 2 * time.Second
	// MarkPrefix starts the subtitle written at a mark; Analyze recovers
	// marks of a cut file (which has no Chapters) from it.
	MarkPrefix = "MARK: "
	// maxLabel bounds a mark's label in bytes.
	maxLabel = 200
	// controlReserve queue slots are kept free of frames for Mark and Stop.
	controlReserve = 8
	// DefaultQueueFrames is the writer queue length when Options leaves it 0:
	// 4 s at 30 fps, enough for the pre-roll to be written to a slow card
	// while live frames keep coming.
	DefaultQueueFrames = 120
)

// Options are the recorder's settings that are not in the configuration.
// The zero value works.
type Options struct {
	// Log receives recording events (files, failures); nil discards them.
	Log *slog.Logger
	// QueueFrames is the writer queue length in frames; 0 means
	// DefaultQueueFrames.
	QueueFrames int
	// QueueAudio is the writer queue's room for audio blocks, apart from
	// the frames'; 0 means DefaultQueueAudio.
	QueueAudio int
	// AudioFormat is the audio track's format for a recording started
	// before any audio block was pushed (PushAudio's blocks decide it
	// otherwise). Zero: such a recording's files get an audio track only
	// from the first file opened after a block came.
	AudioFormat audio.Format
	// BlockWhenFull makes Push wait for room in the queue instead of
	// dropping the frame. For offline use (benchmarks, conversions) only:
	// a live camera must never wait for the card.
	BlockWhenFull bool
	// Create creates a new file for writing. The default creates it with
	// O_EXCL (evidence is never overwritten), mode 0644, and fsyncs the
	// directory so the new name survives a power cut.
	Create func(path string) (File, error)
	// Rand supplies the files' SegmentUUIDs; nil means crypto/rand.
	Rand io.Reader
}

// subInfo is what the subtitle track shows: wall-clock time, live weight
// and order reference.
type subInfo struct {
	Wall      time.Time
	Synced    bool // the wall clock is NTP-synchronised
	WeightG   float64
	Stable    bool
	OrderRef  string
	hasWeight bool
}

type state uint8

const (
	stateIdle state = iota
	stateRecording
	stateStopping
)

type opKind uint8

const (
	opFrame opKind = iota + 1
	opStart
	opMark
	opStop
	opAudio
)

type startReq struct {
	first   int // the number of the first file
	dir     string
	f       File
	preroll []frameRec
	audio   []audioRec
	afmt    audio.Format
	width   int
	height  int
}

type markReq struct {
	at    time.Time
	label string
	note  bool          // a Note: a subtitle only
	shown time.Duration // a Note's time on screen
}

type op struct {
	kind  opKind
	fr    frameRec
	au    audioRec
	mark  markReq
	start *startReq
}

type sessionResult struct {
	stats Stats
	err   error
}

// Recorder keeps the pre-roll and writes recordings. Push, SetInfo, Start,
// Mark, Stop and PreRoll belong to one goroutine (the daemon's); Run is the
// writer goroutine.
type Recorder struct {
	cfg config.Recorder
	opt Options
	log *slog.Logger

	// Owned by the caller's goroutine.
	ring  ring
	pool  bufPool
	info  subInfo
	state state
	last  struct {
		ok   bool
		seq  uint64
		t    time.Time
		w, h int
	}
	drops map[string]int64
	dups  int64
	aring audioRing
	alast struct {
		ok     bool
		t      time.Time
		format audio.Format
	}
	adrops AudioStats // Lost and Dropped of blocks never queued

	// Shared with Run.
	q       chan op
	room    chan struct{} // Options.BlockWhenFull: a token per op taken
	free    chan []byte
	results chan sessionResult
	failed  atomic.Bool
	running atomic.Bool
	qAudio  atomic.Int64 // audio blocks in q
	// failures carries a recording's write error as it happens (capacity
	// 1; Failures).
	failures chan error
}

// New returns a recorder for cfg (the configuration's recorder section).
func New(cfg config.Recorder, opt Options) (*Recorder, error) {
	var errs []error
	check := func(key string, d, lo time.Duration) {
		if d < lo {
			errs = append(errs, fmt.Errorf("recorder: %s must be at least %v, got %v", key, lo, d))
		}
	}
	check("pre_roll", cfg.PreRoll, 0)
	check("cluster", cfg.Cluster, 10*time.Millisecond)
	check("sync_interval", cfg.SyncInterval, time.Millisecond)
	check("max_file_duration", cfg.MaxFileDuration, time.Second)
	check("gap_threshold", cfg.GapThreshold, time.Millisecond)
	if cfg.Cluster > maxRelMS*time.Millisecond {
		errs = append(errs, fmt.Errorf("recorder: cluster must be at most %v, got %v", maxRelMS*time.Millisecond, cfg.Cluster))
	}
	if cfg.MaxFileBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("recorder: max_file_bytes must be at least 65536, got %d", cfg.MaxFileBytes))
	}
	if opt.QueueAudio < 0 {
		errs = append(errs, fmt.Errorf("recorder: QueueAudio must not be negative, got %d", opt.QueueAudio))
	}
	if opt.QueueFrames < 0 {
		errs = append(errs, fmt.Errorf("recorder: QueueFrames must not be negative, got %d", opt.QueueFrames))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opt.QueueFrames == 0 {
		opt.QueueFrames = DefaultQueueFrames
	}
	if opt.QueueAudio == 0 {
		opt.QueueAudio = DefaultQueueAudio
	}
	if opt.Create == nil {
		opt.Create = createFile
	}
	if opt.Rand == nil {
		opt.Rand = rand.Reader
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := opt.QueueFrames + opt.QueueAudio + controlReserve
	return &Recorder{
		cfg: cfg, opt: opt, log: log,
		ring:    ring{span: cfg.PreRoll},
		aring:   audioRing{span: cfg.PreRoll},
		pool:    bufPool{max: 4},
		q:       make(chan op, n),
		room:    make(chan struct{}, 1),
		free:    make(chan []byte, n),
		results: make(chan sessionResult, 1),

		failures: make(chan error, 1),
	}, nil
}

// Failures delivers a recording's write error (a full disk, an I/O error)
// the moment the recording ends on it, without waiting for Stop: the
// recording writes nothing more, and Stop returns the same error with the
// statistics of what was written. At most one error waits; one not taken
// before the next failure is replaced.
func (r *Recorder) Failures() <-chan error { return r.failures }

// failedWith marks the recording failed and tells Failures.
func (r *Recorder) failedWith(file string, err error) {
	r.failed.Store(true)
	r.log.Error("recording failed", "file", file, "err", err)
	select {
	case <-r.failures: // an older one nobody took
	default:
	}
	select {
	case r.failures <- err:
	default:
	}
}

// createFile is the default Options.Create.
func createFile(path string) (File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			f.Close()
			return nil, fmt.Errorf("fsync directory of %s: %w", path, serr)
		}
	}
	return f, nil
}

// FileName is the name of a recording's i-th file: video-000.mkv, ….
func FileName(i int) string { return fmt.Sprintf("video-%03d.mkv", i) }

// SetInfo sets what the subtitle track shows from the next frame on: the
// wall clock (untrusted until NTP syncs; the caller decides what to pass),
// the live weight and whether it is stable, and the order reference. Call
// it at least twice a second, recording or not (e.g. on every weight
// reading): the pre-roll frames keep the information of the moment they
// were captured.
func (r *Recorder) SetInfo(wall time.Time, weightG float64, stable bool, orderRef string) {
	r.info = subInfo{Wall: wall, Synced: r.info.Synced, WeightG: weightG, Stable: stable, OrderRef: orderRef, hasWeight: true}
}

// SetClockSynced says whether the wall clock is NTP-synchronised; until
// it is, the subtitle's time carries "(clock not synced)". Frames pushed
// before any SetInfo show their own capture time.
func (r *Recorder) SetClockSynced(synced bool) { r.info.Synced = synced }

// reclaim takes back the buffers the writer has finished with: while
// idle the pool keeps a few and the GC gets the rest.
func (r *Recorder) reclaim() {
	for {
		select {
		case b := <-r.free:
			r.pool.put(b)
		default:
			return
		}
	}
}

// buffer returns a buffer for n bytes: a spare of n's size class from the
// pool or, while recording, from the buffers the writer has handed back
// (the free channel is the spare store then, bounded by the queue length).
func (r *Recorder) buffer(n int) []byte {
	if b, ok := r.pool.take(n); ok {
		return b
	}
	want, _ := sizeClass(n)
	for range 4 {
		select {
		case b := <-r.free:
			if cls, c := sizeClass(cap(b)); cls == want && c == cap(b) {
				return b[:n]
			}
			r.pool.put(b)
		default:
			return r.pool.get(n)
		}
	}
	return r.pool.get(n)
}

func (r *Recorder) dropped(reason string) {
	if r.state != stateRecording {
		return
	}
	if r.drops == nil {
		r.drops = map[string]int64{}
	}
	r.drops[reason]++
}

// Push takes a frame from the camera. It copies the data (the caller may
// reuse f.Data at once), keeps it in the pre-roll ring, or while recording
// queues it for the writer. It never blocks on the disk unless
// Options.BlockWhenFull is set: with the queue full the frame is dropped
// and counted (DropQueueFull). A frame repeating the previous sequence
// number is a duplicate and is not written.
func (r *Recorder) Push(f camera.Frame) {
	if r.state != stateRecording {
		r.reclaim()
	}
	if r.last.ok {
		if f.Seq == r.last.seq {
			if r.state == stateRecording {
				r.dups++
			}
			return
		}
		if f.Time.Before(r.last.t) {
			r.dropped(DropTimeBackwards)
			return
		}
	}
	if len(f.Data) == 0 {
		r.dropped(DropEmpty)
		return
	}
	r.last.ok, r.last.seq, r.last.t, r.last.w, r.last.h = true, f.Seq, f.Time, f.Width, f.Height
	if r.state == stateRecording {
		if r.failed.Load() {
			r.dropped(DropWriteFailed)
			return
		}
		for len(r.q)-int(r.qAudio.Load()) >= r.opt.QueueFrames {
			if !r.opt.BlockWhenFull {
				r.dropped(DropQueueFull)
				return
			}
			<-r.room // the writer took an op: look again
		}
	}
	b := r.buffer(len(f.Data))
	copy(b, f.Data)
	rec := frameRec{data: b, seq: f.Seq, t: f.Time, width: f.Width, height: f.Height, info: r.info}
	if !r.info.hasWeight { // no SetInfo yet: the frame's own time
		rec.info.Wall = f.Time
	}
	if r.state == stateRecording {
		r.q <- op{kind: opFrame, fr: rec}
		return
	}
	r.ring.push(rec, r.pool.put)
}

// PreRoll reports the ring: frames held, the time they span, and the
// memory held by their buffers, the audio blocks' and spare buffers.
func (r *Recorder) PreRoll() (frames int, span time.Duration, bytes int64) {
	if r.ring.n > 0 {
		first := r.ring.buf[r.ring.head].t
		last := r.ring.buf[(r.ring.head+r.ring.n-1)%len(r.ring.buf)].t
		span = last.Sub(first)
	}
	return r.ring.n, span, r.ring.bytes + r.aring.bytes + r.pool.bytes()
}

// Start begins a recording in dir (which must exist): it creates
// video-000.mkv at once (so a bad directory is an error here) and queues the
// pre-roll, oldest first, ahead of every live frame. Video time 0 is the
// first pre-roll frame.
func (r *Recorder) Start(dir string) error { return r.StartAt(dir, 0) }

// StartAt is Start with the recording's first file numbered first
// (FileName(first)): a session continued after a stop records into the
// next file of its directory, never over an earlier one.
func (r *Recorder) StartAt(dir string, first int) error {
	switch r.state {
	case stateRecording:
		return ErrRecording
	case stateStopping:
		return ErrStopping
	}
	if first < 0 {
		return fmt.Errorf("recorder: start: file number %d", first)
	}
	path := filepath.Join(dir, FileName(first))
	f, err := r.opt.Create(path)
	if err != nil {
		return fmt.Errorf("recorder: start: %w", err)
	}
	pre := r.ring.take()
	req := &startReq{dir: dir, f: f, preroll: pre, audio: r.aring.take(), width: r.last.w, height: r.last.h, first: first}
	req.afmt = r.opt.AudioFormat
	if r.alast.ok {
		req.afmt = r.alast.format
	}
	r.failed.Store(false)
	select { // a failure of an earlier recording nobody took
	case <-r.failures:
	default:
	}
	select {
	case r.q <- op{kind: opStart, start: req}:
	default:
		f.Close()
		for _, fr := range pre {
			r.pool.put(fr.data)
		}
		for _, a := range req.audio {
			r.pool.put(a.data)
		}
		return ErrQueueFull
	}
	r.drops, r.dups, r.adrops = nil, 0, AudioStats{}
	r.state = stateRecording
	r.log.Info("recording started", "dir", dir, "preroll_frames", len(pre))
	return nil
}

// Mark records a moment of the recording: at is its time on the same
// clock as camera.Frame.Time (the zero time means "the last frame pushed").
// It belongs to the file being written when the writer reaches it (after
// every frame pushed before it), in that file's video time (never before
// its first frame); it is written there as a chapter and a "MARK: label"
// subtitle, and returned in Stop's Stats. Labels are cut to 200 bytes of
// valid UTF-8.
func (r *Recorder) Mark(at time.Time, label string) error {
	if r.state != stateRecording {
		return ErrNotRecording
	}
	if at.IsZero() {
		at = r.last.t
	}
	select {
	case r.q <- op{kind: opMark, mark: markReq{at: at, label: cleanLabel(label)}}:
		return nil
	default:
		return ErrQueueFull
	}
}

// Note writes text as a subtitle at at (the clock of camera.Frame.Time,
// zero for the last frame pushed), on screen for shown, like a mark's but
// with no chapter and not in Stop's Stats: the station's live marker of a
// step in the weight ("STEP: −1118.4 g"). Text is cut like a mark's label.
func (r *Recorder) Note(at time.Time, text string, shown time.Duration) error {
	if r.state != stateRecording {
		return ErrNotRecording
	}
	if at.IsZero() {
		at = r.last.t
	}
	select {
	case r.q <- op{kind: opMark, mark: markReq{at: at, label: cleanLabel(text), note: true, shown: max(shown, time.Millisecond)}}:
		return nil
	default:
		return ErrQueueFull
	}
}

// cleanLabel makes a label valid UTF-8 of at most maxLabel bytes.
func cleanLabel(s string) string {
	s = toValidUTF8(s)
	if len(s) <= maxLabel {
		return s
	}
	s = s[:maxLabel]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// Stop ends the recording: the writer writes what is queued, finalises the
// file (Cues, Chapters, Tags with the duration), fsyncs and closes it. It
// returns the statistics, with an error when the recording ended on a
// failure (the files then hold what was written before it, playable up to
// there). Stop waits for Run; if ctx ends first it returns ctx's error and
// a later Stop collects the result.
func (r *Recorder) Stop(ctx context.Context) (Stats, error) {
	switch r.state {
	case stateIdle:
		return Stats{}, ErrNotRecording
	case stateRecording:
		select {
		case r.q <- op{kind: opStop}:
			r.state = stateStopping
		case res := <-r.results:
			return r.collect(res)
		case <-ctx.Done():
			return Stats{}, fmt.Errorf("recorder: stop: %w", ctx.Err())
		}
	}
	select {
	case res := <-r.results:
		return r.collect(res)
	case <-ctx.Done():
		return Stats{}, fmt.Errorf("recorder: stop: %w", ctx.Err())
	}
}

func (r *Recorder) collect(res sessionResult) (Stats, error) {
	r.state = stateIdle
	s := res.stats
	for k, v := range r.drops {
		if s.Dropped == nil {
			s.Dropped = map[string]int64{}
		}
		s.Dropped[k] += v
	}
	s.Duplicated += r.dups
	s.Audio.Lost += r.adrops.Lost
	for k, v := range r.adrops.Dropped {
		s.Audio.drop(k, v)
	}
	r.drops, r.dups, r.adrops = nil, 0, AudioStats{}
	lvl := slog.LevelInfo
	if res.err != nil {
		lvl = slog.LevelError
	}
	r.log.Log(context.Background(), lvl, "recording stopped", "frames", s.Frames,
		"duration", s.Duration, "files", len(s.Files), "err", res.err)
	return s, res.err
}

// Run is the writer: it writes queued frames, flushes and fsyncs the open
// file every sync_interval of wall-clock time, and returns when ctx ends.
// A recording still open then is finalised (its Stop returns ErrRunEnded).
func (r *Recorder) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	tick := time.NewTicker(r.cfg.SyncInterval)
	defer tick.Stop()
	var s *session
	for {
		select {
		case <-ctx.Done():
		drain:
			for {
				select {
				case o := <-r.q:
					s = r.handle(s, o)
				default:
					break drain
				}
			}
			if s != nil {
				r.deliver(s.end(ErrRunEnded))
			}
			return nil
		case o := <-r.q:
			s = r.handle(s, o)
		case <-tick.C:
			if s != nil {
				s.sync()
			}
		}
	}
}

func (r *Recorder) deliver(res sessionResult) {
	select {
	case r.results <- res:
	default:
		r.log.Error("recording result not collected; dropped", "err", res.err)
	}
}

func (r *Recorder) release(b []byte) {
	select {
	case r.free <- b:
	default:
	}
}

func (r *Recorder) handle(s *session, o op) *session {
	if r.opt.BlockWhenFull {
		select {
		case r.room <- struct{}{}:
		default:
		}
	}
	switch o.kind {
	case opStart:
		if s != nil {
			r.deliver(s.end(ErrRecording))
		}
		s = r.newSession(o.start)
		// The pre-roll's frames and audio blocks, merged in time order.
		pre, au := o.start.preroll, o.start.audio
		for len(pre) > 0 || len(au) > 0 {
			if len(au) > 0 && (len(pre) == 0 || au[0].t.Before(pre[0].t)) {
				s.audio(au[0])
				r.release(au[0].data)
				au = au[1:]
				continue
			}
			s.frame(pre[0])
			r.release(pre[0].data)
			pre = pre[1:]
		}
	case opAudio:
		r.qAudio.Add(-1)
		if s != nil {
			s.audio(o.au)
		}
		r.release(o.au.data)
	case opFrame:
		if s != nil {
			s.frame(o.fr)
		}
		r.release(o.fr.data)
	case opMark:
		if s != nil {
			s.mark(o.mark)
		}
	case opStop:
		if s != nil {
			r.deliver(s.end(nil))
			s = nil
		}
	}
	return s
}

// session is one recording, owned by Run.
type session struct {
	r        *Recorder
	dir      string
	idx      int
	cur      *mkvFile
	stats    Stats
	err      error
	nextSlot int64
	width    int
	height   int

	haveLast bool
	last     time.Time
	lastFile string
	lastMS   int64
	lastIvl  time.Duration
	pending  []markReq
	text     []byte
	dirty    bool

	// Audio.
	afmt     audio.Format // the audio track's format; zero: none yet
	astats   AudioStats
	apending []audioRec // blocks before the file's first frame
	aLastMS  int64      // the last block written: video time and samples
	aLastN   int64
	aNext    time.Time // capture time just after the last block written
	aHave    bool
}

func (r *Recorder) newUUID() [16]byte {
	var u [16]byte
	if _, err := io.ReadFull(r.opt.Rand, u[:]); err != nil {
		// A UUID is an identifier, not a secret: fall back to the clock.
		n := time.Now().UnixNano()
		for i := range 8 {
			u[i] = byte(n >> (8 * i))
		}
	}
	return u
}

func (r *Recorder) newSession(req *startReq) *session {
	s := &session{r: r, dir: req.dir, idx: req.first, width: req.width, height: req.height, text: make([]byte, 0, 256), afmt: req.afmt}
	s.cur = newMKVFile(FileName(req.first), req.f, r.newUUID(), nil)
	s.cur.width, s.cur.height = req.width, req.height
	return s
}

func (s *session) drop(reason string) {
	if s.stats.Dropped == nil {
		s.stats.Dropped = map[string]int64{}
	}
	s.stats.Dropped[reason]++
}

// fail ends the recording on err: the open file keeps what reached it.
func (s *session) fail(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	s.r.failedWith(s.cur.name, err)
	_ = s.cur.closeAfterError()
	n, samples := s.cur.lost()
	if n > 0 {
		s.stats.Frames -= n
		if s.stats.Dropped == nil {
			s.stats.Dropped = map[string]int64{}
		}
		s.stats.Dropped[DropWriteFailed] += n
	}
	s.astats.drop(DropWriteFailed, samples)
	s.addFile(s.cur, false)
}

func (s *session) addFile(m *mkvFile, complete bool) {
	dur := time.Duration(0)
	if m.frames > 0 {
		dur = time.Duration(m.lastMS-m.firstMS)*time.Millisecond + s.lastDisplay(m)
	}
	s.stats.Files = append(s.stats.Files, FileInfo{
		Name: m.name, Bytes: m.hw.n, SHA256: m.sum(), Frames: m.frames,
		Duration: dur, Complete: complete, AudioSamples: m.aSamples,
	})
	s.stats.Duration += dur
	s.astats.Blocks += m.aBlocks
	s.astats.Samples += m.aSamples
}

// lastDisplay is how long m's last frame is shown: until the next frame
// (set when rotating), else the interval before it.
func (s *session) lastDisplay(m *mkvFile) time.Duration {
	if m.frames == 0 {
		return 0
	}
	return time.Duration(roundMS(s.lastIvl)) * time.Millisecond
}

func (s *session) needRotate(m *mkvFile, fr frameRec) bool {
	if m.pos()+int64(len(fr.data))+32+m.tailReserve() > s.r.cfg.MaxFileBytes {
		return true
	}
	if fr.t.Sub(m.base) >= s.r.cfg.MaxFileDuration {
		return true
	}
	return fr.width != 0 && fr.height != 0 && (fr.width != m.width || fr.height != m.height)
}

// rotate finishes the current file (its last frame shown for gap) and
// opens the next.
func (s *session) rotate(gap time.Duration) {
	m := s.cur
	s.lastIvl = gap
	durMS := m.lastMS - m.firstMS + roundMS(gap)
	if err := m.finish(durMS); err != nil {
		s.fail(err)
		return
	}
	s.addFile(m, true)
	s.idx++
	name := FileName(s.idx)
	f, err := s.r.opt.Create(filepath.Join(s.dir, name))
	if err != nil {
		s.err = fmt.Errorf("recorder: create %s: %w", name, err)
		s.r.failedWith(name, s.err)
		return
	}
	prev := m.uuid
	s.cur = newMKVFile(name, f, s.r.newUUID(), &prev)
	s.nextSlot = 0
	s.r.log.Info("recording rotated", "file", name)
}

func (s *session) frame(fr frameRec) {
	if s.err != nil {
		s.drop(DropWriteFailed)
		return
	}
	var gap time.Duration
	if s.haveLast {
		gap = fr.t.Sub(s.last)
	}
	if s.cur.frames > 0 && s.needRotate(s.cur, fr) {
		s.rotate(gap)
		if s.err != nil {
			s.drop(DropWriteFailed)
			return
		}
	}
	m := s.cur
	if !m.headerDone {
		m.base, m.wall = fr.t, fr.info.Wall
		// A rotated file starts where the last file's sound ended, if
		// that is before its first frame: the audio stays continuous
		// across files (its blocks arrive a block's length late).
		if s.aHave && s.aNext.Before(fr.t) && fr.t.Sub(s.aNext) < time.Second {
			m.base = s.aNext
			m.wall = fr.info.Wall.Add(-fr.t.Sub(s.aNext))
		}
		m.hasAudio, m.afmt = s.afmt != (audio.Format{}), s.afmt
		if err := m.writeHeader(fr.width, fr.height); err != nil {
			s.fail(err)
			s.drop(DropWriteFailed)
			return
		}
	}
	ms := roundMS(fr.t.Sub(m.base))
	if slot := ms / int64(SubtitleInterval/time.Millisecond); m.subs == 0 || slot >= s.nextSlot {
		s.text = appendInfoText(s.text[:0], fr.info)
		at := slot * int64(SubtitleInterval/time.Millisecond)
		if err := m.writeSub(at, int64(SubtitleInterval/time.Millisecond), s.text); err != nil {
			s.fail(err)
			s.drop(DropWriteFailed)
			return
		}
		s.nextSlot = slot + 1
	}
	if err := m.writeFrame(ms, int64(s.r.cfg.Cluster/time.Millisecond), fr.data); err != nil {
		s.fail(err)
		s.drop(DropWriteFailed)
		return
	}
	s.dirty = true
	s.stats.Frames++
	if s.haveLast {
		s.lastIvl = gap
		if gap > s.stats.MaxGap {
			s.stats.MaxGap = gap
		}
		if gap > s.r.cfg.GapThreshold {
			s.stats.Gaps = append(s.stats.Gaps, Gap{File: s.lastFile, At: time.Duration(s.lastMS) * time.Millisecond, Gap: gap})
		}
	}
	s.haveLast, s.last, s.lastFile, s.lastMS = true, fr.t, m.name, ms
	if len(s.pending) > 0 {
		p := s.pending
		s.pending = nil
		for _, mk := range p {
			s.mark(mk)
		}
	}
	if len(s.apending) > 0 {
		s.flushPendingAudio()
	}
}

// appendInfoText formats the subtitle line.
func appendInfoText(b []byte, in subInfo) []byte {
	b = in.Wall.UTC().AppendFormat(b, "2006-01-02 15:04:05 UTC")
	if !in.Synced {
		b = append(b, " (clock not synced)"...)
	}
	b = append(b, "  |  "...)
	if in.hasWeight {
		b = strconv.AppendFloat(b, in.WeightG, 'f', 1, 64)
		b = append(b, " g"...)
		if in.Stable {
			b = append(b, " stable"...)
		} else {
			b = append(b, " unstable"...)
		}
	} else {
		b = append(b, "weight n/a"...)
	}
	if in.OrderRef != "" {
		b = append(b, "  |  order "...)
		b = append(b, in.OrderRef...)
	}
	return b
}

func (s *session) mark(mr markReq) {
	m := s.cur
	if !m.headerDone {
		if s.err == nil {
			s.pending = append(s.pending, mr)
			return
		}
	}
	at := mr.at.Sub(m.base)
	if at < 0 || m.base.IsZero() {
		at = 0
	}
	ms := roundMS(at)
	ms = min(max(ms, m.clusterMS), m.clusterMS+maxRelMS)
	if mr.note {
		if s.err == nil {
			if err := m.writeSub(ms, int64(mr.shown/time.Millisecond), []byte(mr.label)); err != nil {
				s.fail(err)
			}
			s.dirty = true
		}
		return
	}
	mk := Mark{File: m.name, At: at, Label: mr.label}
	s.stats.Marks = append(s.stats.Marks, mk)
	if s.err != nil {
		return
	}
	m.marks = append(m.marks, mk)
	text := append([]byte(MarkPrefix), mr.label...)
	if err := m.writeSub(ms, int64(markShown/time.Millisecond), text); err != nil {
		s.fail(err)
	}
	s.dirty = true
}

// sync flushes and fsyncs the open file, if anything was written since.
func (s *session) sync() {
	if s.err != nil || !s.dirty {
		return
	}
	s.dirty = false
	if err := s.cur.sync(); err != nil {
		s.fail(err)
	}
}

// end finishes the recording; cause, if not nil, is the reason it ends
// other than Stop.
func (s *session) end(cause error) sessionResult {
	for _, mk := range s.pending {
		if mk.note {
			continue
		}
		s.stats.Marks = append(s.stats.Marks, Mark{File: s.cur.name, Label: mk.label})
	}
	if s.err == nil {
		m := s.cur
		durMS := m.lastMS - m.firstMS + roundMS(s.lastIvl)
		if m.frames == 0 {
			durMS = 0
		}
		if err := m.finish(durMS); err != nil {
			s.fail(err)
		} else {
			s.addFile(m, true)
		}
	}
	for _, a := range s.apending { // no frame ever came: no file to hold them
		s.r.release(a.data)
	}
	s.apending = nil
	s.astats.Format = s.afmt
	s.astats.Duration = samplesDuration(s.astats.Samples, s.afmt.Rate)
	s.stats.Audio = s.astats
	err := s.err
	if err == nil {
		err = cause
	}
	return sessionResult{stats: s.stats, err: err}
}
