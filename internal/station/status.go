package station

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/session"
	"weighin/internal/weighing"
)

func (s *Station) initStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = api.Status{
		StationID: s.stationID, Version: Version, Sim: s.sim, StateDir: s.cfg.StateDir,
		SessionState: session.PhaseIdle.String(), WeightState: "undecided",
		KeyFingerprint: s.store.KeyFingerprint(), ChainHead: s.store.Head(),
		Scale:  api.ScaleStatus{Rate: s.cfg.Scale.Rate},
		Camera: api.CameraStatus{Device: s.cfg.Camera.Device},
		MQTT:   api.MQTTStatus{Broker: s.mqttURL, Embedded: s.embedded},
	}
	if s.sim {
		s.status.Camera.Device = "synthetic"
	}
}

func (s *Station) noteReading(r weighing.Reading) {
	st := s.hw.scaleStats()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.WeightG = r.Grams
	s.status.WeightState = r.State.String()
	s.status.Stable = r.Stable
	s.status.SpreadG = r.Spread
	s.status.WarmingUp = r.WarmingUp
	s.status.Scale.Reads, s.status.Scale.Glitches, s.status.Scale.Timeouts = st.Reads, st.Glitches, st.Timeouts
	s.status.Scale.LastErr = ""
}

// noteScaleError shows a failed HX711 read: the last weight is no longer
// known.
func (s *Station) noteScaleError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Scale.LastErr = err.Error()
	s.status.WeightState, s.status.Stable = "undecided", false
}

// noteFrame shows a frame the recorder took, and the pre-roll it holds.
func (s *Station) noteFrame(f camera.Frame, preFrames int, preSpan time.Duration, preBytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastFrame.IsZero() {
		if dt := f.Time.Sub(s.lastFrame).Seconds(); dt > 0 {
			s.fps = 0.9*s.fps + 0.1/dt
		}
	}
	s.lastFrame = f.Time
	c := &s.status.Camera
	c.Frames, c.Width, c.Height = f.Seq+1, f.Width, f.Height
	c.PreRollS, c.PreRollB = 0, preBytes
	if preFrames > 0 {
		c.PreRollS = preSpan.Seconds()
	}
}

func (s *Station) setCalibration(offset, scale float64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Scale.Offset, s.status.Scale.Scale, s.status.Calibrated = offset, scale, ok
}

func (s *Station) setError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.LastError = msg
}

func (s *Station) setLastResult(r result.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.LastResult = &r
	s.status.ChainHead = r.ChainHead
}

// publishState refreshes the status from the session and hands the live
// state to the publisher (which rate-limits it).
func (s *Station) publishState(ss session.State, cur *current) {
	// publishState runs after every event, samples included (80 a second
	// at 80 SPS): statfs and adjtimex are asked at most once a second.
	if now := time.Now(); now.Sub(s.sysChecked) >= time.Second {
		s.sysChecked = now
		s.free, _ = evidence.FreeBytes(s.cfg.StateDir)
		s.synced = clockSynced()
	}
	free := s.free
	s.mu.Lock()
	st := &s.status
	st.SessionState = ss.Phase.String()
	st.Recording = ss.Phase == session.PhaseRecording
	st.SessionID, st.RecordingS = "", 0
	if cur != nil && cur.es != nil {
		st.SessionID = cur.es.ID()
		st.RecordingS = time.Since(cur.start).Seconds()
	}
	st.Entries = api.Entries{
		OrderRef: ss.Entries.OrderRef, Tracking: ss.Entries.Tracking,
		ExteriorCondition: ss.Entries.ExteriorCondition, IssueType: ss.Entries.IssueType,
		Solution: ss.Entries.Solution,
	}
	if ss.Entries.HasTier {
		t := ss.Entries.Tier
		st.Entries.Tier = &t
	}
	if ss.Entries.HasLabelG {
		g := ss.Entries.LabelG
		st.Entries.LabelG = &g
	}
	st.FreeStorageBytes = free
	st.ClockSynced = s.synced
	st.UptimeS = time.Since(s.started).Seconds()
	st.Camera.FPS = s.fps
	ps := publish.State{
		WeightG: st.WeightG, Stable: st.Stable, Recording: st.Recording, SessionState: st.SessionState,
		FreeStorageBytes: free, WarmingUp: st.WarmingUp,
		OrderRef: st.Entries.OrderRef, Tracking: st.Entries.Tracking, LabelG: st.Entries.LabelG,
	}
	s.mu.Unlock()
	s.pub.PublishState(ps)
}

// Status is the API's GET /v1/status.
func (s *Station) Status(ctx context.Context) (any, error) {
	s.mu.Lock()
	st := s.status
	lastFrame := s.lastFrame
	s.mu.Unlock()
	// The camera is connected while the reconnector's source delivers:
	// frames came since the last loss, and recently.
	rs := s.recon.Stats()
	st.Camera.Connected = rs.Frames > 0 && !rs.LastResume.Before(rs.LastLoss) &&
		time.Since(lastFrame) <= s.cfg.Camera.FrameTimeout
	if rs.LastErr != nil {
		st.Camera.LastErr = rs.LastErr.Error()
	}
	st.MQTT.Connected = s.pub.Connected()
	st.Web = s.web.Status()
	st.LED = s.ledPattern().String()
	if n, err := s.pub.Outbox().Len(); err == nil {
		st.MQTT.Pending = n
	}
	return st, nil
}

// Command is the API's POST /v1/cmd/NAME and GET /v1/sessions.
func (s *Station) Command(ctx context.Context, name, value string, q map[string]string) (any, error) {
	switch name {
	case api.CmdSessions:
		f := registry.Filter{Tracking: q["tracking"], Order: q["order"], Verdict: q["verdict"]}
		if v := q["since"]; v != "" {
			t, err := parseSince(v)
			if err != nil {
				return nil, err
			}
			f.Since = t
		}
		if err := f.Page(q); err != nil { // until, newest, limit, offset (the web app's pages)
			return nil, err
		}
		return s.reg.Sessions(ctx, f)
	case api.CmdCalibrateZero:
		return nil, s.scaleDo(ctx, "zero", 0)
	case api.CmdCalibrateSpan:
		g, err := strconv.ParseFloat(value, 64)
		if err != nil || g <= 0 {
			return nil, fmt.Errorf("calibrate_span: value must be the known mass in grams, got %q", value)
		}
		return nil, s.scaleDo(ctx, "span", g)
	case api.CmdSimPlace, api.CmdSimRemove, api.CmdSimPress, CmdSimUnplug, CmdSimScale:
		return nil, s.simCommand(ctx, name, value)
	case CmdSimLabel:
		return nil, s.simShowLabel(value)
	case string(publish.CmdMark):
		// The API's mark carries a free label; MQTT's is just PRESS.
		if strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }) || !utf8.ValidString(value) {
			return nil, errors.New("mark: the label must be printable text")
		}
		return nil, s.command(ctx, session.Command{Kind: session.CmdMark, Text: labelText(value), Source: "api"})
	}
	if value == "" && (name == string(publish.CmdTare) || name == string(publish.CmdStart) || name == string(publish.CmdStop)) {
		value = publish.PressPayload // the buttons' payload on MQTT; the API needs none
	}
	c, err := publish.ParseCommand(name, []byte(value), false)
	if err != nil {
		if errors.Is(err, publish.ErrUnknownCommand) {
			return nil, fmt.Errorf("%w: %q", api.ErrUnknownCommand, name)
		}
		return nil, err
	}
	if ok, err := s.direct(ctx, c); ok {
		return nil, err
	}
	return nil, s.command(ctx, sessionCommand(c, "api"))
}

func labelText(v string) string {
	r := []rune(v)
	if len(r) > 80 {
		r = r[:80]
	}
	return string(r)
}

func parseSince(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("since: %q is not a date (2006-01-02) or RFC 3339 time", v)
}

// Simulator commands of the local API beyond internal/api's sim_* ones
// (weighd --sim only), for fault tests.
const (
	// CmdSimUnplug pulls the synthetic camera out for value, a duration
	// such as "2s"; the camera reconnector brings it back after that.
	CmdSimUnplug = "sim_unplug"
	// CmdSimScale: value "fail" makes every HX711 read time out, as a
	// loose DOUT wire; "ok" ends the fault.
	CmdSimScale = "sim_scale"
)

func (s *Station) simCommand(ctx context.Context, name, value string) error {
	if s.hw.sim == nil {
		return fmt.Errorf("%s: %w", name, errNotSim)
	}
	switch name {
	case api.CmdSimPlace:
		g, err := strconv.ParseFloat(value, 64)
		if err != nil || g < 0 || g > 10000 {
			return fmt.Errorf("sim_place: value must be grams between 0 and 10000, got %q", value)
		}
		s.hw.sim.load.Place(g)
	case api.CmdSimRemove:
		s.hw.sim.load.Remove()
	case api.CmdSimPress:
		kind := session.PressShort
		switch value {
		case "", "short":
		case "long":
			kind = session.PressLong
		default:
			return fmt.Errorf("sim_press: value must be short or long, got %q", value)
		}
		select {
		case s.hw.sim.presses <- kind:
		case <-ctx.Done():
			return ctx.Err()
		}
	case CmdSimUnplug:
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 || d > time.Minute {
			return fmt.Errorf("sim_unplug: value must be a duration up to 1m, got %q", value)
		}
		s.hw.sim.camera.unplug(d)
	case CmdSimScale:
		switch value {
		case "fail":
			s.hw.sim.scaleDown.Store(true)
		case "ok":
			s.hw.sim.scaleDown.Store(false)
		default:
			return fmt.Errorf("sim_scale: value must be fail or ok, got %q", value)
		}
	}
	return nil
}
