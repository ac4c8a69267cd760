package station_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/evidence"
	"weighin/internal/result"
	"weighin/internal/station"
)

// TestSimUnpacking: the "Must show" on weighd --sim (the simulated
// HX711 read by the real driver, the synthetic camera): the label held up
// just before the press, 1840 g weighed in, sim place 720 (the sneakers
// out), a mark, sim place 510 (the belt out), 4 s apart; the sealed
// manifest lists the two steps matched to Sneakers and Belt, the leather
// jacket never seen, the packaging, and both claims say so; the weigh-in
// is not disturbed. Then a hand on the parcel during the weigh-in (sim
// hand 150): disturbed, no claim from that weight.
func TestSimUnpacking(t *testing.T) {
	t.Parallel()
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL())
	d.start()
	defer d.stop()
	d.do("parcel", `{"tracking":"LX123456785CN","order_ref":"12345","label_g":2350,"label_resolution_g":10,`+
		`"items":[{"name":"Leather jacket","weight_g":505},{"name":"Sneakers","weight_g":1120},{"name":"Belt","weight_g":210}]}`)
	waitParcel(t, d.state, "LX123456785CN")

	sealedAfter := func(before *result.Result) result.Result {
		t.Helper()
		st := d.waitFor("the sealed result", 40*time.Second, func(s api.Status) bool {
			return s.LastResult != nil && (before == nil || s.LastResult.SessionID != before.SessionID) && s.SessionState != "sealing"
		})
		data, err := os.ReadFile(filepath.Join(d.state, st.LastResult.Bundle, evidence.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := evidence.ParseManifest(data)
		if err != nil {
			t.Fatal(err)
		}
		return m.Result
	}
	// weighIn places grams and waits for a stable reading of reads grams.
	weighIn := func(grams, reads float64) {
		t.Helper()
		d.do(api.CmdSimPlace, fmt.Sprint(grams))
		d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool {
			return s.WeightState == "stable" && s.Status == "stable" && math.Abs(s.WeightG-reads) < 5
		})
	}

	weighIn(1840, 1840)
	d.do(station.CmdSimLabel, "LX123456785CN")
	time.Sleep(time.Second) // the label is up; the press comes while it shows
	d.do(api.CmdSimPress, "short")
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	d.recordFor(4 * time.Second)
	d.do(api.CmdSimPlace, "720")
	d.recordFor(6 * time.Second)
	d.do(api.CmdSimPress, "short") // a mark
	d.recordFor(8 * time.Second)
	d.do(api.CmdSimPlace, "510")
	d.recordFor(13 * time.Second)
	d.do(api.CmdSimPress, "long")
	m := sealedAfter(nil)
	var names [][]string
	for _, s := range m.Steps {
		names = append(names, s.Items)
	}
	if !slices.EqualFunc(names, [][]string{{"Sneakers"}, {"Belt"}}, slices.Equal) || m.Matching == nil {
		t.Fatalf("steps %+v\nmatching %+v\nlog:\n%s", m.Steps, m.Matching, d.logText())
	}
	if mt := m.Matching; !mt.Conclusive || mt.Basis != result.BasisSteps || !slices.Equal(mt.NeverSeen, []string{"Leather jacket"}) ||
		math.Abs(mt.PackagingG-510) > 5 || m.Tier != 3 || m.WeighinDisturbed || m.Tracking != "LX123456785CN" {
		t.Errorf("matching %+v, tier %d, disturbed %v, tracking %q", mt, m.Tier, m.WeighinDisturbed, m.Tracking)
	}
	if gap := m.Steps[1].TS - m.Steps[0].TS; gap < 3 || gap > 6 || m.Steps[0].Frame < 0 || m.WeightID == "" || m.WeighinStatus != "stable" {
		t.Errorf("steps at %.1f s and %.1f s (frame %d), weight_id %q, status %q", m.Steps[0].TS, m.Steps[1].TS, m.Steps[0].Frame, m.WeightID, m.WeighinStatus)
	}
	for _, want := range []string{`"Sneakers" (11`, `"Belt" (2`, `g) came out at 0:`, `("Leather jacket") was ever taken out`,
		"取出“Sneakers”", "取出“Belt”", "“Leather jacket”"} {
		if !strings.Contains(m.Dispute, want) {
			t.Errorf("the claim does not say %q:\n%s", want, m.Dispute)
		}
	}
	d.do(api.CmdSimRemove, "")
	d.waitFor("an empty platform", 15*time.Second, func(s api.Status) bool { return s.WeightState == "empty" })

	// A hand on the parcel while it is weighed.
	d.do(api.CmdSimHand, "150")
	weighIn(1840, 1840+150)         // the hand's force on top of the parcel
	d.do(api.CmdSimPress, "double") // a double press starts (forced; the platform was empty before, so not flagged)
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	d.do(api.CmdSimHand, "0")
	d.recordFor(4 * time.Second)
	before := d.status().LastResult
	d.do(api.CmdSimPress, "long")
	h := sealedAfter(before)
	if !h.WeighinDisturbed || h.Tier != 0 || len(h.MissingCandidates) != 0 || !strings.Contains(h.Dispute, "not used as its weight") {
		t.Errorf("a hand during the weigh-in: disturbed %v, tier %d, candidates %+v\n%s", h.WeighinDisturbed, h.Tier, h.MissingCandidates, h.Dispute)
	}
}
