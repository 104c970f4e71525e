/* dosemap: the face under a plan, shared by the plan editor and chart mode.
 *
 * The page carries the view as JSON (<script type="application/json" id="face-view">): the
 * face's landmarks in the picture's own units (template millimetres x 4, or photo pixels), the
 * front-facing mesh triangles, and each point's mesh anchor. A point is drawn at
 * w0*L[v0] + w1*L[v1] + w2*L[v2], so it sits on the same spot of the face on the template or a
 * photo; a point dropped somewhere is anchored by the triangle under it (the nearest the viewer
 * when two overlap). No inline script or style: the page's CSP allows neither.
 */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

function resolveAnchor(view, anchor) {
  let x = 0;
  let y = 0;
  for (let k = 0; k < 3; k += 1) {
    const p = view.landmarks[anchor.vertices[k]];
    x += anchor.weights[k] * p[0];
    y += anchor.weights[k] * p[1];
  }
  return [x, y];
}

/* The anchor of picture point (x, y): barycentric weights in the triangle under it. */
function anchorAt(view, x, y) {
  let best = null;
  for (const tri of view.triangles) {
    const [a, b, c] = tri.map((i) => view.landmarks[i]);
    const det = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
    if (Math.abs(det) < 1e-12) continue;
    const w0 = ((b[1] - c[1]) * (x - c[0]) + (c[0] - b[0]) * (y - c[1])) / det;
    const w1 = ((c[1] - a[1]) * (x - c[0]) + (a[0] - c[0]) * (y - c[1])) / det;
    const w2 = 1 - w0 - w1;
    if (w0 < -1e-9 || w1 < -1e-9 || w2 < -1e-9) continue;
    const depth = (view.depth[tri[0]] + view.depth[tri[1]] + view.depth[tri[2]]) / 3;
    if (best === null || depth > best.depth) {
      best = { depth, anchor: { vertices: tri.slice(), weights: [w0, w1, w2].map((w) => Math.max(w, 0)) } };
    }
  }
  if (best === null) return null;
  const sum = best.anchor.weights.reduce((s, w) => s + w, 0);
  best.anchor.weights = best.anchor.weights.map((w) => Math.round((w / sum) * 1e6) / 1e6);
  return best.anchor;
}

function ringPath(view, ring) {
  return ring.map((i, k) => `${k ? "L" : "M"}${view.landmarks[i][0].toFixed(1)},${view.landmarks[i][1].toFixed(1)}`).join("") + "Z";
}

/* Draw the face (photo or wireframe), zone outlines and danger zones into <svg>. */
function drawFace(svg, view, opts) {
  svg.setAttribute("viewBox", `0 0 ${view.width} ${view.height}`);
  const face = svgEl("g", { class: "face" }, svg);
  if (view.image_url) {
    svgEl("image", { href: view.image_url, x: 0, y: 0, width: view.width, height: view.height }, face);
  } else {
    const d = view.triangles.map((t) => ringPath(view, t)).join("");
    svgEl("path", { d, class: "mesh" }, face);
  }
  if (opts && opts.zones) {
    for (const zone of view.zones) {
      svgEl("path", { d: ringPath(view, zone.ring), class: "zone", "data-zone": zone.id }, face);
    }
  }
  for (const danger of view.dangers) {
    for (const ring of danger.rings) {
      const path = svgEl("path", { d: ringPath(view, ring), class: "danger" }, face);
      svgEl("title", {}, path).textContent = danger.name;
    }
  }
  return face;
}

/* Picture coordinates of a pointer event. */
function svgPoint(svg, event) {
  const pt = svg.createSVGPoint();
  pt.x = event.clientX;
  pt.y = event.clientY;
  const m = svg.getScreenCTM();
  const p = pt.matrixTransform(m.inverse());
  return [p.x, p.y];
}

function uuid4() {
  // crypto.randomUUID needs a secure context; a clinic LAN over plain http is not one.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

window.dosemapFace = { readJson, svgEl, resolveAnchor, anchorAt, drawFace, svgPoint, uuid4 };
