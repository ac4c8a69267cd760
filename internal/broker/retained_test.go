package broker_test

import (
	"os/exec"
	"strings"
	"testing"

	"weighin/internal/config"
	"weighin/internal/publish"
)

// TestRetainedCommandDropped (issue 14): a retained command published
// while weighd is connected (MQTT 3.1.1 would hand it over with the retain
// flag cleared) is neither forwarded nor stored, and refused; the same
// command without -r is handled.
func TestRetainedCommandDropped(t *testing.T) {
	s := startStation(t, config.Default().MQTT)
	s.pub(t, "-q", "1", "-r", "-t", "weighin/emb1/cmd/tare", "-m", "PRESS")
	s.until(t, "retained tare refused", func() bool { return s.refused("tare: retained message") })
	s.pub(t, "-q", "1", "-t", "weighin/emb1/cmd/start", "-m", "PRESS")
	s.until(t, "start handled", func() bool { return s.got(publish.CmdStart) })
	if s.got(publish.CmdTare) {
		t.Error("the retained tare reached weighd")
	}
	out, _ := exec.Command("mosquitto_sub", "-h", s.host, "-p", s.port, "-t", "weighin/emb1/cmd/tare", "-W", "1", "--retained-only").CombinedOutput()
	if strings.Contains(string(out), "PRESS") {
		t.Errorf("the retained tare is stored: %s", out)
	}
}
