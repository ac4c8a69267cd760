package registry

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestGetByOrderRef(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []Parcel{{Tracking: "LB000002", OrderRef: "KB-7"}, {Tracking: "LB000001", OrderRef: "KB-7"}, {Tracking: "LB000003", OrderRef: "KB-8"}} {
		if err := db.AddParcel(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ order, want string }{{"KB-7", "LB000001"}, {"KB-8", "LB000003"}} {
		if p, err := db.GetByOrderRef(ctx, tc.order); err != nil || p.Tracking != tc.want {
			t.Errorf("GetByOrderRef(%s) = %+v, %v; want %s", tc.order, p, err, tc.want)
		}
	}
	if _, err := db.GetByOrderRef(ctx, "KB-9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown order: %v", err)
	}
}
