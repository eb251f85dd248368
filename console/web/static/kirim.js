// Kirim console: small helpers shared by every page. Pages with more (live lint,
// live progress) load their own file. No framework, no build step.
"use strict";
(function () {
  // The menu is open on wide screens, where its summary is hidden.
  var menu = document.querySelector("details.menu");
  if (menu && window.matchMedia("(min-width: 760px)").matches) menu.open = true;
  // A button with data-confirm asks before its form is sent.
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) e.preventDefault();
  });
  // Times with data-countdown count down to their moment, every second.
  var clocks = document.querySelectorAll("[data-countdown]");
  if (clocks.length) {
    var tick = function () {
      clocks.forEach(function (el) {
        var left = Math.max(0, Date.parse(el.dataset.countdown) - Date.now());
        var h = Math.floor(left / 3600000), m = Math.floor(left / 60000) % 60, s = Math.floor(left / 1000) % 60;
        el.textContent = left > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0") : el.dataset.closed || "0:00:00";
      });
    };
    tick();
    setInterval(tick, 1000);
  }
})();

// kirimFetch posts JSON to a console path with the session's CSRF token.
window.kirimFetch = function (path, body) {
  return fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf || "", "X-Requested-With": "fetch" },
    body: JSON.stringify(body)
  });
};
