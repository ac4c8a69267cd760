// Package recorder turns the camera's MJPEG frames into evidence video: a
// pre-roll ring holding the last recorder.pre_roll of frames, a small
// purpose-built Matroska writer, continuity statistics, and Analyze, which
// recomputes those statistics from a file (also a cut one) for crash
// recovery.
//
// # Concurrency
//
// One goroutine — the daemon's — owns the Recorder and calls Push for every
// frame, SetInfo for every weight reading, and Start, Mark and Stop. A
// second goroutine, Run, is the writer. Push copies the frame into a pooled
// buffer and either keeps it in the ring (idle) or hands it to the writer
// through a bounded queue (recording). Push never waits for the disk: a
// Raspberry Pi's SD card can stall for hundreds of milliseconds in fsync
// or garbage collection, and capture, weighing and the button must not
// stall with it. When the queue is full the frame is dropped and counted
// under "queue full", so the statistics say what the file lacks (a synchronous
// writer would instead have lost frames in the camera's kernel queue,
// invisibly). The queue (DefaultQueueFrames, 4 s at 30 fps) is long
// enough for the pre-roll to be written while live frames keep coming.
// Buffers travel back from the writer for reuse: recording costs well under
// one allocation per frame.
//
// # Files
//
// A recording is video-000.mkv, video-001.mkv, … in the session directory,
// rotated before a frame would pass recorder.max_file_bytes or
// recorder.max_file_duration (or when the frame size changes), without
// losing a frame. Each file is Matroska (DocType "matroska"):
//
//   - EBML header; Segment of unknown size; Info (1 ms timestamps,
//     SegmentUUID, PrevUUID linking rotated files, DateUTC from the wall
//     clock given with the first frame); Tracks: 1 = V_MJPEG (the camera's
//     JPEGs as they came, every one a key frame), 2 = S_TEXT/UTF8 (flagged
//     default and forced, so players show it); 3 = A_PCM/INT/LIT, the
//     microphone's S16_LE samples as captured (PushAudio; audio.go), when
//     the recording has sound.
//   - Clusters of unknown size, each at most recorder.cluster long. Video
//     time 0 is the file's first frame (the pre-roll's oldest in
//     video-000.mkv); every frame carries its own capture time.
//   - An audio block (20 ms from the driver) is a SimpleBlock at its first
//     sample's capture time, in the same clusters as the frames (its
//     relative timestamp may be negative: it arrives a block late); the
//     ring holds sound as it holds frames, samples before video time 0 are
//     cut, a rotated file starts where the sound of the last one ended.
//     AudioStats count blocks, samples, missing time (gaps over
//     AudioGapThreshold, from the written timestamps, so Analyze finds
//     the same), Lost and Dropped samples.
//   - A subtitle every SubtitleInterval (250 ms) of video time showing the
//     wall clock, the live weight (stable or not) and the order reference;
//     at a Mark, a "MARK: label" subtitle; at a Note, its text as a
//     subtitle (the station's "STEP: −1120 g"), no chapter.
//   - On Stop or rotation: Cues (one point per cluster), Chapters (one per
//     mark), Tags (DURATION and NUMBER_OF_FRAMES per track), a SeekHead
//     indexing them; then fsync and close.
//
// The open file is flushed and fsynced every recorder.sync_interval of wall
// clock time, and the directory is fsynced when a file is created. Because
// the Segment and the Clusters have unknown size, a file cut by a power
// failure parses and plays up to the cut: at most sync_interval (plus the
// frame being written) is lost.
//
// Nothing is written twice: the SHA-256 of each file is computed from the
// bytes as they are written (no second read), which rules out seeking back
// to patch the header — any patch would change bytes already hashed. So the
// Segment Info carries no Duration element and the header no SeekHead
// pointing at the Cues; the duration is in the DURATION tags and in the
// packets' timestamps, the index is in the Cues at the end. Players show
// the video, subtitles and chapters; a player that wants a duration before
// reading the file (ffprobe's format duration, a seek bar) finds none.
//
// Filling them in afterwards would take a second pass that rewrites and
// re-hashes evidence already written, so the recorder does not, and
// nothing else does either: players and phones get an up-front duration
// from the export (ffmpeg remuxes to MP4), never from the original.
//
// # Errors
//
// A failed write or fsync (a full card, a pulled card) ends the recording:
// the file keeps what reached it and plays up to there, later frames are
// counted as dropped ("write failed"), and Stop returns the statistics
// together with the error (wrapping the cause, e.g. syscall.ENOSPC). The
// Recorder is ready for the next Start. Nothing panics and nothing waits
// forever: Stop is bounded by its context.
package recorder
