/* dosemap: zoom and pan the face in the plan editor.
 *
 * Zooming changes only the <svg>'s viewBox: points stay drawn through their anchors in the
 * picture's own units, and pointer positions are read through the screen matrix, so a point
 * lands where it is dropped at any zoom. Pinch with two fingers (which also pans), the mouse
 * wheel, the + / − / fit buttons, or the keyboard on the face (+, −, 0, arrows to pan).
 * No inline script or style: the page's CSP allows neither.
 */
"use strict";

(function () {
  const MAX_ZOOM = 8;
  const STEP = 1.5;
  const PAN_STEP = 0.15; // of the visible width or height, per arrow key

  function attach(svg, view, opts) {
    const onChange = (opts && opts.onChange) || (() => {});
    const W = view.width;
    const H = view.height;
    let zoom = 1;
    let cx = W / 2;
    let cy = H / 2;

    function apply() {
      zoom = Math.min(MAX_ZOOM, Math.max(1, zoom));
      const w = W / zoom;
      const h = H / zoom;
      cx = Math.min(W - w / 2, Math.max(w / 2, cx));
      cy = Math.min(H - h / 2, Math.max(h / 2, cy));
      svg.setAttribute("viewBox", `${(cx - w / 2).toFixed(2)} ${(cy - h / 2).toFixed(2)} ${w.toFixed(2)} ${h.toFixed(2)}`);
      svg.dataset.zoom = zoom.toFixed(2);
      onChange(zoom);
    }

    /* Zoom by `factor` keeping picture point (x, y) under the same spot of the screen. */
    function zoomAt(factor, x, y) {
      const before = zoom;
      zoom = Math.min(MAX_ZOOM, Math.max(1, zoom * factor));
      const k = before / zoom;
      cx = x + (cx - x) * k;
      cy = y + (cy - y) * k;
      apply();
    }

    function zoomCentre(factor) {
      zoomAt(factor, cx, cy);
    }

    function reset() {
      zoom = 1;
      cx = W / 2;
      cy = H / 2;
      apply();
    }

    /* Move the view by (dx, dy) picture units. */
    function panBy(dx, dy) {
      cx += dx;
      cy += dy;
      apply();
    }

    /* Picture units per screen pixel at the current zoom. */
    function unitsPerPixel() {
      const m = svg.getScreenCTM();
      return m && m.a ? 1 / m.a : 1;
    }

    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const [x, y] = window.dosemapFace.svgPoint(svg, event);
        zoomAt(event.deltaY < 0 ? 1.2 : 1 / 1.2, x, y);
      },
      { passive: false },
    );

    svg.addEventListener("keydown", (event) => {
      const w = W / zoom;
      const h = H / zoom;
      const keys = {
        "+": () => zoomCentre(STEP),
        "=": () => zoomCentre(STEP),
        "-": () => zoomCentre(1 / STEP),
        "−": () => zoomCentre(1 / STEP),
        "0": reset,
        ArrowLeft: () => panBy(-w * PAN_STEP, 0),
        ArrowRight: () => panBy(w * PAN_STEP, 0),
        ArrowUp: () => panBy(0, -h * PAN_STEP),
        ArrowDown: () => panBy(0, h * PAN_STEP),
      };
      const act = keys[event.key];
      if (!act) return;
      event.preventDefault();
      act();
    });

    /* Pinch: two pointers on the face. Returns true while a pinch owns the pointers. */
    const touches = new Map();
    let pinch = null;

    function pinchState() {
      const [a, b] = Array.from(touches.values());
      const mid = { clientX: (a.clientX + b.clientX) / 2, clientY: (a.clientY + b.clientY) / 2 };
      return { distance: Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY), mid };
    }

    function pointerDown(event) {
      if (event.pointerType !== "touch") return false; // a mouse or pen cannot pinch
      touches.set(event.pointerId, { clientX: event.clientX, clientY: event.clientY });
      if (touches.size === 2) {
        pinch = pinchState();
        return true;
      }
      return pinch !== null;
    }

    function pointerMove(event) {
      if (!touches.has(event.pointerId)) return false;
      touches.set(event.pointerId, { clientX: event.clientX, clientY: event.clientY });
      if (!pinch || touches.size < 2) return pinch !== null;
      const now = pinchState();
      const [x0, y0] = window.dosemapFace.svgPoint(svg, pinch.mid);
      if (pinch.distance > 0) zoomAt(now.distance / pinch.distance, x0, y0);
      const [x1, y1] = window.dosemapFace.svgPoint(svg, now.mid);
      panBy(x0 - x1, y0 - y1); // the picture follows the fingers
      pinch = now;
      return true;
    }

    function pointerUp(event) {
      touches.delete(event.pointerId);
      const wasPinch = pinch !== null;
      if (touches.size < 2) pinch = null;
      return wasPinch;
    }

    apply();
    return { zoomAt, zoomCentre, reset, panBy, unitsPerPixel, pointerDown, pointerMove, pointerUp, get zoom() { return zoom; } };
  }

  window.dosemapZoom = { attach, STEP };
})();
