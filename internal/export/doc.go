// Package export makes small H.264 MP4 copies of a sealed evidence bundle
// for sharing (WhatsApp, a phone notification, a browser), with the
// station's own reading burned into the picture, and an account of each
// copy (Record) that binds it to the sealed originals.
//
// # The road
//
//  1. OpenSource (source.go) verifies the bundle with internal/evidence — a
//     bundle that fails is never exported — and reads what the export needs:
//     the manifest, each video file's frames (ffprobe), the subtitle track
//     (ffmpeg, as SubRip), weight.csv and the marks. It only reads.
//  2. MakePlan (plan.go) fits the preset's cap: the highest rung of the
//     ladder 720p → 540p → 480p → 360p at 30 fps, then 360p at 15 fps, that
//     leaves at least MinBPP bits per pixel per frame; when none does, equal
//     numbered parts, each within the cap. full keeps the source's size and
//     rate at a constant quality.
//  3. RenderASS (overlay.go) writes the overlay of each part as an ASS
//     script for ffmpeg's ass filter (libass, font DejaVu Sans Mono Bold from
//     Debian's fonts-dejavu-core): date and time in export.time_zone ("(clock
//     not synced)" when it was not), "1840.1 g stable", order reference and
//     tracking number, session id, elapsed video time mm:ss, and a banner
//     for 2 s at each mark; every text at least 4 % of the frame height on an
//     opaque box. The text is evaluated at every output frame from the
//     Timeline (timeline.go): the wall clock recovered from the subtitle
//     track's seconds, the weight from weight.csv on the video time axis (a
//     log written before the one time axis is found and shifted; one that
//     disagrees with the subtitle track is not used, and the track's weights
//     are shown).
//  4. Export (export.go) encodes each part with ffmpeg run as a process
//     (ffmpeg.go; no cgo) at idle CPU and I/O priority, killed with the
//     export; the encoder is h264_v4l2m2m when a one-second probe succeeds
//     (Raspberry Pi ≤ 4), else libx264 (ChooseEncoder). Every output is
//     checked with ffprobe (probe.go): H.264 yuv420p at the planned size,
//     packets within 1 % of the expected frames, duration within 0.5 s; a
//     part over its cap is made again at a lower bitrate.
//  5. The files (the MP4s and their overlay scripts) are left in a work
//     directory outside the bundle (WorkDirFor: <state>/tmp/export-<session>-
//     <preset>) with the Record; Finish hands them to a Binder, the consumer
//     side of the evidence store's addendum mechanism, which moves them into
//     the bundle under a signed addendum whose body is the Record.
//
// In the daemon, a Queue (queue.go) runs the exports one at a time after
// the seals: Pause when a recording starts (the running export stops at
// once, its finished parts kept), Resume after it, and at start it resumes
// what a crash or shutdown cut short.
//
// # Faults
//
// ffmpeg missing: ErrNoFFmpeg naming the Debian package. Cancellation (a
// recording starting, a shutdown): the part being made is removed, the
// finished parts and job.json stay, and the next Export of the same plan
// resumes (PendingExports lists such exports for the daemon). A crash or
// kill -9: ffmpeg dies with the process (parent-death signal), and the next
// Export removes the partial file and resumes. Any other failure (a full
// disk: an error wrapping syscall.ENOSPC) removes the work directory. The
// bundle is never written.
//
// # Written here rather than taken from a library
//
// The SubRip reader, the ASS writer and the progress parser are a few
// dozen lines each over formats ffmpeg itself defines; the Go media
// libraries in the module proxy wrap libav with cgo (which the station's
// CGO_ENABLED=0 builds rule out) or do not render text. ffmpeg does every
// media operation.
package export
