// Kirim console, a conversation: follows it live (new messages, the statuses of the
// replies, the window's expiry) without reloading the page, and switches the number
// a reply goes from.
"use strict";
(function () {
  var thread = document.getElementById("thread");
  if (!thread) return;
  var from = document.getElementById("r-from");
  if (from) {
    from.addEventListener("change", function () {
      var u = new URL(window.location.href);
      u.searchParams.set("from", from.value);
      u.searchParams.delete("cursor");
      u.searchParams.delete("done");
      window.location.assign(u.toString());
    });
  }
  // Only the newest page follows the conversation.
  if (new URLSearchParams(window.location.search).has("cursor")) return;
  var quick = 0;
  var schedule = function () {
    // A reply on its way is looked at every 2 s for a while, the rest every 15 s.
    var pending = thread.querySelector("[data-pending]") && quick < 60;
    if (pending) quick++;
    window.setTimeout(refresh, pending ? 2000 : 15000);
  };
  var typing = function () {
    var box = document.getElementById("r-text") || document.getElementById("r-values");
    return box && box.value.trim() !== "";
  };
  var refresh = function () {
    if (document.hidden) {
      schedule();
      return;
    }
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("thread");
        if (next && next.innerHTML !== thread.innerHTML) thread.innerHTML = next.innerHTML;
        var clock = doc.getElementById("countdown"), mine = document.getElementById("countdown");
        if (clock && mine) mine.dataset.countdown = clock.dataset.countdown;
        // The window opened or closed: the reply form is another one now.
        var win = doc.getElementById("window"), shown = document.getElementById("window");
        if (win && shown && win.dataset.open !== shown.dataset.open && !typing()) window.location.reload();
      })
      .catch(function () {})
      .then(schedule);
  };
  schedule();
})();
