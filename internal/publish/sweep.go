package publish

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// sweepQuiet is how long the sweep waits after the last retained message
// (or after the broker acknowledged the subscription) before it decides it
// has seen them all: brokers send retained messages right after SUBACK.
const sweepQuiet = 300 * time.Millisecond

// sweepRetained clears every retained message still held under the
// station's base topic and its discovery topics: the topics a fixed list
// does not name (ones added by later features, a command retained by
// mistake by a dashboard). It subscribes on c, collects the retained
// messages the broker delivers, and publishes an empty retained message on
// each. It returns the topics it cleared, sorted.
func sweepRetained(ctx context.Context, c mqtt.Client, t Topics) ([]string, error) {
	filters := t.RetainedFilters()
	col, err := collect(ctx, c, filters)
	if err != nil {
		return nil, fmt.Errorf("publish: sweep: %w", err)
	}
	if err := col.wait(ctx, nil, sweepQuiet, time.Hour); err != nil {
		return nil, fmt.Errorf("publish: sweep: %w", err)
	}
	if err := waitToken(ctx, c.Unsubscribe(filters...), defaultAckTimeout); err != nil {
		return nil, fmt.Errorf("publish: sweep: unsubscribe: %w", err)
	}
	found := map[string]bool{}
	for _, m := range col.messages() {
		found[m.Topic] = found[m.Topic] || m.Retained && len(m.Payload) > 0
	}
	var topics []string
	for topic, retained := range found {
		if retained {
			topics = append(topics, topic)
		}
	}
	sort.Strings(topics)
	for _, topic := range topics {
		if err := waitToken(ctx, c.Publish(topic, 1, true, []byte{}), defaultAckTimeout); err != nil {
			return nil, fmt.Errorf("publish: clear %s: %w", topic, err)
		}
	}
	return topics, nil
}

// discoveryFilter matches every discovery topic of the station:
// <prefix>/<component>/<station_id>/..., the device document
// <prefix>/device/<station_id>/config included (Home Assistant's node_id
// convention), so per-component documents a later feature adds go too.
func discoveryFilter(t Topics) string {
	parts := strings.Split(t.Discovery, "/")
	if len(parts) < 4 {
		return t.Discovery
	}
	n := len(parts)
	return strings.Join(parts[:n-3], "/") + "/+/" + parts[n-2] + "/#"
}
