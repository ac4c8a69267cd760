package station

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

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
		return true, s.recordOutcome(*c.Outcome)
	}
	return false, nil
}

func (s *Station) addParcel(ctx context.Context, p registry.Parcel) error {
	if err := s.reg.AddParcel(ctx, p); err != nil {
		return fmt.Errorf("parcel %s: %w", p.Tracking, err)
	}
	s.log.Info("parcel registered", "tracking", p.Tracking, "order_ref", p.OrderRef, "items", len(p.Items))
	return nil
}

func (s *Station) recordOutcome(o publish.Outcome) error {
	out := o.Outcome
	if err := out.Validate(); err != nil {
		return err
	}
	add, err := s.store.RecordOutcome(o.SessionID, out, time.Now(), clockSynced())
	if err != nil {
		return fmt.Errorf("outcome for %s: %w", o.SessionID, err)
	}
	s.log.Info("outcome recorded", "session", o.SessionID, "outcome", out.String(), "addendum", add.N)
	if err := s.reg.SetClaim(context.Background(), o.SessionID, out.String()); err != nil {
		s.log.Warn("session index: claim", "session", o.SessionID, "err", err)
	}
	if b, err := evidence.FindBundle(filepath.Join(s.cfg.StateDir, evidence.SessionsDir), o.SessionID); err == nil {
		s.stamp(b, add.FileName())
		s.replicate(b)
	}
	return nil
}
