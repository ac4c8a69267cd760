package api

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type fakeStation struct{ got []string }

func (f *fakeStation) Status(ctx context.Context) (any, error) {
	return map[string]any{"weight_g": 12.5}, nil
}

func (f *fakeStation) Command(ctx context.Context, name, value string, q map[string]string) (any, error) {
	switch name {
	case "tare", "label_weight", "sessions":
		f.got = append(f.got, name+"="+value+q["tracking"])
		return nil, nil
	case "refuse":
		return nil, errors.New("not now: recording")
	}
	return nil, ErrUnknownCommand
}

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "w.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode = %v, %v; want 0660", fi.Mode().Perm(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeStation{}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, f) }()
	c := NewClient(sock)

	var st map[string]float64
	if err := c.Status(ctx, &st); err != nil || st["weight_g"] != 12.5 {
		t.Fatalf("Status = %v, %v", st, err)
	}
	if err := c.Command(ctx, "label_weight", "2350", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Sessions(ctx, map[string]string{"tracking": "LX 1"}, nil); err != nil {
		t.Fatal(err)
	}
	var re *RemoteError
	if err := c.Command(ctx, "refuse", "", nil); !errors.As(err, &re) || re.Status != 400 || re.Msg != "not now: recording" {
		t.Errorf("refused command: got %v, want 400 'not now: recording'", err)
	}
	if err := c.Command(ctx, "explode", "", nil); !errors.As(err, &re) || re.Status != 404 {
		t.Errorf("unknown command: got %v, want 404", err)
	}
	var raw json.RawMessage
	if err := c.Status(ctx, &raw); err != nil || len(raw) == 0 {
		t.Errorf("raw status: %q %v", raw, err)
	}
	if want := []string{"label_weight=2350", "sessions=LX 1"}; len(f.got) != 2 || f.got[0] != want[0] || f.got[1] != want[1] {
		t.Errorf("handler saw %q, want %q", f.got, want)
	}
	// A second daemon on the same socket is refused.
	if _, err := Listen(sock); err == nil {
		t.Error("second Listen on a live socket succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := NewClient(sock).Status(context.Background(), nil); !errors.Is(err, ErrUnreachable) {
		t.Errorf("after shutdown: %v, want ErrUnreachable", err)
	}
}
