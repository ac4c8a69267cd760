package broker

import (
	"strconv"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
)

// boltStore is mochi's bbolt storage hook for sessions, subscriptions and
// inflight (queued QoS 1) messages in broker.db. Retained messages stay in
// memory, as before: weighd retains its state again at every connect, and
// what was retained is gone with weighd (weighctl ha clear relies on it).
// Mended: the hook does not
// store an inflight message's packet id, without which the broker refuses
// to resend it to the returning client ("missing packet id"). The id is
// the last part of the message's key, so it is read back from there.
type boltStore struct{ bolt.Hook }

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

// Provides is bolt's, without the retained messages.
func (h *boltStore) Provides(b byte) bool {
	if b == mochi.OnRetainMessage || b == mochi.StoredRetainedMessages || b == mochi.OnRetainedExpired {
		return false
	}
	return h.Hook.Provides(b)
}
