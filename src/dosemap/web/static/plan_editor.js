/* dosemap plan editor: drag, add and delete points on the face; the panel follows every edit.
 *
 * Each edit is sent at once (POST .../plan/edits with the version last seen); the answer is
 * the renumbered points and the panel (totals, draw-up, vials, findings) rendered by the
 * server. A conflict (another device edited meanwhile) is shown, never overwritten.
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
  const radius = view.point_radius;

  F.drawFace(svg, view, { zones: true });
  const layer = F.svgEl("g", { class: "points" }, svg);

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
      const classes = `pt${p.codes.length ? " flagged" : ""}${p.outside ? " outside" : ""}${selected === p.number ? " selected" : ""}`;
      const g = F.svgEl("g", { class: classes, "data-number": p.number, "data-zone": p.zone, transform: `translate(${x.toFixed(2)},${y.toFixed(2)})` }, layer);
      F.svgEl("circle", { r: radius }, g);
      F.svgEl("text", { y: radius * 0.35, "font-size": (radius * 1.1).toFixed(2) }, g).textContent = String(p.number);
      F.svgEl("title", {}, g).textContent = `${p.number} · ${where(p)} · ${p.volume_ul} µL = ${p.units} U${p.codes.length ? " · " + p.codes.join(", ") : ""}`;
    }
    svg.dataset.points = String(points.length);
    svg.dataset.flagged = String(points.filter((p) => p.codes.length).length);
  }

  /* A point outside every zone keeps its zone's label (and caps) and blocks until moved. */
  function where(p) {
    return p.outside ? `outside every zone (counted in ${p.zone})` : p.zone;
  }

  function choose(number) {
    selected = number;
    const p = points.find((q) => q.number === number);
    if (p) {
      pointBox.hidden = false;
      pointLabel.textContent = `Point ${p.number} (${where(p)}): ${p.volume_ul} µL = ${p.units} U`;
      pointVolume.value = p.volume_ul;
    } else {
      pointBox.hidden = true;
    }
    draw();
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
        body: JSON.stringify({ expected_version: version, edits }),
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
      points = body.points;
      panel.innerHTML = body.panel_html;
      bindPanel();
      if (body.placed !== null && body.placed !== undefined) selected = body.placed;
      if (selected !== null && !points.some((p) => p.number === selected)) selected = null;
      choose(selected);
      svg.dataset.version = String(version);
      const placed = points.find((p) => p.number === body.placed);
      const note = placed ? ` Point ${placed.number}: ${where(placed)}${placed.outside ? ", blocked until it is moved into a zone" : ""}.` : "";
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

  if (!data.can_edit) {
    draw();
    svg.dataset.ready = "1";
    return;
  }

  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    const g = event.target.closest("g.pt");
    const m = mode();
    if (g && m === "delete") {
      send([{ op: "delete", number: Number(g.dataset.number) }]);
      return;
    }
    if (g && m === "move") {
      svg.setPointerCapture(event.pointerId);
      drag = { g, number: Number(g.dataset.number), moved: false };
      event.preventDefault();
      return;
    }
    if (!g && m === "add") {
      const [x, y] = F.svgPoint(svg, event);
      const anchor = F.anchorAt(view, x, y);
      if (!anchor) {
        say("That is off the face: no point added.", "error");
        return;
      }
      send([{ op: "add", zone: zoneSelect.value, anchor }]);
    }
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const [x, y] = F.svgPoint(svg, event);
    drag.g.setAttribute("transform", `translate(${x.toFixed(2)},${y.toFixed(2)})`);
    drag.moved = true;
  });
  svg.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const current = drag;
    drag = null;
    if (!current.moved) {
      choose(current.number);
      return;
    }
    const [x, y] = F.svgPoint(svg, event);
    const anchor = F.anchorAt(view, x, y);
    if (!anchor) {
      say("That is off the face: the point stays where it was.", "error");
      draw();
      return;
    }
    selected = current.number;
    send([{ op: "move", number: current.number, anchor }]);
  });

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
      const spacing = Math.min(50, Math.max(2, Number(data.zone_spacing[zoneSelect.value] || data.spacing_mm) + step));
      data.zone_spacing[zoneSelect.value] = spacing;
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
