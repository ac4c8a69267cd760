// weighin's session page: the weight plot under the player (a cursor that
// follows playback, a click that seeks), the copy buttons, the share button
// and the outcome form. Plain JS, no build step.
"use strict";

(function () {
  const body = document.body;
  const base = body.dataset.base;
  const csrf = body.dataset.csrf || "";
  const video = document.getElementById("video");
  const canvas = document.getElementById("plot");
  let series = { t: [], g: [] };
  let span = 1;

  function duration() {
    if (video && isFinite(video.duration) && video.duration > 0) return video.duration;
    return span;
  }

  function draw() {
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const c = canvas.getContext("2d");
    c.scale(dpr, dpr);
    c.fillStyle = "#fff";
    c.fillRect(0, 0, w, h);
    const d = duration();
    let gmax = 1;
    for (const g of series.g) gmax = Math.max(gmax, g);
    gmax *= 1.1;
    const x = (t) => (t / d) * w;
    const y = (g) => h - 18 - (Math.max(g, 0) / gmax) * (h - 28);
    c.strokeStyle = "#ddd";
    c.beginPath();
    c.moveTo(0, y(0)); c.lineTo(w, y(0));
    c.stroke();
    c.strokeStyle = "#1565c0";
    c.lineWidth = 2;
    c.beginPath();
    series.t.forEach((t, i) => { const px = x(t), py = y(series.g[i]); i ? c.lineTo(px, py) : c.moveTo(px, py); });
    c.stroke();
    c.fillStyle = "#555";
    c.font = "12px sans-serif";
    c.fillText(Math.round(gmax / 1.1) + " g", 4, 12);
    c.fillText(d.toFixed(0) + " s", w - 36, h - 4);
    document.querySelectorAll(".seek").forEach((b) => {
      const t = parseFloat(b.dataset.t);
      c.fillStyle = "#e65100";
      c.fillRect(x(t) - 1, 0, 2, h - 18);
    });
    if (video) {
      c.fillStyle = "#c62828";
      c.fillRect(x(video.currentTime) - 1, 0, 3, h);
    }
    canvas.dataset.cursor = video ? video.currentTime.toFixed(3) : "";
  }

  if (canvas) {
    fetch(base + "weight.json", { credentials: "same-origin" })
      .then((r) => r.json())
      .then((s) => {
        series = s;
        if (s.t.length) span = Math.max(1, s.t[s.t.length - 1]);
        canvas.dataset.points = String(s.t.length);
        draw();
      });
    window.addEventListener("resize", draw);
    canvas.addEventListener("click", (ev) => {
      if (!video) return;
      const r = canvas.getBoundingClientRect();
      const t = ((ev.clientX - r.left) / r.width) * duration();
      video.currentTime = Math.max(0, Math.min(t, duration()));
      draw();
    });
  }
  if (video) {
    ["timeupdate", "seeked", "loadedmetadata"].forEach((e) => video.addEventListener(e, draw));
  }
  document.querySelectorAll(".seek").forEach((b) =>
    b.addEventListener("click", () => {
      if (video) { video.currentTime = parseFloat(b.dataset.t); video.play(); }
    }));

  async function copy(text, btn) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // Without the async clipboard (an http:// page on a phone): select and copy.
      const ta = document.createElement("textarea");
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    const was = btn.textContent;
    btn.textContent = "Copied ✓";
    setTimeout(() => { btn.textContent = was; }, 1500);
  }
  document.querySelectorAll("button.copy").forEach((b) =>
    b.addEventListener("click", () => {
      const el = document.getElementById(b.dataset.copy);
      copy(el.value !== undefined && el.tagName === "INPUT" ? el.value : el.textContent, b);
    }));

  const share = document.getElementById("share");
  if (share) {
    share.addEventListener("click", async () => {
      const r = await fetch(base + "share", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      if (!r.ok) { alert("share: " + (await r.text())); return; }
      const s = await r.json();
      if (window.isSecureContext && navigator.share) {
        const data = { title: "Weigh-in evidence " + body.dataset.session, text: s.url, url: s.url };
        // With the MP4 itself when the phone can take files (WhatsApp,
        // WeChat) and it is small enough to hand over.
        if (video && navigator.canShare) {
          try {
            const head = await fetch(video.currentSrc, { method: "HEAD", credentials: "same-origin" });
            if (Number(head.headers.get("Content-Length")) < 64 << 20) {
              const blob = await (await fetch(video.currentSrc, { credentials: "same-origin" })).blob();
              const file = new File([blob], body.dataset.session + ".mp4", { type: "video/mp4" });
              if (navigator.canShare({ files: [file] })) data.files = [file];
            }
          } catch (e) { /* the link alone */ }
        }
        try { await navigator.share(data); return; } catch (e) { /* fall back to the link and QR code */ }
      }
      document.getElementById("sharebox").hidden = false;
      document.getElementById("shareurl").value = s.url;
      document.getElementById("shareqr").src = s.qr;
    });
  }

  const form = document.getElementById("outcome-form");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const o = { session_id: body.dataset.session, status: f.get("status") };
      if (o.status === "resolved" && f.get("resolution")) o.resolution = f.get("resolution");
      if (f.get("amount")) o.amount = parseFloat(f.get("amount"));
      if (f.get("currency")) o.currency = f.get("currency").toUpperCase();
      if (f.get("note")) o.note = f.get("note");
      const msg = document.getElementById("o-msg");
      // The same API the unix socket serves: POST /v1/cmd/outcome.
      const r = await fetch("/v1/cmd/outcome", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ value: JSON.stringify(o) }),
      });
      const res = await r.json().catch(() => ({}));
      if (r.ok) { msg.textContent = "Recorded."; msg.className = "small ok"; setTimeout(() => location.reload(), 300); }
      else { msg.textContent = res.error || r.statusText; msg.className = "small error"; }
    });
  }
})();
