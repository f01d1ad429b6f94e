// cxloop web push service worker. Serve it from the store's own origin (a service worker
// controls only its origin), e.g. as /cxloop-sw.js containing:
//   importScripts("https://CXLOOP/static/sdk/cxloop-sw.js");
// and subscribe from a page with cxloop.push.subscribe("/cxloop-sw.js").
// It shows what cxloop pushes ({title, body, url, tag}) and opens the link when clicked.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  var url = typeof data.url === "string" && /^https?:\/\//.test(data.url) ? data.url : "";
  event.waitUntil(self.registration.showNotification(String(data.title || ""), {
    body: String(data.body || ""), tag: data.tag || undefined, data: { url: url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (url) event.waitUntil(self.clients.openWindow(url));
});
