package offsite

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 0}, {1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {6, 16 * time.Minute},
		{7, 30 * time.Minute}, {8, 30 * time.Minute}, {1000, 30 * time.Minute},
	}
	for _, tt := range tests {
		if got := Backoff(tt.n, DefaultBackoffBase, DefaultBackoffMax); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestStateMachine(t *testing.T) {
	tests := []struct {
		from, to State
		ok       bool
	}{
		{LocalOnly, Pending, true},
		{Pending, Copying, true},
		{Copying, Verifying, true},
		{Verifying, Verified, true},
		{Copying, Failed, true},
		{Failed, Pending, true},
		{Copying, Conflict, true},
		{Verifying, Pending, true}, // resumed after a crash
		{LocalOnly, Verified, false},
		{Pending, Verified, false}, // never verified without a read-back
		{Copying, Verified, false},
		{Verified, Pending, false},
		{Verified, Copying, false}, // a verified object is never written again
		{Conflict, Pending, false}, // nor a conflicting one
		{Conflict, Copying, false},
		{Failed, Copying, false},
	}
	for _, tt := range tests {
		if got := CanMove(tt.from, tt.to); got != tt.ok {
			t.Errorf("CanMove(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	for s := LocalOnly; s <= Conflict; s++ {
		var back State
		txt, _ := s.MarshalText()
		if err := back.UnmarshalText(txt); err != nil || back != s {
			t.Errorf("state %v does not survive text: %q → %v, %v", s, txt, back, err)
		}
	}
}

func TestAggregate(t *testing.T) {
	tests := []struct {
		states []State
		want   State
	}{
		{[]State{Verified, Verified}, Verified},
		{[]State{Verified, Pending}, Pending},
		{[]State{Verified, Copying, Pending}, Copying},
		{[]State{Failed, Copying}, Failed},
		{[]State{Failed, Conflict, Verified}, Conflict},
	}
	for _, tt := range tests {
		if got := aggregate(tt.states); got != tt.want {
			t.Errorf("aggregate(%v) = %v, want %v", tt.states, got, tt.want)
		}
	}
}

// TestPickNewestFirst: after an outage the newest bundle goes first, its
// data files before its seal files; a Failed object waits for its retry.
func TestPickNewestFirst(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &Replicator{j: &journal{objs: map[objKey]*Object{}}}
	add := func(o Object) { r.j.objs[objKey{o.Session, o.File}] = &o }
	add(Object{Session: "000009-20260301T100000Z", File: "video.mkv", State: Pending})
	add(Object{Session: "000010-20260301T110000Z", File: "manifest.json", State: Pending})
	add(Object{Session: "000010-20260301T110000Z", File: "weight.csv", State: Pending})
	add(Object{Session: "000010-20260301T110000Z", File: "video.mkv", State: Failed, Retry: Time{now.Add(time.Minute)}})
	add(Object{Session: "000011-20260301T113000Z", File: "video.mkv", State: Verified})
	add(Object{Session: "000011-20260301T113000Z", File: "x.csv", State: Conflict})
	var order []string
	for {
		o, ok, next := r.pick(now)
		if !ok {
			if !next.Equal(now.Add(time.Minute)) {
				t.Errorf("next retry %v, want %v", next, now.Add(time.Minute))
			}
			break
		}
		order = append(order, o.Session[:6]+"/"+o.File)
		r.j.objs[objKey{o.Session, o.File}].State = Verified
	}
	want := "000010/weight.csv 000010/manifest.json 000009/video.mkv"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestJournalReplayAndTornLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), Dir)
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := Time{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	for _, o := range []Object{
		{Session: "000001-x", File: "a", State: Pending, Bytes: 3, At: at},
		{Session: "000001-x", File: "a", State: Copying, Bytes: 3, SHA256: strings.Repeat("ab", 32), At: at},
		{Session: "000001-x", File: "b", State: Pending, Bytes: 4, At: at},
	} {
		if err := j.put(o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := openJournal(dir); !errors.Is(err, ErrBusy) {
		t.Errorf("second open while held: %v, want ErrBusy", err)
	}
	j.close()
	// A crash in the middle of a line.
	path := filepath.Join(dir, JournalFile)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"session":"000001-x","file":"b","state":"verif`)
	f.Close()
	j, err = openJournal(dir)
	if err != nil {
		t.Fatalf("reopen after a torn line: %v", err)
	}
	a, _ := j.get("000001-x", "a")
	b, _ := j.get("000001-x", "b")
	if a.State != Copying || a.SHA256 == "" || b.State != Pending || len(j.objs) != 2 {
		t.Errorf("replayed a=%+v b=%+v (%d objects)", a, b, len(j.objs))
	}
	if err := j.put(Object{Session: "000001-x", File: "b", State: Copying, Bytes: 4, At: at}); err != nil {
		t.Fatal(err)
	}
	j.close()
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "verif\n") || strings.Count(string(data), "\n") != 4 {
		t.Errorf("torn line not cut before appending:\n%s", data)
	}
	objs, err := ReadJournal(filepath.Dir(dir))
	if err != nil || len(objs) != 2 || objs[1].State != Copying {
		t.Errorf("ReadJournal = %+v, %v", objs, err)
	}
}

func TestJournalCorruptLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), Dir)
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, JournalFile), []byte(`{"session":"s","file":"a","state":"pending","bytes":1}`+"\nGARBAGE\n"+`{"session":"s","file":"b","state":"pending","bytes":1}`+"\n"), 0o600)
	_, err := openJournal(dir)
	if !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), JournalFile+":2:") {
		t.Errorf("corrupt line 2: %v, want ErrJournal naming line 2", err)
	}
}

func TestJournalCompacts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), Dir)
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		j.put(Object{Session: "000001-x", File: fmt.Sprintf("f%d", i%3), State: Pending, Bytes: int64(i)})
	}
	j.close()
	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	data, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	if n := strings.Count(string(data), "\n"); n != 3 || len(j.objs) != 3 {
		t.Errorf("after compaction %d lines, %d objects; want 3 and 3", n, len(j.objs))
	}
	if o, _ := j.get("000001-x", "f0"); o.Bytes != 399 {
		t.Errorf("compaction kept %+v, want the last record (bytes 399)", o)
	}
	if err := j.put(Object{Session: "000001-x", File: "f9", State: Pending}); err != nil {
		t.Errorf("append after compaction: %v", err)
	}
}

// TestJournalCompactsInUse: a long-running replicator's journal is
// rewritten as it goes, and appends after that land after the snapshot.
func TestJournalCompactsInUse(t *testing.T) {
	old := compactSlack
	compactSlack = 64
	defer func() { compactSlack = old }()
	dir := filepath.Join(t.TempDir(), Dir)
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := j.put(Object{Session: "000001-x", File: fmt.Sprintf("f%d", i%2), State: Pending, Bytes: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	j.close()
	data, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	if n := strings.Count(string(data), "\n"); n >= 100 {
		t.Errorf("journal has %d lines after 300 changes of 2 objects: not compacted", n)
	}
	objs, err := ReadJournal(filepath.Dir(dir))
	if err != nil || len(objs) != 2 || objs[0].Bytes != 298 || objs[1].Bytes != 299 {
		t.Errorf("after compaction in use: %+v, %v", objs, err)
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), mode)
		os.Chmod(p, mode)
		return p
	}
	good := write("good", "AKIAEXAMPLE\nwJalrXUtnFEMI/K7MDENG\n", 0o600)
	c, err := LoadCredentials(good)
	if err != nil || c.AccessKey != "AKIAEXAMPLE" || c.Secret != "wJalrXUtnFEMI/K7MDENG" {
		t.Fatalf("LoadCredentials = %v, %v", c, err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), c.LogValue().String()} {
		if strings.Contains(s, "wJalr") || strings.Contains(s, "AKIAEXAMPLE") {
			t.Errorf("credentials print as %q: the secret or the whole key leaks", s)
		}
	}
	crlf := write("crlf", "AK\r\nSK\r\n", 0o400)
	if c, err := LoadCredentials(crlf); err != nil || c.Secret != "SK" {
		t.Errorf("CRLF, mode 0400: %v, %v", c, err)
	}
	tests := []struct{ name, content, want string }{
		{"one line", "AKONLY\n", "line 2"},
		{"three lines", "AK\nSK\nextra\n", "3 lines"},
		{"blank in key", "AK X\nSK\n", "blanks"},
	}
	for _, tt := range tests {
		_, err := LoadCredentials(write(tt.name, tt.content, 0o600))
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrCredentials saying %q", tt.name, err, tt.want)
		}
	}
	open := write("open", "AKIAEXAMPLE\nwJalrXUtnFEMI/K7MDENG\n", 0o644)
	_, err = LoadCredentials(open)
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "0644") || strings.Contains(err.Error(), "wJalr") {
		t.Errorf("mode 0644: %v, want a refusal naming the mode, without the secret", err)
	}
	if _, err := LoadCredentials(filepath.Join(dir, "missing")); !errors.Is(err, ErrCredentials) {
		t.Errorf("missing file: %v", err)
	}
}

// TestJournalCardFull: on a full file system the journal refuses the change
// (ErrJournal), keeps no half line, and opens again with every change it
// accepted.
func TestJournalCardFull(t *testing.T) {
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "weighin-journal-test", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a 16 KiB tmpfs (the tests run as root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	dir := filepath.Join(disk, Dir)
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	var werr error
	for i := range 1000 {
		werr = j.put(Object{Session: "000001-x", File: fmt.Sprintf("f%03d", i), State: Failed, Err: strings.Repeat("e", 300)})
		if werr != nil {
			break
		}
		accepted++
	}
	if !errors.Is(werr, ErrJournal) || accepted == 0 {
		t.Fatalf("after %d changes: %v, want ErrJournal once the disk is full", accepted, werr)
	}
	if len(j.objs) != accepted {
		t.Errorf("%d objects in memory, %d accepted", len(j.objs), accepted)
	}
	// Room again: the next change goes after the last whole line, not
	// after a half one (which would read as a corrupt line in the middle).
	if out, err := exec.Command("mount", "-o", "remount,size=1m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	if err := j.put(Object{Session: "000001-x", File: "after", State: Pending}); err != nil {
		t.Fatal(err)
	}
	accepted++
	j.close()
	j, err = openJournal(dir)
	if err != nil {
		t.Fatalf("reopen after the card was full: %v", err)
	}
	defer j.close()
	if len(j.objs) != accepted {
		t.Errorf("reopened with %d objects, %d were accepted", len(j.objs), accepted)
	}
}
