package station

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoSimulatorInProduction: the station's production code reaches no
// simulator, directly or through another package; cmd/weighd chooses the
// hardware (internal/sim under --sim).
func TestNoSimulatorInProduction(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "weighin/internal/station").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasSuffix(dep, "/hx711test") || strings.HasSuffix(dep, "/cameratest") || dep == "weighin/internal/sim" {
			t.Errorf("internal/station depends on %s", dep)
		}
	}
}
