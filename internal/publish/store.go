package publish

import (
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyStore is paho's memory store holding private copies of PUBLISH
// packets: Put stores a copy and Get hands out a copy. With the plain
// memory store the stored pointer is the packet paho's writer is sending;
// on a reconnect paho's resume reads it and sets its DUP flag while the new
// connection's writer may be writing the same packet (a Publish made just
// before the connection dropped): a data race. Messages that matter are
// re-sent by the outbox anyway; the store only carries paho's in-flight
// window across a reconnect.
type copyStore struct {
	mqtt.Store
}

func newCopyStore() mqtt.Store { return copyStore{Store: mqtt.NewMemoryStore()} }

func copyPublish(p packets.ControlPacket) packets.ControlPacket {
	if pub, ok := p.(*packets.PublishPacket); ok && pub != nil {
		cp := *pub
		return &cp
	}
	return p
}

// Put stores a copy of a PUBLISH packet.
func (s copyStore) Put(key string, p packets.ControlPacket) { s.Store.Put(key, copyPublish(p)) }

// Get returns a copy of a stored PUBLISH packet.
func (s copyStore) Get(key string) packets.ControlPacket { return copyPublish(s.Store.Get(key)) }
