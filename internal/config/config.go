// Package config is weighd's one strict configuration: Default returns the
// shipped values (deploy/weighd.yaml equals them), Load reads a YAML file in
// which every unknown key is an error naming its line, and Validate reports
// every problem at once, each naming its key.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of weighd and weighctl.
type Config struct {
	// StationID names the station in MQTT topics and bundles. Empty means
	// the hostname, lower-cased and reduced to [a-z0-9_-].
	StationID string `yaml:"station_id"`
	// StateDir holds calibration, keys, the registry, bundles and the
	// outbox. weighd writes nowhere else.
	StateDir string `yaml:"state_dir"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `yaml:"log_level"`

	Scale     Scale     `yaml:"scale"`
	Camera    Camera    `yaml:"camera"`
	Recorder  Recorder  `yaml:"recorder"`
	Session   Session   `yaml:"session"`
	Verdict   Verdict   `yaml:"verdict"`
	MQTT      MQTT      `yaml:"mqtt"`
	Button    Button    `yaml:"button"`
	LED       LED       `yaml:"led"`
	API       API       `yaml:"api"`
	Retention Retention `yaml:"retention"`
	Trust     Trust     `yaml:"trust"`
	Export    Export    `yaml:"export"`
	Offsite   Offsite   `yaml:"offsite"`
	Web       Web       `yaml:"web"`
}

// Default returns the configuration weighd uses when a key is absent.
func Default() Config {
	return Config{
		StationID: "",
		StateDir:  "/var/lib/weighin",
		LogLevel:  "info",
		Scale:     defaultScale(),
		Camera:    defaultCamera(),
		Recorder:  defaultRecorder(),
		Session:   defaultSession(),
		Verdict:   defaultVerdict(),
		MQTT:      defaultMQTT(),
		Button:    defaultButton(),
		LED:       defaultLED(),
		API:       defaultAPI(),
		Retention: defaultRetention(),
		Trust:     defaultTrust(),
		Export:    defaultExport(),
		Offsite:   defaultOffsite(),
		Web:       defaultWeb(),
	}
}

// FieldError is one problem with one key.
type FieldError struct {
	// File and Line locate the key when the configuration came from a file;
	// Line is 0 when it did not (or the key is absent and took its default).
	File string
	Line int
	// Key is the dotted path, such as "scale.rate".
	Key string
	Msg string
}

func (e *FieldError) Error() string {
	if e.Key == "" {
		if e.Line > 0 {
			return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
		}
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Key, e.Msg)
}

// ErrInvalid is wrapped by every error Load and Validate return for a bad
// configuration (as opposed to a file that cannot be read).
var ErrInvalid = errors.New("invalid configuration")

type problems struct{ errs []error }

func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks every section and returns all problems at once, joined;
// each is a *FieldError.
func (c Config) Validate() error {
	var p problems
	if c.StationID != "" && SanitizeStationID(c.StationID) != c.StationID {
		p.add("station_id", "%q has characters outside [a-z0-9_-]", c.StationID)
	}
	if c.StateDir == "" {
		p.add("state_dir", "must not be empty")
	} else if !strings.HasPrefix(c.StateDir, "/") {
		p.add("state_dir", "must be an absolute path, got %q", c.StateDir)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.add("log_level", "must be one of debug, info, warn, error; got %q", c.LogLevel)
	}
	c.Scale.validate(&p)
	c.Camera.validate(&p)
	c.Recorder.validate(&p)
	c.Session.validate(&p)
	c.Verdict.validate(&p)
	c.MQTT.validate(&p)
	c.Button.validate(&p)
	c.LED.validate(&p)
	c.API.validate(&p)
	c.Retention.validate(&p)
	c.Trust.validate(&p)
	c.Export.validate(&p)
	c.Offsite.validate(&p)
	c.Web.validate(&p)
	return p.join()
}

// join is nil without problems, else ErrInvalid and every problem joined.
func (p *problems) join() error {
	if len(p.errs) == 0 {
		return nil
	}
	return errors.Join(append([]error{ErrInvalid}, p.errs...)...)
}

// SanitizeStationID lower-cases s and drops every character outside
// [a-z0-9_-].
func SanitizeStationID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ResolvedStationID is StationID, or the hostname made safe when it is
// empty, or "weighin" when neither gives anything.
func (c Config) ResolvedStationID() string {
	if c.StationID != "" {
		return c.StationID
	}
	h, _ := os.Hostname()
	if id := SanitizeStationID(h); id != "" {
		return id
	}
	return "weighin"
}

// DefaultPath is where weighd and weighctl read the configuration unless
// --config names another file.
const DefaultPath = "/etc/weighin/weighd.yaml"

// LoadOrDefault is Load, except that a missing file gives Default(): a
// fresh install runs on the defaults. It is how weighd and weighctl read
// their configuration.
func LoadOrDefault(path string) (Config, error) {
	cfg, err := Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	return cfg, err
}

// Load reads path over Default: keys present in the file replace defaults.
// Unknown keys, wrong types and invalid values are errors naming the file,
// the line and the key; all are reported at once.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; name is used in messages.
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrInvalid, name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 { // empty file: all defaults
		return cfg, wrapFile(name, lineIndex{}, cfg.Validate())
	}
	lines := lineIndex{key: map[string]int{}, at: map[int]string{}}
	var errs []error
	walk(root.Content[0], reflect.TypeOf(cfg), "", name, lines, &errs)
	if len(errs) == 0 {
		if err := root.Content[0].Decode(&cfg); err != nil {
			errs = append(errs, decodeErrors(name, err, lines)...)
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(append([]error{ErrInvalid}, errs...)...)
	}
	return cfg, wrapFile(name, lines, cfg.Validate())
}

// walk checks that every mapping key names a field of t, recording the line
// of every key it meets by dotted path.
func walk(n *yaml.Node, t reflect.Type, path, file string, lines lineIndex, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if path != "" {
			key = path + "." + k.Value
		}
		if seen[k.Value] {
			*errs = append(*errs, &FieldError{File: file, Line: k.Line, Key: key, Msg: "duplicate key"})
			continue
		}
		seen[k.Value] = true
		ft, ok := fields[k.Value]
		if !ok {
			*errs = append(*errs, &FieldError{File: file, Line: k.Line, Key: key, Msg: "unknown key" + suggest(fields)})
			continue
		}
		lines.key[key] = k.Line
		lines.at[v.Line] = key
		walk(v, ft, key, file, lines, errs)
	}
}

// lineIndex locates keys: key maps a dotted key to the line it is on, at
// maps a value's line to the deepest key whose value starts there.
type lineIndex struct {
	key map[string]int
	at  map[int]string
}

func suggest(fields map[string]reflect.Type) string {
	var names []string
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

// lineOf is the line of key, or of its nearest ancestor present in the
// file when the key itself took its default.
func (l lineIndex) lineOf(key string) int {
	for key != "" {
		if n, ok := l.key[key]; ok {
			return n
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func decodeErrors(file string, err error, lines lineIndex) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{fmt.Errorf("%s: %v", file, err)}
	}
	var out []error
	for _, msg := range te.Errors {
		var line int
		rest := msg
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
			_, rest, _ = strings.Cut(msg, ": ")
		}
		key := lines.at[line]
		out = append(out, &FieldError{File: file, Line: line, Key: key, Msg: strings.ReplaceAll(rest, "!!", "")})
	}
	return out
}

func wrapFile(file string, lines lineIndex, err error) error {
	if err == nil {
		return nil
	}
	var fes []error
	for _, e := range unwrapJoined(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			c := *fe
			c.File = file
			c.Line = lines.lineOf(c.Key)
			fes = append(fes, &c)
		}
	}
	return errors.Join(append([]error{ErrInvalid}, fes...)...)
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
