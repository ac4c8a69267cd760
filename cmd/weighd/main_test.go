package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExitCodes: systemd's unit relies on them (78 = bad configuration is
// in RestartPreventExitStatus).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	state := filepath.Join(dir, "state")
	sock := filepath.Join(dir, "w.sock")
	tests := []struct {
		name string
		args []string
		want int
		msg  string // in the output
	}{
		{"version", []string{"--version"}, exitOK, "weighd "},
		{"help", []string{"-h"}, exitOK, "-sim"},
		{"unknown flag", []string{"--nope"}, exitUsage, "flag provided but not defined"},
		{"argument", []string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{"unknown key", []string{"--config", write("unknown.yaml", "scale:\n  gian: 128\n")}, exitConfig, "gian"},
		{"bad value", []string{"--config", write("bad.yaml", "scale:\n  gain: 7\n")}, exitConfig, "scale.gain"},
		// Real hardware on a board without the configured pin: a
		// configuration error too, found at start.
		// Issue 13 item 7: 78 naming the key, never a restart loop.
		{"state_dir a file", []string{"--config", write("sd.yaml", ""), "--state-dir", write("statefile", "x"), "--socket", sock, "--sim"}, exitConfig, "state_dir: "},
		{"api.socket a file", []string{"--config", write("sock.yaml", ""), "--state-dir", state, "--socket", write("station_ed25519", "key"), "--sim"}, exitConfig, "api.socket: "},
		{"api.socket a directory", []string{"--config", write("sockd.yaml", ""), "--state-dir", state, "--socket", dir, "--sim"}, exitConfig, "api.socket: "},
		{"password without username", []string{"--config", write("pw.yaml", "mqtt:\n  password: x\n")}, exitConfig, "mqtt.password"},
		{"one pin two devices", []string{"--config", write("pins.yaml", "led:\n  pin: GPIO17\n")}, exitConfig, "led.pin"},
		{"no such pin", []string{"--config", write("pin.yaml", "scale:\n  sck_pin: GPIO999\n"), "--state-dir", state, "--socket", sock}, exitConfig, "GPIO999"},
	}
	if _, err := os.Stat(filepath.Join(dir, "station_ed25519")); err != nil {
		t.Errorf("the file at api.socket is gone: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			if got := run(ctx, tt.args, &out, &out); got != tt.want {
				t.Errorf("weighd %q = exit %d, want %d\n%s", tt.args, got, tt.want, out.String())
			}
			if b, err := os.ReadFile(filepath.Join(dir, "station_ed25519")); err == nil && string(b) != "key" {
				t.Errorf("the file at api.socket changed: %q", b)
			}
			if !strings.Contains(out.String(), tt.msg) {
				t.Errorf("weighd %q: output lacks %q:\n%s", tt.args, tt.msg, out.String())
			}
		})
	}
}
