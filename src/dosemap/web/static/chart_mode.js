/* dosemap chart mode: tap = done, long press = skip / other volume / undo; nothing is lost.
 *
 * Every tap gets an id made here and goes into a queue kept in localStorage before anything
 * is sent; the queue is sent in order, what is waiting in one request (all or none, at most
 * max_taps_a_request), with the session version last seen.
 * Offline, taps wait (the count is shown) and are sent when the connection returns; a tap sent
 * twice is written once (its id). A conflict (another device charted meanwhile) stops the
 * queue and is shown: nothing is sent over the other device's taps.
 */
"use strict";

(function () {
  const F = window.dosemapFace;
  const data = F.readJson("chart-data");
  if (!data) return;
  const view = data.view;
  const svg = document.getElementById("face");
  const status = document.getElementById("chart-status");
  const counts = document.getElementById("chart-counts");
  const menu = document.getElementById("point-menu");
  const menuLabel = document.getElementById("point-menu-label");
  const menuVolume = document.getElementById("point-menu-volume");
  const finish = document.getElementById("finish-chart");
  const vialWarning = document.getElementById("vial-warning");
  const key = `dosemap-taps-${data.session_id}`;
  const versionKey = `${key}-version`;
  const radius = view.point_radius;
  const LONG_PRESS_MS = 550;
  let queue = JSON.parse(localStorage.getItem(key) || "[]");
  let version = Number(localStorage.getItem(versionKey) || data.version);
  if (!queue.length) version = data.version;
  // One vial per product (plan): a tap draws from the vial chosen for its point's product.
  // The vial in use is kept per session and product on this tablet (a reload or an adverse
  // event recorded keeps it); a vial just chosen by its lot number (data-chosen) wins.
  const plans = data.plans && data.plans.length ? data.plans : [{ product: "", shape: "circle", letter: "A", vial_select: "vial-select" }];
  const vialSelects = plans.map((plan, index) => {
    const select = document.getElementById(plan.vial_select);
    const vialKey = index === 0 ? `${key}-vial` : `${key}-vial-${index}`;
    if (select.dataset.chosen) localStorage.setItem(vialKey, select.dataset.chosen);
    else {
      const kept = localStorage.getItem(vialKey);
      if (kept && Array.from(select.options).some((o) => o.value === kept)) select.value = kept;
    }
    select.addEventListener("change", () => { localStorage.setItem(vialKey, select.value); show(); });
    return select;
  });
  let sending = false;
  let stopped = null;
  const state = new Map(data.points.map((p) => [p.number, p]));
  window.__tapTimes = [];

  F.drawFace(svg, view, { zones: false });
  const layer = F.svgEl("g", { class: "points chart" }, svg);
  const marks = new Map();
  const placed = data.points.map((p) => F.resolveAnchor(view, p.anchor));
  // Targets as large as the points' spacing allows (never overlapping), the picture cropped to
  // the planned points so that they fill the screen.
  let nearest = Infinity;
  for (let i = 0; i < placed.length; i += 1) {
    for (let j = i + 1; j < placed.length; j += 1) {
      const d = Math.hypot(placed[i][0] - placed[j][0], placed[i][1] - placed[j][1]);
      if (d < nearest) nearest = d;
    }
  }
  const r = Math.min(radius, Number.isFinite(nearest) ? nearest * 0.46 : radius);
  /* Crop the picture to some of the points (all, or one zone's: a dense plan is charted zone
   * by zone so that every target stays large enough for a finger). */
  function focus(zone) {
    // "plan:1": one product's points (its zones may hold another product's points too).
    const plan = zone.startsWith("plan:") ? Number(zone.slice(5)) : null;
    const chosen = placed.filter((_, k) => !zone || (plan === null ? data.points[k].zone === zone : (data.points[k].plan || 0) === plan));
    if (!chosen.length) return;
    const pad = Math.max(radius * 3, r * 2);
    const xs = chosen.map((q) => q[0]);
    const ys = chosen.map((q) => q[1]);
    const x0 = Math.max(0, Math.min(...xs) - pad);
    const y0 = Math.max(0, Math.min(...ys) - pad);
    const x1 = Math.min(view.width, Math.max(...xs) + pad);
    const y1 = Math.min(view.height, Math.max(...ys) + pad);
    svg.setAttribute("viewBox", `${x0.toFixed(1)} ${y0.toFixed(1)} ${(x1 - x0).toFixed(1)} ${(y1 - y0).toFixed(1)}`);
  }
  focus("");
  const zoneFocus = document.getElementById("zone-focus");
  if (zoneFocus) zoneFocus.addEventListener("change", () => focus(zoneFocus.value));
  /* Each product's marker has its own shape (and colour, and the legend's letter), never
   * colour alone; every shape spans the same target as the circle. */
  function marker(shape, g) {
    if (shape === "square") {
      const h = r * 0.86;
      return F.svgEl("rect", { class: "mk", x: -h, y: -h, width: 2 * h, height: 2 * h, rx: r * 0.15 }, g);
    }
    if (shape === "diamond") {
      return F.svgEl("path", { class: "mk", d: `M0 ${-r * 1.1}L${r * 1.1} 0L0 ${r * 1.1}L${-r * 1.1} 0Z` }, g);
    }
    if (shape === "triangle") {
      return F.svgEl("path", { class: "mk", d: `M0 ${-r * 1.15}L${r * 1.1} ${r * 0.8}L${-r * 1.1} ${r * 0.8}Z` }, g);
    }
    return F.svgEl("circle", { class: "mk", r }, g);
  }
  data.points.forEach((p, k) => {
    const [x, y] = placed[k];
    const plan = p.plan || 0;
    const g = F.svgEl("g", { class: `pt ${p.state} prod-${plan}`, "data-number": p.number, "data-plan": plan, transform: `translate(${x.toFixed(2)},${y.toFixed(2)})` }, layer);
    marker((plans[plan] || plans[0]).shape, g);
    const small = p.number >= 100 ? 0.8 : 0.95;
    F.svgEl("text", { y: r * 0.35, "font-size": (r * small).toFixed(2) }, g).textContent = String(p.number);
    marks.set(p.number, g);
  });

  /* Replay a tap onto the local state (the server replays the same way). */
  const history = new Map();
  function apply(tap) {
    const p = state.get(tap.point_number);
    if (!p) return;
    const past = history.get(p.number) || [];
    if (tap.action === "undo") {
      const before = past.pop() || { state: "pending", volume_ul: p.planned_ul };
      p.state = before.state;
      p.volume_ul = before.volume_ul;
    } else {
      past.push({ state: p.state, volume_ul: p.volume_ul });
      p.state = tap.action === "done" ? "done" : "skipped";
      p.volume_ul = tap.action === "done" && tap.volume_ul ? tap.volume_ul : p.planned_ul;
    }
    history.set(p.number, past);
    marks.get(p.number).setAttribute("class", `pt ${p.state} prod-${p.plan || 0}`);
  }

  function show() {
    let done = 0;
    let skipped = 0;
    for (const p of state.values()) {
      if (p.state === "done") done += 1;
      else if (p.state === "skipped") skipped += 1;
    }
    counts.textContent = `${done} done · ${skipped} skipped · ${state.size - done - skipped} to go`;
    svg.dataset.done = String(done);
    svg.dataset.queued = String(queue.length);
    if (stopped) {
      status.textContent = stopped;
      status.className = "status error";
    } else if (queue.length) {
      status.textContent = navigator.onLine ? `Saving… ${queue.length} tap(s) waiting` : `Offline: ${queue.length} tap(s) kept on this tablet, sent when the connection returns`;
      status.className = "status busy";
    } else {
      status.textContent = "Every tap saved";
      status.className = "status ok";
    }
    // A product without a vial chosen: its taps are kept but the chart cannot be finished.
    const missing = plans.filter((_, i) => !vialSelects[i].value).map((plan) => plan.product || "this product");
    vialWarning.hidden = !missing.length;
    vialWarning.textContent = missing.length ? `No vial chosen for ${missing.join(", ")}: open one on the Vials page, or type its lot under Vials.` : "";
    finish.disabled = queue.length > 0 || Boolean(stopped);
    document.getElementById("finish-version").value = String(version);
  }

  function save() {
    localStorage.setItem(key, JSON.stringify(queue));
    localStorage.setItem(versionKey, String(version));
  }

  async function flush() {
    if (sending || stopped) return;
    sending = true;
    try {
      while (queue.length) {
        // Everything waiting goes in one request (taps made while offline or while the last
        // request was on its way): one round trip instead of one a tap.
        const batch = queue.slice(0, data.max_taps_a_request || 1);
        let response;
        try {
          response = await fetch(data.tap_url, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
            body: JSON.stringify({ expected_version: version, taps: batch }),
            credentials: "same-origin",
          });
        } catch (err) {
          break; // offline: keep the queue; sent again on "online" or the next tap
        }
        const body = await response.json().catch(() => ({}));
        if (response.status === 409) {
          stopped = `Another device charted this session meanwhile (${body.detail || "conflict"}). ${queue.length} tap(s) are kept here; reload to see both.`;
          break;
        }
        if (!response.ok) {
          stopped = `Taps on points ${batch.map((t) => t.point_number).join(", ")} refused: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)}`;
          break;
        }
        version = body.version;
        queue.splice(0, batch.length);
        save();
        show();
      }
    } finally {
      sending = false;
      show();
    }
    svg.dataset.version = String(version);
  }

  function tap(number, action, volume) {
    const started = performance.now();
    const select = vialSelects[state.get(number).plan || 0] || vialSelects[0];
    const entry = { id: F.uuid4(), point_number: number, action, volume_ul: volume || null, vial_id: action === "done" ? select.value || null : null, tapped_at: new Date().toISOString() };
    queue.push(entry);
    save(); // kept before anything is sent
    apply(entry);
    show();
    window.__tapTimes.push(performance.now() - started);
    flush();
  }

  // Taps already queued (the page was reloaded offline) are shown, then sent.
  for (const entry of data.recorded) apply(entry);
  const recordedIds = new Set(data.recorded.map((t) => t.id));
  queue = queue.filter((t) => !recordedIds.has(t.id));
  save();
  for (const entry of queue) apply(entry);

  let press = null;
  svg.addEventListener("pointerdown", (event) => {
    const g = event.target.closest("g.pt");
    if (!g) return;
    event.preventDefault();
    const number = Number(g.dataset.number);
    press = { number, timer: setTimeout(() => { press = null; openMenu(number); }, LONG_PRESS_MS) };
  });
  function release() {
    if (!press) return;
    clearTimeout(press.timer);
    const number = press.number;
    press = null;
    const p = state.get(number);
    tap(number, p.state === "done" ? "undo" : "done");
  }
  svg.addEventListener("pointerup", release);
  svg.addEventListener("pointercancel", () => { if (press) clearTimeout(press.timer); press = null; });
  svg.addEventListener("contextmenu", (event) => event.preventDefault());

  function openMenu(number) {
    const p = state.get(number);
    menu.dataset.number = String(number);
    const plan = plans[p.plan || 0] || plans[0];
    const product = plans.length > 1 ? `${plan.letter} · ${plan.product}, ` : "";
    menuLabel.textContent = `Point ${number} (${product}${p.zone}), planned ${p.planned_ul} µL`;
    menuVolume.value = p.volume_ul;
    menu.showModal();
  }
  menu.addEventListener("close", () => {
    const number = Number(menu.dataset.number);
    const choice = menu.returnValue;
    if (choice === "skip") tap(number, "skipped");
    else if (choice === "volume") tap(number, "done", menuVolume.value);
    else if (choice === "undo") tap(number, "undo");
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", show);
  setInterval(() => { if (queue.length && !sending) flush(); }, 3000);
  show();
  flush();
  svg.dataset.ready = "1";
})();
