package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/vocab"
)

// The live page (/live): the camera as an MJPEG stream (/live/mjpeg), the
// weight, the session's state and the entries pushed as server-sent events
// (/live/events), and the buttons and entries posted to /v1/cmd/NAME — the
// station's command parser, the one MQTT and the socket use.

// Limits of the live page.
const (
	// MaxLiveViewers bounds the MJPEG streams served at once; one more is
	// answered 503.
	MaxLiveViewers = 4
	// MaxLiveWatchers bounds the event streams served at once.
	MaxLiveWatchers = 16
	// viewerFrames is each viewer's queue: a viewer that cannot keep up
	// misses frames; the station's frame path never waits for it.
	viewerFrames = 2
	// livePoll is how often an event stream looks at the station's state;
	// an event goes out only when the live state changed.
	livePoll = 150 * time.Millisecond
	// liveCheck is how often a stream checks that its login still holds
	// (a logout or a new password ends it).
	liveCheck = 2 * time.Second
	// frameWriteTimeout drops a viewer whose connection takes no frame
	// for this long.
	frameWriteTimeout = 10 * time.Second
	mjpegBoundary     = "weighinframe"
)

// feed hands the camera's frames to the live viewers: each has a queue of
// viewerFrames, filled without blocking (a full queue loses its oldest
// frame, so a slow viewer sees the newest one next).
type feed struct {
	n       atomic.Int32 // viewers, read without the lock on every frame
	dropped atomic.Uint64

	mu      sync.Mutex
	viewers map[chan camera.Frame]struct{}
}

func (f *feed) join() (chan camera.Frame, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.viewers) >= MaxLiveViewers {
		return nil, false
	}
	if f.viewers == nil {
		f.viewers = map[chan camera.Frame]struct{}{}
	}
	ch := make(chan camera.Frame, viewerFrames)
	f.viewers[ch] = struct{}{}
	f.n.Store(int32(len(f.viewers)))
	return ch, true
}

func (f *feed) leave(ch chan camera.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.viewers, ch)
	f.n.Store(int32(len(f.viewers)))
}

// offer never blocks.
func (f *feed) offer(fr camera.Frame) {
	if f.n.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.viewers {
		select {
		case ch <- fr:
			continue
		default:
		}
		select { // full: the oldest goes
		case <-ch:
			f.dropped.Add(1)
		default:
		}
		select {
		case ch <- fr:
		default:
			f.dropped.Add(1)
		}
	}
}

// Frame offers a camera frame to the live viewers. It never blocks and
// copies nothing (a frame's JPEG is never changed once delivered); with no
// viewer it is one atomic load. The station calls it from its frame path.
func (s *Server) Frame(f camera.Frame) { s.feed.offer(f) }

// LiveViewers is the number of MJPEG streams being served, and the frames
// they missed (a viewer that could not keep up) since start.
func (s *Server) LiveViewers() (viewers int, dropped uint64) {
	return int(s.feed.n.Load()), s.feed.dropped.Load()
}

// loginHolds reports whether the login session tok still holds: not
// logged out, not expired, and made under the current password.
func (s *Server) loginHolds(tok string) bool {
	hash, err := s.pw.current()
	if err != nil {
		return false
	}
	s.sess.mu.Lock()
	ls := s.sess.m[tok]
	s.sess.mu.Unlock()
	if ls == nil || s.opt.Now().After(ls.expires) {
		return false
	}
	return hash == nil || ls.authed && ls.pwHash == string(hash)
}

// streaming prepares a long response: no read deadline (the server's
// ReadTimeout would end the request's context), and a ticker for the
// login check.
func streaming(w http.ResponseWriter) (*http.ResponseController, *time.Ticker) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	return rc, time.NewTicker(liveCheck)
}

func (s *Server) serveMJPEG(w http.ResponseWriter, r *http.Request, tok string) {
	ch, ok := s.feed.join()
	if !ok {
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("the live view has %d viewers already: close one of them", MaxLiveViewers), http.StatusServiceUnavailable)
		return
	}
	defer s.feed.leave(ch)
	rc, check := streaming(w)
	defer check.Stop()
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	w.WriteHeader(http.StatusOK)
	// Each part is followed by the next boundary at once: a browser shows
	// a part when it sees the boundary after it.
	if _, err := io.WriteString(w, "--"+mjpegBoundary+"\r\n"); err != nil {
		return
	}
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-check.C:
			if !s.loginHolds(tok) {
				return
			}
		case f := <-ch:
			// The camera's JPEG as it is; a UVC frame without Huffman
			// tables gets the standard ones (browsers need them).
			jpg := camera.EnsureHuffman(f.Data)
			_ = rc.SetWriteDeadline(time.Now().Add(frameWriteTimeout))
			if _, err := fmt.Fprintf(w, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(jpg)); err != nil {
				return
			}
			if _, err := w.Write(jpg); err != nil {
				return
			}
			if _, err := io.WriteString(w, "\r\n--"+mjpegBoundary+"\r\n"); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// liveState is what the live page shows, taken from the station's status
// (GET /v1/status's fields of the same names).
type liveState struct {
	WeightG      float64     `json:"weight_g"`
	WeightState  string      `json:"weight_state"`
	Stable       bool        `json:"stable"`
	Status       string      `json:"status"`
	WarmingUp    bool        `json:"warming_up"`
	OverCapacity bool        `json:"over_capacity"`
	Calibrated   bool        `json:"calibrated"`
	SessionState string      `json:"session_state"`
	Recording    bool        `json:"recording"`
	SessionID    string      `json:"session_id,omitempty"`
	RecordingS   float64     `json:"recording_s,omitempty"`
	Entries      api.Entries `json:"entries"`
	// AutoStopInS: the seconds left before the inactivity stop, while the
	// station warns of it; ResumeInS: after that stop, the seconds in which
	// Start continues the same session.
	AutoStopInS *float64 `json:"auto_stop_in_s,omitempty"`
	ResumeInS   *float64 `json:"resume_in_s,omitempty"`
	// LeftoverLoad: the platform has not returned to empty since the last
	// session (a start must be forced); TrackingOffer: a code from the
	// label that no carrier pattern knows, to confirm.
	LeftoverLoad  bool   `json:"leftover_load,omitempty"`
	TrackingOffer string `json:"tracking_offer,omitempty"`
	// LastError is the station's latest fault; LastRefusal the last
	// refused command and its reason (<base>/error), when the status has
	// them.
	LastError   string `json:"last_error,omitempty"`
	LastRefusal string `json:"last_refusal,omitempty"`
	Camera      struct {
		Connected bool `json:"connected"`
	} `json:"camera"`
	// Audio: the microphone's state and level (issue 25), the level to
	// the dB so the stream does not send an event for every block.
	Audio struct {
		On        bool    `json:"on"`
		LevelDBFS float64 `json:"level_dbfs"`
	} `json:"audio"`
	LastResult *struct {
		SessionID string `json:"session_id"`
		Verdict   string `json:"verdict"`
	} `json:"last_result,omitempty"`
}

// liveNow is the station's live state as the event stream sends it: the
// weight to 0.1 g, the recording's length to the second.
func (s *Server) liveNow(ctx context.Context) ([]byte, error) {
	v, err := s.opt.Station.Status(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var ls liveState
	if err := json.Unmarshal(b, &ls); err != nil {
		return nil, err
	}
	ls.WeightG = math.Round(ls.WeightG*10)/10 + 0 // no "-0"
	ls.RecordingS = math.Floor(ls.RecordingS)
	ls.Audio.LevelDBFS = math.Round(ls.Audio.LevelDBFS) + 0
	for _, p := range []**float64{&ls.AutoStopInS, &ls.ResumeInS} {
		if *p != nil {
			t := math.Ceil(**p)
			*p = &t
		}
	}
	return json.Marshal(ls)
}

// watchers counts the event streams.
type watchers struct{ n atomic.Int32 }

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, tok string) {
	if s.watch.n.Add(1) > MaxLiveWatchers {
		s.watch.n.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("%d live pages are open already", MaxLiveWatchers), http.StatusServiceUnavailable)
		return
	}
	defer s.watch.n.Add(-1)
	rc, check := streaming(w)
	defer check.Stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	poll := time.NewTicker(livePoll)
	defer poll.Stop()
	var last []byte
	quiet := 0 // polls since the last write: a comment now and then keeps proxies from closing the stream
	send := func() bool {
		b, err := s.liveNow(r.Context())
		if err != nil {
			b, _ = json.Marshal(map[string]string{"error": "the station does not answer: " + err.Error()})
		}
		if string(b) == string(last) && quiet < int(15*time.Second/livePoll) {
			quiet++
			return true
		}
		quiet = 0
		payload := "event: state\ndata: " + string(b) + "\n\n"
		if string(b) == string(last) {
			payload = ": still here\n\n"
		}
		last = b
		_ = rc.SetWriteDeadline(time.Now().Add(frameWriteTimeout))
		if _, err := io.WriteString(w, payload); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send() {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-check.C:
			if !s.loginHolds(tok) {
				return
			}
		case <-poll.C:
			if !send() {
				return
			}
		}
	}
}

func (s *Server) serveLive(w http.ResponseWriter, r *http.Request, ls *loginSession) {
	s.render(w, "live.html", map[string]any{
		"CSRF": ls.csrf, "Exteriors": vocab.Exteriors, "Issues": vocab.IssueLabels,
		"Solutions": vocab.SolutionEntries, "Tiers": vocab.Tiers,
	})
}
