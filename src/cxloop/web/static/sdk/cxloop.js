// cxloop web SDK: one script tag on the store's pages.
// <script src="https://CXLOOP/static/sdk/cxloop.js" data-write-key="cxw_…" data-locale="fr"
//         data-page-type="home" data-page-category="…" data-consent="granted|pending"
//         data-user-id="…" data-user-hash="…" data-assistant="on" async></script>
// - sends Segment-compatible calls (page, track, identify) to cxloop's /v1 API;
// - asks POST /p/v1/decide what to show and renders banners into [data-cxloop-slot="name"]
//   and a message that pops up; asks GET /p/v1/recommendations for each
//   [data-cxloop-recommendations="home|product|cart"] (data-product-id: the products shown);
// - hosts the shopping assistant's widget (data-assistant="on");
// - subscribes the browser to web push on request (cxloop.push.subscribe, see cxloop-sw.js).
// No cookie is set. With data-consent="pending", nothing is stored or sent about the visitor
// until cxloop.consent(true): the page gets banners for everyone and best sellers meanwhile.
// Every text is inserted as text, never HTML; links are followed only when http(s).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.cxloop) return;
  var base = new URL(script.src).origin;
  var writeKey = script.getAttribute("data-write-key");
  if (!writeKey) return;
  var attr = function (name) { return script.getAttribute("data-" + name) || ""; };
  var lang = (attr("locale") || document.documentElement.lang || "fr").slice(0, 2).toLowerCase() === "en" ? "en" : "fr";
  var pageType = attr("page-type") || "other";
  var pageCategory = attr("page-category") || null;
  var userId = attr("user-id") || null;
  var userHash = attr("user-hash") || null;
  var consented = attr("consent") !== "pending";
  var WORDS = {
    fr: { close: "Fermer", recommended: "Pour vous", view: "Voir" },
    en: { close: "Close", recommended: "For you", view: "View" }
  };
  var STORE = "cxloop_aid";
  var memory = null;

  function anonymousId() {
    if (!consented) return null;
    try {
      var kept = localStorage.getItem(STORE);
      if (kept) return kept;
    } catch (e) { /* storage refused: keep the id for this page only */ }
    var made = memory || ("anon-" + Math.random().toString(36).slice(2) + Date.now().toString(36));
    memory = made;
    try { localStorage.setItem(STORE, made); } catch (e) { /* page-only id */ }
    return made;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function safeUrl(value) {
    try {
      var url = new URL(value, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // Segment-compatible calls, sent as text/plain JSON (no preflight), acknowledged once written.
  function send(type, fields) {
    var anon = anonymousId();
    if (!anon) return Promise.resolve(false);
    var body = Object.assign({
      type: type, writeKey: writeKey, anonymousId: anon, messageId: uuid(),
      timestamp: new Date().toISOString(),
      context: { locale: lang, library: { name: "cxloop.js", version: "1.0" },
                 page: { url: location.href, path: location.pathname, title: document.title,
                         referrer: document.referrer } }
    }, fields);
    if (userId) body.userId = userId;
    return fetch(base + "/v1/" + type, { method: "POST", body: JSON.stringify(body), keepalive: true,
                                          headers: { "Content-Type": "text/plain" } })
      .then(function (r) { return r.ok; }).catch(function () { return false; });
  }

  function post(path, body) {
    return fetch(base + path, { method: "POST", keepalive: true, headers: { "Content-Type": "application/json" },
                                body: JSON.stringify(Object.assign({ writeKey: writeKey }, body)) });
  }

  // What to show ----------------------------------------------------------------------------
  document.head.appendChild(el("link", { rel: "stylesheet", href: base + "/static/sdk/cxloop.css" }));

  function clickTo(token, link) {
    if (token) post("/p/v1/decide/clicks", { token: token }).catch(function () {});
    var url = safeUrl(link);
    if (url) window.location.assign(url);
  }

  function content(decision, root) {
    var image = decision.image && safeUrl(decision.image);
    if (image) root.appendChild(el("img", { src: image, alt: "" }));
    var text = el("div", { class: "cxl-text" });
    text.appendChild(el("p", { class: "cxl-title" }, decision.title));
    if (decision.body) text.appendChild(el("p", { class: "cxl-body" }, decision.body));
    var link = decision.link && safeUrl(decision.link);
    if (link) {
      var a = el("a", { class: "cxl-cta", href: link }, decision.cta || decision.title);
      a.addEventListener("click", function (event) {
        event.preventDefault();
        clickTo(decision.token, link);
      });
      text.appendChild(a);
    }
    root.appendChild(text);
    return root;
  }

  var shownMessages = {};
  function render(decisions) {
    decisions.forEach(function (d) {
      if (d.kind === "banner") {
        var places = document.querySelectorAll('[data-cxloop-slot="' + d.slot + '"]');
        Array.prototype.forEach.call(places, function (place) {
          while (place.firstChild) place.removeChild(place.firstChild);
          place.appendChild(content(d, el("div", { class: "cxl-banner", "data-campaign": d.campaign,
                                                   "data-variant": d.variant })));
        });
      } else if (d.kind === "message" && !shownMessages[d.campaign]) {
        shownMessages[d.campaign] = true;
        var box = el("div", { class: "cxl-message", role: "status", "aria-live": "polite",
                              "data-campaign": d.campaign, "data-variant": d.variant, lang: lang });
        var close = el("button", { type: "button", class: "cxl-close", "aria-label": WORDS[lang].close }, "×");
        close.addEventListener("click", function () { box.remove(); });
        box.appendChild(close);
        document.body.appendChild(content(d, box));
      }
    });
  }

  function slots() {
    var names = {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-cxloop-slot]"), function (node) {
      names[node.getAttribute("data-cxloop-slot")] = true;
    });
    return Object.keys(names).slice(0, 20);
  }

  var deciding = null;
  function decide(leaving) {
    var body = { anonymousId: anonymousId(), locale: lang, slots: slots(), leaving: !!leaving,
                 page: { type: pageType, category: pageCategory } };
    if (userId && userHash) { body.userId = userId; body.userHash = userHash; }
    return post("/p/v1/decide", body).then(function (r) { return r.ok ? r.json() : { decisions: [] }; })
      .then(function (answer) { render(answer.decisions || []); return answer; })
      .catch(function () { return { decisions: [] }; });
  }
  function decideSoon() {
    clearTimeout(deciding);
    deciding = setTimeout(function () { decide(false); }, 150);
  }

  // Recommendation blocks ---------------------------------------------------------------------
  function money(cents, currency) {
    try {
      return new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR", { style: "currency", currency: currency || "EUR" }).format(cents / 100);
    } catch (e) { return (cents / 100).toFixed(2) + " " + (currency || ""); }
  }

  function recommendations(block) {
    var placement = block.getAttribute("data-cxloop-recommendations");
    var query = ["placement=" + encodeURIComponent(placement), "writeKey=" + encodeURIComponent(writeKey),
                 "k=" + encodeURIComponent(block.getAttribute("data-k") || "4")];
    var anon = anonymousId();
    if (anon) query.push("anonymous_id=" + encodeURIComponent(anon));
    if (userId && userHash) query.push("user_id=" + encodeURIComponent(userId));
    (block.getAttribute("data-product-id") || "").split(",").forEach(function (id) {
      if (id.trim()) query.push("product_id=" + encodeURIComponent(id.trim()));
    });
    return fetch(base + "/p/v1/recommendations?" + query.join("&")).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer || !answer.products || !answer.products.length) return;
        while (block.firstChild) block.removeChild(block.firstChild);
        var root = el("section", { class: "cxl-recs", "data-strategy": answer.strategy });
        root.appendChild(el("h2", {}, block.getAttribute("data-title") || WORDS[lang].recommended));
        var list = el("ul");
        answer.products.forEach(function (p) {
          var item = el("li", { "data-product-id": p.id });
          var link = el("a", { href: safeUrl(p.url) || "#" });
          var image = p.image_url && safeUrl(p.image_url);
          if (image) link.appendChild(el("img", { src: image, alt: "" }));
          link.appendChild(el("span", { class: "cxl-name" }, p.title));
          link.appendChild(el("span", { class: "cxl-price" }, " · " + money(Math.round((p.sale_price || p.price) * 100), p.currency)));
          link.addEventListener("click", function () {
            send("track", { event: "Product Clicked", properties: { product_id: p.id, placement: placement, list_id: "cxloop-" + placement } });
          });
          item.appendChild(link);
          list.appendChild(item);
        });
        root.appendChild(list);
        block.appendChild(root);
      }).catch(function () {});
  }

  function refresh() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-cxloop-recommendations]:not([hidden])"), recommendations);
    return decide(false);
  }

  // The API the store's pages call ------------------------------------------------------------
  var DECIDING_EVENTS = { "Product Viewed": 1, "Product Added": 1, "Product Removed": 1, "Order Completed": 1 };
  window.cxloop = {
    track: function (event, properties) {
      return send("track", { event: String(event), properties: properties || {} }).then(function (ok) {
        if (DECIDING_EVENTS[event]) decideSoon();
        return ok;
      });
    },
    page: function (properties) { return send("page", { properties: properties || {} }); },
    identify: function (id, traits, hash) {
      userId = id ? String(id) : null;
      userHash = hash || null;
      return send("identify", { traits: traits || {} }).then(function (ok) { decideSoon(); return ok; });
    },
    consent: function (granted) {
      consented = !!granted;
      if (!consented) {
        try { localStorage.removeItem(STORE); } catch (e) { /* nothing kept */ }
        memory = null;
        return Promise.resolve(false);
      }
      return send("page", { properties: {} }).then(refresh);
    },
    leaving: function () { return decide(true); },
    refresh: refresh,
    push: {
      // Whether this browser can receive web push.
      supported: function () { return "serviceWorker" in navigator && "PushManager" in window; },
      // Ask the browser (after a gesture of the visitor's: a button) and keep the subscription;
      // workerUrl: the service worker on the store's origin (see cxloop-sw.js).
      subscribe: function (workerUrl) {
        if (!consented || !window.cxloop.push.supported()) return Promise.resolve(false);
        return fetch(base + "/p/v1/push/key?writeKey=" + encodeURIComponent(writeKey))
          .then(function (r) { return r.json(); })
          .then(function (answer) {
            return navigator.serviceWorker.register(workerUrl || "/cxloop-sw.js").then(function (registration) {
              return registration.pushManager.subscribe({ userVisibleOnly: true,
                                                          applicationServerKey: bytes(answer.publicKey) });
            });
          })
          .then(function (subscription) {
            var body = { anonymousId: anonymousId(), subscription: subscription.toJSON() };
            if (userId && userHash) { body.userId = userId; body.userHash = userHash; }
            return post("/p/v1/push/subscriptions", body).then(function (r) { return r.ok; });
          });
      },
      unsubscribe: function () {
        if (!window.cxloop.push.supported()) return Promise.resolve(false);
        return navigator.serviceWorker.getRegistrations().then(function (registrations) {
          return Promise.all(registrations.map(function (registration) {
            return registration.pushManager.getSubscription().then(function (subscription) {
              if (!subscription) return false;
              return post("/p/v1/push/unsubscribe", { endpoint: subscription.endpoint })
                .then(function () { return subscription.unsubscribe(); });
            });
          }));
        }).then(function (done) { return done.some(Boolean); });
      }
    }
  };

  function bytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  // Leaving: the pointer goes up out of the window (desktop), once per page.
  var left = false;
  document.addEventListener("mouseout", function (event) {
    if (!left && !event.relatedTarget && event.clientY <= 0) { left = true; decide(true); }
  });

  if (attr("assistant") === "on") {
    var widget = el("script", { src: base + "/static/widget/assistant.js", "data-write-key": writeKey,
                                "data-locale": lang, async: "" });
    if (userId) widget.setAttribute("data-user-id", userId);
    document.body.appendChild(widget);
  }

  var first = consented ? send("page", { properties: { type: pageType } }) : Promise.resolve(false);
  first.then(function () {
    if (!userId || !consented) return;
    try {
      if (sessionStorage.getItem("cxloop_identified") === userId) return;
      sessionStorage.setItem("cxloop_identified", userId);
    } catch (e) { /* identified again on the next page */ }
    return send("identify", { traits: {} });
  }).then(refresh);
})();
