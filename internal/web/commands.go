package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"weighin/internal/api"
)

// The web app's API commands (api.CmdWebPasswd, CmdShare, CmdShareList,
// CmdShareRevoke): weighd answers them through Command while it runs;
// weighctl calls the same functions on the state directory (ShareOps)
// only while weighd is stopped.

// ShareOps are the share-link operations on one state directory with the
// web app's base URL, shared by weighd's commands and weighctl's direct
// path.
type ShareOps struct {
	Shares   *Shares
	StateDir string
	Base     string
}

// Info describes sh with its full URL.
func (o ShareOps) Info(sh Share, now time.Time) api.ShareInfo {
	return api.ShareInfo{ID: sh.ID, Session: sh.Session, State: sh.State(now), CreatedAt: sh.CreatedAt.Format(time.RFC3339),
		ExpiresAt: sh.ExpiresAt.Format(time.RFC3339), URL: o.Base + sh.Path()}
}

// Create makes a link to session (a bundle directory name of a sealed
// session) valid for ttl ("" means DefaultTTL).
func (o ShareOps) Create(session, ttl string, now time.Time) (api.ShareInfo, error) {
	d := DefaultTTL
	if ttl != "" {
		var err error
		if d, err = ParseTTL(ttl); err != nil {
			return api.ShareInfo{}, err
		}
	}
	sessions := filepath.Join(o.StateDir, "sessions")
	if !validSession(session) {
		return api.ShareInfo{}, fmt.Errorf("share: %q is not a session id (a bundle directory name under %s)", session, sessions)
	}
	if fi, err := os.Lstat(filepath.Join(sessions, session, "manifest.json")); err != nil || !fi.Mode().IsRegular() {
		return api.ShareInfo{}, fmt.Errorf("share: %s: no sealed session of that name under %s", session, sessions)
	}
	sh, err := o.Shares.Create(session, d, now)
	if err != nil {
		return api.ShareInfo{}, err
	}
	return o.Info(sh, now), nil
}

// List returns every remembered link, oldest first.
func (o ShareOps) List(now time.Time) ([]api.ShareInfo, error) {
	all, err := o.Shares.List()
	if err != nil {
		return nil, err
	}
	out := make([]api.ShareInfo, 0, len(all))
	for _, sh := range all {
		out = append(out, o.Info(sh, now))
	}
	return out, nil
}

// Revoke ends the link id.
func (o ShareOps) Revoke(id string, now time.Time) error { return o.Shares.Revoke(id, now) }

// shareOps are the server's.
func (s *Server) shareOps(base string) ShareOps {
	if base == "" {
		base = s.base
	}
	return ShareOps{Shares: s.shares, StateDir: s.opt.StateDir, Base: base}
}

// Command answers the web app's API commands (api.ErrUnknownCommand for
// any other name).
func (s *Server) Command(_ context.Context, name, value string, q map[string]string) (any, error) {
	now := s.opt.Now()
	switch name {
	case api.CmdWebPasswd:
		if err := SetPassword(s.opt.StateDir, value); err != nil {
			return nil, err
		}
		s.log.Info("web password set through the API")
		return nil, nil
	case api.CmdShare:
		info, err := s.shareOps("").Create(value, q["ttl"], now)
		if err == nil {
			s.log.Info("share link created", "session", info.Session, "share", info.ID, "expires", info.ExpiresAt)
		}
		return info, err
	case api.CmdShareList:
		l, err := s.shareOps("").List(now)
		return l, err
	case api.CmdShareRevoke:
		if err := s.shareOps("").Revoke(value, now); err != nil {
			return nil, err
		}
		s.log.Info("share link revoked", "share", value)
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %q", api.ErrUnknownCommand, name)
}

// SessionShare is the share link Home Assistant gets for a sealed session
// (issue 23: the events' share_url, the image entities' URLs): "" while
// the web app is off, else an active link of the session with more than
// half of DefaultTTL left, or a new one valid DefaultTTL. It is an
// ordinary share link: weighctl share --list shows it, --revoke ends it.
func (s *Server) SessionShare(session string) (string, error) {
	base := s.URL()
	if base == "" {
		return "", nil
	}
	now := s.opt.Now()
	all, err := s.shares.List()
	if err != nil {
		return "", err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if sh := all[i]; sh.Session == session && sh.State(now) == "active" && sh.ExpiresAt.Sub(now) > DefaultTTL/2 {
			return base + sh.Path(), nil
		}
	}
	info, err := s.shareOps(base).Create(session, "", now)
	if err != nil {
		return "", err
	}
	s.log.Info("share link created for Home Assistant", "session", session, "share", info.ID, "expires", info.ExpiresAt)
	return info.URL, nil
}
