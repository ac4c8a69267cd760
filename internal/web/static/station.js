// weighin's calibration page: the live reading, from GET /v1/status once
// a second. Plain JS, no build step.
"use strict";

(function () {
  const live = document.querySelectorAll("[data-live]");
  if (!live.length) return;
  const pick = {
    weight_g: (s) => s.weight_g.toFixed(1),
    weight_state: (s) => s.weight_state,
    counts_per_gram: (s) => s.scale.counts_per_gram.toFixed(3),
  };
  async function poll() {
    try {
      const r = await fetch("/v1/status", { credentials: "same-origin" });
      if (r.ok) {
        const s = await r.json();
        live.forEach((el) => { const f = pick[el.dataset.live]; if (f) el.textContent = f(s); });
        document.body.dataset.polled = String((Number(document.body.dataset.polled) || 0) + 1);
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 1000);
  }
  poll();
})();
