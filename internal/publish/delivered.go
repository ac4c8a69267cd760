package publish

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"weighin/internal/result"
)

// DeliveredName is the file in the outbox directory that lists, one a
// line, the session ids whose result the broker acknowledged. It is
// appended without fsync: a line lost in a crash only sends that result
// again, a duplicate consumers drop by session_id.
const DeliveredName = "delivered"

// delivered is the outbox's list of acknowledged results.
type delivered struct {
	path string
	mu   sync.Mutex
}

// add appends id ("" only creates the file).
func (d *delivered) add(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	if id != "" {
		_, err = f.WriteString(id + "\n")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrOutbox, d.path, err)
	}
	return nil
}

// load returns the ids listed and whether the file exists.
func (d *delivered) load() (map[string]bool, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.Open(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrOutbox, err)
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, true, fmt.Errorf("%w: %s: %w", ErrOutbox, d.path, err)
	}
	return ids, true, nil
}

// sessionOf is the session_id of a result payload ("" when it has none).
func sessionOf(payload []byte) string {
	var r struct {
		SessionID string `json:"session_id"`
	}
	_ = json.Unmarshal(payload, &r)
	return r.SessionID
}

// Reconcile queues, at start-up, the result of every sealed session the
// broker never acknowledged and that is not waiting in the outbox: a
// crash between a seal and its outbox entry loses no result. sealed are
// the sealed bundles' results, oldest first. A station whose outbox has no
// delivered list yet (before this version) takes what it sealed so far as
// delivered and starts the list with it. It returns the sessions queued.
func (p *Publisher) Reconcile(sealed []result.Result) ([]string, error) {
	done, exists, err := p.acked.load()
	if err != nil {
		return nil, err
	}
	pending, err := p.outbox.Pending()
	if err != nil {
		return nil, err
	}
	waiting := map[string]bool{}
	for _, e := range pending {
		waiting[sessionOf(e.Payload)] = true
	}
	var queued []string
	for _, r := range sealed {
		switch {
		case r.SessionID == "" || done[r.SessionID] || waiting[r.SessionID]:
		case !exists:
			if err := p.acked.add(r.SessionID); err != nil {
				return queued, err
			}
		default:
			if err := p.PublishResult(r); err != nil {
				return queued, err
			}
			queued = append(queued, r.SessionID)
		}
	}
	if !exists {
		// The list exists from now on, even on a station with no session.
		if err := p.acked.add(""); err != nil {
			return queued, err
		}
	}
	return queued, nil
}
