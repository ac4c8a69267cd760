package publish

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"weighin/internal/config"
)

// DialTLSForTest performs the TLS handshake Publisher would, but to
// 127.0.0.1:port with serverName, so a test can check a certificate by a
// name that does not resolve.
func DialTLSForTest(cfg config.MQTT, port int, serverName string) error {
	tc, err := tlsConfig(cfg)
	if err != nil {
		return err
	}
	tc.ServerName = serverName
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), tc)
	if err != nil {
		return err
	}
	return c.Close()
}

// DiscoveryFilter exposes discoveryFilter to the tests.
var DiscoveryFilter = discoveryFilter
