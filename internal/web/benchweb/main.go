// Command benchweb measures the web app beside a recording, as issue 19
// asks (`make bench-web`): weighd --sim records 720p30 sessions (≈120 KB
// frames) while
//
//   - rec:     nothing else happens (the baseline recording);
//   - viewers: 3 live viewers read the MJPEG stream (/live/mjpeg) and the
//     event stream (/live/events) in full;
//   - load:    the 3 viewers, and 50 concurrent clients, each in a loop
//     with -think between requests, fetching the sessions page or a 64 KiB
//     Range of a session's MP4 from weighd, and the same Range of the same
//     MP4 from a bare net/http FileServer in this process (the floor), in
//     turn.
//
// rec and viewers alternate -runs times. Reported: the latency p50/p99 of
// each request kind; weighd's CPU (utime+stime of /proc/PID/stat over each
// recording's window) and RSS (the largest VmRSS sampled) with and without
// the viewers; the frames each viewer got; each recording's continuity
// (its result: frames, dropped, gaps, max gap); and "dropped frames: N",
// the frames missing from the loaded recording (the continuity's drops,
// and its gaps counted in frames) beyond those missing from the baseline
// recordings.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"weighin/internal/api"
	"weighin/internal/result"
)

const (
	fps      = 30
	password = "bench password 19"
	// quality makes the synthetic camera's 720p frames weigh about 120 KB,
	// as a USB camera's MJPEG frames do (benchstation's figure).
	quality = 93
	viewers = 3
	chunk   = 64 << 10
)

// The viewers' CPU: blocks of block, half with the viewers, half without.
const (
	block  = 4 * time.Second
	blocks = 8
)

// toggle sums weighd's CPU ticks and the time over the blocks of one kind,
// from settle into each block to its end, and keeps the largest VmRSS.
type toggle struct {
	ticks int64
	secs  float64
	rss   int64
}

const settle = 500 * time.Millisecond

func (t *toggle) measure(ctx context.Context, pid int) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(settle):
	}
	a, _ := cpuTicks(pid)
	t0 := time.Now()
	for ctx.Err() == nil {
		t.rss = max(t.rss, vmRSS(pid))
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	b, _ := cpuTicks(pid)
	t.ticks += b - a
	t.secs += time.Since(t0).Seconds()
}

func (t *toggle) share() float64 {
	if t.secs == 0 {
		return 0
	}
	return float64(t.ticks) / 100 / t.secs // USER_HZ is 100 on Linux
}

func main() {
	window := flag.Duration("window", 20*time.Second, "length of each recording")
	runs := flag.Int("runs", 2, "baseline/viewers recordings each (alternating)")
	clients := flag.Int("clients", 50, "concurrent clients in the load phase")
	think := flag.Duration("think", 100*time.Millisecond, "each client's pause between requests")
	nice := flag.Int("nice", 10, "the clients' nice value (they stand for phones elsewhere; weighd and the bare FileServer keep 0)")
	bareDir := flag.String("bare", "", "(internal) serve this directory with a bare FileServer, print its address")
	flag.Parse()
	if *bareDir != "" {
		serveBare(*bareDir)
		return
	}
	niceness = *nice
	if err := run(*window, *runs, *clients, *think); err != nil {
		fmt.Fprintln(os.Stderr, "benchweb:", err)
		os.Exit(1)
	}
}

type daemon struct {
	cmd      *exec.Cmd
	api      *api.Client
	web      string
	state    string
	conf     string
	weighctl string
	hc       *http.Client // logged in
}

func run(window time.Duration, runs, clients int, think time.Duration) error {
	t0 := time.Now()
	dir, err := os.MkdirTemp("", "benchweb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./cmd/weighd", "./cmd/weighctl").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	d, err := start(dir)
	if err != nil {
		return err
	}
	defer d.stop()

	// A session with an MP4 (weighd's export, ffmpeg) to serve.
	id, _, err := d.record(3*time.Second, nil)
	if err != nil {
		return fmt.Errorf("first session: %w", err)
	}
	if err := d.export(id); err != nil {
		return err
	}
	mp4 := filepath.Join(d.state, "sessions", id, "export-phone.mp4")
	fi, err := os.Stat(mp4)
	if err != nil {
		return err
	}
	bareAddr, stopBare, err := startBare(filepath.Dir(mp4))
	if err != nil {
		return err
	}
	defer stopBare()
	// From here on this process is the clients only (weighd and the bare
	// server are processes of their own, at nice 0).
	if err := niceSelf(niceness); err != nil {
		return err
	}
	fmt.Printf("weighd --sim, 1280x720 @ %d fps (frames ≈120 KB), recordings of %s; MP4 %s (%.1f MB)\n", fps, window, filepath.Base(mp4), float64(fi.Size())/1e6)

	type phase struct {
		missing int64
		cont    result.Continuity
		got     []int // frames per viewer
	}
	var recs, views []phase
	measure := func(withViewers bool, extra func(ctx context.Context)) (phase, error) {
		var p phase
		var during func(ctx context.Context)
		var counts []*atomic.Int64
		if withViewers {
			for range viewers {
				counts = append(counts, new(atomic.Int64))
			}
		}
		during = func(ctx context.Context) {
			var wg sync.WaitGroup
			for _, c := range counts {
				wg.Add(2)
				go func() { defer wg.Done(); d.view(ctx, c) }()
				go func() { defer wg.Done(); d.events(ctx) }()
			}
			if extra != nil {
				wg.Add(1)
				go func() { defer wg.Done(); extra(ctx) }()
			}
			wg.Wait()
		}
		_, res, err := d.record(window, during)
		if err != nil {
			return p, err
		}
		p.cont = res.Continuity
		p.missing = missing(res.Continuity)
		for _, c := range counts {
			p.got = append(p.got, int(c.Load()))
		}
		return p, nil
	}
	for i := range runs {
		r, err := measure(false, nil)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		v, err := measure(true, nil)
		if err != nil {
			return err
		}
		views = append(views, v)
		fmt.Printf("run %d: baseline: %s | with %d viewers: %s, frames per viewer %v\n", i+1, contLine(r.cont), viewers, contLine(v.cont), v.got)
	}

	// The viewers' CPU and RSS: one recording, the viewers on and off in
	// turn (blocks of -block), so that the machine's other load falls on
	// both alike.
	var on, off toggle
	if _, _, err := d.record(time.Duration(2*blocks+1)*block, func(ctx context.Context) {
		// The first block is left out: the session's start (the label
		// still's scoring) costs more than the rest of the recording.
		select {
		case <-ctx.Done():
		case <-time.After(block):
		}
		for i := 0; ctx.Err() == nil; i++ {
			bctx, cancel := context.WithTimeout(ctx, block)
			t := &off
			var wg sync.WaitGroup
			if i%2 == 1 {
				t = &on
				for range viewers {
					wg.Add(2)
					go func() { defer wg.Done(); d.view(bctx, new(atomic.Int64)) }()
					go func() { defer wg.Done(); d.events(bctx) }()
				}
			}
			t.measure(bctx, d.cmd.Process.Pid)
			cancel()
			wg.Wait()
		}
	}); err != nil {
		return err
	}
	fmt.Printf("viewers on/off in %s blocks over one recording: CPU %.2f%% on, %.2f%% off; RSS %.1f MB on, %.1f MB off\n",
		block, on.share()*100, off.share()*100, float64(on.rss)/1024, float64(off.rss)/1024)

	// The load phase.
	lat := newLatencies()
	bareURL := "http://" + bareAddr + "/export-phone.mp4"
	webMP4 := d.web + "/sessions/" + id + "/f/export-phone.mp4"
	load := func(ctx context.Context) {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := &http.Client{Jar: d.hc.Jar, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
				defer hc.CloseIdleConnections()
				for i := c; ctx.Err() == nil; i++ {
					off := rand.Int64N(max(fi.Size()-chunk, 1))
					rng := fmt.Sprintf("bytes=%d-%d", off, off+chunk-1)
					switch i % 3 {
					case 0:
						lat.add("weighd sessions page", get(ctx, hc, d.web+"/sessions", "", 200))
					case 1:
						lat.add("weighd MP4 Range 64 KiB", get(ctx, hc, webMP4, rng, 206))
					case 2:
						lat.add("bare FileServer MP4 Range 64 KiB", get(ctx, hc, bareURL, rng, 206))
					}
					select {
					case <-ctx.Done():
					case <-time.After(think):
					}
				}
			}()
		}
		wg.Wait()
	}
	l, err := measure(true, load)
	if err != nil {
		return err
	}
	fmt.Printf("load: %d clients (think %s, nice %d) + %d viewers: %s, frames per viewer %v\n", clients, think, niceness, viewers, contLine(l.cont), l.got)

	// The figures.
	med := func(ps []phase, f func(phase) float64) float64 {
		var v []float64
		for _, p := range ps {
			v = append(v, f(p))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	gap := func(p phase) float64 { return p.cont.MaxGapMS }
	var baseMissing int64
	for _, r := range recs {
		baseMissing = max(baseMissing, r.missing)
	}
	var viewMissing int64
	for _, v := range views {
		viewMissing = max(viewMissing, v.missing)
	}
	fmt.Println()
	fmt.Printf("%-36s %10s %10s %8s\n", "request (same run)", "p50 ms", "p99 ms", "n")
	for _, k := range lat.kinds() {
		p50, p99, n, errs := lat.stats(k)
		fmt.Printf("%-36s %10.2f %10.2f %8d", k, p50, p99, n)
		if errs > 0 {
			fmt.Printf("  (%d failed)", errs)
		}
		fmt.Println()
	}
	fmt.Println()
	fmt.Printf("%-44s %12s %12s\n", "figure", "measured", "target")
	fmt.Printf("%-44s %11.2f%% %12s\n", fmt.Sprintf("CPU of %d live viewers (of one core)", viewers), (on.share()-off.share())*100, "<= 3 %")
	fmt.Printf("%-44s %9.1f MB %12s\n", fmt.Sprintf("extra RSS of %d live viewers", viewers), float64(on.rss-off.rss)/1024, "<= 20 MB")
	fmt.Printf("%-44s %9.0f ms %12s\n", "max gap: baseline / viewers (worst run) / load", med(recs, gap), "")
	fmt.Printf("%-44s %9.0f ms\n", "", med(views, gap))
	fmt.Printf("%-44s %9.0f ms\n", "", l.cont.MaxGapMS)
	fmt.Printf("%-44s %12d %12s\n", "frames missing: baseline (worst run)", baseMissing, "")
	fmt.Printf("%-44s %12d %12s\n", "frames missing: viewers (worst run)", viewMissing, "")
	fmt.Printf("%-44s %12d %12s\n", "frames missing: load", l.missing, "")
	fmt.Printf("dropped frames: %d\n", max(l.missing-baseMissing, 0))
	fmt.Printf("bench time: %s\n", time.Since(t0).Round(time.Second))
	return nil
}

var niceness int

// serveBare is the floor: net/http's FileServer over dir, alone in a
// process of its own.
func serveBare(dir string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchweb -bare:", err)
		os.Exit(1)
	}
	fmt.Println(l.Addr().String())
	_ = http.Serve(l, http.FileServer(http.Dir(dir)))
}

// startBare runs this program again as the bare FileServer.
func startBare(dir string) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(exe, "-bare", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("bare FileServer: %w", err)
	}
	return strings.TrimSpace(addr), stop, nil
}

// niceSelf sets every thread of this process to nice n (Linux's nice is
// per thread; threads made later inherit it from the one making them).
func niceSelf(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("nice %d: %w", n, err)
		}
	}
	return nil
}

// missing counts the frames a recording lacks: the recorder's drops, and
// each gap in frames (a gap of g ms holds g/frame−1 missing frames).
func missing(c result.Continuity) int64 {
	var n int64
	for _, v := range c.Dropped {
		n += v
	}
	for _, g := range c.Gaps {
		n += int64(math.Round(g.GapMS*fps/1000)) - 1
	}
	return n
}

func contLine(c result.Continuity) string {
	var dropped int64
	for _, v := range c.Dropped {
		dropped += v
	}
	return fmt.Sprintf("%d frames, %d dropped, %d gaps, max gap %.0f ms", c.Frames, dropped, len(c.Gaps), c.MaxGapMS)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func start(dir string) (*daemon, error) {
	webAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	mqttAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	d := &daemon{state: filepath.Join(dir, "state"), conf: filepath.Join(dir, "weighd.yaml"), web: "http://" + webAddr, weighctl: filepath.Join(dir, "weighctl")}
	sock := filepath.Join(dir, "w.sock")
	conf := fmt.Sprintf("station_id: benchweb\nstate_dir: %s\nlog_level: warn\napi:\n  socket: %s\nmqtt:\n  embedded_listen: %s\n"+
		"camera:\n  width: 1280\n  height: 720\n  fps: %d\n  jpeg_quality: %d\nsession:\n  label_window: 1s\n  stable_wait: 2s\nweb:\n  listen: %s\nexport:\n  auto_pack: false\n",
		d.state, sock, mqttAddr, fps, quality, webAddr)
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	pw := exec.Command(d.weighctl, "web", "passwd", "--config", d.conf)
	pw.Stdin = strings.NewReader(password + "\n")
	if out, err := pw.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("weighctl web passwd: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "weighd.log"))
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(filepath.Join(dir, "weighd"), "--sim", "--config", d.conf)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	d.api = api.NewClient(sock)
	if _, err := d.wait("the web app", time.Minute, func(s api.Status) bool { return s.Web.State == "on" && s.Calibrated }); err != nil {
		d.stop()
		return nil, err
	}
	if err := d.login(); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs the shared cookie jar in, as a browser does.
func (d *daemon) login() error {
	jar, _ := cookiejar.New(nil)
	d.hc = &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := d.hc.Get(d.web + "/login")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		return errors.New("the login page has no CSRF token")
	}
	resp, err = d.hc.PostForm(d.web+"/login", url.Values{"csrf": {string(m[1])}, "password": {password}, "next": {"/sessions"}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/sessions" || resp.StatusCode != 200 {
		return fmt.Errorf("login ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	return nil
}

func (d *daemon) wait(what string, timeout time.Duration, cond func(api.Status) bool) (api.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		var st api.Status
		if err := d.api.Status(context.Background(), &st); err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *daemon) do(name, value string) error {
	return d.api.Command(context.Background(), name, value, nil)
}

// record places a parcel, starts a session, runs during (if any) for the
// recording's length, stops, and returns the sealed result.
func (d *daemon) record(length time.Duration, during func(ctx context.Context)) (string, result.Result, error) {
	if err := d.do(api.CmdSimPlace, "1000"); err != nil {
		return "", result.Result{}, err
	}
	if _, err := d.wait("a stable weight", time.Minute, func(s api.Status) bool { return s.WeightState == "stable" && s.SessionState != "sealing" }); err != nil {
		return "", result.Result{}, err
	}
	prev := ""
	if st, err := d.wait("status", time.Minute, func(api.Status) bool { return true }); err == nil && st.LastResult != nil {
		prev = st.LastResult.SessionID
	}
	if err := d.do(api.CmdSimPress, "short"); err != nil {
		return "", result.Result{}, err
	}
	if _, err := d.wait("recording", time.Minute, func(s api.Status) bool { return s.Recording }); err != nil {
		return "", result.Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), length)
	if during != nil {
		during(ctx)
	}
	<-ctx.Done()
	cancel()
	if err := d.do(api.CmdSimPress, "long"); err != nil {
		return "", result.Result{}, err
	}
	st, err := d.wait("the seal", 2*time.Minute, func(s api.Status) bool {
		return !s.Recording && s.SessionState != "sealing" && s.LastResult != nil && s.LastResult.SessionID != prev
	})
	if err != nil {
		return "", result.Result{}, err
	}
	if err := d.do(api.CmdSimRemove, ""); err != nil {
		return "", result.Result{}, err
	}
	return st.LastResult.SessionID, *st.LastResult, nil
}

// export makes the session's phone MP4 through weighd's export queue.
func (d *daemon) export(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := d.api.Export(ctx, id, "phone", nil); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// view reads the MJPEG stream until ctx ends, counting the frames.
func (d *daemon) view(ctx context.Context, frames *atomic.Int64) {
	req, _ := http.NewRequestWithContext(ctx, "GET", d.web+"/live/mjpeg", nil)
	hc := &http.Client{Jar: d.hc.Jar}
	resp, err := hc.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || resp.StatusCode != 200 {
		fmt.Fprintf(os.Stderr, "benchweb: viewer: %d %q\n", resp.StatusCode, resp.Header.Get("Content-Type"))
		return
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		if n, err := io.Copy(io.Discard, p); err != nil || n == 0 {
			return
		}
		frames.Add(1)
	}
}

// events reads the event stream until ctx ends.
func (d *daemon) events(ctx context.Context) {
	req, _ := http.NewRequestWithContext(ctx, "GET", d.web+"/live/events", nil)
	hc := &http.Client{Jar: d.hc.Jar}
	resp, err := hc.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
	}
}

// get fetches u (with a Range when rng is set) and returns its latency, or
// a negative duration when it failed or answered other than want.
func get(ctx context.Context, hc *http.Client, u, rng string, want int) time.Duration {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return -1
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if ctx.Err() != nil {
		return 0 // cut by the end of the phase: not counted
	}
	if err != nil || resp.StatusCode != want {
		return -1
	}
	return d
}

type latencies struct {
	mu   sync.Mutex
	by   map[string][]float64
	errs map[string]int
}

func newLatencies() *latencies { return &latencies{by: map[string][]float64{}, errs: map[string]int{}} }

func (l *latencies) add(kind string, d time.Duration) {
	if d == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if d < 0 {
		l.errs[kind]++
		return
	}
	l.by[kind] = append(l.by[kind], float64(d.Microseconds())/1000)
}

func (l *latencies) kinds() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k []string
	for n := range l.by {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func (l *latencies) stats(kind string) (p50, p99 float64, n, errs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := slices.Clone(l.by[kind])
	slices.Sort(v)
	if len(v) == 0 {
		return 0, 0, 0, l.errs[kind]
	}
	q := func(f float64) float64 { return v[min(len(v)-1, int(f*float64(len(v))))] }
	return q(0.50), q(0.99), len(v), l.errs[kind]
}

func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, nil
}

// vmRSS is the process's resident set in KiB.
func vmRSS(pid int) int64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return 0
}
