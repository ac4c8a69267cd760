package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParcelsCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	do := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"parcels", "--state-dir", dir}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	csv := filepath.Join(dir, "p.csv")
	os.WriteFile(csv, []byte("order_ref,tracking,label_g,label_resolution_g,items\nKB-1,LX123456785CN,1840,10,Jacket:505;Belt:210\n"), 0o644)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("tracking,label_g\nRR987654326CN,heavy\n"), 0o644)
	steps := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"import", csv}, 0, "imported 1 parcels", ""},
		{[]string{"import", bad}, 2, "", "bad.csv:2: label_g: \"heavy\" is not a plain decimal number"},
		{[]string{"add", "--tracking", "1z999aa10123456784", "--order", "KB-2", "--label-g", "990", "--items", "Shoes:900"}, 0, "added 1Z999AA10123456784", ""},
		{[]string{"add", "--tracking", "1Z999AA10123456784"}, 2, "", "already registered"},
		{[]string{"add", "--tracking", "1Z9", "--label-g", "x"}, 2, "", "is not a plain decimal number"},
		{[]string{"list"}, 0, "Jacket:505;Belt:210", ""},
		{[]string{"list", "--json"}, 0, `"tracking":"1Z999AA10123456784"`, ""},
		{[]string{"rm", "LX123456785CN"}, 0, "removed LX123456785CN", ""},
		{[]string{"rm", "LX123456785CN"}, 2, "", "not found"},
		{[]string{"frobnicate"}, 2, "", "want add, list, rm TRACKING or import FILE.csv"},
	}
	for _, s := range steps {
		code, out, errs := do(s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errs, s.err) {
			t.Errorf("parcels %v: code %d out %q err %q; want %d, %q, %q", s.args, code, out, errs, s.code, s.out, s.err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "registry.db")); err != nil {
		t.Error(err)
	}
}

// TestParcelsConfigStateDir: without --state-dir the registry goes under
// the config's state_dir; a bad config is a usage error.
func TestParcelsConfigStateDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weighd.yaml")
	state := filepath.Join(dir, "state")
	os.WriteFile(cfg, []byte("state_dir: "+state+"\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"parcels", "--config", cfg, "add", "--tracking", "RR987654326CN"}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(state, "registry.db")); err != nil {
		t.Error(err)
	}
	os.WriteFile(cfg, []byte("state_dir: relative\nbogus: 1\n"), 0o644)
	errb.Reset()
	if code := run(context.Background(), []string{"parcels", "--config", cfg, "list"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bogus") {
		t.Errorf("bad config: code %d, %q", code, errb.String())
	}
}

// TestParcelsThroughWeighd: while weighd runs, parcels add, import and rm
// go through it (it owns the registry), with the same command lines as
// when it is stopped (issue 12).
func TestParcelsThroughWeighd(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	conf := simWeighd(t, state)
	csvPath := filepath.Join(t.TempDir(), "parcels.csv")
	if err := os.WriteFile(csvPath, []byte("order_ref,tracking,label_g,label_resolution_g,items\nKB-9,LP00123456789CN,2350,,Belt:210\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"parcels", "add", "--config", conf, "--tracking", "RB123456785GB", "--label-g", "1793.3"}, "added RB123456785GB (through weighd)"},
		{[]string{"parcels", "import", "--config", conf, csvPath}, "imported 1 parcels from " + csvPath + " (through weighd)"},
		{[]string{"parcels", "rm", "--config", conf, "RB123456785GB"}, "removed RB123456785GB (through weighd)"},
	} {
		var out, errb strings.Builder
		if code := run(context.Background(), tc.args, &out, &errb); code != exitOK || !strings.Contains(out.String(), tc.want) {
			t.Errorf("weighctl %v: exit %d\n%s%s\nwant %q", tc.args, code, out.String(), errb.String(), tc.want)
		}
	}
	// weighd's refusal comes back as weighctl's.
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"parcels", "rm", "--config", conf, "RB123456785GB"}, &out, &errb); code == exitOK || !strings.Contains(errb.String(), "weighd refused") {
		t.Errorf("removing a parcel twice: exit %d %s%s", code, out.String(), errb.String())
	}
	var list strings.Builder
	if code := run(context.Background(), []string{"parcels", "list", "--config", conf}, &list, &errb); code != exitOK || !strings.Contains(list.String(), "LP00123456789CN") || strings.Contains(list.String(), "RB123456785GB") {
		t.Errorf("parcels list: exit %d\n%s", code, list.String())
	}
}
