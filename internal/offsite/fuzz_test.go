package offsite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzJournal: whatever a crash or a disk leaves in the journal, opening it
// either fails with ErrJournal or yields objects that survive an append and
// a reopen unchanged.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"session":"000001-x","file":"a","state":"pending","bytes":3}` + "\n"))
	f.Add([]byte(`{"session":"000001-x","file":"a","state":"copying","bytes":3,"sha256":"ab"}` + "\n" + `{"session":"000001-x","file":"b","state":"verif`))
	f.Add([]byte(`{"session":"s","file":"a","state":"conflict","err":"x","retry":null,"at":"2026-03-01T10:00:00.000Z"}` + "\nGARBAGE\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), Dir)
		os.MkdirAll(dir, 0o700)
		os.WriteFile(filepath.Join(dir, JournalFile), data, 0o600)
		j, err := openJournal(dir)
		if err != nil {
			if !errors.Is(err, ErrJournal) {
				t.Fatalf("open: %v does not wrap ErrJournal", err)
			}
			return
		}
		for k, o := range j.objs {
			if k.session == "" || k.file == "" || o.Session != k.session || o.File != k.file {
				t.Fatalf("object %+v under key %+v", o, k)
			}
		}
		add := Object{Session: "zz-new", File: "f", State: Pending, Bytes: 1}
		if err := j.put(add); err != nil {
			t.Fatal(err)
		}
		want := j.sorted()
		j.close()
		j2, err := openJournal(dir)
		if err != nil {
			t.Fatalf("reopen after an append: %v", err)
		}
		defer j2.close()
		if diff := cmp.Diff(want, j2.sorted(), cmp.Comparer(func(a, b Time) bool { return a.Equal(b.Time) })); diff != "" {
			t.Errorf("reopened journal differs (-before +after):\n%s", diff)
		}
	})
}
