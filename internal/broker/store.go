package broker

import (
	"strconv"
	"strings"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Bounds of the retained messages kept in broker.db: a message that would
// take the store beyond them stays in memory only (and its older stored
// version is dropped, so a restart never brings back a stale one). Both
// are far above what a station retains (discovery, state, result, label,
// still, export, error, entries, availability: well under 1 MiB), and
// they bound what any other client may make the station's disk keep.
const (
	MaxRetainedStored      = 256
	MaxRetainedStoredBytes = 8 << 20
)

// boltStore is mochi's bbolt storage hook (hooks/storage/bolt) for
// sessions, subscriptions, inflight (queued QoS 1) and retained messages
// in broker.db, with the retained messages bounded (MaxRetainedStored,
// MaxRetainedStoredBytes), so that result and label survive a restart.
// Mended: the hook does not store an inflight message's packet id, without
// which the broker refuses to resend it to the returning client ("missing
// packet id"). The id is the last part of the message's key, so it is read
// back from there.
type boltStore struct {
	bolt.Hook

	mu    sync.Mutex
	sizes map[string]int // stored retained messages' sizes, by topic
	total int
	full  bool // the last refusal was logged
}

func (h *boltStore) StoredInflightMessages() ([]storage.Message, error) {
	v, err := h.Hook.StoredInflightMessages()
	for i := range v {
		if v[i].PacketID != 0 {
			continue
		}
		if j := strings.LastIndexByte(v[i].ID, ':'); j >= 0 {
			if id, perr := strconv.ParseUint(v[i].ID[j+1:], 10, 16); perr == nil {
				v[i].PacketID = uint16(id)
			}
		}
	}
	return v, err
}

// retainedSize is what a retained message counts against the bounds.
func retainedSize(topic string, payload []byte) int { return len(topic) + len(payload) }

// StoredRetainedMessages loads the stored retained messages (mochi calls
// it once, at Serve) and counts them against the bounds.
func (h *boltStore) StoredRetainedMessages() ([]storage.Message, error) {
	v, err := h.Hook.StoredRetainedMessages()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sizes, h.total = map[string]int{}, 0
	for _, m := range v {
		n := retainedSize(m.TopicName, m.Payload)
		h.sizes[m.TopicName] = n
		h.total += n
	}
	return v, err
}

// OnRetainMessage stores a retained message within the bounds, or drops
// the topic's stored one (an empty payload clears it; a message beyond the
// bounds is kept in memory only).
func (h *boltStore) OnRetainMessage(cl *mochi.Client, pk packets.Packet, r int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sizes == nil {
		h.sizes = map[string]int{}
	}
	topic := pk.TopicName
	old, had := h.sizes[topic]
	n := retainedSize(topic, pk.Payload)
	fits := len(pk.Payload) > 0 && h.total-old+n <= MaxRetainedStoredBytes && (had || len(h.sizes) < MaxRetainedStored)
	if !fits {
		if had {
			h.Hook.OnRetainMessage(cl, pk, -1)
			delete(h.sizes, topic)
			h.total -= old
		}
		if len(pk.Payload) > 0 && !h.full {
			h.full = true
			h.Log.Warn("retained message kept in memory only: broker.db's retained messages are at their bound",
				"topic", topic, "bytes", n, "stored", len(h.sizes), "stored_bytes", h.total,
				"max", MaxRetainedStored, "max_bytes", MaxRetainedStoredBytes)
		}
		return
	}
	h.full = false
	h.Hook.OnRetainMessage(cl, pk, r)
	h.sizes[topic] = n
	h.total += n - old
}

// OnRetainedExpired drops an expired retained message from the store.
func (h *boltStore) OnRetainedExpired(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Hook.OnRetainedExpired(topic)
	h.total -= h.sizes[topic]
	delete(h.sizes, topic)
}
