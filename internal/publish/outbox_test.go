package publish

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func openT(t *testing.T, dir string) *Outbox {
	t.Helper()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func payloads(t *testing.T, o *Outbox) []string {
	t.Helper()
	p, err := o.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p {
		out = append(out, string(e.Payload))
	}
	return out
}

func TestOutboxOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	for i := 1; i <= 12; i++ {
		if _, err := o.Append([]byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := o.Pending()
	if err := o.Remove(p[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := o.Remove(p[0].Seq); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	// No Close: a crash. The lock dies with the descriptor.
	o.f.Close()
	o2 := openT(t, dir)
	defer o2.Close()
	if _, err := o2.Append([]byte(`{"n":13}`)); err != nil {
		t.Fatal(err)
	}
	got := payloads(t, o2)
	if len(got) != 12 {
		t.Fatalf("%d pending, want 12: %v", len(got), got)
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"n":%d}`, i+2); g != want {
			t.Errorf("entry %d = %s, want %s", i, g, want)
		}
	}
	if n, err := Inspect(dir); err != nil || n != 12 {
		t.Errorf("Inspect = %d, %v; want 12", n, err)
	}
}

func TestOutboxLocked(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	defer o.Close()
	if _, err := OpenOutbox(dir); !errors.Is(err, ErrOutboxLocked) {
		t.Fatalf("second open: %v, want ErrOutboxLocked", err)
	}
}

// TestOutboxTornTail cuts or corrupts the last record, as a power cut in
// the middle of an Append (which then never returned) would.
func TestOutboxTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		hurt func(b []byte, lastAt int) []byte
	}{
		{"cut in the payload", func(b []byte, at int) []byte { return b[:at+headerLen+3] }},
		{"cut in the header", func(b []byte, at int) []byte { return b[:at+7] }},
		{"flipped payload bit", func(b []byte, at int) []byte { b[at+headerLen+1] ^= 0x40; return b }},
		{"zeroed crc", func(b []byte, at int) []byte { copy(b[at+17:at+21], []byte{0, 0, 0, 0}); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := openT(t, dir)
			o.Append([]byte(`{"n":1}`))
			o.Append([]byte(`{"n":2}`))
			lastAt := int(o.end)
			o.Append([]byte(`{"n":3}`))
			o.Close()
			path := filepath.Join(dir, journalName)
			b, _ := os.ReadFile(path)
			b = tc.hurt(b, lastAt)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			o = openT(t, dir)
			if got := payloads(t, o); len(got) != 2 || got[1] != `{"n":2}` {
				t.Fatalf("after a torn append: %v, want the first two", got)
			}
			// A shorter record over the torn one, then a reopen.
			o.Append([]byte(`{}`))
			o.Close()
			o = openT(t, dir)
			defer o.Close()
			if got := payloads(t, o); len(got) != 3 || got[2] != `{}` {
				t.Fatalf("after append over the torn tail: %v", got)
			}
		})
	}
}

func TestOutboxCompaction(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	big := bytes.Repeat([]byte("x"), 3000)
	var keep []uint64
	for i := 0; i < 1000; i++ {
		seq, err := o.Append(append([]byte(fmt.Sprintf("%04d", i)), big...))
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			keep = append(keep, seq) // never acknowledged
			continue
		}
		if err := o.Remove(seq); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 2*chunkBytes {
		t.Errorf("journal is %d bytes after 3 MB of acknowledged entries: not compacted", st.Size())
	}
	o.Close()
	o = openT(t, dir)
	defer o.Close()
	p, _ := o.Pending()
	if len(p) != len(keep) {
		t.Fatalf("%d pending after compaction, want %d", len(p), len(keep))
	}
	for i, e := range p {
		if e.Seq != keep[i] || string(e.Payload[:4]) != fmt.Sprintf("%04d", i*100) {
			t.Errorf("entry %d: seq %d %q", i, e.Seq, e.Payload[:4])
		}
	}
	if seq, _ := o.Append([]byte("next")); seq != 1001 {
		t.Errorf("sequence after compaction and reopen = %d, want 1001", seq)
	}
}

func TestOutboxAppendFailsWhenClosed(t *testing.T) {
	o := openT(t, t.TempDir())
	o.Close()
	if _, err := o.Append([]byte("{}")); !errors.Is(err, ErrOutbox) {
		t.Fatalf("append after close: %v", err)
	}
}

// FuzzOutboxLoad: any journal content opens without panic, and an append
// after it survives a reopen.
func FuzzOutboxLoad(f *testing.F) {
	f.Add([]byte{})
	f.Add(appendRecord(nil, kindEntry, 1, []byte(`{"a":1}`)))
	f.Add(appendRecord(appendRecord(nil, kindEntry, 7, []byte("x")), kindAck, 7, nil))
	f.Add(append(appendRecord(nil, kindEntry, 1, []byte("x")), 0x57, 0x47, 0x48, 0x31, 1, 0xff))
	f.Fuzz(func(t *testing.T, journal []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, journalName), journal, 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := OpenOutbox(dir)
		if err != nil {
			t.Fatal(err)
		}
		before := len(payloads(t, o))
		seq, err := o.Append([]byte("fuzz-entry"))
		if err != nil {
			t.Fatal(err)
		}
		o.Close()
		o = openT(t, dir)
		defer o.Close()
		got := payloads(t, o)
		if len(got) != before+1 || got[len(got)-1] != "fuzz-entry" {
			t.Fatalf("after reopen %d entries (last %q), want %d ending in fuzz-entry", len(got), got[len(got)-1], before+1)
		}
		p, _ := o.Pending()
		if p[len(p)-1].Seq != seq {
			t.Fatalf("seq %d, want %d", p[len(p)-1].Seq, seq)
		}
		for i := 1; i < len(p); i++ {
			if p[i].Seq <= p[i-1].Seq {
				t.Fatalf("pending not in order: %d after %d", p[i].Seq, p[i-1].Seq)
			}
		}
	})
}
