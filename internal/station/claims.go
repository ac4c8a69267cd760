package station

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/publish"
	"weighin/internal/registry"
)

// direct carries out the commands that do not go through the session:
// registering an expected parcel and recording a claim's outcome. It
// reports whether c was one of them.
func (s *Station) direct(ctx context.Context, c publish.Command) (bool, error) {
	switch c.Name {
	case publish.CmdParcel:
		return true, s.addParcel(ctx, *c.Parcel)
	case publish.CmdOutcome:
		_, err := s.recordOutcome(*c.Outcome)
		return true, err
	}
	return false, nil
}

// apiWrite carries out the registry and outcome commands of the local API
// (weighctl parcels rm/import, weighctl outcome while weighd runs).
func (s *Station) apiWrite(ctx context.Context, name, value string) (any, error) {
	switch name {
	case api.CmdParcelRemove:
		return nil, s.reg.RemoveParcel(ctx, value)
	case api.CmdParcelImport:
		var req api.ImportRequest
		if err := json.Unmarshal([]byte(value), &req); err != nil {
			return nil, fmt.Errorf("parcel_import: value: %v", err)
		}
		n, err := s.reg.ImportCSV(ctx, strings.NewReader(req.CSV), req.Name)
		if err == nil {
			s.log.Info("parcels imported", "file", req.Name, "parcels", n)
		}
		return api.ImportReply{Imported: n}, err
	case string(publish.CmdOutcome):
		c, err := publish.ParseCommand(name, []byte(value), false)
		if err != nil {
			return nil, err
		}
		add, err := s.recordOutcome(*c.Outcome)
		if err != nil {
			return nil, err
		}
		b, _ := evidence.FindBundle(filepath.Join(s.cfg.StateDir, evidence.SessionsDir), c.Outcome.SessionID)
		return api.OutcomeReply{File: add.FileName(), Bundle: b, KeyFingerprint: s.store.KeyFingerprint()}, nil
	}
	return nil, fmt.Errorf("%w: %q", api.ErrUnknownCommand, name)
}

func (s *Station) addParcel(ctx context.Context, p registry.Parcel) error {
	if err := s.reg.AddParcel(ctx, p); err != nil {
		return fmt.Errorf("parcel %s: %w", p.Tracking, err)
	}
	s.log.Info("parcel registered", "tracking", p.Tracking, "order_ref", p.OrderRef, "items", len(p.Items))
	return nil
}

func (s *Station) recordOutcome(o publish.Outcome) (evidence.Addendum, error) {
	out := o.Outcome
	if err := out.Validate(); err != nil {
		return evidence.Addendum{}, err
	}
	add, err := s.store.RecordOutcome(o.SessionID, out, time.Now(), clockSynced())
	if err != nil {
		return evidence.Addendum{}, fmt.Errorf("outcome for %s: %w", o.SessionID, err)
	}
	s.log.Info("outcome recorded", "session", o.SessionID, "outcome", out.String(), "addendum", add.N)
	if err := s.reg.SetClaim(context.Background(), o.SessionID, out.String()); err != nil {
		s.log.Warn("session index: claim", "session", o.SessionID, "err", err)
	}
	if b, err := evidence.FindBundle(filepath.Join(s.cfg.StateDir, evidence.SessionsDir), o.SessionID); err == nil {
		s.stamp(b, add.FileName())
		s.replicate(b)
	}
	return add, nil
}
