// Package publish speaks the station's MQTT topic tree (base
// weighin/<station_id>) over github.com/eclipse/paho.mqtt.golang:
//
//   - availability: retained last will "offline", retained "online" on every
//     connect (stable client id, auto-reconnect, connect-retry);
//   - Home Assistant device discovery on <prefix>/device/<station_id>/config,
//     retained, republished when <prefix>/status turns "online";
//   - live state on <base>/state, retained, rate-limited by a pure Limiter
//     (state_interval, weight_deadband_g);
//   - results from a durable outbox (a CRC-checked, preallocated journal
//     under <state>/outbox, one fdatasync per result),
//     QoS 1 on <base>/results and retained on <base>/result, removed only
//     after the broker acknowledged them, replayed in order after a
//     reconnect or a restart;
//   - the label still (raw JPEG) retained on <base>/label;
//   - for Home Assistant automations (event.go, discovery_automation.go):
//     the event entity's events on <base>/event, the button's presses on
//     <base>/button for the device triggers and, with mqtt.tag_scanner,
//     barcode tracking numbers on <base>/tag, none retained;
//   - decommissioning: Clear and ClearStation empty Topics.Retained, then
//     sweep whatever else is retained under Topics.RetainedFilters;
//   - commands on <base>/cmd/<name>, parsed strictly by the pure
//     ParseCommand, carried out by the daemon's Handler, refusals answered
//     on <base>/error as {command, reason, at}.
//
// Every token is waited for with a timeout. The subscription uses a clean
// session: MQTT 3.1.1 has no message expiry, so nothing queued while the
// station was away is acted on; retained commands are refused.
package publish
