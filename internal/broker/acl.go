package broker

import (
	"bytes"
	"crypto/subtle"
	"log/slog"
	"strings"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// stationUser is the user name weighd's own client authenticates as; its
// password is drawn afresh at every start and never leaves the process.
const stationUser = "weighd"

// RecordCommands are the commands under <base>/cmd/ that write signed
// records; the broker forwards them only from the configured user.
var RecordCommands = []string{"outcome", "parcel"}

// guard is the embedded broker's authentication and ACL hook:
//
//   - weighd's own client (stationUser with the per-run password) may
//     publish anywhere, and is the only one that may publish under <base>/
//     outside <base>/cmd/;
//   - with mqtt.username/password configured, every other client must
//     authenticate as that user; without them, anonymous clients are
//     allowed (the broker then listens on loopback only);
//   - <base>/cmd/outcome and <base>/cmd/parcel are forwarded only from the
//     configured user: refused for everyone when none is configured;
//   - a client other than weighd's that connects with weighd's client id
//     is refused (a station-id collision) instead of taking the station's
//     session over.
//
// Each refusal is logged and handed to the refused callback.
type guard struct {
	mochi.HookBase
	base     string
	clientID string
	user     []byte
	pass     []byte
	station  []byte // the per-run password of stationUser
	log      *slog.Logger

	mu      sync.Mutex
	refused func(what, reason string)
}

func (g *guard) ID() string { return "weighin-guard" }

func (g *guard) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck || b == mochi.OnPublish
}

func (g *guard) isStation(cl *mochi.Client) bool {
	return bytes.Equal(cl.Properties.Username, []byte(stationUser))
}

func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func (g *guard) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user, pass := pk.Connect.Username, pk.Connect.Password
	switch {
	case equal(user, []byte(stationUser)):
		return equal(pass, g.station)
	case cl.ID == g.clientID:
		g.refuse("connect", "station-id collision: a client other than weighd connected as "+g.clientID+" from "+cl.Net.Remote+"; it was refused (a second station with the same station_id?)")
		return false
	case len(g.user) > 0:
		return equal(user, g.user) && equal(pass, g.pass)
	default:
		return len(user) == 0 // anonymous on loopback; no other user exists
	}
}

func (g *guard) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if !write || g.isStation(cl) {
		return true
	}
	if topic != g.base && !strings.HasPrefix(topic, g.base+"/") {
		return true
	}
	cmd, ok := strings.CutPrefix(topic, g.base+"/cmd/")
	if !ok {
		g.refuse("publish", "only weighd publishes on "+topic+" (client "+cl.ID+")")
		return false
	}
	for _, rc := range RecordCommands {
		if cmd != rc {
			continue
		}
		if len(g.user) == 0 {
			g.refuse(cmd, "refused: "+cmd+" writes a signed record and is accepted only from a client authenticated as mqtt.username; no mqtt.username/mqtt.password is configured")
			return false
		}
		if !equal(cl.Properties.Username, g.user) {
			g.refuse(cmd, "refused: "+cmd+" is accepted only from the client authenticated as mqtt.username")
			return false
		}
	}
	return true
}

// OnPublish drops a retained publish under <base>/cmd/ (issue 14): it is
// acknowledged, but neither stored nor forwarded. MQTT 3.1.1 delivers a
// retained message to the clients already subscribed with the retain flag
// cleared, so weighd could not tell it from a live command; stored, it
// would come back at every connect.
func (g *guard) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	cmd, ok := strings.CutPrefix(pk.TopicName, g.base+"/cmd/")
	if !ok || !pk.FixedHeader.Retain || g.isStation(cl) {
		return pk, nil
	}
	if len(pk.Payload) == 0 {
		// Clearing a stored retained command is what a client should do.
		return pk, nil
	}
	g.refuse(cmd, "retained message: commands must not be retained; it was neither stored nor acted on (client "+cl.ID+")")
	return pk, packets.CodeSuccessIgnore
}

func (g *guard) refuse(what, reason string) {
	g.log.Warn("refused", "what", what, "reason", reason)
	g.mu.Lock()
	f := g.refused
	g.mu.Unlock()
	if f != nil {
		f(what, reason)
	}
}
