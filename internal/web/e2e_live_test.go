package web_test

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"weighin/internal/api"
)

// checkLivePage drives the live page of a logged-in browser: the camera's
// image changes, the weight shown follows weighctl sim place, an entry
// typed on the page reaches MQTT, Start and Stop on the page record a
// session that the sessions page lists, and a refused start shows why.
func checkLivePage(t *testing.T, ctx context.Context, st *station, base string) {
	t0 := time.Now()
	defer func() { t.Logf("live page checks: %s", time.Since(t0).Round(100*time.Millisecond)) }()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, awaitPromise))
		must(err)
		return v
	}
	// waitJS polls js (a string expression) until ok accepts it.
	waitJS := func(what, js string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			v := eval(js)
			if ok(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("live page: timed out waiting for %s; last %q; log:\n%s", what, v, st.log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#nav-live")), chromedp.WaitVisible(chromedp.CSS("#live-img"))))

	// The camera: the <img>'s pixels, drawn into a canvas, change.
	const pixels = `(() => { const i = document.getElementById("live-img");
		if (!i.complete || !i.naturalWidth) return "";
		const c = document.createElement("canvas"); c.width = 64; c.height = 48;
		const g = c.getContext("2d"); g.drawImage(i, 0, 0, 64, 48);
		const d = g.getImageData(0, 0, 64, 48).data; let h = 0;
		for (let k = 0; k < d.length; k += 3) h = (h * 31 + d[k]) >>> 0;
		return i.naturalWidth + "x" + i.naturalHeight + ":" + h; })()`
	firstImg := waitJS("the camera image", pixels, func(v string) bool { return v != "" })
	if !strings.HasPrefix(firstImg, "320x240:") {
		t.Errorf("live image %q, want the camera's 320x240", firstImg)
	}
	waitJS("the camera image to change", pixels, func(v string) bool { return v != "" && v != firstImg })

	// The weight shown follows weighctl sim place.
	weight := `document.getElementById("live-now").dataset.weight || ""`
	near := func(g float64) func(string) bool {
		return func(v string) bool { f, err := strconv.ParseFloat(v, 64); return err == nil && math.Abs(f-g) < 3 }
	}
	st.weighctl("", "sim", "place", "650", "--config", st.conf)
	waitJS("650 g shown", weight, near(650))
	if txt := eval(`document.getElementById("live-weight").textContent`); !strings.HasSuffix(txt, " g") {
		t.Errorf("weight text %q", txt)
	}

	// Entries typed on the page, through the station's command parser: a
	// bad one shows the parser's reason, good ones reach MQTT.
	// (Enter in the field: the form's submit event, as a phone's Go key.)
	must(chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#e-label_weight"), "six hundred"+kb.Enter)))
	waitJS("the label weight refused", `document.querySelector("form[data-cmd=label_weight] .msg").textContent`,
		func(v string) bool { return strings.Contains(v, "not a plain decimal number") })
	eval(`document.getElementById("e-label_weight").value = ""`)
	must(chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#e-label_weight"), "640"+kb.Enter),
		chromedp.SendKeys(chromedp.CSS("#e-order_ref"), "LIVE-ORDER-19"+kb.Enter),
		chromedp.SendKeys(chromedp.CSS("#e-damage"), "corner crushed"+kb.Enter)))
	waitJS("the order shown as entered", `document.getElementById("cur-order_ref").textContent`,
		func(v string) bool { return strings.Contains(v, "LIVE-ORDER-19") })
	waitJS("the damage shown as entered", `document.getElementById("cur-damage").textContent`,
		func(v string) bool { return strings.Contains(v, "corner crushed") })
	// The entries document on MQTT (issue 14's <base>/entries) holds them.
	var entries struct {
		OrderRef string   `json:"order_ref"`
		LabelG   *float64 `json:"label_g"`
		Damage   string   `json:"damage"`
	}
	must(json.Unmarshal(st.retained("weighin/webe2e/entries", 30*time.Second, func(b []byte) bool {
		return strings.Contains(string(b), `"order_ref":"LIVE-ORDER-19"`) && strings.Contains(string(b), `"label_g":640`) &&
			strings.Contains(string(b), `"damage":"corner crushed"`)
	}), &entries))

	// The simulated microphone's level (issue 25) is shown while it sounds.
	waitJS("the sound level", `document.getElementById("live-audio").hidden ? "" : document.getElementById("live-audio-db").textContent`,
		func(v string) bool { return strings.HasSuffix(v, " dBFS") })

	// Start from the page: recording; shown; then Stop: the session is
	// sealed and on the sessions page.
	waitJS("stable", `document.getElementById("live-now").dataset.wstate`, func(v string) bool { return v == "stable" })
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#b-start"))))
	st.waitFor("recording from the page", 30*time.Second, func(s api.Status) bool { return s.Recording })
	waitJS("recording shown", `document.getElementById("live-session").textContent`, func(v string) bool { return strings.Contains(v, "recording") })
	shoot(t, ctx, "live-recording")
	time.Sleep(time.Second)
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#b-stop"))))
	rec := st.waitFor("sealed after the page's stop", 60*time.Second, func(s api.Status) bool {
		return !s.Recording && s.SessionState != "sealing" && s.LastResult != nil && s.LastResult.OrderRef == "LIVE-ORDER-19"
	})
	id := rec.LastResult.SessionID
	waitJS("the last session shown", `document.getElementById("live-last").textContent`, func(v string) bool { return strings.Contains(v, id) })

	// A refused start (the scale is empty) shows the station's reason.
	st.do(api.CmdSimRemove, "")
	waitJS("empty", `document.getElementById("live-now").dataset.wstate`, func(v string) bool { return v == "empty" })
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#b-start"))))
	waitJS("the refusal", `document.getElementById("cmd-msg").textContent`, func(v string) bool { return strings.Contains(v, "the scale is empty") })
	// Clear entries: every entry of the next parcel emptied.
	must(chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#b-clear"))))
	waitJS("entries cleared", `document.getElementById("cmd-msg").textContent`, func(v string) bool { return strings.Contains(v, "clear_entries: done") })

	must(chromedp.Do(ctx, chromedp.Navigate(base+"/sessions"), chromedp.WaitVisible(chromedp.CSS("#sessions"))))
	if list := eval(`document.getElementById("sessions").textContent`); !strings.Contains(list, id) {
		t.Errorf("the session recorded from the live page (%s) is not on the sessions page:\n%s", id, list)
	}
}
