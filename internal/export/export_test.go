package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"weighin/internal/export/exporttest"
	"weighin/internal/result"
)

// TestChat60s is the one real 60 s 720p30 chat export: within the cap,
// checked by ffprobe, the sealed files untouched, and the overlay read by
// tesseract on three frames (the first in the pre-roll) matching the
// weight log and the clock.
func TestChat60s(t *testing.T) {
	tl := testTools(t)
	state := t.TempDir()
	wall := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	b, err := exporttest.Make(state, exporttest.Spec{
		Duration: 60 * time.Second, Distinct: 6, Quality: 75, Wall: wall, ClockSynced: true,
		OrderRef: "12345", Tracking: "LX123456785CN",
		Marks: []exporttest.MarkSpec{{At: 30 * time.Second, Label: "torn sleeve"}},
		Steps: []result.Step{{TS: 22, SettledS: 24, BeforeG: 1840, AfterG: 721.6, DeltaG: -1118.4, Kind: result.StepRemoved, Items: []string{"Sneakers"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := dirHashes(t, b.Dir)
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var last Progress
	start := time.Now()
	res, err := Export(ctx, tl, src, Options{Preset: PresetChat, WorkDir: WorkDirFor(state, src.SessionID, PresetChat),
		Zone: berlin, NormalPriority: true, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("60 s 720p30 chat export in %v", time.Since(start).Round(time.Millisecond))
	sameHashes(t, before, dirHashes(t, b.Dir))
	vids := res.Videos()
	if len(vids) != 1 || vids[0].Name != "export-chat.mp4" {
		t.Fatalf("videos %+v, want one export-chat.mp4", vids)
	}
	v := vids[0]
	if v.Bytes > ChatCap || v.Bytes < ChatCap/3 {
		t.Errorf("export-chat.mp4 is %d bytes, want at most %d and not wasting the cap", v.Bytes, ChatCap)
	}
	if c := v.Check; c == nil || c.Packets != 1800 || c.Width != 1280 || c.Height != 720 {
		t.Errorf("check %+v, want 1800 packets at 1280x720", v.Check)
	}
	if last.Percent() != 100 {
		t.Errorf("last progress %+v, want 100 %%", last)
	}
	// ffprobe, independently: H.264 High at level 3.1, yuv420p, and the
	// index (moov) before the data (+faststart).
	mi, err := Probe(ctx, tl, v.Path)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Codec != "h264" || mi.Profile != "High" || mi.Level != 31 || mi.PixFmt != "yuv420p" || mi.Audio {
		t.Errorf("probe %+v, want h264 High 3.1 yuv420p without audio", mi)
	}
	if d := mi.FormatDuration - 60*time.Second; d.Abs() > 500*time.Millisecond {
		t.Errorf("duration %v, want 60 s ± 0.5 s", mi.FormatDuration)
	}
	if moov, mdat := atomOffset(t, v.Path, "moov"), atomOffset(t, v.Path, "mdat"); moov < 0 || moov > mdat {
		t.Errorf("moov at %d, mdat at %d: not faststart", moov, mdat)
	}
	// The record binds the file to the originals.
	rec := res.Record
	if rec.ManifestSHA256 == "" || rec.SessionID != b.SessionID || rec.Encoder != EncoderX264 || !strings.HasPrefix(rec.FFmpegVersion, "ffmpeg version") {
		t.Errorf("record header %+v", rec)
	}
	man := map[string]string{}
	for _, f := range manifestFiles(t, b.Dir) {
		man[f[0]] = f[1]
	}
	if len(rec.Originals) != 2 || man[rec.Originals[0].Name] != rec.Originals[0].SHA256 || rec.Originals[1].Name != "weight.csv" || man["weight.csv"] != rec.Originals[1].SHA256 {
		t.Errorf("originals %+v, manifest %v", rec.Originals, man)
	}
	if len(rec.Mapping) != 1 || rec.Mapping[0].Original != "video-000.mkv" || rec.Mapping[0].ExportEndS != 60 {
		t.Errorf("mapping %+v", rec.Mapping)
	}
	if len(rec.Commands) != 1 || !strings.Contains(strings.Join(rec.Commands[0].Args, " "), "-c:v libx264 -preset veryfast -profile:v high -level:v 3.1") {
		t.Errorf("commands %+v", rec.Commands)
	}
	if rec.Overlay.WeightSource != "weight.csv" || rec.Overlay.TimeZone != "Europe/Berlin" {
		t.Errorf("overlay %+v", rec.Overlay)
	}
	// The picture, read by tesseract, against the weight log and the clock.
	for _, sec := range []float64{3.5, 25.5, 50.5} {
		at := time.Duration(sec * float64(time.Second))
		g, st := weightLogAt(t, b.Dir, at)
		wantW := FormatGrams(g) + " stable"
		if !st {
			t.Fatalf("weight log unstable at %v: pick another frame", at)
		}
		wantT := wall.Add(at).In(berlin).Format("2006-01-02 15:04:05 MST")
		text := ocrFrame(t, tl, v.Path, sec)
		want := []string{wantW, wantT, FormatElapsed(at), "order 12345", "LX123456785CN"}
		if sec == 25.5 { // the step's caption, 1.5 s after it settled
			want = append(want, "1118.4 g", "Sneakers")
		}
		if m := containsAll(squash(text), want...); len(m) > 0 {
			t.Errorf("frame at %.1f s: tesseract did not read %q in:\n%s", sec, m, text)
		}
	}
}

// squash joins what tesseract split over several spaces.
func squash(s string) string { return regexp.MustCompile(`[ \t]+`).ReplaceAllString(s, " ") }

// weightLogAt reads the bundle's weight.csv: the row at or before t.
func weightLogAt(t testing.TB, dir string, at time.Duration) (float64, bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "weight.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := ReadWeightLog(f)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := readingAt(rs, at)
	if !ok {
		t.Fatalf("weight log has no row at %v", at)
	}
	return r.Grams, r.Stable
}

func manifestFiles(t testing.TB, dir string) [][2]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files []struct{ Name, SHA256 string }
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, f := range m.Files {
		out = append(out, [2]string{f.Name, f.SHA256})
	}
	return out
}

// atomOffset is the offset of a top-level MP4 box, -1 if absent.
func atomOffset(t testing.TB, path, typ string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var off int64
	for {
		var h [16]byte
		if _, err := f.ReadAt(h[:8], off); err != nil {
			return -1
		}
		size := int64(uint32(h[0])<<24 | uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3]))
		if string(h[4:8]) == typ {
			return off
		}
		if size == 1 {
			if _, err := f.ReadAt(h[8:16], off+8); err != nil {
				return -1
			}
			size = 0
			for _, c := range h[8:16] {
				size = size<<8 | int64(c)
			}
		}
		if size < 8 {
			return -1
		}
		off += size
	}
}

// childEnv makes the test binary an export process (for the kill -9
// test): its value is "<bundle dir>|<work dir>".
const childEnv = "WEIGHIN_EXPORT_CHILD"

// exportChild exports with a 1 MB cap and prints PART2 when the second
// part starts.
func exportChild() int {
	bundle, wd, _ := strings.Cut(os.Getenv(childEnv), "|")
	tl, err := FindTools("", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, bundle)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	said := false
	_, err = Export(ctx, tl, src, Options{Preset: PresetChat, WorkDir: wd, CapBytes: 1_000_000, Zone: time.UTC, NormalPriority: true,
		Progress: func(p Progress) {
			if p.Part == 2 && !said {
				said = true
				fmt.Println("PART2")
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSplitRotatedResumeAfterKill: a 60 s recording rotated into three
// files, exported under a 1 MB cap, is split into two parts of one time
// axis; the export process is killed with SIGKILL while making part 2
// (ffmpeg dies with it), and the next run keeps part 1 and finishes.
func TestSplitRotatedResumeAfterKill(t *testing.T) {
	tl := testTools(t)
	state := t.TempDir()
	b, err := exporttest.Make(state, exporttest.Spec{
		Duration: 60 * time.Second, Width: 640, Height: 360, FPS: 15, Distinct: 4, Quality: 70,
		MaxFileDuration: 25 * time.Second, ClockSynced: true, OrderRef: "12345", Tracking: "LX123456785CN",
	})
	if err != nil {
		t.Fatal(err)
	}
	before := dirHashes(t, b.Dir)
	wd := WorkDirFor(state, b.SessionID, PresetChat)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+b.Dir+"|"+wd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "PART2\n" {
		cmd.Wait()
		t.Fatalf("child said %q, %v; stderr: %s", line, err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// ffmpeg, its child, dies with it (parent-death signal).
	deadline := time.Now().Add(5 * time.Second)
	for len(procsIn(wd)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes still running in %s after the kill: %v", wd, procsIn(wd))
		}
		time.Sleep(50 * time.Millisecond)
	}
	pend, err := PendingExports(state)
	if err != nil || len(pend) != 1 || pend[0].SessionID != b.SessionID || pend[0].Preset != PresetChat {
		t.Fatalf("PendingExports = %+v, %v; want the killed export", pend, err)
	}
	part1 := filepath.Join(wd, "export-chat-part1of2.mp4")
	st1, err := os.Stat(part1)
	if err != nil {
		t.Fatalf("part 1 not kept after the kill: %v", err)
	}

	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Videos) != 3 || src.Duration != 60*time.Second {
		t.Fatalf("source: %d files, %v; want 3 files of one 60 s axis", len(src.Videos), src.Duration)
	}
	res, err := Export(ctx, tl, src, Options{Preset: PresetChat, WorkDir: wd, CapBytes: 1_000_000, Zone: time.UTC, NormalPriority: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 1 {
		t.Errorf("resumed %d parts, want 1", res.Resumed)
	}
	if st, err := os.Stat(part1); err != nil || !os.SameFile(st, st1) || !st.ModTime().Equal(st1.ModTime()) {
		t.Errorf("part 1 was made again after the resume")
	}
	names, _ := filepath.Glob(filepath.Join(wd, "*"))
	for _, n := range names {
		if strings.Contains(filepath.Base(n), partialPrefix) {
			t.Errorf("partial file left: %s", n)
		}
	}
	for _, o := range res.Outputs {
		if _, err := os.Stat(o.Path); err != nil {
			t.Errorf("output %s: path %q: %v", o.Name, o.Path, err)
		}
	}
	vids := res.Videos()
	if len(vids) != 2 || res.Record.Split == "" {
		t.Fatalf("videos %+v split %q, want two parts and the reason", vids, res.Record.Split)
	}
	for _, v := range vids {
		if v.Bytes > 1_000_000 || v.Check == nil || v.Check.Packets != 450 || v.Check.Height != 360 {
			t.Errorf("%s: %d bytes, check %+v; want ≤ 1 MB, 450 frames of 360p15", v.Name, v.Bytes, v.Check)
		}
	}
	wantMap := []Segment{
		{File: "export-chat-part1of2.mp4", ExportStartS: 0, ExportEndS: 25, Original: "video-000.mkv", OriginalStartS: 0, VideoStartS: 0},
		{File: "export-chat-part1of2.mp4", ExportStartS: 25, ExportEndS: 30, Original: "video-001.mkv", OriginalStartS: 0, VideoStartS: 25},
		{File: "export-chat-part2of2.mp4", ExportStartS: 0, ExportEndS: 20, Original: "video-001.mkv", OriginalStartS: 5, VideoStartS: 30},
		{File: "export-chat-part2of2.mp4", ExportStartS: 20, ExportEndS: 30, Original: "video-002.mkv", OriginalStartS: 0, VideoStartS: 50},
	}
	if fmt.Sprint(res.Record.Mapping) != fmt.Sprint(wantMap) {
		t.Errorf("mapping\n got %+v\nwant %+v", res.Record.Mapping, wantMap)
	}
	// Part 2 continues the axis: its first second shows 00:30 and the
	// weight of the log at 30.5 s.
	g, _ := weightLogAt(t, b.Dir, 30500*time.Millisecond)
	text := ocrFrame(t, tl, vids[1].Path, 0.5)
	if m := containsAll(squash(text), "00:30", FormatGrams(g)+" stable"); len(m) > 0 {
		t.Errorf("part 2 at 0.5 s: tesseract did not read %q in:\n%s", m, text)
	}
	sameHashes(t, before, dirHashes(t, b.Dir))
	if pend, _ := PendingExports(state); len(pend) != 0 {
		t.Errorf("still pending after the resume: %+v", pend)
	}
}

// procsIn lists the pids of processes whose working directory is dir.
func procsIn(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestPresetsSmall: phone and full on a small source, and a still at the mark.
func TestPresetsSmall(t *testing.T) {
	tl := testTools(t)
	b := small(t)
	before := dirHashes(t, b.Dir)
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, preset := range []string{PresetPhone, PresetFull} {
		res, err := Export(ctx, tl, src, Options{Preset: preset, WorkDir: filepath.Join(t.TempDir(), "w"), NormalPriority: true})
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		v := res.Videos()
		if len(v) != 1 || v[0].Check == nil || v[0].Check.Packets != 300 || v[0].Check.Width != 640 || v[0].Check.Height != 360 {
			t.Errorf("%s: %+v, want one 640x360 file of 300 frames", preset, v)
		}
		cap, _ := PresetCap(preset)
		if cap > 0 && v[0].Bytes > cap {
			t.Errorf("%s: %d bytes over the cap %d", preset, v[0].Bytes, cap)
		}
		if preset == PresetFull && !strings.Contains(strings.Join(res.Record.Commands[0].Args, " "), "-crf 23") {
			t.Errorf("full is not quality-based: %v", res.Record.Commands[0].Args)
		}
		if res.Record.Encoder != EncoderX264 || !strings.Contains(res.Record.EncoderReason, "h264_v4l2m2m unusable") {
			t.Errorf("encoder %s (%s), want libx264 with the reason the hardware encoder is not used", res.Record.Encoder, res.Record.EncoderReason)
		}
	}
	still := filepath.Join(t.TempDir(), "mark-1.jpg")
	if err := Still(ctx, tl, src, 7500*time.Millisecond, time.UTC, still); err != nil {
		t.Fatal(err)
	}
	mi, err := Probe(ctx, tl, still)
	if err != nil || mi.Codec != "mjpeg" || mi.Width != 640 {
		t.Errorf("still: %+v, %v; want a 640-wide JPEG", mi, err)
	}
	if text := squash(ocrFrame(t, tl, still, 0)); !strings.Contains(text, "MARK 1") || !strings.Contains(text, "00:07") {
		t.Errorf("still at the mark: tesseract read %q, want the mark banner and 00:07", text)
	}
	sameHashes(t, before, dirHashes(t, b.Dir))
}

// TestDiskFull: the work directory on a 160 KiB tmpfs; the export fails with
// the cause, leaves nothing behind, and the bundle is untouched.
func TestDiskFull(t *testing.T) {
	tl := testTools(t)
	b := small(t)
	before := dirHashes(t, b.Dir)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(mnt, "export")
	_, err = Export(ctx, tl, src, Options{Preset: PresetFull, WorkDir: wd, NormalPriority: true})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full in "+wd) {
		t.Fatalf("Export on a full disk = %v, want ENOSPC naming the work directory", err)
	}
	if ents, _ := os.ReadDir(mnt); len(ents) != 0 {
		t.Errorf("left on the full disk: %v", ents)
	}
	sameHashes(t, before, dirHashes(t, b.Dir))
}

// TestCancelKeepsResumable: cancelling removes the partial file and leaves
// the export pending; idle priority is what the station uses.
func TestCancelKeepsResumable(t *testing.T) {
	tl := testTools(t)
	b := copyState(t, small(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wd := WorkDirFor(b.StateDir, b.SessionID, PresetChat)
	_, err = Export(ctx, tl, src, Options{Preset: PresetChat, WorkDir: wd, Progress: func(p Progress) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Export = %v, want context.Canceled", err)
	}
	ents, _ := os.ReadDir(wd)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), partialPrefix) || strings.HasSuffix(e.Name(), ".mp4") {
			t.Errorf("left after cancel: %s", e.Name())
		}
	}
	if pend, _ := PendingExports(b.StateDir); len(pend) != 1 {
		t.Errorf("pending after cancel: %+v, want the export", pend)
	}
}

func TestIdlePriority(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), "/bin/sh", []string{"-c", "cut -d' ' -f19 /proc/self/stat; ionice -p $$"}, runOpts{idle: true, stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); len(got) < 2 || got[0] != "19" || got[1] != "idle" {
		t.Errorf("child priority %q, want nice 19 and I/O class idle", out.String())
	}
}

func TestMissingFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, args := range [][2]string{{"", ""}, {"/nonexistent/ffmpeg", ""}} {
		_, err := FindTools(args[0], args[1])
		if !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(err.Error(), "install the Debian package ffmpeg") {
			t.Errorf("FindTools(%q) = %v, want ErrNoFFmpeg naming the package", args[0], err)
		}
	}
}

// TestRefusesUnverified: a bundle with one flipped byte is not exported,
// and the error says which file.
func TestRefusesUnverified(t *testing.T) {
	tl := testTools(t)
	b := copyState(t, small(t))
	p := filepath.Join(b.Dir, "weight.csv")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(p, data, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = OpenSource(context.Background(), tl, b.Dir)
	if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "weight.csv") {
		t.Fatalf("OpenSource of a damaged bundle = %v, want ErrNotVerified naming weight.csv", err)
	}
}

func TestWorkDirOutsideBundle(t *testing.T) {
	dir := t.TempDir()
	_, err := Export(context.Background(), Tools{}, &Source{Dir: dir}, Options{Preset: PresetChat, WorkDir: filepath.Join(dir, "tmp")})
	if err == nil || !strings.Contains(err.Error(), "inside the bundle") {
		t.Errorf("Export into the bundle = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp")); !os.IsNotExist(err) {
		t.Errorf("something was made in the bundle: %v", err)
	}
}

// TestInterruptedBundle: a recording cut by a power failure (the file ends
// mid-cluster, sealed as interrupted) exports up to the cut.
func TestInterruptedBundle(t *testing.T) {
	tl := testTools(t)
	b, err := exporttest.Make(t.TempDir(), exporttest.Spec{Duration: 6 * time.Second, PreRoll: 2 * time.Second, Width: 640, Height: 360, FPS: 15,
		Distinct: 2, Quality: 60, CutTo: 0.6, OrderRef: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Result.Interrupted {
		t.Fatal("bundle not sealed as interrupted")
	}
	ctx := context.Background()
	src, err := OpenSource(ctx, tl, b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.Duration < 2*time.Second || src.Duration > 5*time.Second {
		t.Fatalf("cut source lasts %v, want about 60 %% of 6 s", src.Duration)
	}
	res, err := Export(ctx, tl, src, Options{Preset: PresetFull, WorkDir: filepath.Join(t.TempDir(), "w"), NormalPriority: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Videos(); len(v) != 1 || v[0].Check == nil || v[0].Check.Packets != v[0].Check.Expected {
		t.Errorf("export of the cut recording: %+v", v)
	}
}

// TestQueuePauseResume: a recording starting pauses the running export
// (ffmpeg stops), which carries on after it and is handed to the binder.
func TestQueuePauseResume(t *testing.T) {
	tl := testTools(t)
	b := copyState(t, small(t))
	before := dirHashes(t, b.Dir)
	started := make(chan struct{}, 1)
	type done struct {
		res *Result
		err error
	}
	finished := make(chan done, 1)
	var bound []string
	q := NewQueue(tl, QueueOptions{
		StateDir: b.StateDir,
		Export: Options{Zone: time.UTC, NormalPriority: true, Progress: func(p Progress) {
			select {
			case started <- struct{}{}:
			default:
			}
		}},
		Binder: BinderFunc(func(dir string, rec Record, files []File) error {
			if dir != b.Dir || rec.SessionID != b.SessionID {
				return fmt.Errorf("bind %s %s", dir, rec.SessionID)
			}
			for _, f := range files {
				bound = append(bound, f.Name)
			}
			return nil
		}),
		Done: func(session, preset string, res *Result, err error) { finished <- done{res, err} },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- q.Run(ctx) }()
	q.Add(b.SessionID, PresetChat)
	<-started
	q.Pause()
	wd := WorkDirFor(b.StateDir, b.SessionID, PresetChat)
	deadline := time.Now().Add(5 * time.Second)
	for len(procsIn(wd)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg still running after Pause: %v", procsIn(wd))
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case d := <-finished:
		t.Fatalf("a paused export finished: %+v", d)
	case <-time.After(300 * time.Millisecond):
	}
	q.Resume()
	var d done
	select {
	case d = <-finished:
	case <-time.After(3 * time.Minute):
		t.Fatal("the export did not finish after Resume")
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	if fmt.Sprint(bound) != "[export-chat.ass export-chat.mp4]" {
		t.Errorf("bound %v, want the video and its overlay", bound)
	}
	if _, err := os.Stat(wd); !os.IsNotExist(err) {
		t.Errorf("work directory left after the bind: %v", err)
	}
	cancel()
	<-runDone
	sameHashes(t, before, dirHashes(t, b.Dir))
}
