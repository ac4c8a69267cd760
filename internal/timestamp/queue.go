package timestamp

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"weighin/internal/evidence"
	"weighin/internal/fsync"
)

// Dir is the queue's directory under the state directory:
// <state>/timestamp/queue holds the pending requests, <state>/timestamp/failed
// those given up (a file gone or changed, an addendum that cannot be
// written).
const Dir = "timestamp"

// File is a finished file outside the bundle that the addendum moves into
// the bundle under Name: the evidence store's addendum file.
type File = evidence.AddendumFile

// Body is the content of a timestamp addendum: what was stamped, by whom,
// when. The token file itself is the evidence; Body makes it readable.
type Body struct {
	// For is the stamped bundle file and SHA256 its hash, the token's
	// message imprint.
	For    string `json:"for"`
	SHA256 string `json:"sha256"`
	// Token is the DER TimeStampResp file, Chain the TSA's chain (PEM).
	Token string `json:"token"`
	Chain string `json:"chain"`
	// TSAURL answered; TSA is its certificate's name.
	TSAURL string `json:"tsa_url"`
	TSA    string `json:"tsa"`
	// TSATime is the token's time (RFC 3339 UTC), Serial its serial
	// number, Policy the TSA's policy OID.
	TSATime string `json:"tsa_time"`
	Serial  string `json:"serial"`
	Policy  string `json:"policy"`
	// QueuedAt is the station's clock when the request was queued (just
	// after the seal or the addendum).
	QueuedAt string `json:"queued_at"`
}

// RecordFunc records files as one signed addendum of kind Kind with body in
// the sealed bundle at bundleDir, moving each File's Path into the bundle
// durably under its Name. It is all or nothing: after an error no File is
// in the bundle (or the store completes the addendum at its next start).
// The evidence store's AddAddendum provides it.
type RecordFunc func(bundleDir string, body Body, files []File) error

// Options configure a Queue. URLs empty means timestamping is off: Enqueue
// queues nothing and nothing is contacted.
type Options struct {
	// URLs are the TSAs, tried in order for every token (trust.tsa_urls).
	URLs []string
	// Roots are the trusted roots (Roots(trust.tsa_ca_file)); a token that
	// does not chain to them is refused at once, and the next TSA tried.
	Roots *x509.CertPool
	// Record stores a token in its bundle. Required when URLs is not empty.
	Record RecordFunc
	// Client makes the requests; nil means one with a 30 s timeout.
	Client *http.Client
	// MinBackoff and MaxBackoff bound the wait after every TSA failed:
	// doubling from MinBackoff (0: 30 s) up to MaxBackoff (0: 30 min),
	// ±20 % jitter.
	MinBackoff, MaxBackoff time.Duration
	// Spacing is the pause between two tokens while a backlog drains (0:
	// 15 s, as public TSAs ask of scripts; negative: none).
	Spacing time.Duration
	// MaxLocalFailures is how often recording a token may fail before the
	// request is given up (0: 5).
	MaxLocalFailures int
	// Now is the station clock (nil: time.Now).
	Now func() time.Time
	// Log is required.
	Log *slog.Logger
}

// Status is the queue's state for the status API and MQTT.
type Status struct {
	// State: "off" (no TSA configured), "idle" (nothing queued),
	// "stamping", "backoff" (every TSA failed; waiting to retry).
	State string `json:"state"`
	// Backlog is the number of requests waiting; Failed the number given
	// up (in <state>/timestamp/failed).
	Backlog int `json:"backlog"`
	Failed  int `json:"failed"`
	// OldestQueuedAt is when the oldest waiting request was queued;
	// Attempts how often it was tried; NextAttemptAt when it will be again.
	OldestQueuedAt string `json:"oldest_queued_at,omitempty"`
	Attempts       int    `json:"attempts,omitempty"`
	NextAttemptAt  string `json:"next_attempt_at,omitempty"`
	// LastError is why the last attempt failed ("" after a success).
	LastError string `json:"last_error,omitempty"`
	// LastTokenAt and LastTSA describe the newest token obtained.
	LastTokenAt string `json:"last_token_at,omitempty"`
	LastTSA     string `json:"last_tsa,omitempty"`
}

// job is one request, <id>.json in the queue directory. A fetched answer
// waits beside it as <id>.tsr and <id>.tsa.pem until it is recorded.
type job struct {
	Version       int    `json:"version"`
	Bundle        string `json:"bundle"`
	File          string `json:"file"`
	SHA256        string `json:"sha256"`
	QueuedAt      string `json:"queued_at"`
	Attempts      int    `json:"attempts"`
	LocalFailures int    `json:"local_failures"`
	TSAURL        string `json:"tsa_url,omitempty"`
	LastError     string `json:"last_error,omitempty"`

	id int64
}

// Queue is the durable queue of token requests. Enqueue is safe for
// concurrent use with Run.
type Queue struct {
	queue, failed string
	opts          Options
	retry         chan struct{}
	wake          chan struct{}

	mu     sync.Mutex
	nextID int64
	st     Status
}

// Errors that decide what happens to a request.
var (
	// errGone: the file to stamp is gone or changed; the request is given up.
	errGone = errors.New("file to stamp unusable")
	// errLocal: the token could not be kept or recorded; retried a few times.
	errLocal = errors.New("token not recorded")
)

// Open opens (creating it when needed) the queue under stateDir. Requests
// queued by an earlier run are kept, in order.
func Open(stateDir string, opts Options) (*Queue, error) {
	if opts.Log == nil {
		return nil, errors.New("timestamp: Open needs a logger")
	}
	if len(opts.URLs) > 0 && opts.Record == nil {
		return nil, errors.New("timestamp: Open needs Options.Record when TSAs are configured")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Spacing == 0 {
		opts.Spacing = 15 * time.Second
	}
	if opts.MaxLocalFailures <= 0 {
		opts.MaxLocalFailures = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	q := &Queue{
		queue:  filepath.Join(stateDir, Dir, "queue"),
		failed: filepath.Join(stateDir, Dir, "failed"),
		opts:   opts,
		retry:  make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
	}
	for _, d := range []string{q.queue, q.failed} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("timestamp: %w", err)
		}
	}
	ids, err := q.ids(q.queue, true)
	if err != nil {
		return nil, err
	}
	failed, err := q.ids(q.failed, true)
	if err != nil {
		return nil, err
	}
	q.nextID = 1
	if len(ids) > 0 {
		q.nextID = ids[len(ids)-1] + 1
	}
	q.st = Status{State: "idle", Backlog: len(ids), Failed: len(failed)}
	if len(opts.URLs) == 0 {
		q.st.State = "off"
	}
	if len(ids) > 0 {
		if j, err := q.load(ids[0]); err == nil {
			q.st.OldestQueuedAt, q.st.Attempts, q.st.LastError = j.QueuedAt, j.Attempts, j.LastError
		}
	}
	return q, nil
}

// ids lists the request numbers in dir, oldest first; clean removes the
// temporary files of an interrupted write (only at Open: later, one may be
// an Enqueue in progress).
func (q *Queue) ids(dir string, clean bool) ([]int64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("timestamp: %w", err)
	}
	var ids []int64
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") && strings.Contains(n, tmpMarker) {
			if clean {
				os.Remove(filepath.Join(dir, n))
			}
			continue
		}
		if base, ok := strings.CutSuffix(n, ".json"); ok {
			if id, err := strconv.ParseInt(base, 10, 64); err == nil && id > 0 {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func jobName(id int64) string { return fmt.Sprintf("%010d", id) }

func (q *Queue) load(id int64) (*job, error) {
	data, err := os.ReadFile(filepath.Join(q.queue, jobName(id)+".json"))
	if err != nil {
		return nil, err
	}
	var j job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("%s.json: %v", jobName(id), err)
	}
	if j.Version != 1 || j.Bundle == "" || !validName(j.File) {
		return nil, fmt.Errorf("%s.json: not a request of this version", jobName(id))
	}
	j.id = id
	return &j, nil
}

func (q *Queue) save(dir string, j *job) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, jobName(j.id)+".json", append(data, '\n'))
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00") && !strings.HasPrefix(name, ".")
}

// Enqueue queues a token request for the file name of the sealed bundle at
// bundleDir: its SHA256SUMS after the seal, or an addendum's document (not
// one of kind Kind; see Stamps). The file's SHA-256 is taken now; the
// request is on disk when Enqueue returns. With no TSA configured it does
// nothing.
func (q *Queue) Enqueue(bundleDir, name string) error {
	if len(q.opts.URLs) == 0 {
		return nil
	}
	if !validName(name) {
		return fmt.Errorf("timestamp: enqueue: %q is not a bundle file name", name)
	}
	data, err := os.ReadFile(filepath.Join(bundleDir, name))
	if err != nil {
		return fmt.Errorf("timestamp: enqueue: %w", err)
	}
	sum := sha256.Sum256(data)
	now := q.opts.Now().UTC().Format(time.RFC3339)
	q.mu.Lock()
	j := &job{Version: 1, Bundle: bundleDir, File: name, SHA256: hex.EncodeToString(sum[:]), QueuedAt: now, id: q.nextID}
	q.nextID++
	err = q.save(q.queue, j)
	if err == nil {
		q.st.Backlog++
		if q.st.OldestQueuedAt == "" {
			q.st.OldestQueuedAt = now
		}
	}
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("timestamp: enqueue: %w", err)
	}
	q.opts.Log.Info("timestamp queued", "bundle", filepath.Base(bundleDir), "file", name)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Retry cuts a backoff short: the next attempt starts now (for instance
// when the network is back).
func (q *Queue) Retry() {
	select {
	case q.retry <- struct{}{}:
	default:
	}
}

// Status is the queue's current state.
func (q *Queue) Status() Status {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st
}

func (q *Queue) update(f func(*Status)) {
	q.mu.Lock()
	f(&q.st)
	q.mu.Unlock()
}

// Run works through the queue, oldest request first, until ctx ends: each
// request is tried at every TSA in order; when all fail, the whole queue
// waits (backoff) and the same request is tried again, so tokens come in
// the order of the seals. With no TSA configured it only waits for ctx.
func (q *Queue) Run(ctx context.Context) error {
	if len(q.opts.URLs) == 0 {
		<-ctx.Done()
		return nil
	}
	log := q.opts.Log
	for {
		ids, err := q.ids(q.queue, false)
		if err != nil {
			log.Error("timestamp queue unreadable", "err", err)
			if !q.sleep(ctx, q.opts.MaxBackoff, false) {
				return nil
			}
			continue
		}
		if len(ids) == 0 {
			q.update(func(s *Status) {
				s.State, s.Backlog, s.OldestQueuedAt, s.Attempts, s.NextAttemptAt = "idle", 0, "", 0, ""
			})
			select {
			case <-ctx.Done():
				return nil
			case <-q.wake:
			}
			continue
		}
		j, err := q.load(ids[0])
		if err != nil {
			q.giveUp(&job{id: ids[0]}, fmt.Errorf("%w: %v", errGone, err))
			continue
		}
		// The backlog is counted again under the lock Enqueue takes, so a
		// request queued since the listing above is not lost from it.
		q.mu.Lock()
		n := len(ids)
		if now, err := q.ids(q.queue, false); err == nil {
			n = len(now)
		}
		q.st.State, q.st.Backlog, q.st.OldestQueuedAt, q.st.Attempts, q.st.NextAttemptAt = "stamping", n, j.QueuedAt, j.Attempts, ""
		q.mu.Unlock()
		stamp, err := q.process(ctx, j)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == nil:
			q.finish(j, stamp)
			if !q.sleep(ctx, q.opts.Spacing, false) {
				return nil
			}
			continue
		case errors.Is(err, errGone):
			q.giveUp(j, err)
			continue
		case errors.Is(err, errLocal):
			j.LocalFailures++
			if j.LocalFailures >= q.opts.MaxLocalFailures {
				q.giveUp(j, err)
				continue
			}
		default:
			j.Attempts++
		}
		j.LastError = err.Error()
		if serr := q.save(q.queue, j); serr != nil {
			log.Error("timestamp request not updated", "err", serr)
		}
		wait := q.backoff(j.Attempts + j.LocalFailures)
		next := q.opts.Now().Add(wait)
		log.Warn("timestamp not obtained; will retry", "bundle", filepath.Base(j.Bundle), "file", j.File,
			"attempts", j.Attempts, "retry_in", wait.Round(time.Second).String(), "err", err)
		q.update(func(s *Status) {
			s.State, s.Attempts, s.LastError, s.NextAttemptAt = "backoff", j.Attempts, j.LastError, next.UTC().Format(time.RFC3339)
		})
		if !q.sleep(ctx, wait, true) {
			return nil
		}
	}
}

// backoff is the wait after the n-th failed attempt.
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.MinBackoff
	for i := 1; i < n && d < q.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.opts.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d, or less when Retry is called (if retryable); false when
// ctx ended.
func (q *Queue) sleep(ctx context.Context, d time.Duration, retryable bool) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var retry <-chan struct{}
	if retryable {
		retry = q.retry
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-retry:
	}
	return true
}

// process obtains and records the token of one request.
func (q *Queue) process(ctx context.Context, j *job) (*Stamp, error) {
	tsrName, pemName := TokenName(j.File), ChainName(j.File)
	if _, err := os.Lstat(filepath.Join(j.Bundle, tsrName)); err == nil {
		// Recorded before a crash cut the clean-up short.
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(j.Bundle, j.File))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errGone, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != j.SHA256 {
		return nil, fmt.Errorf("%w: %s changed since it was queued (sha256 %s, queued %s): not stamped", errGone, j.File, got, j.SHA256)
	}
	base := filepath.Join(q.queue, jobName(j.id))
	respPath, chainPath := base+".tsr", base+".tsa.pem"
	var stamp *Stamp
	if resp, err := os.ReadFile(respPath); err == nil {
		// Fetched before a restart: record it rather than ask again.
		if tok, err := CheckResponse(resp, sum[:], q.opts.Roots, nil); err == nil {
			stamp = &Stamp{URL: j.TSAURL, Response: resp, Token: tok}
		} else {
			q.opts.Log.Warn("kept timestamp answer no longer verifies; asking again", "file", respPath, "err", err)
		}
	}
	if stamp == nil {
		var errs []string
		for _, u := range q.opts.URLs {
			s, err := Fetch(ctx, q.opts.Client, u, sum[:], q.opts.Roots)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				errs = append(errs, u+": "+err.Error())
				continue
			}
			stamp = s
			break
		}
		if stamp == nil {
			return nil, errors.New(strings.Join(errs, "; "))
		}
		if err := writeFileAtomic(q.queue, filepath.Base(chainPath), stamp.Token.ChainPEM()); err != nil {
			return nil, fmt.Errorf("%w: %v", errLocal, err)
		}
		if err := writeFileAtomic(q.queue, filepath.Base(respPath), stamp.Response); err != nil {
			return nil, fmt.Errorf("%w: %v", errLocal, err)
		}
		j.TSAURL = stamp.URL
		if err := q.save(q.queue, j); err != nil {
			return nil, fmt.Errorf("%w: %v", errLocal, err)
		}
	}
	if _, err := os.Stat(chainPath); err != nil {
		if err := writeFileAtomic(q.queue, filepath.Base(chainPath), stamp.Token.ChainPEM()); err != nil {
			return nil, fmt.Errorf("%w: %v", errLocal, err)
		}
	}
	tok := stamp.Token
	body := Body{
		For: j.File, SHA256: j.SHA256, Token: tsrName, Chain: pemName,
		TSAURL: stamp.URL, TSA: tok.TSA(), TSATime: tok.Time.UTC().Format(time.RFC3339Nano),
		Serial: tok.Serial.String(), Policy: tok.Policy.String(), QueuedAt: j.QueuedAt,
	}
	if err := q.opts.Record(j.Bundle, body, []File{{Name: tsrName, Path: respPath}, {Name: pemName, Path: chainPath}}); err != nil {
		return nil, fmt.Errorf("%w: %v", errLocal, err)
	}
	return stamp, nil
}

// finish removes a request whose token is recorded.
func (q *Queue) finish(j *job, s *Stamp) {
	base := filepath.Join(q.queue, jobName(j.id))
	os.Remove(base + ".tsr")
	os.Remove(base + ".tsa.pem")
	if err := os.Remove(base + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		q.opts.Log.Error("timestamp request not removed", "err", err)
	}
	fsync.Dir(q.queue)
	q.update(func(st *Status) {
		st.Backlog = max(st.Backlog-1, 0)
		st.LastError, st.Attempts, st.NextAttemptAt = "", 0, ""
		if s != nil {
			st.LastTokenAt, st.LastTSA = s.Token.Time.UTC().Format(time.RFC3339), s.Token.TSA()
		}
	})
	if s != nil {
		q.opts.Log.Info("timestamp recorded", "bundle", filepath.Base(j.Bundle), "file", j.File,
			"tsa", s.Token.TSA(), "tsa_time", s.Token.Time.UTC().Format(time.RFC3339), "station_time", q.opts.Now().UTC().Format(time.RFC3339))
	}
}

// giveUp moves a request to the failed directory with its reason.
func (q *Queue) giveUp(j *job, reason error) {
	q.opts.Log.Error("timestamp request given up", "bundle", filepath.Base(j.Bundle), "file", j.File, "err", reason)
	name := jobName(j.id)
	if j.Version != 0 {
		j.LastError = reason.Error()
		if err := q.save(q.failed, j); err != nil {
			q.opts.Log.Error("timestamp request not moved to failed", "err", err)
		}
	} else if err := os.Rename(filepath.Join(q.queue, name+".json"), filepath.Join(q.failed, name+".json")); err != nil {
		q.opts.Log.Error("timestamp request not moved to failed", "err", err)
	}
	fsync.Dir(q.failed)
	for _, ext := range []string{".json", ".tsr", ".tsa.pem"} {
		os.Remove(filepath.Join(q.queue, name+ext))
	}
	fsync.Dir(q.queue)
	q.update(func(st *Status) {
		st.Backlog = max(st.Backlog-1, 0)
		st.Failed++
		st.LastError = reason.Error()
	})
}
