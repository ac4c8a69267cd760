package station

import (
	"strconv"

	"weighin/internal/publish"
	"weighin/internal/session"
	"weighin/internal/verdict"
	"weighin/internal/vocab"
)

// entriesPublisher takes the buyer's entries (<base>/entries) and the
// accepted commands that clear a shown refusal (<base>/error).
type entriesPublisher interface {
	PublishEntries(publish.Entries) error
	Accepted(command string)
}

// entriesDoc is the <base>/entries document of the entries e of the
// session id ("" outside one), in the form the dashboard's entities show.
func entriesDoc(e session.Entries, id string) publish.Entries {
	d := publish.Entries{
		OrderRef: e.OrderRef, Tracking: e.Tracking, ExteriorCondition: e.ExteriorCondition,
		IssueType: issueLabel(e.IssueType), Solution: e.Solution, Tier: "auto",
		Damage: e.Damage, DamageLang: verdict.DetailLang(e.Damage), SessionID: id,
	}
	if e.HasLabelG {
		g := e.LabelG
		d.LabelG = &g
	}
	if d.Solution == "" {
		d.Solution = "default"
	}
	if e.HasTier {
		d.Tier = strconv.Itoa(e.Tier)
	}
	return d
}

// issueLabel is the select's option of a schema-form issue type ("" for
// none).
func issueLabel(issue string) string {
	for _, l := range vocab.IssueLabels {
		if v, err := vocab.ParseIssueType(l); err == nil && v == issue {
			return l
		}
	}
	return issue
}

// publishEntries publishes the entries when they changed since the last
// time (loop's goroutine only).
func (s *Station) publishEntries(e session.Entries, cur *current) {
	if s.entriesOut == nil {
		return
	}
	id := ""
	if cur != nil && cur.es != nil {
		id = cur.es.ID()
	}
	d := entriesDoc(e, id)
	if s.entriesSent != nil && sameEntries(*s.entriesSent, d) {
		return
	}
	s.entriesSent = &d
	if err := s.entriesOut.PublishEntries(d); err != nil {
		s.log.Debug("entries not published", "err", err)
	}
}

func sameEntries(a, b publish.Entries) bool {
	if (a.LabelG == nil) != (b.LabelG == nil) || a.LabelG != nil && *a.LabelG != *b.LabelG {
		return false
	}
	a.LabelG, b.LabelG = nil, nil
	return a == b
}

// accepted clears a refusal shown on <base>/error after a command of the
// local API was carried out.
func (s *Station) accepted(command string) {
	if s.entriesOut != nil {
		s.entriesOut.Accepted(command)
	}
}
