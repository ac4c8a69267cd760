package publish

import (
	"testing"
)

func BenchmarkParseCommand(b *testing.B) {
	payload := []byte("1840.5")
	for b.Loop() {
		if _, err := ParseCommand("label_weight", payload, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiscovery(b *testing.B) {
	t := NewTopics("pi-1", "homeassistant")
	for b.Loop() {
		_ = Discovery("pi-1", t, "1.0").JSON()
	}
}

// BenchmarkOutboxAppendRemove is one durable append (fdatasync) and its
// acknowledgement, on the test's temporary directory.
func BenchmarkOutboxAppendRemove(b *testing.B) {
	o, err := OpenOutbox(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	payload := make([]byte, 1200)
	for b.Loop() {
		seq, err := o.Append(payload)
		if err != nil {
			b.Fatal(err)
		}
		if err := o.Remove(seq); err != nil {
			b.Fatal(err)
		}
	}
}
