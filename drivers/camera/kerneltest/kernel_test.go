//go:build kernel

package kerneltest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"weighin/internal/recorder"
)

// tools the test needs on the host, with the Debian package that has them.
var tools = map[string]string{
	"qemu-system-x86_64": "qemu-system-x86",
	"cpio":               "cpio",
	"ffprobe":            "ffmpeg",
	"ffmpeg":             "ffmpeg",
}

func lookTools(t *testing.T) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for tool, pkg := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s not found: install Debian package %s (make deps)", tool, pkg)
		}
		paths[tool] = p
	}
	// busybox-static: a dynamically linked busybox would not run in the
	// initramfs, which has no libc.
	bb := "/bin/busybox"
	if out, err := exec.Command("file", "-L", bb).Output(); err == nil && !bytes.Contains(out, []byte("statically")) {
		t.Fatalf("%s is not statically linked (%s): install Debian package busybox-static", bb, bytes.TrimSpace(out))
	}
	if _, err := os.Stat(bb); err != nil {
		t.Fatalf("%v: install Debian package busybox-static (make deps)", err)
	}
	paths["busybox"] = bb
	return paths
}

// kernel finds vmlinuz and the module directory in the unpacked package.
func kernel(t *testing.T) (vmlinuz, modDir string) {
	t.Helper()
	root := os.Getenv("WEIGHIN_KERNEL_DIR")
	if root == "" {
		t.Fatal("WEIGHIN_KERNEL_DIR is not set: run `make test-kernel` (it unpacks Debian's kernel with `make kernel`)")
	}
	vs, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(vs) != 1 {
		t.Fatalf("want one boot/vmlinuz-* under %s, found %v (run `make kernel`)", root, vs)
	}
	ver := strings.TrimPrefix(filepath.Base(vs[0]), "vmlinuz-")
	modDir = filepath.Join(root, "lib", "modules", ver)
	if _, err := os.Stat(modDir); err != nil {
		t.Fatalf("modules of kernel %s: %v", ver, err)
	}
	return vs[0], modDir
}

const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
# One capture node only (video0); a second load after rmmod makes a new one.
export VIVID_KO=/modules/vivid.ko VIVID_ARGS="n_devs=1 node_types=0x1"
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "GUEST kernel $(uname -r), $(nproc) cpus"
for m in $(cat /modules.list); do
  if [ "$m" = vivid ] || [ "$m" = snd_aloop ]; then continue; fi
  insmod /modules/$m.ko || echo "GUEST insmod $m failed"
done
insmod $VIVID_KO $VIVID_ARGS || echo "GUEST insmod vivid failed"
# The sound loopback: one substream, so hw:Loopback,0 feeds hw:Loopback,1.
insmod /modules/snd_aloop.ko pcm_substreams=1 || echo "GUEST insmod snd_aloop failed"
i=0; while [ ! -e /dev/video0 ] || [ ! -e /dev/vda ] || [ ! -e /dev/snd/pcmC0D1c ]; do
  i=$((i+1)); if [ $i -gt 100 ]; then echo "GUEST no /dev/video0 or /dev/vda"; ls /dev; break; fi; sleep 0.1
done
echo GUEST-START
/camera.test -test.v -test.count=1 -test.timeout=4m -test.run '^TestVivid'
rc=$?
# The audio driver's guest tests write their raw samples from 48 MiB on.
AUDIO_DISK_OFFSET=50331648 /audio.test -test.v -test.count=1 -test.timeout=2m -test.run '^TestAloop'
arc=$?
if [ $rc -eq 0 ]; then rc=$arc; fi
echo "GUEST-EXIT $rc"
poweroff -f
`

// initramfs assembles the guest's root: busybox, the modules, the camera
// and audio packages' test binaries and /init, packed with cpio (newc).
func initramfs(t *testing.T, paths map[string]string, modDir string, testBins map[string]string, dir string) string {
	t.Helper()
	order, err := LoadOrder(modDir, "virtio_pci", "virtio_blk", "vivid", "snd_aloop")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	for _, d := range []string{"bin", "modules", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cp := func(src, dst string, mode os.FileMode) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dst), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	cp(paths["busybox"], "bin/busybox", 0o755)
	for name, bin := range testBins {
		cp(bin, name, 0o755)
	}
	var names []string
	for _, m := range order {
		cp(m.Path, "modules/"+m.Name+".ko", 0o644)
		names = append(names, m.Name)
	}
	t.Logf("modules: %s", strings.Join(names, " "))
	if err := os.WriteFile(filepath.Join(root, "modules.list"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(initScript), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "initramfs.cpio")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var list bytes.Buffer
	err = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel != "." {
			list.WriteString(rel + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(paths["cpio"], "--quiet", "-o", "-H", "newc", "-R", "0:0")
	cmd.Dir, cmd.Stdin, cmd.Stdout = root, &list, f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cpio: %v: %s", err, stderr.Bytes())
	}
	return out
}

var resultLine = regexp.MustCompile(`RESULT (.*)`)

// results parses the guest's "RESULT k=v k=v" lines; artifacts are listed
// separately.
type artifact struct {
	name        string
	off, length int64
}

func parseResults(console string) (map[string]string, []artifact) {
	kv := map[string]string{}
	var arts []artifact
	for _, m := range resultLine.FindAllStringSubmatch(console, -1) {
		fields := map[string]string{}
		for _, f := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if name, ok := fields["artifact"]; ok {
			off, _ := strconv.ParseInt(fields["offset"], 10, 64)
			n, _ := strconv.ParseInt(fields["bytes"], 10, 64)
			arts = append(arts, artifact{name, off, n})
			continue
		}
		for k, v := range fields {
			kv[k] = v
		}
	}
	return kv, arts
}

func TestVividInQemu(t *testing.T) {
	start := time.Now()
	paths := lookTools(t)
	vmlinuz, modDir := kernel(t)
	dir := t.TempDir()

	// The camera and audio packages' tests, built static for the guest.
	testBins := map[string]string{}
	for _, b := range []struct{ name, tag, pkg string }{
		{"camera.test", "vividguest", "weighin/drivers/camera"},
		{"audio.test", "aloopguest", "weighin/drivers/audio"},
	} {
		testBins[b.name] = filepath.Join(dir, b.name)
		build := exec.Command("go", "test", "-c", "-tags", b.tag, "-o", testBins[b.name], b.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build guest test binary %s: %v\n%s", b.name, err, out)
		}
	}
	initrd := initramfs(t, paths, modDir, testBins, dir)
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 64<<20); err != nil {
		t.Fatal(err)
	}
	t.Logf("guest assembled in %v", time.Since(start).Round(time.Millisecond))

	resultsPath := filepath.Join(dir, "results.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	qemu := exec.CommandContext(ctx, paths["qemu-system-x86_64"],
		"-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "768",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 loglevel=4",
		"-drive", "file="+disk+",format=raw,if=virtio",
		// ttyS0 is the console; the guest writes its RESULT lines to ttyS1.
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-serial", "file:"+resultsPath,
		"-no-reboot", "-nodefaults",
	)
	var console bytes.Buffer
	pr, pw := io.Pipe()
	qemu.Stdout, qemu.Stderr = pw, pw
	bootStart := time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	var guestStart time.Time
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			console.WriteString(line + "\n")
			if strings.Contains(line, "GUEST-START") {
				guestStart = time.Now()
			}
		}
	}()
	werr := qemu.Wait()
	pw.Close()
	<-scanDone
	elapsed := time.Since(bootStart)
	out := console.String()
	logPath := filepath.Join(dir, "console.log")
	os.WriteFile(logPath, console.Bytes(), 0o644)
	if ctx.Err() != nil {
		t.Fatalf("qemu did not finish within the timeout; console:\n%s", out)
	}
	if werr != nil {
		t.Fatalf("qemu: %v; console:\n%s", werr, out)
	}
	if !strings.Contains(out, "GUEST-EXIT 0") {
		t.Fatalf("guest tests failed; console:\n%s", out)
	}
	t.Logf("guest console (%d bytes):\n%s", len(out), guestPart(out))
	if !guestStart.IsZero() {
		t.Logf("boot to guest tests %v, whole qemu run %v", guestStart.Sub(bootStart).Round(time.Millisecond), elapsed.Round(time.Millisecond))
	}

	results, err := os.ReadFile(resultsPath)
	if err != nil {
		t.Fatalf("guest results: %v", err)
	}
	kv, arts := parseResults(string(results))
	for _, k := range []string{"frames", "fps", "replug_to_frame_ms", "max_gap_ms", "mode", "aloop_tone_sample", "aloop_onset_off_us", "aloop_lost_ms", "av_frames"} {
		if kv[k] == "" {
			t.Fatalf("guest did not report %s; console:\n%s", k, out)
		}
	}
	img, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := strconv.Atoi(kv["frames"])
	judged, recorded := false, false
	for _, a := range arts {
		if a.off < 0 || a.off+a.length > int64(len(img)) {
			t.Fatalf("artifact %s at %d+%d outside the %d-byte disk", a.name, a.off, a.length, len(img))
		}
		p := filepath.Join(dir, a.name)
		if err := os.WriteFile(p, img[a.off:a.off+a.length], 0o644); err != nil {
			t.Fatal(err)
		}
		switch a.name {
		case "aloop.s16":
			judgeTone(t, paths["ffprobe"], p, kv)
			continue
		case "av.mkv":
			judgeSound(t, paths, p, kv)
			continue
		}
		n, info := ffprobe(t, paths["ffprobe"], p)
		t.Logf("ffprobe %s: %s", a.name, info)
		if n != frames {
			t.Errorf("ffprobe counts %d frames in %s, the guest captured %d", n, a.name, frames)
		}
		if strings.HasSuffix(a.name, ".mkv") {
			st, err := recorder.Analyze(p, 200*time.Millisecond)
			if err != nil {
				t.Fatalf("analyze the guest's recording: %v", err)
			}
			t.Logf("recorder.Analyze %s: %d frames, %v, max gap %v, gaps %+v", a.name, st.Frames, st.Duration.Round(time.Millisecond), st.MaxGap.Round(time.Millisecond), st.Gaps)
			if st.Frames != int64(frames) || len(st.Gaps) < 1 {
				t.Errorf("%s: %d frames and %d gaps; want %d frames and the replug gap", a.name, st.Frames, len(st.Gaps), frames)
			}
			recorded = true
		}
		judged = true
	}
	if !recorded {
		t.Errorf("no Matroska recording among the artifacts %v", arts)
	}
	if !judged {
		t.Fatalf("the guest brought out no recording; console:\n%s", out)
	}
	fmt.Printf("\nKERNEL TIER (vivid in qemu TCG, %s):\n", kv["mode"])
	fmt.Printf("  frames captured:          %s (ffprobe agrees)\n", kv["frames"])
	fmt.Printf("  frame rate:               %s fps\n", kv["fps"])
	fmt.Printf("  unplug detected after:    %s ms\n", kv["unplug_detect_ms"])
	fmt.Printf("  replug to first frame:    %s ms\n", kv["replug_to_frame_ms"])
	fmt.Printf("  continuity:               max gap %s ms, %s gap(s) > 200 ms over %s ms\n", kv["max_gap_ms"], kv["gaps"], kv["duration_ms"])
	fmt.Printf("  replug gap in the stream: %s ms (listed in the recorder's gaps)\n", kv["replug_gap_ms"])
	fmt.Printf("  recorder (Matroska):      %s frames, %s fps mean, max gap %s ms, %s gap(s) listed\n", kv["rec_frames"], kv["rec_mean_fps"], kv["rec_max_gap_ms"], kv["rec_gaps"])
	fmt.Printf("  sound (snd-aloop):        %s Hz, period %s, ring %s frames; %s blocks, step between blocks at most %s µs\n", kv["aloop_rate"], kv["aloop_period"], kv["aloop_ring"], kv["aloop_blocks"], kv["aloop_block_step_max_us"])
	fmt.Printf("  tone onset vs played:     %s µs (guest, blocks), %s ms (host, raw), %s Hz recovered\n", kv["aloop_onset_off_us"], kv["host_onset_off_ms"], kv["aloop_freq"])
	fmt.Printf("  recording (vivid + mic):  %s; tone onset %s ms from the recorder's mark, %s Hz\n", kv["av_streams"], kv["av_onset_off_ms"], kv["av_freq"])
	fmt.Printf("  overrun:                  %s ms stall, %s ms counted lost, %s xrun(s)\n", kv["aloop_stall_ms"], kv["aloop_lost_ms"], kv["aloop_xruns"])
	fmt.Printf("  total test time:          %v\n\n", time.Since(start).Round(time.Second))
}

// guestPart returns the console from the guest's first line on, without the
// kernel's boot messages.
func guestPart(out string) string {
	if i := strings.Index(out, "GUEST "); i >= 0 {
		return out[i:]
	}
	return out
}

// ffprobe counts the video frames of a file by decoding it.
func ffprobe(t *testing.T, bin, path string) (int, string) {
	t.Helper()
	args := []string{"-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "default=noprint_wrappers=1"}
	if strings.HasSuffix(path, ".mjpeg") {
		args = append(args, "-f", "mjpeg")
	}
	out, err := exec.Command(bin, append(args, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	info := strings.Join(strings.Fields(string(out)), " ")
	m := regexp.MustCompile(`nb_read_frames=(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ffprobe %s: no frame count in %q", path, out)
	}
	n, _ := strconv.Atoi(m[1])
	for _, want := range []string{"width=320", "height=180"} {
		if !strings.Contains(info, want) {
			t.Errorf("ffprobe %s: %s, want %s", path, info, want)
		}
	}
	return n, info
}
