package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"weighin/internal/evidence"
)

// Offline reading: the sessions and items of a state directory while
// weighd does not run (weighctl sessions and dispute), without creating
// the index where there is none.

// SessionsIn lists the sessions of stateDir matching f, oldest first: from
// the session index when there is one, else from the sealed bundles.
// source names where the list came from.
func SessionsIn(ctx context.Context, stateDir string, f Filter) (list []Session, source string, err error) {
	dbPath := filepath.Join(stateDir, FileName)
	if _, err := os.Stat(dbPath); err == nil {
		db, err := Open(dbPath)
		if err != nil {
			return nil, dbPath, err
		}
		defer db.Close()
		list, err := db.Sessions(ctx, f)
		return list, dbPath, err
	}
	dir := filepath.Join(stateDir, evidence.SessionsDir)
	bundles, err := evidence.ListBundles(dir)
	for _, b := range bundles {
		if s := SessionOf(b.Result, filepath.Join(evidence.SessionsDir, b.SessionID)); b.Sealed() && f.Matches(s) {
			list = append(list, s)
		}
	}
	return list, dir, err
}

// ItemsIn returns the registered items of a tracking number in stateDir's
// registry, or why there are none.
func ItemsIn(ctx context.Context, stateDir, tracking string) ([]Item, error) {
	path := filepath.Join(stateDir, FileName)
	if tracking == "" {
		return nil, errors.New("the session has no tracking number")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no registry at %s", path)
	}
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	p, err := db.GetByTracking(ctx, tracking)
	if err == nil && len(p.Items) == 0 {
		err = fmt.Errorf("parcel %s has no item list in the registry", tracking)
	}
	return p.Items, err
}
