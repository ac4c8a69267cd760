package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"weighin/internal/api"
)

// The end-to-end tests run weighd --sim with the web app on, and drive it
// with Debian's chromium through chromedp.

var buildBins = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "weighin-web-bin")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "../../cmd/weighd", "../../cmd/weighctl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type station struct {
	t      *testing.T
	bin    string
	dir    string
	conf   string
	state  string
	cmd    *exec.Cmd
	client *api.Client
	mqtt   int // the embedded broker's port
}

func newStation(t *testing.T, listen string) *station {
	t.Helper()
	bin, err := buildBins()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &station{t: t, bin: bin, dir: dir, conf: filepath.Join(dir, "weighd.yaml"), state: filepath.Join(dir, "state"), mqtt: freePort(t)}
	// The automatic dispute pack is off: it would make the chat MP4 of a
	// session with a claim before the page asks for one on demand.
	conf := fmt.Sprintf(`station_id: webe2e
state_dir: %s
api:
  socket: %s
mqtt:
  embedded_listen: 127.0.0.1:%d
scale:
  rate: 80
camera:
  width: 320
  height: 240
  fps: 15
session:
  label_window: 1s
  stable_wait: 2s
web:
  listen: %s
export:
  auto_pack: false
`, s.state, filepath.Join(dir, "w.sock"), s.mqtt, listen)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.client = api.NewClient(filepath.Join(dir, "w.sock"))
	return s
}

func (s *station) weighctl(stdin string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "weighctl"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("weighctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *station) start() {
	s.t.Helper()
	logf, err := os.Create(filepath.Join(s.dir, "weighd.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(s.bin, "weighd"), "--sim", "--config", s.conf)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
		logf.Close()
	})
	s.waitFor("weighd up", 20*time.Second, func(st api.Status) bool { return st.Calibrated })
}

func (s *station) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "weighd.log"))
	return string(b)
}

func (s *station) status() (api.Status, error) {
	var st api.Status
	err := s.client.Status(context.Background(), &st)
	return st, err
}

func (s *station) waitFor(what string, d time.Duration, cond func(api.Status) bool) api.Status {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, err := s.status()
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s (%v); log:\n%s", what, err, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *station) do(name, value string) {
	s.t.Helper()
	if err := s.client.Command(context.Background(), name, value, nil); err != nil {
		s.t.Fatalf("%s %q: %v", name, value, err)
	}
}

// session records one weigh-in with a tracking number, a label weight and
// a mark, and returns its id.
func (s *station) session(tracking string, grams float64, recordFor time.Duration) string {
	s.t.Helper()
	s.do("tracking", tracking)
	s.do("label_weight", "500")
	s.startRecording(grams)
	time.Sleep(recordFor / 2)
	s.do("mark", "box opened")
	time.Sleep(recordFor / 2)
	return s.stopRecording()
}

// startRecording sets a parcel down and presses the button.
func (s *station) startRecording(grams float64) {
	s.t.Helper()
	s.do(api.CmdSimPlace, fmt.Sprint(grams))
	s.waitFor("stable", 15*time.Second, func(st api.Status) bool {
		return st.WeightState == "stable" && math.Abs(st.WeightG-grams) < 3
	})
	s.do(api.CmdSimPress, "short")
	s.waitFor("recording", 15*time.Second, func(st api.Status) bool { return st.Recording })
}

// stopRecording ends the recording, waits for the seal, empties the scale
// and returns the session's id.
func (s *station) stopRecording() string {
	s.t.Helper()
	s.do(api.CmdSimPress, "long")
	st := s.waitFor("sealed", 30*time.Second, func(st api.Status) bool {
		return st.LastResult != nil && !st.Recording && st.SessionState != "sealing"
	})
	s.do(api.CmdSimRemove, "")
	return st.LastResult.SessionID
}

// retained waits up to d for a message on topic (retained or published
// meanwhile) that ok accepts, from the station's embedded broker, and
// returns it.
func (s *station) retained(topic string, d time.Duration, ok func([]byte) bool) []byte {
	s.t.Helper()
	got := make(chan []byte, 16)
	opts := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", s.mqtt)).SetClientID("webe2e-test-" + strconv.Itoa(os.Getpid())).
		SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- append([]byte(nil), m.Payload()...):
		default:
		}
	}); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtt subscribe %s: %v", topic, tok.Error())
	}
	deadline := time.After(d)
	var last []byte
	for {
		select {
		case b := <-got:
			if ok(b) {
				return b
			}
			last = b
		case <-deadline:
			s.t.Fatalf("no message on %s as wanted within %v; last: %s", topic, d, last)
		}
	}
}

func screensDir(t *testing.T) string {
	d := filepath.Join("..", "..", ".cache", "web-screens")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// checkNotBlank fails unless the PNG has some variety of colours.
func checkNotBlank(t *testing.T, name string, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := img.Bounds()
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>12)<<8|(g>>12)<<4|bl>>12] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("%s looks blank: %d colours", name, len(colours))
	}
}

func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, sz := range [][2]int64{{390, 844}, {1280, 800}} {
		opts := []chromedp.EmulateViewportOption{}
		if sz[0] < 500 {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(sz[0], sz[1], opts...), chromedp.Sleep(150*time.Millisecond)); err != nil {
			t.Fatalf("viewport %s: %v", name, err)
		}
		// Phone first: nothing wider than the screen.
		if w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); err != nil || w > float64(sz[0]) {
			t.Errorf("%s at %dx%d: the page is %v px wide (%v)", name, sz[0], sz[1], w, err)
		}
		buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		checkNotBlank(t, name, buf)
		p := filepath.Join(screensDir(t), fmt.Sprintf("%s-%dx%d.png", name, sz[0], sz[1]))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatalf("chromium is needed (Debian package chromium; make deps installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 5*time.Minute)
	return ctx, func() { cancelC(); cancelB(); cancelA() }
}

const password = "correct horse battery"

func awaitPromise(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }

func TestBrowserEndToEnd(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	st := newStation(t, fmt.Sprintf("127.0.0.1:%d", port))
	// The password is set with weighd stopped; weighd reads it at start.
	if out := st.weighctl(password+"\n", "web", "passwd", "--config", st.conf); !strings.Contains(out, "weighd is not running") {
		t.Errorf("web passwd with weighd stopped: %s", out)
	}
	st.start()
	st.waitFor("web on", 10*time.Second, func(s api.Status) bool { return s.Web.State == "on" })
	id := st.session("YT1234567890CN", 430, 3*time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	ctx, cancel := newBrowser(t)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	str := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		must(err)
		return v
	}
	num := func(js string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, awaitPromise))
		must(err)
		return v
	}
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		must(err)
		return v.Value
	}
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true}, Setting: browser.PermissionSettingGranted, Origin: base})
		must(err)
	}

	// Log in: the sessions page first redirects to the login.
	must(chromedp.Do(ctx, chromedp.Navigate(base+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#password"))))
	if loc := str(chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Fatalf("without a login /sessions went to %s", loc)
	}
	shoot(t, ctx, "login")
	must(chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#search"))))
	if loc := str(chromedp.Location()); !strings.HasSuffix(loc, "/sessions") {
		t.Fatalf("after login: %s", loc)
	}
	shoot(t, ctx, "sessions")
	checkLivePage(t, ctx, st, base) // e2e_live_test.go

	// Search by tracking finds the session.
	must(chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#q-tracking"), "YT1234567890CN"), chromedp.Submit(chromedp.CSS("#q-tracking")),
		chromedp.WaitVisible(chromedp.CSS("#sessions li a"))))
	if found := str(chromedp.Text(chromedp.CSS("#sessions"))); !strings.Contains(found, id) {
		t.Fatalf("search by tracking: %q lacks %s", found, id)
	}
	must(chromedp.Do(ctx, chromedp.Navigate(base+"/sessions?tracking=NOSUCH1"), chromedp.WaitVisible(chromedp.CSS("#sessions"))))
	if none := str(chromedp.Text(chromedp.CSS("#sessions"))); strings.Contains(none, id) {
		t.Fatalf("search for another tracking number found %s", id)
	}

	// The session page before an export exists; the outcome form.
	page := base + "/sessions/" + id + "/"
	must(chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#noexport"))))
	if noexp := str(chromedp.Text(chromedp.CSS("#noexport"))); !strings.Contains(noexp, "No export yet") {
		t.Errorf("no-export state: %q", noexp)
	}
	shoot(t, ctx, "session-noexport")
	must(chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#o-status"), "resolved"), chromedp.SetValue(chromedp.CSS("#o-resolution"), "partial_refund"),
		chromedp.SendKeys(chromedp.CSS("#o-amount"), "12.5"), chromedp.SendKeys(chromedp.CSS("#o-currency"), "cny"),
		chromedp.SendKeys(chromedp.CSS("#o-note"), "seller refunded the missing part"),
		chromedp.Click(chromedp.CSS("#outcome-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("ul#outcomes"))))
	if outcomes := str(chromedp.Text(chromedp.CSS("#outcomes"))); !strings.Contains(outcomes, "partial_refund") {
		t.Errorf("outcome list: %q", outcomes)
	}
	bundle := filepath.Join(st.state, "sessions", id)
	if out := st.weighctl("", "verify", bundle); !strings.Contains(strings.ToLower(out), "ok") {
		t.Errorf("weighctl verify after the outcome: %s", out)
	}

	// The MP4 made on demand from the page, through weighd's export queue
	// (POST /v1/cmd/export?preset=phone), its progress shown meanwhile: it
	// is asked for while another recording runs, so it waits ("paused")
	// until that recording ends, then runs, and the page reloads with the
	// player once the MP4 is bound to the bundle.
	st.startRecording(800)
	must(chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#make-mp4"))))
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#make-mp4")), chromedp.WaitVisible(chromedp.CSS(`#make-mp4[data-seen~="paused"]`))))
	if msg := str(chromedp.Text(chromedp.CSS("#export-msg"))); !strings.Contains(msg, "recording is running") {
		t.Errorf("export progress while paused: %q", msg)
	}
	shoot(t, ctx, "session-exporting")
	if x := st.waitFor("export queued", 10*time.Second, func(s api.Status) bool { return s.Exports.Session != "" }); x.Exports.Session != id || x.Exports.State != "paused" {
		t.Errorf("export status while recording: %+v", x.Exports)
	}
	second := st.stopRecording()
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#video"))))
	mp4 := filepath.Join(bundle, "export-phone.mp4")
	if fi, err := os.Stat(mp4); err != nil || fi.Size() == 0 {
		t.Fatalf("no export-phone.mp4 after the page's export: %v", err)
	}
	if out := st.weighctl("", "verify", bundle); !strings.Contains(strings.ToLower(out), "ok") {
		t.Errorf("weighctl verify after the export: %s", out)
	}
	if second == id {
		t.Fatalf("the second recording did not make a new session")
	}

	// The MP4 plays: currentTime advances without a media error.
	must(chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#video"))))
	src := attr("#video", "src")
	num(`(async () => { const v = document.getElementById("video"); v.muted = true; await v.play(); return 0; })()`)
	t0 := num(`document.getElementById("video").currentTime`)
	time.Sleep(1200 * time.Millisecond)
	t1 := num(`document.getElementById("video").currentTime`)
	mediaErr := num(`document.getElementById("video").error ? 1 : 0`)
	if !strings.HasSuffix(src, ".mp4") || mediaErr != 0 || t1 <= t0 {
		t.Fatalf("video %s: currentTime %.2f -> %.2f, media error %v", src, t0, t1, mediaErr)
	}
	shoot(t, ctx, "session")

	// Clicking the plot seeks: at 75 % of its width, 75 % of the video.
	dur := num(`(() => { const v = document.getElementById("video"); v.pause(); return v.duration; })()`)
	must(chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#plot[data-points]"))))
	num(`(() => { const c = document.getElementById("plot"), r = c.getBoundingClientRect();
		c.dispatchEvent(new MouseEvent("click", {clientX: r.left + r.width * 0.75, clientY: r.top + r.height / 2, bubbles: true})); return 0; })()`)
	time.Sleep(300 * time.Millisecond)
	if at := num(`document.getElementById("video").currentTime`); math.Abs(at-0.75*dur) > 0.1*dur+0.2 {
		t.Errorf("plot click: currentTime %.2f, want about %.2f of %.2f", at, 0.75*dur, dur)
	}

	// The copy button puts the English claim on the clipboard.
	claim := str(chromedp.Text(chromedp.CSS("#claim-en")))
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#copy-en")), chromedp.Sleep(300*time.Millisecond)))
	clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, awaitPromise))
	must(err)
	if strings.TrimSpace(clip) == "" || strings.TrimSpace(clip) != strings.TrimSpace(claim) {
		t.Errorf("clipboard %q, claim %q", clip, claim)
	}

	// One API, two doors: /v1/sessions on the web door (logged in, from
	// the page) answers what the unix socket answers.
	webJSON, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/v1/sessions?tracking=YT1234567890CN").then(r => r.text())`, awaitPromise))
	must(err)
	var viaSocket json.RawMessage
	must(st.client.Sessions(context.Background(), map[string]string{"tracking": "YT1234567890CN"}, &viaSocket))
	if strings.TrimSpace(webJSON) != strings.TrimSpace(string(viaSocket)) || !strings.Contains(webJSON, id) {
		t.Errorf("/v1/sessions: web door %s, socket %s", webJSON, viaSocket)
	}

	// The share button. Linux Chromium has no navigator.share: the
	// fallback shows the link, its QR code and download links through the
	// share link, and says why.
	if has := num(`navigator.share ? 1 : 0`); has != 0 {
		t.Fatalf("this Chromium has navigator.share: the fallback test below would not test the fallback")
	}
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#share")), chromedp.WaitVisible(chromedp.CSS("#shareqr"))))
	link := str(chromedp.Value(chromedp.CSS("#shareurl")))
	if qr := attr("#shareqr", "src"); !strings.HasPrefix(link, base+"/s/") || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Fatalf("share link %q, qr %.40q", link, qr)
	}
	if how, shared := str(chromedp.Text(chromedp.CSS("#sharehow"))), attr("#share", "data-shared"); shared != "fallback" || !strings.Contains(how, "cannot share files") {
		t.Errorf("share fallback: data-shared %q, text %q", shared, how)
	}
	shareMP4 := attr(`#sharefiles a[data-name="export-phone.mp4"]`, "href")
	if shareMP4 != link+"f/export-phone.mp4?download=1" {
		t.Errorf("the fallback's MP4 download %q, want it through the share link %s", shareMP4, link)
	}
	shoot(t, ctx, "session-share")

	// With Web Share present (a stand-in for the phone's share sheet,
	// which Linux Chromium lacks): the page hands over the MP4 itself. The
	// stand-in refuses the first call as a phone does once the tap's
	// activation has expired; the page then offers "Share now".
	must(chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#share"))))
	num(`(() => { window.__shared = null; let calls = 0;
		navigator.canShare = (d) => !!(d && d.files && d.files.every((f) => f.type === "video/mp4"));
		navigator.share = async (d) => {
			if (calls++ === 0) throw new DOMException("no user activation", "NotAllowedError");
			window.__shared = { url: d.url, n: d.files ? d.files.length : 0, type: d.files ? d.files[0].type : "", size: d.files ? d.files[0].size : 0 }; };
		return 0; })()`)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#share")), chromedp.WaitVisible(chromedp.CSS("#sharebox"))))
	if b := str(chromedp.Text(chromedp.CSS("#share"))); b != "Share now" {
		t.Errorf("after a refused share the button says %q", b)
	}
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#share")), chromedp.WaitVisible(chromedp.CSS(`#share[data-shared="files"]`))))
	var handed struct {
		URL  string  `json:"url"`
		N    int     `json:"n"`
		Type string  `json:"type"`
		Size float64 `json:"size"`
	}
	hv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__shared)`))
	must(err)
	must(json.Unmarshal([]byte(hv), &handed))
	if fi, err := os.Stat(mp4); err != nil || handed.N != 1 || handed.Type != "video/mp4" || int64(handed.Size) != fi.Size() || !strings.HasPrefix(handed.URL, base+"/s/") {
		t.Errorf("navigator.share got %+v (MP4 %v)", handed, err)
	}

	// The link opens the session without a login (after logging out), its
	// video answers a Range request with 206, and it grants nothing else.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#video"))))
	if title := str(chromedp.Text(chromedp.CSS("h1.sid"))); title != id {
		t.Fatalf("share page shows %q", title)
	}
	shoot(t, ctx, "shared")
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get(link+"f/export-phone.mp4", "Range", "bytes=100-199"); r.StatusCode != http.StatusPartialContent || r.ContentLength != 100 {
		t.Errorf("share MP4 Range: %d, %d bytes", r.StatusCode, r.ContentLength)
	}
	// The fallback's download link works without a login.
	if r := get(shareMP4); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("share download %s: %d %q", shareMP4, r.StatusCode, r.Header.Get("Content-Disposition"))
	}
	for _, u := range []string{link + "f/video-000.mkv", link + "f/manifest.json", link + "bundle.zip", link + "share", link + "../"} {
		if r := get(u); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("share link grants %s: %d", u, r.StatusCode)
		}
	}
	if r := get(base + "/sessions"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("/sessions after a share link without login: %d", r.StatusCode)
	}
	if r := get(base + "/v1/status"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("/v1/status without login: %d", r.StatusCode)
	}
	// Revoked with weighctl share: 403 at once, for the page and the video.
	parts := strings.Split(strings.TrimPrefix(link, base+"/s/"), ".")
	st.weighctl("", "share", "--config", st.conf, "--revoke", parts[0])
	if !strings.Contains(st.log(), "share link revoked") { // through the API: weighd did it
		t.Errorf("weighctl share --revoke did not go through weighd; log:\n%s", st.log())
	}
	if r := get(link); r.StatusCode != http.StatusForbidden {
		t.Errorf("revoked link: %d", r.StatusCode)
	}
	if r := get(link+"f/export-phone.mp4", "Range", "bytes=0-99"); r.StatusCode != http.StatusForbidden {
		t.Errorf("revoked link's video: %d", r.StatusCode)
	}
	// weighctl share prints a link that works.
	out := st.weighctl("", "share", "--config", st.conf, "--ttl", "1h", id)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if r := get(lines[len(lines)-1]); r.StatusCode != http.StatusOK {
		t.Errorf("weighctl share link %q: %d", lines[len(lines)-1], r.StatusCode)
	}
	if l := st.weighctl("", "share", "--config", st.conf, "--list"); !strings.Contains(l, "revoked") || !strings.Contains(l, "active") {
		t.Errorf("share --list:\n%s", l)
	}
	// The whole bundle as a zip needs the login.
	if r := get(base + "/sessions/" + id + "/bundle.zip"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("bundle.zip without login: %d", r.StatusCode)
	}

	// The result's page_url on MQTT opens the session's page after a
	// login (the browser is logged out here).
	var res struct {
		SessionID string `json:"session_id"`
		PageURL   string `json:"page_url"`
	}
	// (The retained result is the newest: the second session's.)
	must(json.Unmarshal(st.retained("weighin/webe2e/result", 30*time.Second, func(b []byte) bool {
		return bytes.Contains(b, []byte(`"session_id":"`+second+`"`))
	}), &res))
	page = base + "/sessions/" + second + "/"
	if res.PageURL != page {
		t.Fatalf("page_url %q, want %q", res.PageURL, page)
	}
	must(chromedp.Do(ctx, chromedp.Navigate(res.PageURL), chromedp.WaitVisible(chromedp.CSS("#password"))))
	must(chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("h1.sid"))))
	if loc, title := str(chromedp.Location()), str(chromedp.Text(chromedp.CSS("h1.sid"))); loc != page || title != second {
		t.Errorf("page_url after the login: at %s showing %q", loc, title)
	}
}

// TestNonLoopbackWithoutPasswordStaysOff: weighd with web.listen on every
// address and no password keeps the web app off, says why on its status,
// and records; weighctl web passwd, with weighd running, turns it on.
func TestNonLoopbackWithoutPasswordStaysOff(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	st := newStation(t, fmt.Sprintf("0.0.0.0:%d", port))
	st.start()
	s := st.waitFor("web disabled", 10*time.Second, func(s api.Status) bool { return s.Web.State == "disabled" })
	if !strings.Contains(s.Web.Reason, "weighctl web passwd") || s.Web.PasswordSet {
		t.Errorf("web status %+v", s.Web)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Fatal("the web app listens on a non-loopback address without a password")
	}
	id := st.session("YT5550001CN", 300, time.Second)
	if id == "" {
		t.Fatal("no session recorded")
	}
	// Home Assistant is not sent to a page that does not answer: no
	// configuration_url in discovery, no page_url in the result.
	const discovery = "homeassistant/device/webe2e/config"
	if d := st.retained(discovery, 30*time.Second, func([]byte) bool { return true }); bytes.Contains(d, []byte(`"cu"`)) {
		t.Errorf("discovery while the web app is off carries configuration_url: %s", d)
	}
	if r := st.retained("weighin/webe2e/result", 30*time.Second, func([]byte) bool { return true }); bytes.Contains(r, []byte("page_url")) {
		t.Errorf("result while the web app is off carries page_url: %s", r)
	}
	if out := st.weighctl("another good password\n", "web", "passwd", "--config", st.conf); !strings.Contains(out, "through weighd") {
		t.Errorf("web passwd with weighd running: %s", out)
	}
	st.waitFor("web on", 10*time.Second, func(s api.Status) bool { return s.Web.State == "on" && s.Web.PasswordSet })
	// Once it serves, discovery is republished with it.
	host, _ := os.Hostname()
	wantCU := fmt.Sprintf(`"cu":"http://%s/sessions"`, net.JoinHostPort(host, strconv.Itoa(port)))
	st.retained(discovery, 30*time.Second, func(b []byte) bool { return bytes.Contains(b, []byte(wantCU)) })
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/sessions", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Errorf("/sessions without login ended at %s", resp.Request.URL)
	}
}
