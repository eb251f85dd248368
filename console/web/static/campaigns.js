// Kirim console, campaigns: the wizard's live preview and schedule fields, and a
// campaign's live progress over Server-Sent Events. Every page works without it.
"use strict";
(function () {
  // The preview follows the variables' choices as they change (the "Update the
  // preview" button does the same without a script).
  var preview = document.getElementById("camp-preview");
  if (preview) {
    var empty = preview.dataset.empty || "";
    var sourceOf = function (slot) {
      var sel = document.querySelector('select[name="v.' + slot + '"]');
      var fixed = document.querySelector('input[name="f.' + slot + '"]');
      return { src: sel ? sel.value : "=", fixed: fixed ? fixed.value : "" };
    };
    var render = function () {
      preview.querySelectorAll(".bubble[data-values]").forEach(function (b) {
        var values = {};
        try { values = JSON.parse(b.dataset.values); } catch (e) { return; }
        var missing = false;
        b.querySelectorAll("span[data-slot]").forEach(function (span) {
          var s = sourceOf(span.dataset.slot), text;
          text = s.src.indexOf("col:") === 0 ? (values[s.src.slice(4)] || "").trim() : s.fixed;
          var none = text.trim() === "";
          missing = missing || none;
          span.textContent = none ? empty : text;
          span.classList.toggle("camp-empty", none);
        });
        var note = b.parentNode.querySelector(".camp-missing");
        if (note) note.hidden = !missing;
      });
    };
    document.querySelectorAll(".camp-var select, .camp-var input").forEach(function (el) {
      el.addEventListener("input", render);
      el.addEventListener("change", render);
    });
    // The fixed text matters only when chosen: its field is shown then.
    var fixedShown = function () {
      document.querySelectorAll(".camp-var").forEach(function (fs) {
        var sel = fs.querySelector("select"), box = fs.querySelector("input");
        if (!sel || !box) return;
        var on = sel.value === "=";
        box.hidden = !on;
        fs.querySelector('label[for="' + box.id + '"]').hidden = !on;
      });
    };
    document.querySelectorAll(".camp-var select").forEach(function (el) { el.addEventListener("change", fixedShown); });
    fixedShown();
  }

  // The schedule's date or cron field shows with its choice.
  var when = document.querySelector(".camp-when");
  if (when) {
    var modes = function () {
      var m = (when.querySelector("input[name=mode]:checked") || {}).value || "now";
      document.querySelector(".camp-at").hidden = m !== "at";
      document.querySelector(".camp-cron").hidden = m !== "cron";
    };
    when.addEventListener("change", modes);
    modes();
  }

  // Live progress: the page opens the stream while the campaign can change; a new
  // state (completed, paused by itself) reloads the page for its buttons.
  var live = document.getElementById("camp-live");
  if (!live || live.dataset.live !== "1" || !window.EventSource) return;
  var es = new EventSource(live.dataset.events);
  var set = function (id, text) {
    var el = document.getElementById(id);
    if (el && text !== undefined) el.textContent = text;
  };
  var show = function (e) {
    var d;
    try { d = JSON.parse(e.data); } catch (err) { return; }
    live.dataset.stream = "open";
    var bar = document.getElementById("camp-progress");
    if (bar) {
      bar.max = Math.max(d.recipients, 1);
      bar.value = d.done;
    }
    set("camp-done", (live.dataset.of || "%d / %d").replace("%d", d.done).replace("%d", d.recipients));
    document.querySelectorAll("#camp-counts [data-status]").forEach(function (li) {
      var n = d.counts[li.dataset.status] || 0;
      set("count-" + li.dataset.status, String(n));
      li.hidden = !n && !li.dataset.always;
    });
    set("camp-spend", d.spend);
    set("camp-quoted", d.quoted);
    set("camp-rate", d.rate);
    set("camp-eta", d.eta);
    set("camp-reason", d.reason);
    var badge = document.querySelector("#camp-state .badge");
    if (badge) badge.textContent = d.state_text;
    if (d.state !== live.dataset.state) {
      es.close();
      window.location.reload();
    }
  };
  es.addEventListener("progress", show);
  es.addEventListener("end", function (e) {
    es.close();
    show(e);
  });
  es.addEventListener("gone", function () { es.close(); });
})();
