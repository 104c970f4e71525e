/* dosemap signature pad: draw on a <canvas> with pointer events (finger, stylus, mouse); the
   drawing is put into the form's hidden "signature" field as a PNG data URL. No inline code
   (the Content-Security-Policy forbids it): this file is loaded with <script src defer>. */
(function () {
  "use strict";
  var INK = "#10243a";

  function setup(pad) {
    var canvas = pad.querySelector("canvas");
    var field = pad.querySelector("input[name=signature]");
    var clear = pad.querySelector("[data-clear]");
    var state = pad.querySelector(".pad-state");
    var form = pad.closest("form");
    var submit = form.querySelector("[data-needs-ink]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var inked = false;
    var strokes = 0;
    var last = null;

    function reset() {
      var ratio = window.devicePixelRatio || 1;
      var rect = canvas.getBoundingClientRect();
      canvas.width = Math.max(1, Math.round(rect.width * ratio));
      canvas.height = Math.max(1, Math.round(rect.height * ratio));
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, rect.width, rect.height);
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = INK;
      inked = false;
      strokes = 0;
      update();
    }

    function at(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    function update() {
      field.value = inked ? canvas.toDataURL("image/png") : "";
      if (submit) { submit.disabled = !inked; }
      pad.classList.toggle("inked", inked);
      if (state) {
        state.textContent = inked ? "Signature drawn (" + strokes + " stroke" + (strokes === 1 ? "" : "s") + ")." : "Nothing drawn yet.";
      }
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      strokes += 1;
      last = at(event);
      ctx.beginPath();
      ctx.fillStyle = INK;
      ctx.arc(last.x, last.y, 1.25, 0, 2 * Math.PI);
      ctx.fill();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      if (points.length === 0) { points = [event]; }
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      points.forEach(function (p) {
        var next = at(p);
        ctx.lineTo(next.x, next.y);
        last = next;
      });
      ctx.stroke();
      inked = true;
    });
    function stop(event) {
      if (!drawing) { return; }
      drawing = false;
      if (canvas.hasPointerCapture && canvas.hasPointerCapture(event.pointerId)) {
        canvas.releasePointerCapture(event.pointerId);
      }
      update();
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    clear.addEventListener("click", reset);
    var width = canvas.getBoundingClientRect().width;
    window.addEventListener("resize", function () {
      // A resize clears a canvas; redraw only when nothing was signed yet.
      var now = canvas.getBoundingClientRect().width;
      if (now !== width && !inked) { width = now; reset(); }
    });
    reset();
  }

  document.querySelectorAll("[data-signature-pad]").forEach(setup);
}());
