package config

import (
	"math"
	"net"
	"slices"
	"strings"
	"time"
)

// Scale configures the HX711 load cell and the weighing pipeline.
type Scale struct {
	// SCKPin and DOUTPin are periph pin names (BCM numbering), e.g. "GPIO6".
	SCKPin  string `yaml:"sck_pin"`
	DOUTPin string `yaml:"dout_pin"`
	// Gain is 128 or 64 (channel A) or 32 (channel B).
	Gain int `yaml:"gain"`
	// Rate is the HX711 output rate set by its RATE pin: 10 or 80 SPS.
	Rate int `yaml:"rate"`
	// CalibrationFile is relative to state_dir unless absolute.
	CalibrationFile string `yaml:"calibration_file"`
	// StableWindow is how long the readings must agree to be stable.
	StableWindow time.Duration `yaml:"stable_window"`
	// StableThresholdG and StableThresholdPct give the allowed spread within
	// the window: max(g, pct % of the load).
	StableThresholdG   float64 `yaml:"stable_threshold_g"`
	StableThresholdPct float64 `yaml:"stable_threshold_pct"`
	// ZeroBandG: a steady weight within ±zero_band_g is "empty", and zero
	// tracking acts only inside it.
	ZeroBandG float64 `yaml:"zero_band_g"`
	// ZeroTrackGPerS bounds how fast zero tracking may move the zero.
	ZeroTrackGPerS float64 `yaml:"zero_track_g_per_s"`
	// WarmUp is how long after power-up the cell is flagged warming up.
	WarmUp time.Duration `yaml:"warm_up"`
	// ReadTimeout bounds one HX711 read, retries included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

func defaultScale() Scale {
	return Scale{
		SCKPin: "GPIO6", DOUTPin: "GPIO5", Gain: 128, Rate: 10,
		CalibrationFile:  "calibration.json",
		StableWindow:     500 * time.Millisecond,
		StableThresholdG: 1.0, StableThresholdPct: 0.05,
		ZeroBandG: 5, ZeroTrackGPerS: 0.5,
		WarmUp: 10 * time.Minute, ReadTimeout: time.Second,
	}
}

func (s Scale) validate(p *problems) {
	pin(p, "scale.sck_pin", s.SCKPin)
	pin(p, "scale.dout_pin", s.DOUTPin)
	if s.SCKPin != "" && s.SCKPin == s.DOUTPin {
		p.add("scale.dout_pin", "must differ from scale.sck_pin (both %q)", s.SCKPin)
	}
	switch s.Gain {
	case 128, 64, 32:
	default:
		p.add("scale.gain", "must be 128, 64 or 32, got %d", s.Gain)
	}
	if s.Rate != 10 && s.Rate != 80 {
		p.add("scale.rate", "must be 10 or 80 (the HX711 RATE pin), got %d", s.Rate)
	}
	if s.CalibrationFile == "" {
		p.add("scale.calibration_file", "must not be empty")
	}
	between(p, "scale.stable_window", s.StableWindow, 100*time.Millisecond, 10*time.Second)
	positive(p, "scale.stable_threshold_g", s.StableThresholdG, 100)
	nonNegative(p, "scale.stable_threshold_pct", s.StableThresholdPct, 10)
	positive(p, "scale.zero_band_g", s.ZeroBandG, 1000)
	nonNegative(p, "scale.zero_track_g_per_s", s.ZeroTrackGPerS, 10)
	between(p, "scale.warm_up", s.WarmUp, 0, 2*time.Hour)
	between(p, "scale.read_timeout", s.ReadTimeout, 200*time.Millisecond, time.Minute)
}

// Camera configures the USB camera.
type Camera struct {
	// Device is a V4L2 device path; a /dev/v4l/by-id/… path survives
	// replugging into another port.
	Device string `yaml:"device"`
	// Format is "auto" (MJPEG if offered, else YUYV encoded in software),
	// "mjpeg" or "yuyv".
	Format string `yaml:"format"`
	Width  int    `yaml:"width"`
	Height int    `yaml:"height"`
	FPS    int    `yaml:"fps"`
	// FallbackWidth, FallbackHeight and FallbackFPS are used when the camera
	// offers no MJPEG and frames are encoded on the Pi.
	FallbackWidth  int `yaml:"fallback_width"`
	FallbackHeight int `yaml:"fallback_height"`
	FallbackFPS    int `yaml:"fallback_fps"`
	// JPEGQuality is for the software encoder (1–100).
	JPEGQuality int `yaml:"jpeg_quality"`
	// Buffers is the number of kernel buffers (2–4).
	Buffers int `yaml:"buffers"`
	// FrameTimeout: no frame for this long counts as an unplug.
	FrameTimeout time.Duration `yaml:"frame_timeout"`
	// PlatformRegion is where the scale's platform is in the picture: x, y,
	// w, h as fractions of the frame's width and height (so it holds at
	// any resolution). Motion there while the parcel is weighed marks the
	// weigh-in disturbed (internal/motion).
	PlatformRegion []float64 `yaml:"platform_region"`
}

func defaultCamera() Camera {
	return Camera{
		Device: "/dev/video0", Format: "auto", Width: 1280, Height: 720, FPS: 30,
		FallbackWidth: 640, FallbackHeight: 480, FallbackFPS: 15,
		JPEGQuality: 80, Buffers: 3, FrameTimeout: 2 * time.Second,
		PlatformRegion: []float64{0.2, 0.2, 0.6, 0.6},
	}
}

func (c Camera) validate(p *problems) {
	if !strings.HasPrefix(c.Device, "/dev/") {
		p.add("camera.device", "must be a path under /dev/, got %q", c.Device)
	}
	switch c.Format {
	case "auto", "mjpeg", "yuyv":
	default:
		p.add("camera.format", "must be auto, mjpeg or yuyv, got %q", c.Format)
	}
	intBetween(p, "camera.width", c.Width, 160, 4096)
	intBetween(p, "camera.height", c.Height, 120, 2160)
	intBetween(p, "camera.fps", c.FPS, 1, 120)
	intBetween(p, "camera.fallback_width", c.FallbackWidth, 160, 4096)
	intBetween(p, "camera.fallback_height", c.FallbackHeight, 120, 2160)
	intBetween(p, "camera.fallback_fps", c.FallbackFPS, 1, 120)
	intBetween(p, "camera.jpeg_quality", c.JPEGQuality, 1, 100)
	intBetween(p, "camera.buffers", c.Buffers, 2, 4)
	between(p, "camera.frame_timeout", c.FrameTimeout, 100*time.Millisecond, time.Minute)
	if r := c.PlatformRegion; len(r) != 4 {
		p.add("camera.platform_region", "must be four fractions [x, y, w, h], got %v", r)
	} else if bad := slices.ContainsFunc(r, func(v float64) bool { return math.IsNaN(v) || v < 0 || v > 1 }); bad || r[2] < 0.05 || r[3] < 0.05 || r[0]+r[2] > 1+1e-9 || r[1]+r[3] > 1+1e-9 {
		p.add("camera.platform_region", "must be [x, y, w, h] fractions of the frame with w, h at least 0.05 and x+w, y+h at most 1, got %v", r)
	}
}

// Recorder configures continuous recording.
type Recorder struct {
	// PreRoll is how much video before the press opens the file.
	PreRoll time.Duration `yaml:"pre_roll"`
	// Cluster is the longest Matroska cluster.
	Cluster time.Duration `yaml:"cluster"`
	// SyncInterval is the wall-clock interval between flush+fsync.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// MaxFileBytes and MaxFileDuration rotate to a new file.
	MaxFileBytes    int64         `yaml:"max_file_bytes"`
	MaxFileDuration time.Duration `yaml:"max_file_duration"`
	// GapThreshold: a gap between frames above it is listed in the
	// continuity statistics.
	GapThreshold time.Duration `yaml:"gap_threshold"`
}

func defaultRecorder() Recorder {
	return Recorder{
		PreRoll: 5 * time.Second, Cluster: time.Second, SyncInterval: time.Second,
		MaxFileBytes: 2 << 30, MaxFileDuration: 30 * time.Minute,
		GapThreshold: 200 * time.Millisecond,
	}
}

func (r Recorder) validate(p *problems) {
	between(p, "recorder.pre_roll", r.PreRoll, 0, 60*time.Second)
	between(p, "recorder.cluster", r.Cluster, 100*time.Millisecond, 5*time.Second)
	between(p, "recorder.sync_interval", r.SyncInterval, 100*time.Millisecond, 10*time.Second)
	if r.MaxFileBytes < 1<<20 {
		p.add("recorder.max_file_bytes", "must be at least 1048576 (1 MiB), got %d", r.MaxFileBytes)
	}
	between(p, "recorder.max_file_duration", r.MaxFileDuration, 10*time.Second, 24*time.Hour)
	between(p, "recorder.gap_threshold", r.GapThreshold, 10*time.Millisecond, 10*time.Second)
}

// Session configures the one-button flow.
type Session struct {
	// StableWait is how long a press waits for a stable weight before it
	// goes on with the best reading, flagged unstable.
	StableWait time.Duration `yaml:"stable_wait"`
	// LabelWindow is how much of the session's start is searched for the
	// sharpest label still.
	LabelWindow time.Duration `yaml:"label_window"`
	// MaxDuration stops a recording however active it is.
	MaxDuration time.Duration `yaml:"max_duration"`
	// InactivityStop stops a recording when the weight has not changed for
	// this long.
	InactivityStop time.Duration `yaml:"inactivity_stop"`
	// InactivityG is the weight change that counts as activity.
	InactivityG float64 `yaml:"inactivity_g"`
	// ResumeGrace is how long sealing waits after an inactivity stop for a
	// short press that continues the same session into its next video
	// file (0: seal at once). A button or command stop has no grace.
	ResumeGrace time.Duration `yaml:"resume_grace"`
}

func defaultSession() Session {
	return Session{
		StableWait: 5 * time.Second, LabelWindow: 5 * time.Second,
		MaxDuration: 20 * time.Minute, InactivityStop: 3 * time.Minute, InactivityG: 5,
		ResumeGrace: time.Minute,
	}
}

func (s Session) validate(p *problems) {
	between(p, "session.stable_wait", s.StableWait, 0, time.Minute)
	between(p, "session.label_window", s.LabelWindow, time.Second, time.Minute)
	between(p, "session.max_duration", s.MaxDuration, 10*time.Second, 4*time.Hour)
	between(p, "session.inactivity_stop", s.InactivityStop, 10*time.Second, time.Hour)
	between(p, "session.resume_grace", s.ResumeGrace, 0, 10*time.Minute)
	positive(p, "session.inactivity_g", s.InactivityG, 1000)
}

// Verdict configures the tolerance band and tiers.
type Verdict struct {
	// ToleranceG and TolerancePct: t = max(tolerance_g, pct % × label).
	ToleranceG   float64 `yaml:"tolerance_g"`
	TolerancePct float64 `yaml:"tolerance_pct"`
	// LabelResolutionG is the carrier's rounding step when a parcel does not
	// name its own.
	LabelResolutionG float64 `yaml:"label_resolution_g"`
	// UnknownItemsSharePct: with no item list, a deficit above this share of
	// the label weight is tier 3, below it tier 2.
	UnknownItemsSharePct float64 `yaml:"unknown_items_share_pct"`
}

func defaultVerdict() Verdict {
	return Verdict{ToleranceG: 20, TolerancePct: 1, LabelResolutionG: 10, UnknownItemsSharePct: 25}
}

func (v Verdict) validate(p *problems) {
	nonNegative(p, "verdict.tolerance_g", v.ToleranceG, 10000)
	nonNegative(p, "verdict.tolerance_pct", v.TolerancePct, 50)
	nonNegative(p, "verdict.label_resolution_g", v.LabelResolutionG, 10000)
	positive(p, "verdict.unknown_items_share_pct", v.UnknownItemsSharePct, 100)
}

// MQTT configures publishing to Home Assistant.
type MQTT struct {
	// Broker is an external broker URL (tcp://host:1883, ssl://host:8883).
	// Empty runs the embedded broker on EmbeddedListen.
	Broker string `yaml:"broker"`
	// EmbeddedListen is the embedded broker's address. Beyond loopback it
	// requires username and password.
	EmbeddedListen string `yaml:"embedded_listen"`
	Username       string `yaml:"username"`
	Password       Secret `yaml:"password"`
	// CAFile, CertFile and KeyFile configure TLS for ssl:// brokers.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientID defaults to "weighin-<station_id>".
	ClientID string `yaml:"client_id"`
	// DiscoveryPrefix is Home Assistant's discovery prefix.
	DiscoveryPrefix string `yaml:"discovery_prefix"`
	// StateInterval is the shortest interval between state messages.
	StateInterval time.Duration `yaml:"state_interval"`
	// WeightDeadbandG: a weight change smaller than this sends no state.
	WeightDeadbandG float64 `yaml:"weight_deadband_g"`
	// TagScanner announces a Home Assistant tag scanner and publishes on
	// <base>/tag every tracking number read from a label's barcode: each
	// code becomes a tag in Home Assistant's tag list. Off by default.
	TagScanner bool `yaml:"tag_scanner"`
}

// Secret is a string that never appears in logs or marshalled output.
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

func defaultMQTT() MQTT {
	return MQTT{
		EmbeddedListen: "127.0.0.1:1883", DiscoveryPrefix: "homeassistant",
		StateInterval: 500 * time.Millisecond, WeightDeadbandG: 1,
	}
}

// Validate checks the MQTT section alone (as Config.Validate does): the
// publisher and the clearing client take the section, never a default of
// their own.
func (m MQTT) Validate() error {
	var p problems
	m.validate(&p)
	return p.join()
}

func (m MQTT) validate(p *problems) {
	if m.Broker != "" {
		scheme, _, ok := strings.Cut(m.Broker, "://")
		switch {
		case !ok:
			p.add("mqtt.broker", "must be a URL like tcp://host:1883, got %q", m.Broker)
		case scheme != "tcp" && scheme != "ssl" && scheme != "tls" && scheme != "mqtt" && scheme != "mqtts" && scheme != "ws" && scheme != "wss":
			p.add("mqtt.broker", "unknown scheme %q (use tcp, ssl, mqtt, mqtts, ws or wss)", scheme)
		}
	} else {
		host, _, err := net.SplitHostPort(m.EmbeddedListen)
		if err != nil {
			p.add("mqtt.embedded_listen", "must be host:port, got %q", m.EmbeddedListen)
		} else if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && (m.Username == "" || m.Password == "") {
			p.add("mqtt.embedded_listen", "listens beyond loopback (%q): set mqtt.username and mqtt.password", m.EmbeddedListen)
		}
	}
	if m.Password != "" && m.Username == "" {
		p.add("mqtt.password", "is set without mqtt.username (a broker takes a password only with a user name)")
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		p.add("mqtt.cert_file", "cert_file and key_file go together")
	}
	if m.DiscoveryPrefix == "" || strings.ContainsAny(m.DiscoveryPrefix, "#+") {
		p.add("mqtt.discovery_prefix", "must be a non-empty topic without wildcards, got %q", m.DiscoveryPrefix)
	}
	between(p, "mqtt.state_interval", m.StateInterval, 500*time.Millisecond, time.Minute)
	nonNegative(p, "mqtt.weight_deadband_g", m.WeightDeadbandG, 1000)
}

// Button configures the push button.
type Button struct {
	Pin string `yaml:"pin"`
	// ActiveLow: the button pulls the pin to ground (internal pull-up).
	ActiveLow bool `yaml:"active_low"`
	// Debounce ignores edges closer than this.
	Debounce time.Duration `yaml:"debounce"`
	// LongPress is the hold time of a long press.
	LongPress time.Duration `yaml:"long_press"`
}

func defaultButton() Button {
	return Button{Pin: "GPIO17", ActiveLow: true, Debounce: 30 * time.Millisecond, LongPress: 2 * time.Second}
}

func (b Button) validate(p *problems) {
	pin(p, "button.pin", b.Pin)
	between(p, "button.debounce", b.Debounce, time.Millisecond, 500*time.Millisecond)
	between(p, "button.long_press", b.LongPress, 500*time.Millisecond, 10*time.Second)
}

// LED configures the status LED. An empty pin means no LED.
type LED struct {
	Pin string `yaml:"pin"`
}

func defaultLED() LED { return LED{Pin: "GPIO27"} }

func (l LED) validate(p *problems) {
	if l.Pin != "" {
		pin(p, "led.pin", l.Pin)
	}
}

// API configures the local API used by weighctl.
type API struct {
	// Socket is the unix socket path (mode 0660).
	Socket string `yaml:"socket"`
}

func defaultAPI() API { return API{Socket: "/run/weighin/weighd.sock"} }

func (a API) validate(p *problems) {
	if !strings.HasPrefix(a.Socket, "/") {
		p.add("api.socket", "must be an absolute path, got %q", a.Socket)
	} else if len(a.Socket) > 100 {
		p.add("api.socket", "longer than a unix socket path may be (%d > 100 bytes)", len(a.Socket))
	}
}

// Retention configures removal of old bundles when space runs short.
type Retention struct {
	// MinFreeBytes: below this, the oldest unprotected bundles go.
	MinFreeBytes int64 `yaml:"min_free_bytes"`
	// MaxAge removes unprotected bundles older than this (0 = never); only
	// with a synchronised clock.
	MaxAge time.Duration `yaml:"max_age"`
	// CheckInterval is the period of the background check.
	CheckInterval time.Duration `yaml:"check_interval"`
}

func defaultRetention() Retention {
	return Retention{MinFreeBytes: 1 << 30, MaxAge: 0, CheckInterval: 10 * time.Minute}
}

func (r Retention) validate(p *problems) {
	if r.MinFreeBytes < 0 {
		p.add("retention.min_free_bytes", "must not be negative, got %d", r.MinFreeBytes)
	}
	if r.MaxAge != 0 {
		between(p, "retention.max_age", r.MaxAge, 24*time.Hour, 100*365*24*time.Hour)
	}
	between(p, "retention.check_interval", r.CheckInterval, time.Minute, 24*time.Hour)
}

func pin(p *problems, key, name string) {
	if name == "" {
		p.add(key, "must name a GPIO pin, such as GPIO17")
		return
	}
	if strings.ContainsAny(name, " \t/") {
		p.add(key, "%q is not a pin name", name)
	}
}

func between(p *problems, key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		p.add(key, "must be between %v and %v, got %v", lo, hi, d)
	}
}

func intBetween(p *problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

func positive(p *problems, key string, v, hi float64) {
	if math.IsNaN(v) || v <= 0 || v > hi {
		p.add(key, "must be greater than 0 and at most %g, got %g", hi, v)
	}
}

func nonNegative(p *problems, key string, v, hi float64) {
	if math.IsNaN(v) || v < 0 || v > hi {
		p.add(key, "must be between 0 and %g, got %g", hi, v)
	}
}
