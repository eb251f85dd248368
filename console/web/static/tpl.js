// Kirim console, new template: the draft is linted by the API as it is typed
// (debounced), the violations are listed beside the form and the submit button stays
// disabled while any is an error. A preview shows the message with its samples.
"use strict";
(function () {
  var form = document.getElementById("tpl-form");
  var out = document.getElementById("lint");
  var submit = document.getElementById("tpl-submit");
  if (!form || !out || !submit) return;
  var seq = 0, timer = null;

  // fields returns the form's fields as the server reads a form: name -> values.
  function fields() {
    var f = {};
    new FormData(form).forEach(function (v, k) {
      if (k === "csrf" || typeof v !== "string") return;
      (f[k] = f[k] || []).push(v);
    });
    return f;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(verdict) {
    out.textContent = "";
    var errors = false;
    if (verdict.error) {
      errors = true;
      out.appendChild(el("p", "error", verdict.error));
    }
    var vs = verdict.violations || [];
    if (vs.length) {
      var ul = el("ul", "tpl-lint");
      vs.forEach(function (v) {
        var bad = v.severity === "error";
        errors = errors || bad;
        var li = el("li", "v-" + (bad ? "error" : "warning"));
        li.appendChild(el("span", "badge " + (bad ? "bad" : "warn"), bad ? out.dataset.error : out.dataset.warning));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("code", "", v.rule));
        li.appendChild(document.createTextNode(" " + v.component + ": " + v.message));
        ul.appendChild(li);
      });
      out.appendChild(ul);
    } else if (!verdict.error) {
      out.appendChild(el("p", "tpl-clean", out.dataset.clean));
    }
    submit.disabled = errors;
    summarize(vs);
  }

  // The summary by the submit button says why it is disabled where the checks are out
  // of sight (a phone's screen).
  var summary = document.getElementById("tpl-summary");
  function summarize(vs) {
    if (!summary) return;
    var e = 0, w = 0;
    (vs || []).forEach(function (v) { if (v.severity === "error") e++; else w++; });
    summary.firstElementChild.textContent = e + w ? summary.dataset.words.replace("{e}", e).replace("{w}", w) : "";
  }

  function failed(why) {
    out.textContent = "";
    out.appendChild(el("p", "warn", out.dataset.failed + " " + why));
    // The API checks the submission itself: a check that could not run blocks nothing.
    submit.disabled = false;
    summarize([]);
  }

  function lint() {
    var mine = ++seq;
    window.kirimFetch(form.dataset.lint, fields()).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) throw new Error(r.status + " " + r.statusText);
      return r.json();
    }).then(function (verdict) {
      if (mine === seq) show(verdict);
    }, function (err) {
      if (mine === seq) failed(err.message);
    });
  }

  // samples reads a samples box: positional lines, or name=value lines.
  function samples(text, named) {
    var m = {};
    text.split(/\r?\n/).forEach(function (line, i) {
      if (named) {
        var at = line.indexOf("=");
        if (at > 0) m[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      } else if (line.trim()) {
        m[String(i + 1)] = line.trim();
      }
    });
    return m;
  }

  function fill(text, m) {
    return text.replace(/\{\{\s*([a-z0-9_]+)\s*\}\}/g, function (all, k) {
      return Object.prototype.hasOwnProperty.call(m, k) ? m[k] : all;
    });
  }

  var card = document.getElementById("tpl-preview-card");
  var pv = document.getElementById("tpl-preview");
  function preview() {
    if (!pv) return;
    var f = form.elements, named = f.parameter_format.value === "NAMED";
    pv.querySelector(".tpl-h").textContent = fill(f.header_text.value, samples(f.header_example.value, named));
    pv.querySelector(".tpl-b").textContent = fill(f.body.value, samples(f.body_examples.value, named));
    pv.querySelector(".tpl-f").textContent = f.footer.value;
    var ul = pv.querySelector(".tpl-btns");
    ul.textContent = "";
    Array.prototype.forEach.call(form.querySelectorAll("[name=quick_reply], [name=url_text], [name=phone_text]"), function (b) {
      if (b.value.trim()) ul.appendChild(el("li", "", b.value));
    });
  }

  function changed() {
    preview();
    clearTimeout(timer);
    timer = setTimeout(lint, 300);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  if (card) card.hidden = false;
  preview();
  lint();
})();
