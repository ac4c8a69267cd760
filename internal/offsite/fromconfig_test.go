package offsite

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/config"
	"weighin/internal/evidence"
)

// TestStartFromConfigAndRescan: weighd's start-up from the configuration
// (credentials refused while readable by others) copies the bundles already
// on disk; an addendum written by another process without Enqueue is found
// by the rescan.
func TestStartFromConfigAndRescan(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "s3"), "evidence")
	f := newFixture(t, srv, "evidence", "dock-1", 1, 64<<10)
	cfg := config.Default()
	cfg.StateDir = f.state
	cfg.Offsite = config.Offsite{Endpoint: srv.endpoint(), Bucket: "evidence", Prefix: prefix, Region: "us-east-1", CredentialsFile: "offsite-credentials"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(f.state, "offsite-credentials")
	os.WriteFile(creds, []byte(rootAK+"\n"+rootSK+"\n"), 0o644)
	os.Chmod(creds, 0o644)
	if _, err := Start(context.Background(), cfg, f.station, testLog(t), nil); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "offsite.credentials_file") || strings.Contains(err.Error(), rootSK) {
		t.Fatalf("Start with a 0644 credentials file: %v; want a refusal naming the key, without the secret", err)
	}
	os.Chmod(creds, 0o600)
	r, err := Start(context.Background(), cfg, f.station, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, r)
	waitFor(t, 30*time.Second, "the bundle on disk verified", allVerified(r))
	stop()
	r.Close()

	st, err := evidence.Open(f.state, slog.New(slog.DiscardHandler), evidence.Options{StationID: f.station})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOutcome(filepath.Base(f.dirs[0]), evidence.Outcome{Status: evidence.StatusEscalated}, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	store, _ := StoreFromConfig(cfg)
	r2, err := New(Options{Store: store, StationID: f.station, StateDir: f.state, Log: testLog(t), Rescan: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	before := r2.Status().Objects["verified"]
	run(t, r2)
	waitFor(t, 30*time.Second, "the addendum found by the rescan and verified", func() bool {
		s := r2.Status()
		return s.BacklogObjects == 0 && s.Objects["verified"] > before
	})
	rep, err := VerifyFromConfig(context.Background(), cfg, f.station, filepath.Base(f.dirs[0]), evidence.VerifyOptions{})
	if err != nil || !rep.OK() || len(rep.Outcomes) != 1 {
		t.Errorf("verify --offsite from the configuration: %v; report %+v", err, rep)
	}
	status := r2.Status()
	js, _ := json.Marshal(status)
	if strings.Contains(string(js), rootSK) {
		t.Errorf("Status JSON holds the secret: %s", js)
	}
	t.Logf("after the rescan: %d objects stored; %s\nstatus JSON: %s", f.checkStored(t, prefix, nil), counts(status), js)
}
