// Package brokerdb reads and edits the embedded broker's store,
// <state_dir>/broker.db (mochi's bbolt storage hook, internal/broker),
// while no broker has it open, without the broker itself: weighctl ha
// clear deletes a stopped station's retained messages with it.
package brokerdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// The bucket and key prefix mochi's bolt hook stores retained messages
// under (hooks/storage/bolt: defaultBucket, retainedKey).
// (github.com/mochi-mqtt/server/v2 v2.7.9; broker's TestRetainedSurvivesRestart
// clears what the hook stored, so a change there fails it).
const (
	boltBucket     = "mochi"
	boltRetainedKV = "RET_"
)

// FileName is the broker's store under the state directory.
const FileName = "broker.db"

// ErrStoreBusy: broker.db is open in another process (weighd runs).
var ErrStoreBusy = errors.New("brokerdb: broker.db is in use (is weighd running?)")

// ClearRetained deletes from dir's broker.db, while no broker runs on it,
// every stored retained message whose topic matches one of the MQTT topic
// filters, and returns the topics it deleted, sorted. A missing store
// holds nothing: no error. The store is locked while a broker has it
// open: then ErrStoreBusy after a second.
func ClearRetained(dir string, filters []string) ([]string, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrStoreBusy, path)
	}
	if err != nil {
		return nil, fmt.Errorf("brokerdb: open %s: %w", path, err)
	}
	var cleared []string
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(boltBucket))
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek([]byte(boltRetainedKV)); k != nil && strings.HasPrefix(string(k), boltRetainedKV); k, _ = c.Next() {
			topic := strings.TrimPrefix(string(k), boltRetainedKV)
			for _, f := range filters {
				if MatchTopic(f, topic) {
					keys = append(keys, append([]byte(nil), k...))
					cleared = append(cleared, topic)
					break
				}
			}
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("brokerdb: clear retained in %s: %w", path, err)
	}
	sort.Strings(cleared)
	return cleared, nil
}

// MatchTopic reports whether an MQTT topic filter ("+" one level, "#" the
// rest, MQTT 3.1.1 §4.7) matches topic.
func MatchTopic(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, p := range f {
		switch {
		case p == "#":
			return true
		case i >= len(t):
			return false
		case p != "+" && p != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}
