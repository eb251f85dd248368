// Kirim console, an import's page: while the import runs, its progress is read every
// second and shown; when it ends the page is loaded again, with the refused rows.
"use strict";
(function () {
  var box = document.querySelector("#import[data-poll]");
  if (!box) return;
  var bar = document.getElementById("imp-progress");
  var status = document.getElementById("imp-status");
  function show(im) {
    bar.value = im.progress || 0;
    bar.textContent = Math.round((im.progress || 0) * 100) + "%";
    box.querySelectorAll("[data-k]").forEach(function (dd) {
      var v = im[dd.dataset.k];
      dd.textContent = v === null || v === undefined ? "" : String(v);
    });
  }
  function poll() {
    fetch(box.dataset.poll, { credentials: "same-origin", headers: { "X-Requested-With": "fetch", "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText);
        return r.json();
      })
      .then(function (im) {
        show(im);
        if (im.status === "running") setTimeout(poll, 1000);
        else location.reload();
      }, function (err) {
        status.textContent = status.dataset.running + " (" + err.message + ")";
        setTimeout(poll, 5000);
      });
  }
  setTimeout(poll, 1000);
})();
