// The one-time token reveal: a countdown, a copy button, and after the countdown the value is
// removed from the DOM (not merely hidden), so nothing later on this page can read it.
"use strict";
(function () {
  const box = document.getElementById("reveal");
  if (!box) return;
  const input = document.getElementById("token-value");
  const counter = document.getElementById("countdown");
  const copy = document.getElementById("copy");
  const copied = document.getElementById("copied");
  const note = document.getElementById("hidden-note");
  const deadline = Date.now() + (Number(box.dataset.seconds) || 10) * 1000;
  let timer = 0;

  function hide() {
    window.clearInterval(timer);
    input.value = "";
    input.removeAttribute("value");
    box.remove();
    note.hidden = false;
  }

  function tick() {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) {
      hide();
    } else {
      counter.textContent = String(left);
    }
  }

  async function copyValue() {
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (error) {
      // Older browsers or a non-secure context: fall back to the selection.
      input.select();
      document.execCommand("copy");
    }
    copied.hidden = false;
  }

  // A page brought back by Back/Forward (from the back/forward cache, or re-parsed from a
  // kept copy) must not show the value again, not even for the rest of a countdown.
  const navigation = performance.getEntriesByType("navigation")[0];
  if (navigation && navigation.type === "back_forward") {
    hide();
    return;
  }
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) hide();
  });

  copy.hidden = false;
  copy.addEventListener("click", copyValue);
  input.addEventListener("focus", function () { input.select(); });
  // Leaving the page must not keep the value in a back/forward-cache snapshot.
  window.addEventListener("pagehide", hide);
  timer = window.setInterval(tick, 200);
  tick();
})();
