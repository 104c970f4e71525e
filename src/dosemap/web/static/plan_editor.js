/* dosemap plan editor: drag, add and delete points on the face; the panel follows every edit.
 *
 * Each edit is sent at once (POST .../plan/edits with the version last seen); the answer is
 * the points that changed (a move: one), every flagged point's codes, and the panel (totals,
 * draw-up, vials, findings) rendered by the server. A conflict (another device edited
 * meanwhile) is shown, never overwritten.
 */
"use strict";

(function () {
  const F = window.dosemapFace;
  const data = F.readJson("editor-data");
  if (!data) return;
  const view = data.view;
  const svg = document.getElementById("face");
  const panel = document.getElementById("plan-panel");
  const status = document.getElementById("editor-status");
  const modeInputs = document.querySelectorAll("input[name=mode]");
  const zoneSelect = document.getElementById("zone-select");
  const pointBox = document.getElementById("point-box");
  const pointLabel = document.getElementById("point-label");
  const pointVolume = document.getElementById("point-volume");
  let version = data.version;
  let points = data.points;
  let selected = null;
  let busy = false;
  /* A session of several products: edits act on the chosen product's plan; the other
   * products' points are drawn faint and cannot be picked. */
  const planSelect = document.getElementById("plan-select");
  let chosen = planSelect ? Number(planSelect.value) : 0;
  const outside = (p) => p.codes.includes(data.outside_code);
  const radius = view.point_radius;

  F.drawFace(svg, view, { zones: true });
  const layer = F.svgEl("g", { class: "points" }, svg);
  const zoomLabel = document.getElementById("zoom-level");
  const zoomer = window.dosemapZoom.attach(svg, view, {
    onChange: (z) => {
      if (zoomLabel) zoomLabel.textContent = `${Math.round(z * 100)} %`;
    },
  });
  for (const button of document.querySelectorAll("[data-zoom]")) {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "in") zoomer.zoomCentre(window.dosemapZoom.STEP);
      else if (how === "out") zoomer.zoomCentre(1 / window.dosemapZoom.STEP);
      else zoomer.reset();
    });
  }

  function mode() {
    for (const input of modeInputs) if (input.checked) return input.value;
    return "move";
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = `status ${kind || ""}`;
  }

  function draw() {
    layer.replaceChildren();
    for (const p of points) {
      const [x, y] = F.resolveAnchor(view, p.anchor);
      const classes = `pt${p.codes.length ? " flagged" : ""}${outside(p) ? " outside" : ""}${p.plan !== chosen ? " other" : ""}${selected === p.number ? " selected" : ""}`;
      const g = F.svgEl("g", { class: classes, "data-number": p.number, "data-zone": p.zone, "data-plan": p.plan, transform: `translate(${x.toFixed(2)},${y.toFixed(2)})` }, layer);
      F.svgEl("circle", { r: radius }, g);
      F.svgEl("text", { y: radius * 0.35, "font-size": (radius * 1.1).toFixed(2) }, g).textContent = String(p.number);
      F.svgEl("title", {}, g).textContent = `${p.number} · ${where(p)} · ${p.volume_ul} µL = ${p.units} U${p.codes.length ? " · " + p.codes.join(", ") : ""}`;
    }
    svg.dataset.points = String(points.length);
    svg.dataset.flagged = String(points.filter((p) => p.codes.length).length);
  }

  /* A point outside every zone keeps its zone's label (and caps) and blocks until moved. */
  function where(p) {
    const product = data.plans.length > 1 ? `${data.plans[p.plan].product}, ` : "";
    return product + (outside(p) ? `outside every zone (counted in ${p.zone})` : p.zone);
  }

  function choose(number) {
    selected = number;
    const p = points.find((q) => q.number === number);
    if (!pointBox) {
      // read only: the status line says which point it is
      if (p) say(`Point ${p.number} (${where(p)}): ${p.volume_ul} µL = ${p.units} U`, "");
    } else if (p) {
      pointBox.hidden = false;
      pointLabel.textContent = `Point ${p.number} (${where(p)}): ${p.volume_ul} µL = ${p.units} U`;
      pointVolume.value = p.volume_ul;
    } else {
      pointBox.hidden = true;
    }
    draw();
  }

  /* An edit's answer has every point, or only those that changed since the version sent
   * (and those removed); every flagged point's codes come each time. */
  function merged(body) {
    let next = body.points;
    if (!next) {
      const byNumber = new Map(points.map((p) => [p.number, p]));
      for (const number of body.removed) byNumber.delete(number);
      for (const p of body.changed) byNumber.set(p.number, p);
      next = [...byNumber.values()].sort((a, b) => a.number - b.number);
    }
    return next.map((p) => ({ ...p, codes: body.codes[p.number] || [] }));
  }

  async function send(edits) {
    if (busy) return false;
    busy = true;
    say("Saving…", "busy");
    const started = performance.now();
    try {
      const response = await fetch(data.edit_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
        body: JSON.stringify({ expected_version: version, edits, plan: chosen }),
        credentials: "same-origin",
      });
      const body = await response.json();
      if (!response.ok) {
        const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
        say(response.status === 409 ? `Changed on another device: ${detail}. Reload to see it.` : `Not saved: ${detail}`, "error");
        draw();
        return false;
      }
      version = body.version;
      points = merged(body);
      panel.innerHTML = body.panel_html;
      bindPanel();
      if (body.placed !== null && body.placed !== undefined) selected = body.placed;
      if (selected !== null && !points.some((p) => p.number === selected)) selected = null;
      choose(selected);
      svg.dataset.version = String(version);
      const placed = points.find((p) => p.number === body.placed);
      const note = placed ? ` Point ${placed.number}: ${where(placed)}${outside(placed) ? ", blocked until it is moved into a zone" : ""}.` : "";
      say(`Saved (${Math.round(performance.now() - started)} ms).${note}`, body.blocked ? "blocked" : "ok");
      return true;
    } catch (err) {
      say("Not saved: no connection to the server. Try again.", "error");
      draw();
      return false;
    } finally {
      busy = false;
    }
  }

  /* A finger is wider than a drawn point: a press within TARGET_PX of a point takes the
   * nearest one (>= 44 px touch targets at any zoom, without overlapping hit areas). */
  const TARGET_PX = 22;
  const TAP_PX = 8; // a press that moves less than this is a tap, not a drag or a pan

  function pointNear(event) {
    const direct = event.target.closest ? event.target.closest("g.pt:not(.other)") : null;
    if (direct) return direct;
    const [x, y] = F.svgPoint(svg, event);
    const reach = TARGET_PX * zoomer.unitsPerPixel();
    let best = null;
    let bestDistance = reach;
    for (const g of layer.querySelectorAll("g.pt")) {
      const p = points.find((q) => q.number === Number(g.dataset.number));
      if (!p || p.plan !== chosen) continue;
      const [px, py] = F.resolveAnchor(view, p.anchor);
      const distance = Math.hypot(px - x, py - y);
      if (distance <= bestDistance) {
        best = g;
        bestDistance = distance;
      }
    }
    return best;
  }

  let press = null;
  function cancelPress() {
    if (press && press.drag && press.moved) draw(); // the point goes back where it was
    press = null;
  }

  svg.addEventListener("pointerdown", (event) => {
    if (zoomer.pointerDown(event)) {
      cancelPress(); // a second finger: pinch-zoom, not an edit
      return;
    }
    svg.focus({ preventScroll: true });
    const m = data.can_edit ? mode() : "view"; // read only: pan and zoom, select to read
    const g = m === "add" ? null : pointNear(event);
    press = { id: event.pointerId, x: event.clientX, y: event.clientY, g, mode: m, moved: false, drag: Boolean(g && m === "move") };
    if (m === "view" && g) choose(Number(g.dataset.number));
    try {
      svg.setPointerCapture(event.pointerId);
    } catch (err) {
      // a pointer the browser no longer tracks: the events still come to the face
    }
    event.preventDefault();
  });
  svg.addEventListener("pointermove", (event) => {
    if (zoomer.pointerMove(event)) return;
    if (!press || press.id !== event.pointerId) return;
    const far = Math.hypot(event.clientX - press.x, event.clientY - press.y) >= TAP_PX;
    if (!press.moved && !far) return;
    if (press.drag) {
      const [x, y] = F.svgPoint(svg, event);
      press.g.setAttribute("transform", `translate(${x.toFixed(2)},${y.toFixed(2)})`);
    } else if (press.mode === "move" || press.mode === "view") {
      const k = zoomer.unitsPerPixel(); // pan the zoomed face with one finger or the mouse
      zoomer.panBy((press.lastX ?? press.x) * k - event.clientX * k, (press.lastY ?? press.y) * k - event.clientY * k);
      press.lastX = event.clientX;
      press.lastY = event.clientY;
    }
    press.moved = true;
  });
  svg.addEventListener("pointercancel", (event) => {
    zoomer.pointerUp(event);
    cancelPress();
  });
  svg.addEventListener("pointerup", (event) => {
    if (zoomer.pointerUp(event)) {
      cancelPress();
      return;
    }
    if (!press || press.id !== event.pointerId) return;
    const current = press;
    press = null;
    if (current.mode === "delete") {
      if (current.g && !current.moved) send([{ op: "delete", number: Number(current.g.dataset.number) }]);
      return;
    }
    if (current.mode === "add") {
      if (current.moved) return;
      const [x, y] = F.svgPoint(svg, event);
      const anchor = F.anchorAt(view, x, y);
      if (!anchor) {
        say("That is off the face: no point added.", "error");
        return;
      }
      send([{ op: "add", anchor }]); // it takes the zone it lies in, as a moved point does
      return;
    }
    if (!current.drag) return; // a pan, or a tap on no point
    const number = Number(current.g.dataset.number);
    if (!current.moved) {
      choose(number);
      return;
    }
    const [x, y] = F.svgPoint(svg, event);
    const anchor = F.anchorAt(view, x, y);
    if (!anchor) {
      say("That is off the face: the point stays where it was.", "error");
      draw();
      return;
    }
    selected = number;
    send([{ op: "move", number, anchor }]);
  });

  if (!data.can_edit) {
    draw();
    svg.dataset.ready = "1";
    return;
  }

  for (const input of modeInputs) {
    input.addEventListener("change", () => {
      if (input.checked && input.value === "add") say("Tap the face to add a point: it takes the zone it lies in.", "");
    });
  }

  if (planSelect) {
    planSelect.addEventListener("change", () => {
      chosen = Number(planSelect.value);
      const p = points.find((q) => q.number === selected);
      choose(p && p.plan === chosen ? selected : null);
      say(`Editing ${data.plans[chosen].product}.`, "ok");
    });
  }

  document.getElementById("point-volume-set").addEventListener("click", () => {
    if (selected !== null) send([{ op: "set_volume", number: selected, volume_ul: pointVolume.value }]);
  });
  document.getElementById("point-delete").addEventListener("click", () => {
    if (selected !== null) send([{ op: "delete", number: selected }]);
  });
  document.getElementById("zone-volume-set").addEventListener("click", () => {
    send([{ op: "set_zone_volume", zone: zoneSelect.value, volume_ul: document.getElementById("zone-volume").value }]);
  });
  for (const button of document.querySelectorAll("[data-respace]")) {
    button.addEventListener("click", () => {
      const step = Number(button.dataset.respace);
      const plan = data.plans[chosen];
      const spacing = Math.min(50, Math.max(2, Number(plan.zone_spacing[zoneSelect.value] || plan.spacing_mm) + step));
      plan.zone_spacing[zoneSelect.value] = spacing;
      send([{ op: "respace_zone", zone: zoneSelect.value, spacing_mm: String(spacing) }]);
    });
  }

  /* Acknowledge buttons live in the server-rendered panel. */
  function bindPanel() {
    for (const form of panel.querySelectorAll("form.ack")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const reason = form.querySelector("[name=reason]").value.trim();
        if (!reason) {
          say("An acknowledgement needs the reason.", "error");
          return;
        }
        const response = await fetch(data.ack_url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
          body: JSON.stringify({ code: form.dataset.code, zone: form.dataset.zone || null, point_numbers: JSON.parse(form.dataset.points), reason }),
          credentials: "same-origin",
        });
        const body = await response.json();
        if (!response.ok) {
          say(`Not acknowledged: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)}`, "error");
          return;
        }
        panel.innerHTML = body.panel_html;
        bindPanel();
        say("Acknowledged.", "ok");
      });
    }
  }

  bindPanel();
  draw();
  svg.dataset.version = String(version);
  svg.dataset.ready = "1";
})();
