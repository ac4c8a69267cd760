package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOffsiteDefaultsOff(t *testing.T) {
	if Default().Offsite.Enabled() {
		t.Error("offsite replication is on by default; it must contact nothing until configured")
	}
}

func TestOffsiteGood(t *testing.T) {
	got, err := Parse("w.yaml", []byte("offsite:\n  endpoint: http://nas.lan:7070\n  bucket: evidence.shop-1\n  prefix: site-a/dock\n  credentials_file: /etc/weighin/s3\n  max_bytes_per_s: 1000000\n  delete_local_after_verified: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Offsite = Offsite{Endpoint: "http://nas.lan:7070", Bucket: "evidence.shop-1", Prefix: "site-a/dock", Region: "us-east-1",
		CredentialsFile: "/etc/weighin/s3", MaxBytesPerS: 1000000, DeleteLocalAfterVerified: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if p := got.Offsite.CredentialsPath("/var/lib/weighin"); p != "/etc/weighin/s3" {
		t.Errorf("CredentialsPath = %q", p)
	}
	if p := Default().Offsite.CredentialsPath("/var/lib/weighin"); p != "/var/lib/weighin/offsite-credentials" {
		t.Errorf("default CredentialsPath = %q", p)
	}
}

func TestOffsiteBad(t *testing.T) {
	on := "offsite:\n  endpoint: https://s3.example.com\n  bucket: evidence\n"
	tests := []struct{ name, yaml, want string }{
		{"scheme", "offsite:\n  endpoint: ftp://x\n  bucket: evidence\n", `w.yaml:2: offsite.endpoint: must start with http:// or https://, got "ftp://x"`},
		{"credentials in url", "offsite:\n  endpoint: https://ak:sk@s3.example.com\n  bucket: evidence\n", `w.yaml:2: offsite.endpoint: must not carry credentials; put them in offsite.credentials_file`},
		{"path in endpoint", "offsite:\n  endpoint: https://s3.example.com/evidence\n  bucket: evidence\n", `w.yaml:2: offsite.endpoint: must be a base URL without path or query (the bucket is offsite.bucket), got "https://s3.example.com/evidence"`},
		{"no bucket", "offsite:\n  endpoint: https://s3.example.com\n", `w.yaml:1: offsite.bucket: must name an existing bucket`},
		{"bucket case", "offsite:\n  endpoint: https://s3.example.com\n  bucket: Evidence\n", `w.yaml:3: offsite.bucket: may hold only a-z, 0-9, '.' and '-', got "Evidence"`},
		{"bucket ip", "offsite:\n  endpoint: https://s3.example.com\n  bucket: 10.0.0.1\n", `w.yaml:3: offsite.bucket: must not be an IP address, got "10.0.0.1"`},
		{"prefix slash", on + "  prefix: /a/\n", `w.yaml:4: offsite.prefix: must not start or end with '/', got "/a/"`},
		{"prefix dotdot", on + "  prefix: a/../b\n", `w.yaml:4: offsite.prefix: has an empty, "." or ".." segment: "a/../b"`},
		{"rate", on + "  max_bytes_per_s: 100\n", `w.yaml:4: offsite.max_bytes_per_s: must be 0 (no cap) or at least 16384, got 100`},
		{"ca over http", "offsite:\n  endpoint: http://nas:7070\n  bucket: evidence\n  ca_file: /etc/ca.pem\n", `w.yaml:4: offsite.ca_file: is only used with an https:// endpoint`},
		{"relative ca", on + "  ca_file: ca.pem\n", `w.yaml:4: offsite.ca_file: must be an absolute path, got "ca.pem"`},
		{"region", on + "  region: \"\"\n", `w.yaml:4: offsite.region: must name the store's region, such as us-east-1; got ""`},
		{"delete without store", "offsite:\n  delete_local_after_verified: true\n", `w.yaml:2: offsite.delete_local_after_verified: needs offsite.endpoint: nothing is verified off-site while replication is off`},
		{"unknown key", "offsite:\n  secret_key: x\n", `w.yaml:2: offsite.secret_key: unknown key (known: bucket, ca_file, credentials_file, delete_local_after_verified, endpoint, max_bytes_per_s, prefix, region)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tt.yaml))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, want ErrInvalid", tt.yaml, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q):\n got %v\nwant %s", tt.yaml, err, tt.want)
			}
		})
	}
}
