// cxloop shopping assistant for the store's pages.
// <script src="https://CXLOOP/static/widget/assistant.js" data-write-key="cxw_…"
//         data-locale="fr" data-user-id="…" async></script>
// Adds a chat bubble; the conversation (product cards, quick replies, the team's answers after a
// handoff) runs against cxloop's /assistant/v1 API. Every text is inserted as text, never HTML.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.cxloopAssistant) return;
  window.cxloopAssistant = true;
  var base = new URL(script.src).origin;
  var writeKey = script.getAttribute("data-write-key");
  if (!writeKey) return;
  var pageLang = (script.getAttribute("data-locale") || document.documentElement.lang || "fr")
    .slice(0, 2).toLowerCase();
  var lang = pageLang === "en" ? "en" : "fr";
  var userId = script.getAttribute("data-user-id") || "";
  var WORDS = {
    fr: { open: "Ouvrir l'assistant d'achat", close: "Fermer l'assistant", title: "Assistant",
          input: "Votre message", send: "Envoyer", typing: "L'assistant écrit…",
          in_stock: "En stock", out_of_stock: "Épuisé", backorder: "Sur commande",
          preorder: "En précommande", view: "Voir le produit", error: "Le message n'est pas parti. Réessayez.",
          team: "Équipe", source: "Source :", scale: "Note de 0 à 10", was: "au lieu de", price: "Prix", brand: "Marque", color: "Couleur",
          material: "Matière", sizes: "Tailles", understood: "Compris :" },
    en: { open: "Open the shopping assistant", close: "Close the assistant", title: "Assistant",
          input: "Your message", send: "Send", typing: "The assistant is typing…",
          in_stock: "In stock", out_of_stock: "Out of stock", backorder: "On backorder",
          preorder: "Pre-order", view: "View the product", error: "The message was not sent. Try again.",
          team: "Team", source: "Source:", scale: "Score from 0 to 10", was: "instead of", price: "Price", brand: "Brand", color: "Colour",
          material: "Material", sizes: "Sizes", understood: "Understood:" }
  };
  function t(key) { return WORDS[lang][key] || WORDS.en[key] || key; }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function anonymousId() {
    var match = document.cookie.match(/(?:^|;\s*)ajs_anonymous_id=([^;]+)/);
    if (match) return decodeURIComponent(match[1]).replace(/"/g, "");
    try {
      var kept = localStorage.getItem("cxloop_aid");
      if (kept) return kept;
      var made = "anon-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      localStorage.setItem("cxloop_aid", made);
      return made;
    } catch (e) { return "anon-" + Math.random().toString(36).slice(2); }
  }

  var css = el("link", { rel: "stylesheet", href: base + "/static/widget/assistant.css" });
  document.head.appendChild(css);

  var root = el("div", { id: "cxloop-assistant", lang: lang });
  var bubble = el("button", { type: "button", class: "cxa-bubble", "aria-expanded": "false",
                              "aria-controls": "cxa-panel", "aria-label": t("open") });
  bubble.appendChild(el("span", { "aria-hidden": "true" }, "💬"));
  var panel = el("section", { id: "cxa-panel", class: "cxa-panel", role: "dialog",
                              "aria-label": t("title"), hidden: "" });
  var header = el("header", { class: "cxa-header" });
  header.appendChild(el("h2", {}, t("title")));
  var closer = el("button", { type: "button", class: "cxa-close", "aria-label": t("close") }, "×");
  header.appendChild(closer);
  var log = el("ol", { class: "cxa-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  var typing = el("p", { class: "cxa-typing", "aria-live": "polite" });
  var form = el("form", { class: "cxa-form" });
  var label = el("label", { for: "cxa-input", class: "cxa-hidden" }, t("input"));
  var input = el("input", { id: "cxa-input", type: "text", maxlength: "1000", autocomplete: "off",
                            placeholder: t("input") });
  var send = el("button", { type: "submit", class: "cxa-send" }, t("send"));
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(header); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(bubble);
  document.body.appendChild(root);

  var conversationId = null;
  var lastSeq = 0;
  var status = "open";
  var busy = false;
  var poller = null;
  try { conversationId = sessionStorage.getItem("cxloop_conversation"); } catch (e) { conversationId = null; }

  function money(value, currency) {
    try { return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB",
                                       { style: "currency", currency: currency || "EUR" }).format(value); }
    catch (e) { return value + " " + currency; }
  }

  function productCard(p) {
    var card = el("li", { class: "cxa-card" });
    if (p.image_url) card.appendChild(el("img", { src: p.image_url, alt: "", loading: "lazy" }));
    var body = el("div", { class: "cxa-card-body" });
    body.appendChild(el("p", { class: "cxa-card-title" }, p.title));
    var price = el("p", { class: "cxa-price" }, money(p.price, p.currency));
    if (p.regular_price) price.appendChild(el("s", { "aria-label": t("was") + " " + money(p.regular_price, p.currency) },
                                               " " + money(p.regular_price, p.currency)));
    body.appendChild(price);
    body.appendChild(el("p", { class: "cxa-stock", "data-availability": p.availability }, t(p.availability)));
    if (p.url) {
      var link = el("a", { href: p.url, class: "cxa-link", "data-product": p.id }, t("view"));
      link.addEventListener("click", function () {
        if (!conversationId) return;
        var body = JSON.stringify({ writeKey: writeKey, product: p.id });
        try { navigator.sendBeacon(base + "/assistant/v1/conversations/" + conversationId + "/clicks",
                                   new Blob([body], { type: "text/plain" })); } catch (e) { /* ignore */ }
      });
      body.appendChild(link);
    }
    card.appendChild(body);
    return card;
  }

  function comparison(rows) {
    var table = el("table", { class: "cxa-compare" });
    var head = el("tr");
    head.appendChild(el("th", { scope: "col" }, ""));
    rows.forEach(function (r) { head.appendChild(el("th", { scope: "col" }, r.title)); });
    table.appendChild(head);
    ["price", "brand", "color", "material", "sizes"].forEach(function (key) {
      var tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, t(key)));
      rows.forEach(function (r) { tr.appendChild(el("td", {}, r[key] || "–")); });
      table.appendChild(tr);
    });
    return table;
  }

  function show(message) {
    if (message.seq <= lastSeq) return;
    lastSeq = message.seq;
    var item = el("li", { class: "cxa-msg cxa-" + message.author, "data-seq": String(message.seq) });
    if (message.author === "agent") item.appendChild(el("span", { class: "cxa-who" }, t("team")));
    item.appendChild(el("p", {}, message.text));
    if (message.products && message.products.length && !(message.comparison && message.comparison.length)) {
      var cards = el("ul", { class: "cxa-cards" });
      message.products.forEach(function (p) { cards.appendChild(productCard(p)); });
      item.appendChild(cards);
    }
    if (message.comparison && message.comparison.length) item.appendChild(comparison(message.comparison));
    if (message.source) item.appendChild(el("p", { class: "cxa-source" }, t("source") + " " + message.source));
    if (message.buttons && message.buttons.length) {
      var isScale = message.buttons.length === 11 && message.buttons.every(function (b) {
        return b.payload && typeof b.payload.nps === "number";
      });
      var replies = el("div", isScale ? { class: "cxa-replies cxa-scale", role: "group", "aria-label": t("scale") }
                                      : { class: "cxa-replies", role: "group" });
      if (isScale) {
        var hints = el("p", { class: "cxa-hints" });
        hints.appendChild(el("span", {}, message.buttons[0].hint || "0"));
        hints.appendChild(el("span", {}, message.buttons[10].hint || "10"));
        item.appendChild(hints);
      }
      message.buttons.forEach(function (b) {
        var button = el("button", { type: "button", class: "cxa-reply" }, b.label);
        button.addEventListener("click", function () { say(b.label, b.payload || null); });
        replies.appendChild(button);
      });
      item.appendChild(replies);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function take(data) {
    conversationId = data.conversation_id;
    status = data.status;
    try { sessionStorage.setItem("cxloop_conversation", conversationId); } catch (e) { /* private mode */ }
    (data.messages || []).forEach(show);
    if (status === "handoff" && !poller) poller = setInterval(poll, 3000);
  }

  function call(method, path, body) {
    var init = { method: method, headers: { "Content-Type": "application/json" } };
    if (body) init.body = JSON.stringify(Object.assign({ writeKey: writeKey }, body));
    var sep = path.indexOf("?") < 0 ? "?" : "&";
    var url = base + "/assistant/v1" + path + (method === "GET" ? sep + "writeKey=" + encodeURIComponent(writeKey) : "");
    return fetch(url, init).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    });
  }

  function poll() {
    if (!conversationId) return;
    call("GET", "/conversations/" + conversationId + "/messages?after=" + lastSeq).then(take).catch(function () {});
  }

  function start() {
    if (conversationId) {
      return call("GET", "/conversations/" + conversationId + "/messages?after=0").then(take).catch(function () {
        conversationId = null;
        return start();
      });
    }
    return call("POST", "/conversations", { anonymousId: anonymousId(), userId: userId || undefined,
                                           locale: lang, pageUrl: location.href }).then(take);
  }

  function say(text, payload) {
    if (busy || !text) return;
    busy = true;
    typing.textContent = status === "handoff" ? "" : t("typing");
    var ready = conversationId ? Promise.resolve() : start();
    ready.then(function () {
      return call("POST", "/conversations/" + conversationId + "/messages", { text: text, payload: payload || undefined });
    }).then(take).catch(function () {
      log.appendChild(el("li", { class: "cxa-msg cxa-error", role: "alert" }, t("error")));
    }).then(function () { busy = false; typing.textContent = ""; });
  }

  function toggle(open) {
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", open ? "true" : "false");
    root.classList.toggle("cxa-open", open);
    if (open) {
      if (!conversationId || !log.children.length) start().catch(function () {});
      input.focus();
    } else {
      bubble.focus();
    }
  }

  bubble.addEventListener("click", function () { toggle(panel.hidden); });
  closer.addEventListener("click", function () { toggle(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text, null);
  });
})();
