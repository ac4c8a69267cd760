package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShippedExampleEqualsDefault(t *testing.T) {
	got, err := Load(filepath.Join("..", "..", "deploy", "weighd.yaml"))
	if err != nil {
		t.Fatalf("Load(deploy/weighd.yaml): %v", err)
	}
	if diff := cmp.Diff(Default(), got); diff != "" {
		t.Errorf("deploy/weighd.yaml differs from Default() (-default +file):\n%s", diff)
	}
}

func TestDefaultValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	got, err := Parse("e.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), got); diff != "" {
		t.Error(diff)
	}
}

func TestLoadOverrides(t *testing.T) {
	got, err := Parse("w.yaml", []byte("scale:\n  rate: 80\nmqtt:\n  broker: tcp://ha.local:1883\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Scale.Rate = 80
	want.MQTT.Broker = "tcp://ha.local:1883"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // every message, in order
	}{
		{"unknown top key", "colour: red\n",
			[]string{`w.yaml:1: colour: unknown key (known: api, audio, button, camera, export, led, log_level, mqtt, offsite, recorder, retention, scale, session, state_dir, station_id, trust, verdict, web)`}},
		{"unknown nested key", "scale:\n  rate: 10\n  sped: 3\n",
			[]string{`w.yaml:3: scale.sped: unknown key (known: calibration_file, dout_pin, gain, rate, read_timeout, sck_pin, stable_threshold_g, stable_threshold_pct, stable_window, warm_up, zero_band_g, zero_track_g_per_s)`}},
		{"duplicate key", "log_level: info\nlog_level: debug\n", []string{`w.yaml:2: log_level: duplicate key`}},
		{"wrong type", "scale:\n  rate: fast\n", []string{"w.yaml:2: scale.rate: cannot unmarshal str `fast` into int"}},
		{"bad duration", "recorder:\n  pre_roll: five\n", []string{"w.yaml:2: recorder.pre_roll: cannot unmarshal str `five` into time.Duration"}},
		{"audio rate", "audio:\n  rate: 96000\n", []string{`w.yaml:2: audio.rate: must be one of [8000 11025 16000 22050 24000 32000 44100 48000] Hz, got 96000`}},
		{"audio device", "audio:\n  device: plughw:1,0\n", []string{`w.yaml:2: audio.device: must be empty (the camera's own microphone), hw:CARD[,DEV], a card id or /dev/snd/pcmC<card>D<dev>c, got "plughw:1,0"`}},
		{"audio enabled", "audio:\n  enabled: maybe\n", []string{"w.yaml:2: audio.enabled: cannot unmarshal str `maybe` into bool"}},
		{"rate", "scale:\n  rate: 20\n", []string{`w.yaml:2: scale.rate: must be 10 or 80 (the HX711 RATE pin), got 20`}},
		{"gain", "scale:\n  gain: 100\n", []string{`w.yaml:2: scale.gain: must be 128, 64 or 32, got 100`}},
		{"same pins", "scale:\n  sck_pin: GPIO5\n", []string{`w.yaml:1: scale.dout_pin: must differ from scale.sck_pin (both "GPIO5")`}},
		{"relative state dir", "state_dir: var/lib\n", []string{`w.yaml:1: state_dir: must be an absolute path, got "var/lib"`}},
		{"log level", "log_level: loud\n", []string{`w.yaml:1: log_level: must be one of debug, info, warn, error; got "loud"`}},
		{"audio device plugin", "audio:\n  device: \"plug:dsnoop x\"\n", []string{`w.yaml:2: audio.device: must be empty (the camera's own microphone), hw:CARD[,DEV], a card id or /dev/snd/pcmC<card>D<dev>c, got "plug:dsnoop x"`}},
		{"station id", "station_id: My Station\n", []string{`w.yaml:1: station_id: "My Station" has characters outside [a-z0-9_-]`}},
		{"buffers", "camera:\n  buffers: 256\n", []string{`w.yaml:2: camera.buffers: must be between 2 and 4, got 256`}},
		{"camera format", "camera:\n  format: h264\n", []string{`w.yaml:2: camera.format: must be auto, mjpeg or yuyv, got "h264"`}},
		{"platform region of three", "camera:\n  platform_region: [0.1, 0.1, 0.5]\n", []string{`w.yaml:2: camera.platform_region: must be four fractions [x, y, w, h], got [0.1 0.1 0.5]`}},
		{"platform region outside", "camera:\n  platform_region: [0.5, 0.2, 0.6, 0.6]\n", []string{`w.yaml:2: camera.platform_region: must be [x, y, w, h] fractions of the frame with w, h at least 0.05 and x+w, y+h at most 1, got [0.5 0.2 0.6 0.6]`}},
		{"negative tolerance", "verdict:\n  tolerance_g: -5\n", []string{`w.yaml:2: verdict.tolerance_g: must be between 0 and 10000, got -5`}},
		{"broker scheme", "mqtt:\n  broker: http://x\n", []string{`w.yaml:2: mqtt.broker: unknown scheme "http" (use tcp, ssl, mqtt, mqtts, ws or wss)`}},
		{"open broker without password", "mqtt:\n  embedded_listen: 0.0.0.0:1883\n",
			[]string{`w.yaml:2: mqtt.embedded_listen: listens beyond loopback ("0.0.0.0:1883"): set mqtt.username and mqtt.password`}},
		{"several at once", "scale:\n  rate: 20\n  gain: 1\nbutton:\n  long_press: 1h\n", []string{
			`w.yaml:3: scale.gain: must be 128, 64 or 32, got 1`,
			`w.yaml:2: scale.rate: must be 10 or 80 (the HX711 RATE pin), got 20`,
			`w.yaml:5: button.long_press: must be between 500ms and 10s, got 1h0m0s`,
		}},
		{"tsa url scheme", "trust:\n  tsa_urls: [ftp://tsa.example]\n", []string{`w.yaml:2: trust.tsa_urls: entry 1 "ftp://tsa.example": scheme must be http or https`}},
		{"tsa url credentials", "trust:\n  tsa_urls:\n    - https://tsa.example/tsr\n    - https://u:pw@tsa.example/x\n",
			[]string{`w.yaml:2: trust.tsa_urls: entry 2 must not carry credentials (they would appear in logs and on the status)`}},
		{"tsa url twice", "trust:\n  tsa_urls: [http://a.example, http://a.example]\n", []string{`w.yaml:2: trust.tsa_urls: entry 2 "http://a.example" is listed twice`}},
		{"tsa url no host", "trust:\n  tsa_urls: [\"https:///tsr\"]\n", []string{`w.yaml:2: trust.tsa_urls: entry 1 "https:///tsr" has no host`}},
		{"tsa ca relative", "trust:\n  tsa_ca_file: roots.pem\n", []string{`w.yaml:2: trust.tsa_ca_file: must be an absolute path, got "roots.pem"`}},
		{"tsa unknown key", "trust:\n  tsa_url: http://a.example\n", []string{`w.yaml:2: trust.tsa_url: unknown key (known: tsa_ca_file, tsa_urls)`}},
		// Issue 13 item 7.
		{"button on the scale's pin", "button:\n  pin: GPIO5\n", []string{`w.yaml:2: button.pin: pin GPIO5 is also scale.dout_pin: one pin drives one device`}},
		{"led on the button's pin", "led:\n  pin: GPIO17\n", []string{`w.yaml:2: led.pin: pin GPIO17 is also button.pin: one pin drives one device`}},
		{"password without username", "mqtt:\n  password: s3cret\n", []string{`w.yaml:2: mqtt.password: is set without mqtt.username (a broker takes a password only with a user name)`}},
		{"station id too long", "station_id: " + strings.Repeat("a", 65) + "\n", []string{`w.yaml:1: station_id: is 65 characters long, at most 64`}},
		{"second document", "log_level: info\n---\nlog_level: debug\n", []string{`w.yaml:2: a second YAML document (after ---): the configuration is one document`}},
		{"NUL in a value", "scale:\n  rate: 1\x000\n", []string{`w.yaml:2: scale.rate: control character U+0000 at column 10`}},
		{"escape in a nested value", "mqtt:\n  username: ha\n  client_id: \"a\x1b[2J\"\n", []string{`w.yaml:3: mqtt.client_id: control character U+001B at column 16`}},
		{"invalid UTF-8", "log_level: \xff\n", []string{`w.yaml:1: log_level: invalid UTF-8 at column 12`}},
		{"not a mapping", "- a\n- b\n", []string{"w.yaml:1: cannot unmarshal seq into config.Config"}},
		{"syntax", "scale: [\n", []string{"w.yaml: line 1: did not find expected node content"}},
	}
	var many strings.Builder
	for i := range 700 {
		fmt.Fprintf(&many, "k%d: 1\n", i)
	}
	manyWant := make([]string, 0, MaxReported+1)
	for i := range MaxReported {
		manyWant = append(manyWant, fmt.Sprintf("w.yaml:%d: k%d: unknown key (known: api, audio, button, camera, export, led, log_level, mqtt, offsite, recorder, retention, scale, session, state_dir, station_id, trust, verdict, web)", i+1, i))
	}
	tests = append(tests, struct {
		name, yaml string
		want       []string
	}{"700 unknown keys: 20 and a count", many.String(), append(manyWant, "… and 680 more problems (700 in all)")})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tt.yaml, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			lines := strings.Split(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+"\n"), "\n")
			if strings.HasPrefix(lines[0], ErrInvalid.Error()+": ") {
				lines[0] = strings.TrimPrefix(lines[0], ErrInvalid.Error()+": ")
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("Parse(%q) messages (-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	c := Default()
	c.MQTT.Password = "hunter2"
	if s := c.MQTT.Password.String(); strings.Contains(s, "hunter2") {
		t.Errorf("Secret.String() = %q leaks the secret", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("scale:\n  rate: 80\n"))
	f.Add([]byte("colour: red\n"))
	f.Add([]byte("mqtt:\n  broker: tcp://x:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
	})
}

func TestTrustOverrides(t *testing.T) {
	got, err := Parse("w.yaml", []byte("trust:\n  tsa_urls:\n    - http://timestamp.digicert.com\n    - https://freetsa.org/tsr\n  tsa_ca_file: /etc/weighin/tsa-roots.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Trust = Trust{TSAURLs: []string{"http://timestamp.digicert.com", "https://freetsa.org/tsr"}, TSACAFile: "/etc/weighin/tsa-roots.pem"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if len(Default().Trust.TSAURLs) != 0 {
		t.Errorf("default trust.tsa_urls = %v, want none (contact nothing by default)", Default().Trust.TSAURLs)
	}
}

func TestLoadOrDefault(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadOrDefault(filepath.Join(dir, "absent.yaml"))
	if err != nil || !cmp.Equal(cfg, Default()) {
		t.Errorf("a missing file: %+v, %v; want the defaults", cfg, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("scale:\n  rate: 40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrDefault(bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad.yaml:2: scale.rate") {
		t.Errorf("a bad file: %v, want the file, line and key", err)
	}
	if DefaultPath != "/etc/weighin/weighd.yaml" {
		t.Errorf("DefaultPath = %q", DefaultPath)
	}
}

func TestWebConfig(t *testing.T) {
	good := "web:\n  listen: \":8080\"\n  url: https://weighin.lan:8080\n  tls_self_signed: true\n"
	if _, err := Parse("w.yaml", []byte(good)); err != nil {
		t.Fatalf("good web section: %v", err)
	}
	for in, want := range map[string]string{
		"web:\n  listen: 8080\n":                                         "web.listen: must be host:port",
		"web:\n  listen: \":99999\"\n":                                   "web.listen: port must be 1–65535",
		"web:\n  url: ftp://x\n":                                         "web.url: must be an http:// or https:// URL",
		"web:\n  url: http://u:p@x\n":                                    "web.url: must not carry credentials",
		"web:\n  tls_cert: /a.pem\n":                                     "web.tls_cert: web.tls_cert and web.tls_key go together",
		"web:\n  tls_cert: a.pem\n  tls_key: /k.pem\n":                   "web.tls_cert: must be an absolute path",
		"web:\n  tls_cert: /a\n  tls_key: /k\n  tls_self_signed: true\n": "web.tls_self_signed: cannot be true together",
		"web:\n  listn: x\n":                                             "web.listn: unknown key",
	} {
		_, err := Parse("w.yaml", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}
