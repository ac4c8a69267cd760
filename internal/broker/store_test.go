package broker

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/packets"

	"weighin/internal/broker/brokerdb"
	"weighin/internal/config"
	"weighin/internal/publish/mqtttest"
)

// retainedAt lists topic=payload of every retained message under the
// filters on the broker at h:p.
func retainedAt(t *testing.T, h, p string, filters ...string) []string {
	t.Helper()
	args := []string{"-h", h, "-p", p, "--retained-only", "-W", "1", "-F", "%t=%p"}
	for _, f := range filters {
		args = append(args, "-t", f)
	}
	out, err := exec.Command("mosquitto_sub", args...).Output()
	if ee := (*exec.ExitError)(nil); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 27) {
		t.Fatalf("mosquitto_sub: %v", err)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	return got
}

// TestRetainedSurvivesRestart (issue 14 item 5): the station's retained
// result and another client's retained discovery are back after a broker
// restart on the same store; an empty retained message clears the stored
// one for good; ClearRetained, with the broker stopped, deletes the
// station's stored messages and leaves others alone, and is refused
// while a broker has the store open.
func TestRetainedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default().MQTT
	cfg.EmbeddedListen = "127.0.0.1:0"
	run := func() (*Broker, string, string) {
		b, err := Start(cfg, Options{StationID: "emb1", Dir: dir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		h, p := b.tcp()
		return b, h, p
	}
	pub := func(b *Broker, h, p, topic, msg string) {
		t.Helper()
		st := b.Station(cfg)
		if err := mqtttest.Publish("-h", h, "-p", p, "-u", st.Username, "-P", string(st.Password), "-q", "1", "-r", "-t", topic, "-m", msg); err != nil {
			t.Fatal(err)
		}
	}
	all := []string{"weighin/emb1/#", "homeassistant/#", "other/#"}
	b, h, p := run()
	pub(b, h, p, "weighin/emb1/result", `{"seq":1}`)
	pub(b, h, p, "weighin/emb1/label", "jpeg")
	pub(b, h, p, "homeassistant/device/emb1/config", "{}")
	pub(b, h, p, "other/keep", "x")
	want := []string{"homeassistant/device/emb1/config={}", "other/keep=x", `weighin/emb1/label=jpeg`, `weighin/emb1/result={"seq":1}`}
	if got := retainedAt(t, h, p, all...); !reflect.DeepEqual(got, want) {
		t.Fatalf("retained before the restart: %v, want %v", got, want)
	}
	b.Close()

	b, h, p = run()
	if got := retainedAt(t, h, p, all...); !reflect.DeepEqual(got, want) {
		t.Errorf("retained after the restart: %v, want %v", got, want)
	}
	pub(b, h, p, "weighin/emb1/label", "")
	if _, err := brokerdb.ClearRetained(dir, []string{"#"}); !errors.Is(err, brokerdb.ErrStoreBusy) {
		t.Errorf("ClearRetained while the broker runs: %v, want brokerdb.ErrStoreBusy", err)
	}
	b.Close()

	b, h, p = run()
	want = []string{"homeassistant/device/emb1/config={}", "other/keep=x", `weighin/emb1/result={"seq":1}`}
	if got := retainedAt(t, h, p, all...); !reflect.DeepEqual(got, want) {
		t.Errorf("retained after clearing the label and a restart: %v, want %v", got, want)
	}
	b.Close()

	cleared, err := brokerdb.ClearRetained(dir, []string{"weighin/emb1/#", "homeassistant/+/emb1/#"})
	if err != nil {
		t.Fatal(err)
	}
	if w := []string{"homeassistant/device/emb1/config", "weighin/emb1/result"}; !reflect.DeepEqual(cleared, w) {
		t.Errorf("ClearRetained cleared %v, want %v", cleared, w)
	}
	b, h, p = run()
	defer b.Close()
	if got, w := retainedAt(t, h, p, all...), []string{"other/keep=x"}; !reflect.DeepEqual(got, w) {
		t.Errorf("retained after ClearRetained: %v, want %v", got, w)
	}
	if got, err := brokerdb.ClearRetained(t.TempDir(), []string{"#"}); err != nil || got != nil {
		t.Errorf("ClearRetained without a store: %v, %v", got, err)
	}
}

// TestRetainedStoreBounded: what would take the stored retained messages
// beyond MaxRetainedStoredBytes or MaxRetainedStored stays in memory only,
// and a topic's older stored version goes, so a restart never brings
// back a stale one.
func TestRetainedStoreBounded(t *testing.T) {
	h := new(boltStore)
	h.SetOpts(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err := h.Init(&bolt.Options{Path: filepath.Join(t.TempDir(), FileName)}); err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	cl := &mochi.Client{ID: "c"}
	retain := func(topic string, n int) {
		h.OnRetainMessage(cl, packets.Packet{TopicName: topic, Payload: bytes.Repeat([]byte("x"), n), FixedHeader: packets.FixedHeader{Retain: true}}, 1)
	}
	stored := func() map[string]int {
		v, err := h.StoredRetainedMessages()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, s := range v {
			m[s.TopicName] = len(s.Payload)
		}
		return m
	}
	third := MaxRetainedStoredBytes / 3
	retain("a", third)
	retain("b", third)
	retain("c", third) // beyond the bound with the topics' lengths
	if got, want := stored(), map[string]int{"a": third, "b": third}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	retain("b", 2*third+10) // b's new version does not fit: its old one goes
	if got, want := stored(), map[string]int{"a": third}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	retain("c", third-10)
	retain("a", 0) // cleared
	if got, want := stored(), map[string]int{"c": third - 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	for i := range MaxRetainedStored + 5 {
		retain("n/"+string(rune('A'+i/26))+string(rune('a'+i%26)), 1)
	}
	if got := len(stored()); got != MaxRetainedStored {
		t.Errorf("%d retained messages stored, want the bound %d", got, MaxRetainedStored)
	}
}
