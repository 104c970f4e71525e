/* Before/after: switch between side by side, slider and ghost; the slider uncovers "after". */
"use strict";

(function () {
  const modes = document.querySelectorAll("input[name=cmp]");
  const views = document.querySelectorAll("[data-mode]");
  for (const input of modes) {
    input.addEventListener("change", () => {
      for (const view of views) view.hidden = view.dataset.mode !== input.value;
    });
  }
  const range = document.getElementById("slider-range");
  const after = document.getElementById("slider-after");
  if (range && after) {
    const update = () => { after.style.width = `${range.value}%`; }; // CSSOM: allowed by the CSP
    range.addEventListener("input", update);
    update();
  }
})();
