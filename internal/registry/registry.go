package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"weighin/internal/result"
	"weighin/internal/verdict"
	"weighin/internal/vocab"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// FileName is the registry's file name under the state directory.
const FileName = "registry.db"

// Sentinel errors.
var (
	// ErrNotFound: no parcel with that tracking number.
	ErrNotFound = errors.New("registry: parcel not found")
	// ErrExists: AddParcel for a tracking number already registered.
	ErrExists = errors.New("registry: parcel already registered")
	// ErrInvalid: a parcel or result with a bad field.
	ErrInvalid = errors.New("registry: invalid value")
	// ErrTooNew: the file was written by a newer weighin (its schema
	// version is above the one this code knows).
	ErrTooNew = errors.New("registry: database schema newer than this program")
)

// Item is one item of the agent's per-item list (the verdict's type).
type Item = verdict.Item

// Parcel is an expected parcel.
type Parcel struct {
	// Tracking is normalised (upper case, no spaces or dashes); the key.
	Tracking string `json:"tracking"`
	OrderRef string `json:"order_ref"`
	// LabelG is the label (declared) weight, nil when unknown.
	LabelG *float64 `json:"label_g"`
	// LabelResolutionG is the carrier's rounding step; 0 means the
	// configured default (verdict.label_resolution_g).
	LabelResolutionG float64 `json:"label_resolution_g"`
	Items            []Item  `json:"items"`
}

// Session is one row of the session index.
type Session struct {
	SessionID string   `json:"session_id"`
	Seq       int64    `json:"seq"`
	StartedAt string   `json:"started_at"`
	Tracking  string   `json:"tracking"`
	OrderRef  string   `json:"order_ref"`
	Verdict   string   `json:"verdict"`
	Tier      int      `json:"tier"`
	Bundle    string   `json:"bundle"`
	DeltaG    *float64 `json:"delta_g"`
	// Outcome is "complete", or "interrupted" for a session sealed at
	// recovery after a crash or power cut.
	Outcome string `json:"outcome"`
	// Claim is the claim's latest recorded outcome ("" while none).
	Claim string `json:"claim,omitempty"`
}

// Outcomes of a session.
const (
	OutcomeComplete    = "complete"
	OutcomeInterrupted = "interrupted"
)

// Filter selects sessions; empty fields match everything.
type Filter struct {
	Tracking string
	Order    string
	Verdict  string
	// Since keeps sessions started at or after it (zero: all).
	Since time.Time
	// Until keeps sessions started before it (zero: all).
	Until time.Time
	// Newest lists the newest first; Limit (0: all) and Offset page the
	// list (the web app's sessions page).
	Newest bool
	Limit  int
	Offset int
}

// Page reads the paging keys of a query into f: until (a date, exclusive,
// or RFC 3339), newest ("1" or "true"), limit and offset (integers ≥ 0).
func (f *Filter) Page(q map[string]string) error {
	if v := q["until"]; v != "" {
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("until: %w", err)
		}
		f.Until = t
	}
	f.Newest = q["newest"] == "1" || q["newest"] == "true"
	for key, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q[key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("%s: want an integer ≥ 0, got %q", key, v)
			}
			*dst = n
		}
	}
	return nil
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or RFC 3339 time", v)
}

// DB is an open registry. Safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
}

// migrations[i] takes the schema from version i to i+1. Never edit one that
// has shipped: append.
var migrations = []string{
	`CREATE TABLE parcels (
		tracking           TEXT PRIMARY KEY,
		order_ref          TEXT NOT NULL DEFAULT '',
		label_g            REAL,
		label_resolution_g REAL NOT NULL DEFAULT 0,
		items              TEXT NOT NULL DEFAULT '[]',
		updated_at         TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE sessions (
		session_id TEXT PRIMARY KEY,
		seq        INTEGER NOT NULL,
		started_at TEXT NOT NULL,
		started_ms INTEGER NOT NULL,
		tracking   TEXT NOT NULL DEFAULT '',
		order_ref  TEXT NOT NULL DEFAULT '',
		verdict    TEXT NOT NULL,
		tier       INTEGER NOT NULL,
		bundle     TEXT NOT NULL,
		delta_g    REAL,
		outcome    TEXT NOT NULL
	);
	CREATE INDEX sessions_tracking ON sessions(tracking);
	CREATE INDEX sessions_order ON sessions(order_ref);
	CREATE INDEX sessions_verdict ON sessions(verdict);
	CREATE INDEX sessions_started ON sessions(started_ms);`,
	// 2: the claim's outcome as the buyer recorded it (evidence addenda).
	`ALTER TABLE sessions ADD COLUMN claim TEXT NOT NULL DEFAULT '';`,
	// 3: pages of the index, newest first (the web app).
	`CREATE INDEX sessions_seq ON sessions(seq, session_id);`,
}

// SchemaVersion is the schema version this code writes (PRAGMA
// user_version).
var SchemaVersion = len(migrations)

// Open opens (creating if needed) the registry at path, in WAL mode with a
// busy timeout, so weighd and weighctl can have it open at once, and
// brings its schema up to date.
func Open(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: registry path %q (empty, or has ? or #)", ErrInvalid, path)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	r := &DB{db: db, path: path}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("registry: open %s: journal mode is %q, not wal (a file system without shared memory?)", path, mode)
	}
	if err := r.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the database.
func (r *DB) Close() error { return r.db.Close() }

func (r *DB) migrate(ctx context.Context) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: open %s: %w", r.path, err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("registry: %s: read schema version: %w", r.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w: %s has version %d, this program knows up to %d", ErrTooNew, r.path, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("registry: %s: migration %d: %w", r.path, i+1, err)
		}
	}
	if v < len(migrations) {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("registry: %s: set schema version: %w", r.path, err)
		}
	}
	return tx.Commit()
}

// Version returns the schema version of the open file.
func (r *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := r.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// IntegrityCheck runs PRAGMA integrity_check and returns nil when it says
// "ok".
func (r *DB) IntegrityCheck(ctx context.Context) error {
	rows, err := r.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("registry: integrity check: %w", err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		msgs = append(msgs, s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("registry: integrity check: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// validate normalises p and checks it as ParseCSV does.
func validate(p *Parcel) error {
	p.Tracking = vocab.NormalizeTracking(p.Tracking)
	var errs []string
	if msg := checkTracking(p.Tracking); msg != "" {
		errs = append(errs, "tracking: "+msg)
	}
	if p.OrderRef != "" {
		if err := vocab.CheckText(p.OrderRef, vocab.MaxOrderRefRunes); err != nil {
			errs = append(errs, "order_ref: "+err.Error())
		}
	}
	if p.LabelG != nil {
		if msg := checkGrams(*p.LabelG, vocab.MinLabelG, vocab.MaxLabelG); msg != "" {
			errs = append(errs, "label_g: "+msg)
		}
	}
	if msg := checkGrams(p.LabelResolutionG, 0, vocab.MaxResolutionG); msg != "" {
		errs = append(errs, "label_resolution_g: "+msg)
	}
	if len(p.Items) > vocab.MaxItems {
		errs = append(errs, fmt.Sprintf("items: %d, at most %d", len(p.Items), vocab.MaxItems))
	}
	for i, it := range p.Items {
		if err := vocab.CheckText(it.Name, vocab.MaxItemNameRunes); err != nil {
			errs = append(errs, fmt.Sprintf("items: item %d: name %q: %v", i+1, it.Name, err))
		} else if strings.Contains(it.Name, ";") {
			errs = append(errs, fmt.Sprintf("items: item %d: name %q has ';', which separates items", i+1, it.Name))
		}
		if msg := checkGrams(it.WeightG, vocab.MinItemG, vocab.MaxLabelG); msg != "" {
			errs = append(errs, fmt.Sprintf("items: item %d %q: weight %s", i+1, it.Name, msg))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: parcel %q: %s", ErrInvalid, p.Tracking, strings.Join(errs, "; "))
	}
	return nil
}

const upsertParcel = `INSERT INTO parcels (tracking, order_ref, label_g, label_resolution_g, items, updated_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT(tracking) DO UPDATE SET order_ref = excluded.order_ref, label_g = excluded.label_g,
		label_resolution_g = excluded.label_resolution_g, items = excluded.items, updated_at = excluded.updated_at`

func parcelArgs(p Parcel, now time.Time) []any {
	items := p.Items
	if items == nil {
		items = []Item{}
	}
	js, _ := json.Marshal(items) // []Item always marshals
	var label any
	if p.LabelG != nil {
		label = *p.LabelG
	}
	return []any{p.Tracking, p.OrderRef, label, p.LabelResolutionG, string(js), now.UTC().Format(time.RFC3339)}
}

// AddParcel registers a parcel; ErrExists when its tracking number is
// already registered, ErrInvalid for a bad field.
func (r *DB) AddParcel(ctx context.Context, p Parcel) error {
	if err := validate(&p); err != nil {
		return err
	}
	res, err := r.db.ExecContext(ctx, `INSERT INTO parcels (tracking, order_ref, label_g, label_resolution_g, items, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tracking) DO NOTHING`, parcelArgs(p, time.Now())...)
	if err != nil {
		return fmt.Errorf("registry: add %s: %w", p.Tracking, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrExists, p.Tracking)
	}
	return nil
}

// ImportCSV parses a parcel CSV (see ParseCSV) and stores every parcel in
// one transaction: all or nothing. A parcel already registered is replaced
// by the file's, so importing the same file twice is harmless. It returns
// the number of parcels stored.
func (r *DB) ImportCSV(ctx context.Context, rd io.Reader, name string) (int, error) {
	ps, err := ParseCSV(rd, name)
	if err != nil {
		return 0, err
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("registry: import %s: %w", name, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, upsertParcel)
	if err != nil {
		return 0, fmt.Errorf("registry: import %s: %w", name, err)
	}
	defer st.Close()
	now := time.Now()
	for _, p := range ps {
		if _, err := st.ExecContext(ctx, parcelArgs(p, now)...); err != nil {
			return 0, fmt.Errorf("registry: import %s: %s: %w", name, p.Tracking, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("registry: import %s: commit: %w", name, err)
	}
	return len(ps), nil
}

type scanner interface{ Scan(dest ...any) error }

func scanParcel(s scanner) (Parcel, error) {
	var p Parcel
	var label sql.NullFloat64
	var items string
	if err := s.Scan(&p.Tracking, &p.OrderRef, &label, &p.LabelResolutionG, &items); err != nil {
		return Parcel{}, err
	}
	if label.Valid {
		v := label.Float64
		p.LabelG = &v
	}
	if err := json.Unmarshal([]byte(items), &p.Items); err != nil {
		return Parcel{}, fmt.Errorf("registry: parcel %s: items: %w", p.Tracking, err)
	}
	if len(p.Items) == 0 {
		p.Items = nil
	}
	return p, nil
}

const parcelCols = `tracking, order_ref, label_g, label_resolution_g, items`

// GetByTracking returns the parcel registered under a decoded or typed
// tracking number (normalised first); ErrNotFound when there is none.
func (r *DB) GetByTracking(ctx context.Context, tracking string) (Parcel, error) {
	t := vocab.NormalizeTracking(tracking)
	p, err := scanParcel(r.db.QueryRowContext(ctx, `SELECT `+parcelCols+` FROM parcels WHERE tracking = ?`, t))
	if errors.Is(err, sql.ErrNoRows) {
		return Parcel{}, fmt.Errorf("%w: %s", ErrNotFound, t)
	}
	if err != nil {
		return Parcel{}, fmt.Errorf("registry: get %s: %w", t, err)
	}
	return p, nil
}

// Has reports whether a tracking number is registered; with a context
// bound, it is the lookup label.ChooseTracking takes:
//
//	label.ChooseTracking(codes, func(t string) (bool, error) { return reg.Has(ctx, t) })
func (r *DB) Has(ctx context.Context, tracking string) (bool, error) {
	var one int
	err := r.db.QueryRowContext(ctx, `SELECT 1 FROM parcels WHERE tracking = ?`, vocab.NormalizeTracking(tracking)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("registry: lookup: %w", err)
	}
	return true, nil
}

// ListParcels returns every registered parcel, by tracking number.
func (r *DB) ListParcels(ctx context.Context) ([]Parcel, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+parcelCols+` FROM parcels ORDER BY tracking`)
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	defer rows.Close()
	var out []Parcel
	for rows.Next() {
		p, err := scanParcel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemoveParcel removes a parcel; ErrNotFound when there is none.
func (r *DB) RemoveParcel(ctx context.Context, tracking string) error {
	t := vocab.NormalizeTracking(tracking)
	res, err := r.db.ExecContext(ctx, `DELETE FROM parcels WHERE tracking = ?`, t)
	if err != nil {
		return fmt.Errorf("registry: remove %s: %w", t, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, t)
	}
	return nil
}

// SessionOf is the index row of a sealed result; bundle is its directory
// relative to the state directory (res.Bundle when empty).
func SessionOf(res result.Result, bundle string) Session {
	if bundle == "" {
		bundle = res.Bundle
	}
	outcome := OutcomeComplete
	if res.Interrupted {
		outcome = OutcomeInterrupted
	}
	return Session{SessionID: res.SessionID, Seq: res.Seq, StartedAt: res.StartedAt, Tracking: vocab.NormalizeTracking(res.Tracking),
		OrderRef: res.OrderRef, Verdict: res.Verdict, Tier: res.Tier, Bundle: bundle, DeltaG: res.DeltaG, Outcome: outcome}
}

// ParseSince parses a Filter's Since as the API and weighctl take it: a
// date (2006-01-02, UTC midnight) or an RFC 3339 time.
func ParseSince(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
}

// Matches reports whether s passes the filter, as Sessions selects rows.
func (f Filter) Matches(s Session) bool {
	if f.Tracking != "" && s.Tracking != vocab.NormalizeTracking(f.Tracking) ||
		f.Order != "" && s.OrderRef != f.Order || f.Verdict != "" && s.Verdict != f.Verdict {
		return false
	}
	if !f.Since.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, s.StartedAt)
		return err == nil && !t.Before(f.Since)
	}
	return true
}

func sessionArgs(res result.Result) ([]any, error) {
	if res.SessionID == "" {
		return nil, fmt.Errorf("%w: result without session_id", ErrInvalid)
	}
	at, err := time.Parse(time.RFC3339Nano, res.StartedAt)
	if err != nil {
		return nil, fmt.Errorf("%w: session %s: started_at %q: %v", ErrInvalid, res.SessionID, res.StartedAt, err)
	}
	s := SessionOf(res, "")
	var delta any
	if s.DeltaG != nil {
		delta = *s.DeltaG
	}
	return []any{s.SessionID, s.Seq, s.StartedAt, at.UnixMilli(), s.Tracking, s.OrderRef,
		s.Verdict, s.Tier, s.Bundle, delta, s.Outcome}, nil
}

const upsertSession = `INSERT INTO sessions (session_id, seq, started_at, started_ms, tracking, order_ref, verdict, tier, bundle, delta_g, outcome)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(session_id) DO UPDATE SET seq = excluded.seq, started_at = excluded.started_at,
		started_ms = excluded.started_ms, tracking = excluded.tracking, order_ref = excluded.order_ref,
		verdict = excluded.verdict, tier = excluded.tier, bundle = excluded.bundle,
		delta_g = excluded.delta_g, outcome = excluded.outcome`

// IndexSession adds (or updates, by session_id) a session's row in the
// index.
func (r *DB) IndexSession(ctx context.Context, res result.Result) error {
	args, err := sessionArgs(res)
	if err != nil {
		return err
	}
	if _, err := r.db.ExecContext(ctx, upsertSession, args...); err != nil {
		return fmt.Errorf("registry: index session %s: %w", res.SessionID, err)
	}
	return nil
}

// SetClaim records the latest outcome of a session's claim ("resolved:
// refund", "refused", …), as the signed addendum beside its manifest says.
// Indexing the session again keeps it; Rebuild clears it, and the caller
// sets it again from the bundles.
func (r *DB) SetClaim(ctx context.Context, sessionID, claim string) error {
	res, err := r.db.ExecContext(ctx, `UPDATE sessions SET claim = ? WHERE session_id = ?`, claim, sessionID)
	if err != nil {
		return fmt.Errorf("registry: claim of %s: %w", sessionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: session %s", ErrNotFound, sessionID)
	}
	return nil
}

// Sessions returns the indexed sessions matching f, by sequence number.
func (r *DB) Sessions(ctx context.Context, f Filter) ([]Session, error) {
	var where []string
	var args []any
	if f.Tracking != "" {
		where, args = append(where, "tracking = ?"), append(args, vocab.NormalizeTracking(f.Tracking))
	}
	if f.Order != "" {
		where, args = append(where, "order_ref = ?"), append(args, f.Order)
	}
	if f.Verdict != "" {
		where, args = append(where, "verdict = ?"), append(args, f.Verdict)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "started_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "started_ms < ?"), append(args, f.Until.UnixMilli())
	}
	q := `SELECT session_id, seq, started_at, tracking, order_ref, verdict, tier, bundle, delta_g, outcome, claim FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Newest {
		q += " ORDER BY seq DESC, session_id DESC"
	} else {
		q += " ORDER BY seq, session_id"
	}
	if f.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		args = append(args, f.Limit, f.Offset)
	}
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var delta sql.NullFloat64
		if err := rows.Scan(&s.SessionID, &s.Seq, &s.StartedAt, &s.Tracking, &s.OrderRef, &s.Verdict, &s.Tier, &s.Bundle, &delta, &s.Outcome, &s.Claim); err != nil {
			return nil, fmt.Errorf("registry: sessions: %w", err)
		}
		if delta.Valid {
			v := delta.Float64
			s.DeltaG = &v
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Rebuild replaces the whole session index with the given results (read
// from the evidence bundles, the source of truth), in one transaction. An
// error from the sequence aborts it and leaves the old index. It returns
// the number of sessions indexed.
func (r *DB) Rebuild(ctx context.Context, results iter.Seq2[result.Result, error]) (int, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("registry: rebuild: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions`); err != nil {
		return 0, fmt.Errorf("registry: rebuild: %w", err)
	}
	n := 0
	for res, err := range results {
		if err != nil {
			return 0, fmt.Errorf("registry: rebuild: %w", err)
		}
		args, err := sessionArgs(res)
		if err != nil {
			return 0, fmt.Errorf("registry: rebuild: %w", err)
		}
		if _, err := tx.ExecContext(ctx, upsertSession, args...); err != nil {
			return 0, fmt.Errorf("registry: rebuild: session %s: %w", res.SessionID, err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("registry: rebuild: commit: %w", err)
	}
	return n, nil
}

// Results adapts a slice to the sequence Rebuild takes.
func Results(rs []result.Result) iter.Seq2[result.Result, error] {
	return func(yield func(result.Result, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// ParcelFromFields is the parcel of a form's text fields (weighctl parcels
// add's flags, the web app's parcels page): label and resolution grams as
// plain decimals ("" unknown), items as "Name:grams;Name:grams". The
// parcel is checked when it is stored.
func ParcelFromFields(tracking, orderRef, labelG, resolutionG, items string) (Parcel, error) {
	p := Parcel{Tracking: strings.TrimSpace(tracking), OrderRef: strings.TrimSpace(orderRef)}
	if v := strings.TrimSpace(labelG); v != "" {
		g, err := vocab.ParseLabelGrams(v)
		if err != nil {
			return Parcel{}, fmt.Errorf("%w: label_g: %v", ErrInvalid, err)
		}
		p.LabelG = &g
	}
	if v := strings.TrimSpace(resolutionG); v != "" {
		g, err := vocab.ParseDecimal(v)
		if err != nil {
			return Parcel{}, fmt.Errorf("%w: label_resolution_g: %v", ErrInvalid, err)
		}
		p.LabelResolutionG = g
	}
	var err error
	if p.Items, err = ParseItems(items); err != nil {
		return Parcel{}, fmt.Errorf("%w: items: %v", ErrInvalid, err)
	}
	return p, nil
}

// Expected is an expected parcel with its arrival: the sessions of the
// index that weighed it (by tracking number).
type Expected struct {
	Parcel
	// Sessions counts the indexed sessions with the parcel's tracking
	// number; 0 while it has not arrived.
	Sessions int `json:"sessions"`
	// LastSession and LastAt are the newest of them.
	LastSession string `json:"last_session,omitempty"`
	LastAt      string `json:"last_at,omitempty"`
}

// ExpectedParcels returns every registered parcel with its arrival, the
// ones not yet weighed first, then by tracking number.
func (r *DB) ExpectedParcels(ctx context.Context) ([]Expected, error) {
	const newest = `FROM sessions s WHERE s.tracking = p.tracking ORDER BY s.seq DESC, s.session_id DESC LIMIT 1`
	rows, err := r.db.QueryContext(ctx, `SELECT `+parcelCols+`,
		(SELECT COUNT(*) FROM sessions s WHERE s.tracking = p.tracking) AS n,
		COALESCE((SELECT s.session_id `+newest+`), ''), COALESCE((SELECT s.started_at `+newest+`), '')
		FROM parcels p ORDER BY n > 0, tracking`)
	if err != nil {
		return nil, fmt.Errorf("registry: expected parcels: %w", err)
	}
	defer rows.Close()
	var out []Expected
	for rows.Next() {
		var e Expected
		p, err := scanParcel(alsoScan{rows, []any{&e.Sessions, &e.LastSession, &e.LastAt}})
		if err != nil {
			return nil, fmt.Errorf("registry: expected parcels: %w", err)
		}
		e.Parcel = p
		out = append(out, e)
	}
	return out, rows.Err()
}

// alsoScan scans more columns after the ones asked for.
type alsoScan struct {
	s    scanner
	more []any
}

func (a alsoScan) Scan(dest ...any) error { return a.s.Scan(append(dest, a.more...)...) }
