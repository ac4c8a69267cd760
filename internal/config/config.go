// Package config is weighd's one strict configuration: Default returns the
// shipped values (deploy/weighd.yaml equals them), Load reads a YAML file in
// which every unknown key is an error naming its line, and Validate reports
// every problem at once, each naming its key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

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
	Audio     Audio     `yaml:"audio"`
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
		Audio:     defaultAudio(),
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

	wrapped error // ErrInvalid when the error stands alone
}

// Unwrap is ErrInvalid for a FieldError returned on its own.
func (e *FieldError) Unwrap() error { return e.wrapped }

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
	switch {
	case len(c.StationID) > MaxStationIDLen:
		p.add("station_id", "is %d characters long, at most %d", len(c.StationID), MaxStationIDLen)
	case c.StationID != "" && SanitizeStationID(c.StationID) != c.StationID:
		p.add("station_id", "%q has characters outside [a-z0-9_-]", c.StationID)
	}
	// One GPIO pin, one device.
	pins := map[string]string{}
	for _, u := range []struct{ key, pin string }{{"scale.sck_pin", c.Scale.SCKPin}, {"scale.dout_pin", c.Scale.DOUTPin}, {"button.pin", c.Button.Pin}, {"led.pin", c.LED.Pin}} {
		if u.pin == "" {
			continue
		}
		if other, ok := pins[u.pin]; ok && !(strings.HasPrefix(other, "scale.") && strings.HasPrefix(u.key, "scale.")) { // scale's pair: Scale.validate
			p.add(u.key, "pin %s is also %s: one pin drives one device", u.pin, other)
			continue
		}
		if _, ok := pins[u.pin]; !ok {
			pins[u.pin] = u.key
		}
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
	c.Audio.validate(&p)
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

// join is nil without problems, else ErrInvalid and the problems joined
// (bounded, see joinBounded).
func (p *problems) join() error {
	if len(p.errs) == 0 {
		return nil
	}
	return joinBounded(p.errs)
}

// MaxReported is how many problems an error lists: a file of 700,000
// unknown keys gives the first MaxReported and a count, not 123 MB.
const MaxReported = 20

// MaxStationIDLen bounds station_id (it is in every topic and bundle).
const MaxStationIDLen = 64

// joinBounded is ErrInvalid joined with the first MaxReported problems and,
// when there are more, a line counting the rest.
func joinBounded(errs []error) error {
	if len(errs) > MaxReported {
		more := len(errs) - MaxReported
		errs = append(errs[:MaxReported:MaxReported], fmt.Errorf("… and %d more problems (%d in all)", more, more+MaxReported))
	}
	return errors.Join(append([]error{ErrInvalid}, errs...)...)
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
	if err := controlChars(name, data); err != nil {
		return Config{}, err
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrInvalid, name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var second yaml.Node
	if err := dec.Decode(&second); err != io.EOF {
		line := second.Line
		if err != nil || line == 0 {
			line = secondDocLine(data)
		}
		return Config{}, fmt.Errorf("%w: %s:%d: a second YAML document (after ---): the configuration is one document", ErrInvalid, name, line)
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
		return Config{}, joinBounded(errs)
	}
	return cfg, wrapFile(name, lines, cfg.Validate())
}

// controlChars refuses a control character anywhere in the file but tab,
// newline and carriage return (and a BOM at the very start), naming the
// line and the key it stands under.
func controlChars(name string, data []byte) error {
	type open struct {
		indent int
		key    string
	}
	var stack []open
	for i, line := range strings.Split(string(data), "\n") {
		if i == 0 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSuffix(line, "\r")
		body := strings.TrimLeft(line, " ")
		indent := len(line) - len(body)
		key := ""
		if k, _, ok := strings.Cut(strings.TrimPrefix(body, "- "), ":"); ok && body != "" && body[0] != '#' {
			key = strings.TrimSpace(k)
			for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, open{indent, key})
		}
		for j, r := range line {
			if r == '\t' || r != utf8.RuneError && !unicode.IsControl(r) && r != 0xFEFF {
				continue
			}
			path := make([]string, len(stack))
			for k, o := range stack {
				path[k] = o.key
			}
			what := fmt.Sprintf("control character %U at column %d", r, j+1)
			if r == utf8.RuneError {
				what = fmt.Sprintf("invalid UTF-8 at column %d", j+1)
			}
			if len(path) == 0 {
				return fmt.Errorf("%w: %s:%d: %s", ErrInvalid, name, i+1, what)
			}
			return &FieldError{File: name, Line: i + 1, Key: strings.Join(path, "."), Msg: what, wrapped: ErrInvalid}
		}
	}
	return nil
}

// secondDocLine is the line of the first "---" after the first document's
// content, for the message.
func secondDocLine(data []byte) int {
	seen := false
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "---") && seen {
			return i + 1
		}
		seen = seen || t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "---")
	}
	return 0
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
	return joinBounded(fes)
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
