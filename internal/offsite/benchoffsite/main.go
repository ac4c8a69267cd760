// Command benchoffsite measures the off-site replicator (`make bench-offsite`):
// the upload of a sealed bundle of about 200 MB to a real S3 server
// (versitygw, POSIX backend, on loopback) from the replicator's Enqueue to
// every object Verified, against `s3cmd put` of the same files to the same
// server in the same run, alternating, and the replicator's CPU time per
// uploaded GB (its hashing, signing, sending and read-back; getrusage of
// this process, which does nothing else meanwhile). Medians of -runs runs.
// Then the station's recorder records 720p30 in real time in this process
// while the bundle is uploaded once more, unpaced, and the dropped frames
// are counted (want 0). Then the same through weighd --sim (weighd.go):
// throughput and CPU per GB of the weighd process, and a 720p30 session
// recorded by weighd while it uploads the bundle.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/config"
	"weighin/internal/evidence"
	"weighin/internal/offsite"
	"weighin/internal/recorder"
	"weighin/internal/recorder/recordertest"
	"weighin/internal/result"
)

const (
	ak = "benchroot"
	sk = "bench-secret-0123456789abcdef"
)

func main() {
	vgw := flag.String("versitygw", ".cache/versitygw/versitygw", "versitygw binary")
	mb := flag.Int("mb", 200, "bundle size in MB (the video file; the seal files add a few KB)")
	runs := flag.Int("runs", 3, "runs of each")
	flag.Parse()
	if err := run(*vgw, *mb, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchoffsite:", err)
		os.Exit(1)
	}
}

func run(vgw string, mb, runs int) error {
	tmp, err := os.MkdirTemp("", "benchoffsite-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	state := filepath.Join(tmp, "state")
	bundle, files, total, err := makeBundle(state, mb)
	if err != nil {
		return err
	}
	root := filepath.Join(tmp, "s3")
	os.MkdirAll(root, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(vgw, "--access", ak, "--secret", sk, "--port", addr, "--quiet", "posix", root)
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("versitygw does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg := filepath.Join(tmp, "s3cfg")
	os.WriteFile(cfg, fmt.Appendf(nil, "[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n", ak, sk, addr, addr), 0o600)
	if out, err := exec.Command("s3cmd", "-c", cfg, "mb", "s3://bench").CombinedOutput(); err != nil {
		return fmt.Errorf("s3cmd mb: %v: %s", err, out)
	}
	fmt.Printf("bundle: %d files, %.1f MB; versitygw on %s (POSIX backend in %s); %d runs each, alternating\n", len(files), float64(total)/1e6, addr, root, runs)

	var ours, theirs, cpuOurs, cpuTheirs []float64
	for i := range runs {
		secs, cpu, err := replicate(state, bundle, addr, fmt.Sprintf("ours-%d", i), total)
		if err != nil {
			return err
		}
		ours, cpuOurs = append(ours, float64(total)/1e6/secs), append(cpuOurs, cpu/(float64(total)/1e9))
		os.RemoveAll(filepath.Join(root, "bench", fmt.Sprintf("ours-%d", i)))

		args := append([]string{"-c", cfg, "--no-progress", "put"}, files...)
		args = append(args, fmt.Sprintf("s3://bench/s3cmd-%d/%s/", i, filepath.Base(bundle)))
		cmd := exec.Command("s3cmd", args...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("s3cmd put: %v: %s", err, out)
		}
		s := time.Since(start).Seconds()
		c := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		theirs, cpuTheirs = append(theirs, float64(total)/1e6/s), append(cpuTheirs, c/(float64(total)/1e9))
		os.RemoveAll(filepath.Join(root, "bench", fmt.Sprintf("s3cmd-%d", i)))
		fmt.Printf("run %d: replicator %.1f MB/s (%.2f CPU s/GB), s3cmd put %.1f MB/s (%.2f CPU s/GB)\n", i+1, ours[i], cpuOurs[i], theirs[i], cpuTheirs[i])
	}
	mo, mt := median(ours), median(theirs)
	fmt.Printf("median: replicator %.1f MB/s, s3cmd put %.1f MB/s, ratio %.2f (want >= 0.8)\n", mo, mt, mo/mt)
	fmt.Printf("median CPU per uploaded GB: replicator %.2f s, s3cmd %.2f s\n", median(cpuOurs), median(cpuTheirs))

	// A recording at 720p30 while the replicator uploads, unpaced.
	frames, dropped, secs, err := recordDuring(tmp, func() error {
		_, _, err := replicate(state, bundle, addr, "during-recording", total)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("recording at 720p30 during an unpaced upload of the bundle (%.1f s): %d frames, %d dropped\n", secs, frames, dropped)
	if dropped != 0 {
		return fmt.Errorf("%d frames dropped during the upload", dropped)
	}
	if mo/mt < 0.8 {
		return fmt.Errorf("ratio %.2f below 0.8", mo/mt)
	}

	// The same through weighd --sim itself.
	w := weighdBench{bin: filepath.Join(tmp, "weighd"), vgw: vgw, tmp: tmp, state: state, creds: filepath.Join(tmp, "creds"), total: total}
	if out, err := exec.Command("go", "build", "-o", w.bin, "./cmd/weighd").CombinedOutput(); err != nil {
		return fmt.Errorf("build weighd: %v: %s", err, out)
	}
	if err := os.WriteFile(w.creds, []byte(ak+"\n"+sk+"\n"), 0o600); err != nil {
		return err
	}
	var wd, wcpu []float64
	for i := range runs {
		mbps, cpu, err := w.upload(i)
		if err != nil {
			return fmt.Errorf("weighd run %d: %w", i+1, err)
		}
		wd, wcpu = append(wd, mbps), append(wcpu, cpu)
		fmt.Printf("weighd run %d (upload after a store outage): %.1f MB/s, %.2f CPU s/GB (net of its idle rate)\n", i+1, mbps, cpu)
	}
	mw := median(wd)
	fmt.Printf("median: weighd %.1f MB/s vs s3cmd put %.1f MB/s, ratio %.2f (want >= 0.8); weighd CPU per uploaded GB %.2f s\n", mw, mt, mw/mt, median(wcpu))
	wf, wdrop, wsecs, err := w.duringRecording()
	if err != nil {
		return fmt.Errorf("weighd during a recording: %w", err)
	}
	fmt.Printf("weighd --sim recording at 720p30 while it uploads the bundle unpaced (%.1f s): %d frames, %d dropped\n", wsecs, wf, wdrop)
	if wdrop != 0 {
		return fmt.Errorf("weighd dropped %d frames during the upload", wdrop)
	}
	if mw/mt < 0.8 {
		return fmt.Errorf("weighd's ratio %.2f below 0.8", mw/mt)
	}
	return nil
}

// replicate copies the bundle with a fresh journal under a fresh prefix and
// returns the wall time to all Verified and this process's CPU seconds.
func replicate(state, bundle, addr, prefix string, total int64) (float64, float64, error) {
	store, err := offsite.NewStore(offsite.StoreOptions{Endpoint: "http://" + addr, Bucket: "bench", Prefix: "bench/" + prefix,
		Region: "us-east-1", Credentials: offsite.Credentials{AccessKey: ak, Secret: sk}})
	if err != nil {
		return 0, 0, err
	}
	jdir, err := os.MkdirTemp(filepath.Dir(state), "journal-*")
	if err != nil {
		return 0, 0, err
	}
	r, err := offsite.New(offsite.Options{Store: store, StationID: "bench", StateDir: jdir,
		SessionsDir: filepath.Join(state, evidence.SessionsDir), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu0 := cpuSeconds()
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	if err := r.Enqueue(bundle); err != nil {
		cancel()
		return 0, 0, err
	}
	for {
		st := r.Status()
		if st.BacklogObjects == 0 && st.Objects["verified"] > 0 {
			break
		}
		if len(st.Problems) > 0 {
			cancel()
			return 0, 0, fmt.Errorf("replicator: %+v", st.Problems)
		}
		time.Sleep(2 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	cancel()
	if err := <-done; err != nil {
		return 0, 0, err
	}
	if st := r.Status(); st.UploadedBytes != total {
		return 0, 0, fmt.Errorf("uploaded %d bytes, the bundle has %d", st.UploadedBytes, total)
	}
	return secs, cpu, nil
}

// recordDuring records synthetic 720p MJPEG frames in real time at 30 fps
// with the station's recorder (default configuration, frames dropped when
// its queue is full, as in weighd) from 1 s before upload starts to 1 s
// after it ends, and returns the frames written and dropped.
func recordDuring(tmp string, upload func() error) (frames, dropped int64, secs float64, err error) {
	jpegs, err := recordertest.JPEGs(24, 1280, 720, 80, 42)
	if err != nil {
		return 0, 0, 0, err
	}
	rec, err := recorder.New(config.Default().Recorder, recorder.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go rec.Run(rctx)
	dir := filepath.Join(tmp, "recording")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, 0, 0, err
	}
	if err := rec.Start(dir); err != nil {
		return 0, 0, 0, err
	}
	stop := make(chan struct{})
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				rec.SetInfo(now, 1000, true, "")
				rec.Push(camera.Frame{Data: jpegs[i%len(jpegs)], Seq: uint64(i), Time: now, Width: 1280, Height: 720})
			}
		}
	}()
	time.Sleep(time.Second)
	start := time.Now()
	uerr := upload()
	secs = time.Since(start).Seconds()
	time.Sleep(time.Second)
	close(stop)
	<-pushed
	st, err := rec.Stop(context.Background())
	if uerr != nil {
		return 0, 0, 0, uerr
	}
	if err != nil {
		return 0, 0, 0, err
	}
	for _, n := range st.Dropped {
		dropped += n
	}
	return st.Frames, dropped, secs, nil
}

func makeBundle(state string, mb int) (dir string, files []string, total int64, err error) {
	st, err := evidence.Open(state, slog.New(slog.DiscardHandler), evidence.Options{StationID: "bench"})
	if err != nil {
		return "", nil, 0, err
	}
	defer st.Close()
	ss, err := st.Begin(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), true, "")
	if err != nil {
		return "", nil, 0, err
	}
	f, err := os.Create(filepath.Join(ss.Dir(), "video.mkv"))
	if err != nil {
		return "", nil, 0, err
	}
	buf := make([]byte, 1<<20)
	for range mb {
		rand.Read(buf)
		if _, err := f.Write(buf); err != nil {
			return "", nil, 0, err
		}
	}
	if err := f.Close(); err != nil {
		return "", nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(ss.Dir(), "weight.csv"), []byte("t_s,grams\n0.0,1000\n"), 0o644); err != nil {
		return "", nil, 0, err
	}
	if _, err := ss.Seal(result.Result{StationID: "bench", StopReason: result.StopButton}); err != nil {
		return "", nil, 0, err
	}
	des, err := os.ReadDir(ss.Dir())
	if err != nil {
		return "", nil, 0, err
	}
	for _, de := range des {
		info, _ := de.Info()
		files = append(files, filepath.Join(ss.Dir(), de.Name()))
		total += info.Size()
	}
	return ss.Dir(), files, total, nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
