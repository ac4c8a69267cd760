package station_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"weighin/internal/api"
	"weighin/internal/label"
	"weighin/internal/result"
	"weighin/internal/station"
)

// TestSimLabelBarcodeToRegistry runs the barcode path end to end on the
// simulator: a registered parcel, nothing typed; the label held up to the
// synthetic camera at the press gives the tracking number, which finds the
// parcel, whose label weight and items make the verdict.
func TestSimLabelBarcodeToRegistry(t *testing.T) {
	t.Parallel()
	mq, _ := startMosquitto(t)
	d := newDaemon(t, mq.URL())
	d.start()

	// Not a valid S10 number (its check digit would be 5): only the
	// registry can make it the tracking number.
	const tracking = "LB123456789CN"
	if label.MatchCarrier(tracking) != "" {
		t.Fatalf("%s matches a carrier pattern; the test wants a registry-only number", tracking)
	}
	d.do("parcel", `{"tracking":"`+tracking+`","order_ref":"KB-7","label_g":2350,"label_resolution_g":10,`+
		`"items":[{"name":"Leather jacket","weight_g":505},{"name":"Sneakers","weight_g":1120},{"name":"Belt","weight_g":210}]}`)
	waitParcel(t, d.state, tracking)

	// A value the label cannot carry is refused with the reason.
	err := d.client.Command(context.Background(), station.CmdSimLabel, "LB\x01", nil)
	if err == nil || !strings.Contains(err.Error(), "not printable") {
		t.Errorf("sim_label with a control byte: %v, want a refusal naming it", err)
	}

	d.do(api.CmdSimPlace, "1840")
	d.waitFor("a stable weight", 15*time.Second, func(s api.Status) bool {
		return s.WeightState == "stable" && math.Abs(s.WeightG-1840) < 3
	})
	if st := d.status(); st.Entries.Tracking != "" || st.Entries.LabelG != nil {
		t.Fatalf("entries before the session: %+v, want none", st.Entries)
	}
	d.do(station.CmdSimLabel, tracking)
	d.do(api.CmdSimPress, "short")
	d.waitFor("recording", 15*time.Second, func(s api.Status) bool { return s.Recording })
	// The label still is chosen at the end of the 1 s label window; the
	// tracking number it carries fills the entries while recording.
	st := d.waitFor("the tracking number from the label", 20*time.Second, func(s api.Status) bool {
		return s.Entries.Tracking != ""
	})
	if st.Entries.Tracking != tracking {
		t.Errorf("entries' tracking %q, want %q from the barcode", st.Entries.Tracking, tracking)
	}
	d.do(api.CmdSimPress, "long")
	st = d.waitFor("the sealed result", 30*time.Second, func(s api.Status) bool {
		return s.LastResult != nil && s.SessionState != "sealing" && !s.Recording
	})
	res := *st.LastResult
	if res.Tracking != tracking || res.OrderRef != "KB-7" {
		t.Errorf("result tracking %q order %q, want %q KB-7", res.Tracking, res.OrderRef, tracking)
	}
	if res.LabelG == nil || *res.LabelG != 2350 {
		t.Errorf("result label_g %v, want 2350 from the registry", res.LabelG)
	}
	if res.Verdict != result.VerdictUnderweight || res.Tier != 3 {
		t.Errorf("verdict %s tier %d, want underweight tier 3", res.Verdict, res.Tier)
	}
	if res.DeltaG == nil || math.Abs(*res.DeltaG+510) > 3 {
		t.Errorf("delta %v, want about -510 g", res.DeltaG)
	}
	if len(res.MissingCandidates) == 0 || strings.Join(res.MissingCandidates[0].Items, ",") != "Leather jacket" {
		t.Errorf("missing candidates %+v, want Leather jacket first", res.MissingCandidates)
	}
	// The bundle's label still is the label, and it reads back.
	data, err := os.ReadFile(filepath.Join(d.state, res.Bundle, "label.jpg"))
	if err != nil {
		t.Fatalf("label.jpg in the bundle: %v", err)
	}
	g, err := label.DecodeLuma(data)
	if err != nil {
		t.Fatalf("label.jpg: %v", err)
	}
	if codes := label.Decode(g); len(codes) != 1 || codes[0].Text != tracking {
		t.Errorf("label.jpg decodes to %+v, want %s", codes, tracking)
	}
	d.do(api.CmdSimRemove, "")
	d.stop()
}
