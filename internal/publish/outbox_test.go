package publish

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestOutboxOrderAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 12; i++ {
		if _, err := o.Append([]byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := o.Pending()
	if err := o.Remove(p[0].Seq); err != nil {
		t.Fatal(err)
	}
	// A temp file from an interrupted write is dropped at open.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	o2, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o2.Append([]byte(`{"n":13}`)); err != nil {
		t.Fatal(err)
	}
	p, err = o2.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 12 {
		t.Fatalf("%d pending, want 12", len(p))
	}
	for i, e := range p {
		if want := fmt.Sprintf(`{"n":%d}`, i+2); string(e.Payload) != want {
			t.Errorf("entry %d = %s, want %s", i, e.Payload, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-123")); !os.IsNotExist(err) {
		t.Errorf("leftover temp file still there: %v", err)
	}
}

func TestOutboxAppendFailsOnReadOnlyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Append([]byte("{}")); err == nil {
		t.Fatal("append into a removed directory succeeded")
	}
}
