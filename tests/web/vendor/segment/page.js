// Test page driver: loads the vendored analytics.js (AnalyticsNext UMD build) and points it
// at a cxloop server, then lets the browser test call it through window.cxloopTest.
//
// Query string (avoid parameter names starting with "ajs_": analytics.js would read them
// and fetch its "queryString" chunk from the CDN):
//   host      127.0.0.1:PORT of the cxloop server (required). Settings are fetched from
//             http://HOST/v1/projects/WRITEKEY/settings; events go wherever that document's
//             integrations["Segment.io"].apiHost / .protocol say.
//   writeKey  the workspace write key (required).
//   apiHost   optional override of the events host, e.g. 127.0.0.1:PORT/v1 (load option
//             integrations["Segment.io"].apiHost, protocol http); without it the settings
//             document alone decides, as with a stock snippet.
//   batching  "1" to use the batching delivery strategy (POST /v1/b) instead of one
//             request per event.
(function () {
  "use strict";

  var root = document.documentElement;
  var params = new URLSearchParams(window.location.search);
  var host = params.get("host");
  var writeKey = params.get("writeKey");
  var apiHost = params.get("apiHost");
  var batching = params.get("batching") === "1";
  var violations = [];
  var errors = [];

  document.addEventListener("securitypolicyviolation", function (e) {
    violations.push({ blockedURI: e.blockedURI, directive: e.violatedDirective });
  });

  function summary(ctx) {
    var event = ctx && ctx.event ? ctx.event : {};
    var failed = ctx && typeof ctx.failedDelivery === "function" ? ctx.failedDelivery() : null;
    return {
      messageId: event.messageId || null,
      type: event.type || null,
      event: event.event || null,
      userId: event.userId || null,
      anonymousId: event.anonymousId || null,
      failed: failed ? String(failed.reason) : null
    };
  }

  if (!host || !writeKey || !window.AnalyticsNext) {
    root.dataset.analytics = "failed";
    errors.push("missing host, writeKey or the AnalyticsNext global");
    window.cxloopTest = { violations: violations, errors: errors };
    return;
  }

  var segmentio = { protocol: "http" };
  if (apiHost) {
    segmentio.apiHost = apiHost;
  }
  if (batching) {
    segmentio.deliveryStrategy = { strategy: "batching", config: { size: 10, timeout: 500 } };
  }
  var options = apiHost || batching ? { integrations: { "Segment.io": segmentio } } : {};

  var analytics = window.AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: writeKey, cdnURL: "http://" + host },
    options
  );
  analytics.on("error", function (err) {
    errors.push(String(err && err.reason ? err.reason : err));
  });

  var ready = analytics.then(
    function () {
      root.dataset.analytics = "ready";
      return true;
    },
    function (err) {
      root.dataset.analytics = "failed";
      errors.push(String(err));
      return false;
    }
  );

  window.cxloopTest = {
    analytics: analytics,
    ready: ready,
    violations: violations,
    errors: errors,
    page: function (category, name, properties) {
      return analytics.page(category, name, properties || {}).then(summary);
    },
    identify: function (userId, traits) {
      return analytics.identify(userId, traits || {}).then(summary);
    },
    track: function (event, properties) {
      return analytics.track(event, properties || {}).then(summary);
    },
    group: function (groupId, traits) {
      return analytics.group(groupId, traits || {}).then(summary);
    },
    alias: function (userId, previousId) {
      return analytics.alias(userId, previousId).then(summary);
    },
    anonymousId: function () {
      return analytics.user().then(function (user) {
        return user.anonymousId();
      });
    }
  };
})();
