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
  // The plot is on the session's video time axis; the MP4's time 0 is at
  // offset on it (0 unless it is a later part of a split export).
  const offset = video ? parseFloat(video.dataset.offset || "0") || 0 : 0;

  function duration() {
    if (video && isFinite(video.duration) && video.duration > 0) return Math.max(video.duration + offset, offset > 0 ? span : 0);
    return span;
  }
  function now() { return video ? video.currentTime + offset : 0; }

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
    document.querySelectorAll("[data-v]").forEach((b) => {
      const t = parseFloat(b.dataset.v);
      c.fillStyle = "#e65100";
      c.fillRect(x(t) - 1, 0, 2, h - 18);
    });
    if (video) {
      c.fillStyle = "#c62828";
      c.fillRect(x(now()) - 1, 0, 3, h);
    }
    canvas.dataset.cursor = video ? now().toFixed(3) : "";
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
      const t = ((ev.clientX - r.left) / r.width) * duration() - offset;
      video.currentTime = Math.max(0, Math.min(t, duration() - offset));
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

  // Share: the Web Share API where the browser has it (a phone, in a
  // secure context), with the MP4 itself when it can take files; otherwise
  // (a desktop, or the app over plain http) the link, its QR code and
  // download links to pass on by hand.
  async function shareFiles() {
    if (!video || !navigator.canShare) return null;
    try {
      const head = await fetch(video.currentSrc, { method: "HEAD", credentials: "same-origin" });
      if (!(Number(head.headers.get("Content-Length")) < 64 << 20)) return null;
      const blob = await (await fetch(video.currentSrc, { credentials: "same-origin" })).blob();
      const file = new File([blob], body.dataset.session + ".mp4", { type: "video/mp4" });
      return navigator.canShare({ files: [file] }) ? [file] : null;
    } catch (e) { return null; }
  }
  const share = document.getElementById("share");
  // What to share, once made: a phone allows navigator.share only shortly
  // after a tap, and making the link and reading the MP4 can take longer,
  // so a refused first try leaves it ready for the next tap.
  let prepared = null;
  if (share) {
    share.addEventListener("click", async () => {
      if (prepared) {
        try { await navigator.share(prepared); share.dataset.shared = prepared.files ? "files" : "link"; } catch (e) { /* the box below stays */ }
        return;
      }
      const r = await fetch(base + "share", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      if (!r.ok) { alert("share: " + (await r.text())); return; }
      const s = await r.json();
      const how = document.getElementById("sharehow");
      let why = "";
      if (window.isSecureContext && navigator.share) {
        const data = { title: "Weigh-in evidence " + body.dataset.session, text: s.url, url: s.url };
        const files = await shareFiles();
        if (files) data.files = files;
        try {
          await navigator.share(data);
          share.dataset.shared = files ? "files" : "link";
          return;
        } catch (e) {
          if (e && e.name === "NotAllowedError") {
            prepared = data;
            share.textContent = "Share now";
            why = "Tap “Share now” to open the phone's share sheet, or ";
          } else {
            why = "Sharing was cancelled: ";
          }
        }
      }
      share.dataset.shared = "fallback";
      how.textContent = why ? why + "copy the link, show the QR code, or download the files below."
        : "This browser cannot share files from here" + (window.isSecureContext ? "" : " (the page is not served over https)") +
          ": copy the link, show the QR code, or download the files below and send them.";
      document.getElementById("sharebox").hidden = false;
      document.getElementById("shareurl").value = s.url;
      document.getElementById("shareqr").src = s.qr;
      // Download links through the share link itself, to forward as they are.
      document.querySelectorAll("#sharefiles a").forEach((a) => { a.href = s.url + "f/" + encodeURIComponent(a.dataset.name) + "?download=1"; });
    });
  }

  // The MP4 made on demand: the export queue of weighd through the API
  // (POST /v1/cmd/export, which answers once the MP4 is in the bundle),
  // its progress read from /v1/status while it runs.
  const make = document.getElementById("make-mp4");
  if (make) {
    const box = document.getElementById("export-box");
    const bar = document.getElementById("export-progress");
    const msg = document.getElementById("export-msg");
    const seen = new Set();
    let polling = false, done = false;
    function show(x) {
      if (!x || x.session !== body.dataset.session) return false;
      box.hidden = false;
      seen.add(x.state);
      make.dataset.seen = Array.from(seen).join(" ");
      if (x.state === "paused") {
        bar.removeAttribute("value");
        msg.textContent = "Waiting: a recording is running; the export carries on when it ends.";
      } else if (x.state === "running" && x.percent > 0) {
        bar.value = x.percent;
        msg.textContent = "Making the MP4: " + Math.round(x.percent) + " %" + (x.parts > 1 ? " (part " + x.part + " of " + x.parts + ")" : "") +
          (x.eta_s > 0 ? ", about " + Math.ceil(x.eta_s) + " s left" : "");
      } else {
        bar.removeAttribute("value");
        msg.textContent = "Making the MP4…";
      }
      return true;
    }
    async function poll() {
      if (polling) return;
      polling = true;
      let mine = false;
      while (!done) {
        try {
          const r = await fetch("/v1/status", { credentials: "same-origin" });
          if (r.ok) {
            const x = (await r.json()).exports;
            if (show(x)) mine = true;
            else if (mine) { location.reload(); return; } // made by another tab or weighctl
          }
        } catch (e) { /* weighd restarting: try again */ }
        await new Promise((res) => setTimeout(res, 1000));
      }
    }
    make.addEventListener("click", async () => {
      make.disabled = true;
      box.hidden = false;
      msg.textContent = "Queued…";
      poll();
      const r = await fetch("/v1/cmd/export?preset=" + encodeURIComponent(make.dataset.preset), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ value: body.dataset.session }),
      }).catch((e) => ({ ok: false, statusText: String(e), json: async () => ({}) }));
      const res = await r.json().catch(() => ({}));
      done = true;
      if (r.ok) { bar.value = 100; msg.textContent = "Done."; location.reload(); return; }
      msg.textContent = "The export failed: " + (res.error || r.statusText);
      msg.className = "small error";
      make.disabled = false;
    });
    // An export of this session already running (asked from another tab
    // or by weighctl): show it, and the player once it is done.
    fetch("/v1/status", { credentials: "same-origin" }).then((r) => r.json())
      .then((st) => { if (st.exports && st.exports.session === body.dataset.session) { make.disabled = true; poll(); } })
      .catch(() => {});
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
