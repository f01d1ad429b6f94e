// cxloop NPS widget for the store's pages.
// <script src="https://CXLOOP/static/widget/nps.js" data-write-key="cxw_…" data-user-id="…" async></script>
// Shows a small 0–10 question in a corner when the visitor has an open on-site survey (the same
// throttling and consent rules as email decide), and sends the answer to cxloop.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src).origin;
  var writeKey = script.getAttribute("data-write-key");
  var userId = script.getAttribute("data-user-id");
  if (!writeKey || !userId) return;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text; // user text is never parsed as HTML
    return node;
  }

  fetch(base + "/widget/v1/nps", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ writeKey: writeKey, userId: userId })
  }).then(function (r) { return r.ok ? r.json() : { show: false }; }).then(function (d) {
    if (!d.show) return;
    var box = el("div", { id: "cxloop-nps", role: "dialog", "aria-label": d.question,
      style: "position:fixed;bottom:16px;right:16px;max-width:360px;background:#fff;" +
             "border:1px solid #dfe3ea;border-radius:10px;padding:14px;z-index:2147483000;" +
             "font:14px/1.4 system-ui,sans-serif;box-shadow:0 6px 24px rgba(0,0,0,.12)" });
    var close = el("button", { "aria-label": "×", style: "float:right;border:0;background:none;cursor:pointer" }, "×");
    close.onclick = function () { box.remove(); };
    box.appendChild(close);
    box.appendChild(el("p", { style: "margin:0 0 8px;font-weight:600" }, d.question));
    var row = el("div", { style: "display:flex;gap:3px" });
    for (var n = 0; n <= 10; n++) {
      (function (score) {
        var b = el("button", { "data-score": String(score),
          style: "flex:1;padding:6px 0;border:1px solid #dfe3ea;border-radius:5px;background:#fff;cursor:pointer" },
          String(score));
        b.onclick = function () {
          fetch(base + "/s/" + encodeURIComponent(d.token) + "/seen", {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ key: d.key, score: score })
          }).then(function () {
            window.open(base + d.url + "?score=" + score, "_blank", "noopener");
            box.remove();
          });
        };
        row.appendChild(b);
      })(n);
    }
    box.appendChild(row);
    var labels = el("div", { style: "display:flex;justify-content:space-between;color:#5d6779;font-size:12px;margin-top:4px" });
    labels.appendChild(el("span", {}, d.low_label));
    labels.appendChild(el("span", {}, d.high_label));
    box.appendChild(labels);
    document.body.appendChild(box);
  });
})();
