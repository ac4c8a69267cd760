package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/config"
)

func testJPEG(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 32, 24))
	for i := range img.Pix {
		img.Pix[i] = shade + uint8(i%7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFeedNeverBlocks: a viewer that never reads holds the newest frames
// of its queue and costs the frame path nothing; the viewer limit holds.
func TestFeedNeverBlocks(t *testing.T) {
	t.Parallel()
	var f feed
	f.offer(camera.Frame{Seq: 99}) // no viewer: nothing kept
	ch, ok := f.join()
	if !ok {
		t.Fatal("first viewer refused")
	}
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			f.offer(camera.Frame{Seq: uint64(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("offer blocked on a viewer that does not read")
	}
	if a, b := <-ch, <-ch; a.Seq != 998 || b.Seq != 999 {
		t.Errorf("a stalled viewer's queue holds %d, %d; want the newest, 998 and 999", a.Seq, b.Seq)
	}
	if d := f.dropped.Load(); d != 998 {
		t.Errorf("dropped %d frames, want 998", d)
	}
	var more []chan camera.Frame
	for range MaxLiveViewers - 1 {
		c, ok := f.join()
		if !ok {
			t.Fatal("viewer refused below the limit")
		}
		more = append(more, c)
	}
	if _, ok := f.join(); ok {
		t.Fatalf("viewer %d accepted", MaxLiveViewers+1)
	}
	f.leave(more[0])
	if _, ok := f.join(); !ok {
		t.Fatal("a viewer's place is not freed when it leaves")
	}
}

// liveStation is a station whose weight the test sets.
type liveStation struct {
	fakeStation
	mu     sync.Mutex
	weight float64
}

func (l *liveStation) set(g float64) {
	l.mu.Lock()
	l.weight = g
	l.mu.Unlock()
}

func (l *liveStation) Status(context.Context) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := map[string]any{"weight_g": l.weight, "weight_state": "stable", "session_state": "recording", "entries": api.Entries{OrderRef: "A-1"}}
	if l.weight > 100 { // the inactivity warning and a refusal
		st["auto_stop_in_s"], st["last_refusal"] = 12.2, "start: the scale is empty"
	}
	return st, nil
}

// TestLiveStreams: behind the login, the MJPEG stream passes the camera's
// JPEG through byte for byte, a viewer beyond the limit gets 503, the
// event stream pushes a changed weight, and a logout ends both streams.
func TestLiveStreams(t *testing.T) {
	t.Parallel()
	state := testState(t)
	if err := SetPassword(state, "right password"); err != nil {
		t.Fatal(err)
	}
	st := &liveStation{weight: 12.34}
	srv, err := New(Options{Config: config.Web{Listen: "127.0.0.1:0"}, StateDir: state, Station: st})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e := &env{t: t, ts: ts}
	anon := e.client()
	for _, p := range []string{"/live", "/live/mjpeg", "/live/events", "/static/live.js"} {
		if resp, _ := do(t, anon, "GET", ts.URL+p, ""); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET %s without login: %d", p, resp.StatusCode)
		}
	}
	c := e.client()
	if code, _ := e.login(c, "right password"); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	if resp, page := do(t, c, "GET", ts.URL+"/live", ""); resp.StatusCode != http.StatusOK || !strings.Contains(page, `src="/live/mjpeg"`) ||
		!strings.Contains(page, `id="live-audio-level"`) || strings.Contains(page, "<script>") {
		t.Fatalf("/live: %d\n%s", resp.StatusCode, page)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(p string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+p, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var streams []*http.Response
	for range MaxLiveViewers {
		resp := open("/live/mjpeg")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("viewer: %d", resp.StatusCode)
		}
		streams = append(streams, resp)
	}
	for srv.feed.n.Load() < MaxLiveViewers {
		time.Sleep(5 * time.Millisecond)
	}
	if resp := open("/live/mjpeg"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("viewer %d: %d, want 503", MaxLiveViewers+1, resp.StatusCode)
	}
	for _, s := range streams[1:] {
		s.Body.Close()
	}
	first := streams[0]
	_, params, err := mime.ParseMediaType(first.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(first.Header.Get("Content-Type"), "multipart/x-mixed-replace") {
		t.Fatalf("MJPEG content type %q: %v", first.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(first.Body, params["boundary"])
	for i, shade := range []uint8{10, 200} {
		want := testJPEG(t, shade)
		got := make(chan []byte, 1)
		go func() {
			p, err := mr.NextPart()
			if err != nil {
				got <- nil
				return
			}
			b, _ := io.ReadAll(p)
			got <- b
		}()
		var b []byte
	offer:
		for {
			srv.Frame(camera.Frame{Data: want, Seq: uint64(i)})
			select {
			case b = <-got:
				break offer
			case <-time.After(50 * time.Millisecond):
			}
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("frame %d: got %d bytes, want the camera's %d bytes as they are", i, len(b), len(want))
		}
	}

	ev := open("/live/events")
	if ct := ev.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	events := make(chan liveState, 16)
	go func() {
		sc := bufio.NewScanner(ev.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var s liveState
				if json.Unmarshal([]byte(d), &s) == nil {
					events <- s
				}
			}
		}
		close(events)
	}()
	next := func() liveState {
		t.Helper()
		select {
		case s, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			return s
		case <-time.After(30 * time.Second):
			t.Fatal("no event")
		}
		return liveState{}
	}
	if s := next(); s.WeightG != 12.3 || s.Entries.OrderRef != "A-1" || s.WeightState != "stable" || s.AutoStopInS != nil || s.LastRefusal != "" {
		t.Errorf("first event %+v", s)
	}
	st.set(500)
	if s := next(); s.WeightG != 500 || s.AutoStopInS == nil || *s.AutoStopInS != 13 || s.LastRefusal != "start: the scale is empty" {
		t.Errorf("after the weight changed: %+v", s)
	}

	// A logout ends the streams within the login check's period.
	_, list := do(t, c, "GET", ts.URL+"/sessions", "")
	csrf := csrfRE.FindStringSubmatch(list)[1]
	do(t, c, "POST", ts.URL+"/logout", "csrf="+csrf, "Content-Type", "application/x-www-form-urlencoded")
	for range events { // until the stream ends
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, first.Body); ended <- err }()
	more := testJPEG(t, 50)
	go func() {
		for ctx.Err() == nil {
			srv.Frame(camera.Frame{Data: more})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the MJPEG stream goes on after the logout")
	}
}
