package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Offsite configures replication of sealed bundles to an S3-compatible
// store (package offsite). An empty Endpoint turns it off, and then the
// other keys are not used.
type Offsite struct {
	// Endpoint is the store's base URL, http://host:port or https://host;
	// path-style addressing. http:// is for a store on the LAN.
	Endpoint string `yaml:"endpoint"`
	// Bucket must exist; the station never creates it.
	Bucket string `yaml:"bucket"`
	// Prefix goes before <station_id>/<session>/<file>; may be empty.
	Prefix string `yaml:"prefix"`
	// Region is the store's signing region.
	Region string `yaml:"region"`
	// CredentialsFile holds the access key on its first line and the secret
	// on its second; refused unless its mode is 0600 or stricter. Relative
	// to state_dir unless absolute.
	CredentialsFile string `yaml:"credentials_file"`
	// CAFile, when set, is the PEM file of the CA the store's certificate
	// must chain to (instead of the system's).
	CAFile string `yaml:"ca_file"`
	// MaxBytesPerS caps the upload rate; 0 means no cap.
	MaxBytesPerS int64 `yaml:"max_bytes_per_s"`
	// DeleteLocalAfterVerified lets retention remove the data files of
	// verified, unprotected bundles (leaving them "offloaded").
	DeleteLocalAfterVerified bool `yaml:"delete_local_after_verified"`
}

// MinOffsiteBytesPerS is the lowest non-zero offsite.max_bytes_per_s.
const MinOffsiteBytesPerS = 16 << 10

func defaultOffsite() Offsite {
	return Offsite{Region: "us-east-1", CredentialsFile: "offsite-credentials"}
}

// Enabled reports whether replication is configured.
func (o Offsite) Enabled() bool { return o.Endpoint != "" }

// CredentialsPath is CredentialsFile resolved against stateDir.
func (o Offsite) CredentialsPath(stateDir string) string {
	if filepath.IsAbs(o.CredentialsFile) {
		return o.CredentialsFile
	}
	return filepath.Join(stateDir, o.CredentialsFile)
}

func (o Offsite) validate(p *problems) {
	if o.MaxBytesPerS != 0 && o.MaxBytesPerS < MinOffsiteBytesPerS {
		p.add("offsite.max_bytes_per_s", "must be 0 (no cap) or at least %d, got %d", MinOffsiteBytesPerS, o.MaxBytesPerS)
	}
	if !o.Enabled() {
		if o.DeleteLocalAfterVerified {
			p.add("offsite.delete_local_after_verified", "needs offsite.endpoint: nothing is verified off-site while replication is off")
		}
		return
	}
	u, err := url.Parse(o.Endpoint)
	switch {
	case err != nil:
		p.add("offsite.endpoint", "not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		p.add("offsite.endpoint", "must start with http:// or https://, got %q", o.Endpoint)
	case u.User != nil:
		p.add("offsite.endpoint", "must not carry credentials; put them in offsite.credentials_file")
	case u.Host == "" || u.Hostname() == "":
		p.add("offsite.endpoint", "has no host: %q", o.Endpoint)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
		p.add("offsite.endpoint", "must be a base URL without path or query (the bucket is offsite.bucket), got %q", o.Endpoint)
	}
	if err == nil && o.CAFile != "" && u.Scheme != "https" {
		p.add("offsite.ca_file", "is only used with an https:// endpoint")
	}
	if msg := bucketProblem(o.Bucket); msg != "" {
		p.add("offsite.bucket", "%s", msg)
	}
	if msg := prefixProblem(o.Prefix); msg != "" {
		p.add("offsite.prefix", "%s", msg)
	}
	if o.Region == "" || strings.ContainsAny(o.Region, " /\t") {
		p.add("offsite.region", "must name the store's region, such as us-east-1; got %q", o.Region)
	}
	if o.CredentialsFile == "" {
		p.add("offsite.credentials_file", "must name the file with the access key (line 1) and secret (line 2)")
	}
	if o.CAFile != "" && !filepath.IsAbs(o.CAFile) {
		p.add("offsite.ca_file", "must be an absolute path, got %q", o.CAFile)
	}
}

// bucketProblem checks S3's bucket naming rules.
func bucketProblem(b string) string {
	if b == "" {
		return "must name an existing bucket"
	}
	if len(b) < 3 || len(b) > 63 {
		return "must be 3 to 63 characters, got " + quote(b)
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return "may hold only a-z, 0-9, '.' and '-', got " + quote(b)
		}
	}
	first, last := b[0], b[len(b)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' || strings.Contains(b, "..") {
		return "must start and end with a letter or digit, without \"..\", got " + quote(b)
	}
	if net.ParseIP(b) != nil {
		return "must not be an IP address, got " + quote(b)
	}
	return ""
}

func prefixProblem(pfx string) string {
	if pfx == "" {
		return ""
	}
	if strings.HasPrefix(pfx, "/") || strings.HasSuffix(pfx, "/") {
		return "must not start or end with '/', got " + quote(pfx)
	}
	for _, seg := range strings.Split(pfx, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "has an empty, \".\" or \"..\" segment: " + quote(pfx)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
				return "may hold only letters, digits, '.', '-', '_' and '/', got " + quote(pfx)
			}
		}
	}
	return ""
}

func quote(s string) string { return "\"" + s + "\"" }
