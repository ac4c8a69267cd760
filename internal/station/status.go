package station

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"weighin/drivers/audio"
	"weighin/drivers/camera"
	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/offsite"
	"weighin/internal/publish"
	"weighin/internal/registry"
	"weighin/internal/result"
	"weighin/internal/scalestatus"
	"weighin/internal/session"
	"weighin/internal/vocab"
	"weighin/internal/weighing"
)

func (s *Station) initStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = api.Status{
		StationID: s.stationID, Version: Version, Sim: s.sim, StateDir: s.cfg.StateDir,
		SessionState: session.PhaseIdle.String(), WeightState: "undecided", Status: string(scalestatus.Fault),
		KeyFingerprint: s.store.KeyFingerprint(), ChainHead: s.store.Head(),
		Scale:  api.ScaleStatus{Rate: s.cfg.Scale.Rate},
		Camera: api.CameraStatus{Device: s.cfg.Camera.Device},
		MQTT:   api.MQTTStatus{Broker: s.mqttURL, Embedded: s.embedded},
	}
	if s.hw.cameraName != "" {
		s.status.Camera.Device = s.hw.cameraName
	}
	s.status.Audio = api.AudioStatus{Device: s.cfg.Audio.Device, Rate: s.cfg.Audio.Rate, LevelDBFS: -120}
	if s.status.Audio.Device == "" {
		s.status.Audio.Device = "camera"
	}
	if s.hw.audioName != "" {
		s.status.Audio.Device = s.hw.audioName
	}
}

// noteAudio shows a block the recorder took: its level and rate.
func (s *Station) noteAudio(b audio.Block) {
	lvl := b.LevelDBFS()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAudio = time.Now()
	s.status.Audio.Rate, s.status.Audio.LevelDBFS = b.Format.Rate, math.Round(lvl*10)/10
}

// audioOnLocked: sound is being captured (a block came in the last
// second), so recordings have it. s.mu is held.
func (s *Station) audioOnLocked() bool {
	return s.hw.audio != nil && !s.lastAudio.IsZero() && time.Since(s.lastAudio) <= time.Second
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
	s.status.OverCapacity = r.Overload
	s.status.Status = string(statusOf(r, true, s.status.Calibrated, s.cfg.Scale))
	s.status.Scale.Reads, s.status.Scale.Glitches, s.status.Scale.Timeouts = st.Reads, st.Glitches, st.Timeouts
	s.status.Scale.LastErr = ""
	if r.Overload { // the error LED, and doctor's WARN, say it too
		s.status.Scale.LastErr = errOverCapacity.Error()
	}
}

// noteScaleError shows a failed HX711 read: the last weight is no longer
// known.
func (s *Station) noteScaleError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Scale.LastErr = err.Error()
	s.status.WeightState, s.status.Stable = "undecided", false
	s.status.Status = string(scalestatus.Fault)
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

// brokerRefused is the embedded broker's report of a refusal (acl.go): a
// publish its ACL refused, a station-id collision. It goes to
// <base>/error; a collision also into the MQTT status.
func (s *Station) brokerRefused(what, reason string) {
	if what == "connect" {
		s.pub.NoteProblem(reason)
	}
	go s.pub.PublishFault(what, reason)
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
func (s *Station) publishState(ss session.State, cur *current, e session.Entries) {
	// publishState runs after every event, samples included (80 a second
	// at 80 SPS): statfs and adjtimex are asked at most once a second.
	if now := time.Now(); now.Sub(s.sysChecked) >= time.Second {
		s.sysChecked = now
		s.free, _ = evidence.FreeBytes(s.cfg.StateDir)
		s.synced = clockSynced()
		if s.offsite != nil {
			s.ofs = offsiteState(s.offsite.Status())
		}
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
	now := time.Now()
	st.AutoStopInS, st.ResumeInS = secondsUntil(ss.AutoStopAt, now), secondsUntil(ss.ResumeUntil, now)
	st.LeftoverLoad = ss.LeftoverLoad()
	st.TrackingOffer = ""
	if cur != nil && e.Tracking == "" {
		st.TrackingOffer = cur.offer
	}
	st.Entries = api.Entries{
		OrderRef: e.OrderRef, Tracking: e.Tracking,
		ExteriorCondition: e.ExteriorCondition, IssueType: e.IssueType,
		Solution: e.Solution, Damage: e.Damage,
	}
	if e.HasTier {
		t := e.Tier
		st.Entries.Tier = &t
	}
	if e.HasLabelG {
		g := e.LabelG
		st.Entries.LabelG = &g
	}
	st.FreeStorageBytes = free
	st.ClockSynced = s.synced
	st.UptimeS = time.Since(s.started).Seconds()
	st.Camera.FPS = s.fps
	ps := publish.State{
		WeightG: st.WeightG, Stable: st.Stable, Status: st.Status, Recording: st.Recording, SessionState: st.SessionState,
		FreeStorageBytes: free, WarmingUp: st.WarmingUp, OverCapacity: st.OverCapacity,
		OrderRef: st.Entries.OrderRef, Tracking: st.Entries.Tracking, LabelG: st.Entries.LabelG,
		Offsite:     s.ofs,
		AutoStopInS: st.AutoStopInS, ResumeInS: st.ResumeInS, LeftoverLoad: st.LeftoverLoad, TrackingOffer: st.TrackingOffer,
	}
	s.mu.Unlock()
	s.live.PublishState(ps)
	s.publishEntries(e, cur)
}

// secondsUntil is the whole seconds (rounded up) from now to the moment
// at reports, nil when it reports none.
func secondsUntil(at func() (time.Time, bool), now time.Time) *int {
	t, ok := at()
	if !ok {
		return nil
	}
	n := max(int(math.Ceil(t.Sub(now).Seconds())), 0)
	return &n
}

// offsiteState is the replicator's status as the MQTT state carries it.
func offsiteState(st offsite.Status) *publish.OffsiteState {
	return &publish.OffsiteState{
		VerifiedObjects: st.Objects[offsite.Verified.String()],
		BacklogObjects:  st.BacklogObjects, BacklogBytes: st.BacklogBytes, Problems: len(st.Problems),
	}
}

// Status is the API's GET /v1/status.
func (s *Station) Status(ctx context.Context) (any, error) {
	s.mu.Lock()
	st := s.status
	lastFrame := s.lastFrame
	st.Audio.On = s.audioOnLocked()
	s.mu.Unlock()
	if s.pub != nil {
		st.LastRefusal = s.pub.LastRefusal()
	}
	if s.tsq != nil {
		ts := s.tsq.Status()
		st.Timestamps = &ts
	}
	if s.offsite != nil {
		ofs := s.offsite.Status()
		st.Offsite = &ofs
	}
	st.Exports = api.ExportStatus{State: "off", Reason: "no export queue"}
	if s.exports != nil {
		st.Exports = s.exports.statusNow()
	}
	// The camera is connected while the reconnector's source delivers:
	// frames came since the last loss, and recently.
	rs := s.recon.Stats()
	st.Camera.Connected = rs.Frames > 0 && !rs.LastResume.Before(rs.LastLoss) &&
		time.Since(lastFrame) <= s.cfg.Camera.FrameTimeout
	if rs.LastErr != nil {
		st.Camera.LastErr = rs.LastErr.Error()
	}
	if s.web != nil { // nil in the in-process tests
		st.Web = s.web.Status()
	}
	st.LED = s.ledPattern().String()
	if s.pub != nil {
		st.MQTT.Connected = s.pub.Connected()
		st.MQTT.Problem = s.pub.Problem()
		if n, err := s.pub.Outbox().Len(); err == nil {
			st.MQTT.Pending = n
		}
	}
	return st, nil
}

// Command is the API's POST /v1/cmd/NAME and GET /v1/sessions.
func (s *Station) Command(ctx context.Context, name, value string, q map[string]string) (any, error) {
	switch name {
	case api.CmdSessions:
		f := registry.Filter{Tracking: q["tracking"], Order: q["order"], Verdict: q["verdict"]}
		if v := q["since"]; v != "" {
			t, err := registry.ParseSince(v)
			if err != nil {
				return nil, err
			}
			f.Since = t
		}
		if err := f.Page(q); err != nil { // until, newest, limit, offset (the web app's pages)
			return nil, err
		}
		return s.reg.Sessions(ctx, f)
	case api.CmdParcels:
		return s.reg.ExpectedParcels(ctx)
	case api.CmdExport:
		return s.exportCmd(ctx, value, q["preset"])
	case api.CmdParcelRemove, api.CmdParcelImport, string(publish.CmdOutcome):
		return s.apiWrite(ctx, name, value)
	case api.CmdWebPasswd, api.CmdShare, api.CmdShareList, api.CmdShareRevoke:
		if s.web == nil {
			return nil, fmt.Errorf("%s: the web app is not running in this weighd", name)
		}
		return s.web.Command(ctx, name, value, q)
	case api.CmdCalibrateZero:
		return nil, s.scaleDo(ctx, "zero", 0)
	case api.CmdCalibrateRegion:
		return s.calibrateRegion(value)
	case api.CmdCalibrateSpan:
		g, err := vocab.ParseMass(value)
		if err != nil {
			return nil, fmt.Errorf("calibrate_span: %w", err)
		}
		return nil, s.scaleDo(ctx, "span", g)
	case api.CmdSimPlace, api.CmdSimRemove, api.CmdSimPress, api.CmdSimHand, CmdSimUnplug, CmdSimScale, CmdSimLabel:
		if s.hw.sim == nil {
			return nil, fmt.Errorf("%s: %w", name, ErrNotSim)
		}
		return nil, s.hw.sim.Command(ctx, name, value)
	case api.CmdHAClear:
		return api.HAClearReply{StationID: s.stationID, Broker: s.mqttURL, Embedded: s.embedded}, s.pub.Clear(ctx)
	case string(publish.CmdMark):
		// The API's mark carries a free label (vocab's text rule, checked
		// by the session with the cap and the rate); MQTT's is just PRESS.
		return nil, s.command(ctx, session.Command{Kind: session.CmdMark, Text: value, Source: "api"})
	}
	if value == "" && (name == string(publish.CmdTare) || name == string(publish.CmdStart) || name == string(publish.CmdStop) || name == string(publish.CmdClearEntries)) {
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
	if err := s.command(ctx, sessionCommand(c, "api")); err != nil {
		return nil, err
	}
	s.accepted(name)
	return nil, nil
}

// Simulator commands of the local API beyond internal/api's sim_* ones
// (weighd --sim only, carried out by Hardware.Sim), for fault tests.
const (
	// CmdSimUnplug pulls the synthetic camera out for value, a duration
	// such as "2s"; the camera reconnector brings it back after that.
	CmdSimUnplug = "sim_unplug"
	// CmdSimScale: value "fail" makes every HX711 read time out, as a
	// loose DOUT wire; "ok" ends the fault.
	CmdSimScale = "sim_scale"
	// CmdSimLabel holds a shipping label up to the synthetic camera: value
	// is the tracking number, drawn as a Code 128 barcode on a label at the
	// camera's size and shown for SimLabelFor, so that a session started
	// meanwhile reads the tracking number from it.
	CmdSimLabel = "sim_label"
)

// SimLabelFor is how long sim_label shows the label: longer than a press
// takes to start a session, and long enough to fill a short label window.
const SimLabelFor = 4 * time.Second
