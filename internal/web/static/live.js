// weighin's live page: the camera (an MJPEG <img>, the browser's own
// decoder), the live state from /live/events (server-sent events), and the
// buttons and entries posted to /v1/cmd/NAME — the station's one command
// parser; a refusal shows its reason. Plain JS, no build step.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf || "";
  const $ = (id) => document.getElementById(id);
  const now = $("live-now");
  const cmdMsg = $("cmd-msg");

  async function command(name, value) {
    const r = await fetch("/v1/cmd/" + encodeURIComponent(name), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ value: value }),
    });
    let body = {};
    try { body = await r.json(); } catch (e) { /* not JSON: the status says enough */ }
    if (!r.ok) throw new Error(body.error || (r.status + " " + r.statusText));
    return body;
  }

  function say(el, text, ok) {
    el.textContent = text;
    el.className = (el.className.replace(/\b(ok|error)\b/g, "").trim() + " " + (ok ? "ok" : "error")).trim();
  }

  // The buttons: tare, start, mark (with its optional label), stop.
  document.querySelectorAll("button[data-cmd]").forEach((b) =>
    b.addEventListener("click", async () => {
      const name = b.dataset.cmd;
      let value = b.dataset.value || "";
      if (name === "mark") value = $("e-mark").value.trim();
      if (name === "confirm_tracking") value = $("live-offer-code").textContent;
      b.disabled = true;
      try {
        await command(name, value);
        say(cmdMsg, name + ": done", true);
        if (name === "mark") $("e-mark").value = "";
      } catch (e) {
        say(cmdMsg, e.message, false);
      } finally {
        b.disabled = false;
      }
    }));

  // The entries: one small form each, posted as the MQTT payload would be.
  document.querySelectorAll("form.entry").forEach((f) =>
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const name = f.dataset.cmd;
      const input = f.querySelector("input,select");
      const msg = f.querySelector(".msg");
      try {
        await command(name, input.value.trim());
        say(msg, "set ✓", true);
        f.dataset.sent = input.value.trim();
        if (input.tagName === "INPUT") input.value = "";
      } catch (e) {
        say(msg, e.message, false);
      }
    }));

  const grams = (g) => (g < 0 ? "−" : "") + Math.abs(g).toFixed(1) + " g";

  function show(s) {
    if (s.error) { $("live-fault").hidden = false; $("live-fault").textContent = s.error; return; }
    $("live-weight").textContent = grams(s.weight_g);
    const notes = [s.weight_state || ""];
    if (s.warming_up) notes.push("warming up");
    if (s.over_capacity) notes.push("over capacity");
    if (!s.calibrated) notes.push("not calibrated");
    $("live-wstate").textContent = notes.filter((n) => n).join(" · ");
    now.dataset.wstate = s.weight_state || "";
    now.dataset.state = s.session_state || "";
    now.dataset.weight = String(s.weight_g);
    now.dataset.recording = s.recording ? "1" : "";
    let sess = s.session_state || "";
    if (s.recording) {
      const rs = s.recording_s || 0, m = Math.floor(rs / 60), sec = Math.floor(rs % 60);
      sess = "● recording " + m + ":" + String(sec).padStart(2, "0") + (s.session_id ? " · " + s.session_id : "");
    }
    $("live-session").textContent = sess;
    $("live-session").className = "session-state" + (s.recording ? " rec" : "");
    const warn = $("live-warning");
    warn.hidden = s.auto_stop_in_s == null && s.resume_in_s == null;
    if (s.auto_stop_in_s != null) warn.textContent = "No activity: the recording stops in " + s.auto_stop_in_s + " s. Move the parcel or press Mark to keep it going.";
    else if (s.resume_in_s != null) warn.textContent = "Stopped for inactivity: press Start within " + s.resume_in_s + " s to continue the same session.";
    $("live-leftover").hidden = !s.leftover_load;
    $("live-offer").hidden = !s.tracking_offer;
    $("live-offer-code").textContent = s.tracking_offer || "";
    const ref = $("live-refusal");
    ref.hidden = !s.last_refusal;
    ref.textContent = s.last_refusal ? "Refused: " + s.last_refusal : "";
    const fault = $("live-fault");
    fault.hidden = !s.last_error;
    fault.textContent = s.last_error || "";
    const e = s.entries || {};
    const cur = {
      label_weight: e.label_g != null ? e.label_g + " g" : "", order_ref: e.order_ref, tracking: e.tracking,
      exterior_condition: e.exterior_condition, issue_type: e.issue_type, solution: e.solution,
      tier: e.tier != null ? String(e.tier) : "", damage: e.damage,
    };
    for (const k in cur) {
      const el = $("cur-" + k);
      if (el) el.textContent = cur[k] ? "· now " + cur[k] : "";
    }
    const au = s.audio || {};
    $("live-audio").hidden = !au.on;
    if (au.on) {
      // −60 dBFS (a quiet room) to 0 dBFS (full scale) across the bar.
      const pct = Math.max(0, Math.min(100, (au.level_dbfs + 60) * 100 / 60));
      $("live-audio-bar").style.width = pct.toFixed(0) + "%";
      $("live-audio-db").textContent = au.level_dbfs.toFixed(0) + " dBFS";
    }
    $("live-last").textContent = s.last_result ? "Last session: " + s.last_result.session_id + " (" + s.last_result.verdict + ")" : "";
    const msg = $("live-cam-msg");
    msg.hidden = !!(s.camera && s.camera.connected);
    msg.textContent = msg.hidden ? "" : "The camera is not delivering frames.";
  }

  function connect() {
    const es = new EventSource("/live/events");
    es.addEventListener("state", (ev) => show(JSON.parse(ev.data)));
    es.onerror = () => { now.dataset.state = "offline"; };
  }
  connect();

  // The MJPEG stream: when it breaks (weighd restarted, the viewer limit),
  // try again a little later.
  const img = $("live-img");
  img.addEventListener("error", () => {
    setTimeout(() => { img.src = "/live/mjpeg?t=" + Date.now(); }, 3000);
  });
})();
