package offsite

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Credentials are the store's access key and secret. They print, format and
// log as the access key's first characters only.
type Credentials struct {
	AccessKey string
	Secret    string
}

// ErrCredentials wraps every problem with the credentials file.
var ErrCredentials = errors.New("offsite: credentials file")

// LoadCredentials reads path: the access key on its first line, the secret
// on its second, nothing else but blank lines. The file must be a regular
// file of mode 0600 or stricter (no bit for group or others); its content
// never appears in an error.
func LoadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %v", ErrCredentials, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %v", ErrCredentials, err)
	}
	if !st.Mode().IsRegular() {
		return Credentials{}, fmt.Errorf("%w: %s is not a regular file", ErrCredentials, path)
	}
	if perm := st.Mode().Perm(); perm&0o177 != 0 {
		return Credentials{}, fmt.Errorf("%w: %s has mode %04o; it must be 0600 or stricter (chmod 600 %s)", ErrCredentials, path, perm, path)
	}
	buf := make([]byte, 4097)
	n, _ := f.Read(buf)
	if n > 4096 {
		return Credentials{}, fmt.Errorf("%w: %s is larger than 4 KiB", ErrCredentials, path)
	}
	lines := strings.Split(strings.TrimRight(string(buf[:n]), "\r\n \t"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
	}
	switch {
	case len(lines) < 2 || lines[0] == "" || lines[1] == "":
		return Credentials{}, fmt.Errorf("%w: %s: want the access key on line 1 and the secret on line 2", ErrCredentials, path)
	case len(lines) > 2:
		return Credentials{}, fmt.Errorf("%w: %s: %d lines; want only the access key (line 1) and the secret (line 2)", ErrCredentials, path, len(lines))
	case strings.ContainsAny(lines[0], " \t") || strings.ContainsAny(lines[1], " \t"):
		return Credentials{}, fmt.Errorf("%w: %s: a key must not contain blanks", ErrCredentials, path)
	}
	return Credentials{AccessKey: lines[0], Secret: lines[1]}, nil
}

// String shows at most the access key's first four characters.
func (c Credentials) String() string {
	k := c.AccessKey
	if len(k) > 4 {
		k = k[:4]
	}
	return "credentials(" + k + "…)"
}

// GoString is String, so %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }
