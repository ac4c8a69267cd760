package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExpectedParcels(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	for _, tr := range []string{"LX123456785CN", "RB123456785GB", "1Z999AA10123456784"} {
		if err := db.AddParcel(ctx, Parcel{Tracking: tr, Items: []Item{{Name: "Belt", WeightG: 210}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		id  string
		seq int64
		tr  string
	}{{"000001-a", 1, "RB123456785GB"}, {"000002-b", 2, "NOTEXPECTED1"}, {"000003-c", 3, "RB123456785GB"}, {"000004-d", 4, "LX123456785CN"}} {
		if err := db.IndexSession(ctx, sess(r.id, r.seq, "2026-12-01T10:0"+string(rune('0'+r.seq))+":00Z", r.tr, "", "match", 0)); err != nil {
			t.Fatal(err)
		}
	}
	es, err := db.ExpectedParcels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, strings.Join([]string{e.Tracking, string(rune('0' + e.Sessions)), e.LastSession, e.LastAt, e.Items[0].Name}, " "))
	}
	want := []string{"1Z999AA10123456784 0   Belt", "LX123456785CN 1 000004-d 2026-12-01T10:04:00Z Belt", "RB123456785GB 2 000003-c 2026-12-01T10:03:00Z Belt"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("expected parcels:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParcelFromFields(t *testing.T) {
	p, err := ParcelFromFields(" lx 1234-56785cn ", "KB-1", "1840", "10", "Jacket:505;Belt:210")
	if err != nil || p.Tracking != "lx 1234-56785cn" || *p.LabelG != 1840 || p.LabelResolutionG != 10 || len(p.Items) != 2 || p.Items[1].WeightG != 210 {
		t.Errorf("%+v %v", p, err)
	}
	if p, err := ParcelFromFields("LX123456785CN", "", "", "", ""); err != nil || p.LabelG != nil || p.Items != nil {
		t.Errorf("empty fields: %+v %v", p, err)
	}
	for _, bad := range [][5]string{{"LX1", "", "x", "", ""}, {"LX1", "", "", "-", ""}, {"LX1", "", "", "", "Jacket"}} {
		if _, err := ParcelFromFields(bad[0], bad[1], bad[2], bad[3], bad[4]); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
